"""The vessel U-Net's CUDA path must give the CPU path's masks: convolutions run in full FP32.

On an H200 (session 19, ``benchmarks/bench_cuda_vessels.py``) cuDNN's default TF32 convolutions
flipped 24 mask pixels over the 20 DRIVE test photos; with TF32 off the masks were identical. No GPU
here, so this checks the switch the forward pass runs under, on CPU."""
from __future__ import annotations

import numpy as np
import torch

from backends.vessels import fundus


class _Recorder(torch.nn.Module):
    multiple = 16

    def __init__(self):
        super().__init__()
        self.seen: list[bool] = []

    def forward(self, x):
        self.seen.append(torch.backends.cudnn.allow_tf32)
        return torch.zeros(x.shape[0], 1, *x.shape[2:])


def test_unet_forward_runs_without_tf32(monkeypatch):
    rec = _Recorder()
    monkeypatch.setattr(fundus, "_load_unet", lambda path, device="cpu": (rec, 0.5, {}))
    assert torch.backends.cudnn.allow_tf32  # PyTorch's default: the product must turn it off itself
    rgb = np.full((40, 48, 3), 120, np.uint8)
    fov = np.ones((40, 48), bool)
    p, thr = fundus.unet_probability(rgb, fov)
    assert rec.seen == [False]
    assert p.shape == (40, 48) and thr == 0.5
    assert torch.backends.cudnn.allow_tf32  # restored after the call

"""The U-Nets' CUDA paths must give the CPU paths' masks: convolutions run in full FP32.

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


def test_us_unet_forward_runs_without_tf32_on_the_nets_device():
    """The ultrasound U-Net (declared 'cuda' since session 19) runs under the same FP32 switch, its input
    on the net's own device and its output brought back for the CPU post-processing."""
    from backends.ultrasound import segment
    from backends.ultrasound.spec import SPEC

    class Net(_Recorder):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            self.seen.append(torch.backends.cudnn.allow_tf32)
            assert x.device == self.w.device
            return torch.zeros(x.shape[0], 3, *x.shape[2:])

    net = Net()
    probs = segment.net_probs(net, [np.full((64, 80), 90, np.uint8)] * 3, batch=2)
    assert net.seen == [False, False]
    assert [p.shape for p in probs] == [(3, 64, 80)] * 3
    assert "cuda" in SPEC.devices and SPEC.pick_device() in SPEC.devices

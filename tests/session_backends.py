"""A slow backend for the Session's cancel test (test-only registry; runs in a real worker)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

import numpy as np

from app.layers import LabelLayer
from backends.base import Backend, BackendResult, BackendSpec
from backends.params import Params, Range


@dataclass(frozen=True)
class SlowParams(Params):
    steps: Annotated[int, Range(1, 10000)] = 5
    step_s: Annotated[float, Range(0.0, 10.0)] = 0.05


class Slow(Backend):
    def run(self, inp, params, ctx):
        for i in range(params.steps):
            time.sleep(params.step_s)
            ctx.progress((i + 1) / params.steps, f"step {i + 1}/{params.steps}")
        return np.asarray(inp.volume.array) > np.asarray(inp.volume.array).mean()

    def to_layers(self, mask, inp, params, ctx):
        return BackendResult(layers=[LabelLayer(mask.astype(np.uint8), inp.volume.affine, "above mean",
                                                ctx.provenance())])


SLOW = BackendSpec(name="slow", version="1", inputs=("image2d", "volume"), params=SlowParams,
                   outputs=("labels",), impl="session_backends:Slow")

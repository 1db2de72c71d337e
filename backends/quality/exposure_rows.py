"""Smoothly rolled-off exposure rows for the assessor's training set (issue 25, v2.3.0).

Why: the session-10 diagnosis (docs/quality.md) found that the assessor only calls exposure at the
extremes (clipped white, or dark with no highlights); tone curves that roll the ends off smoothly were
missed on the independent families, and only 24 of 1,207 training exposure rows were bright and
unclipped. These rows fill that gap from the training images only: linear light (x^2.2), a gain at the
catalogue's exposure level for the severity (over) or its inverse (under), one of three smooth roll-off
curves (exponential shoulder, arctan shoulder, soft knee -- this module's own, none of the independent
families' curves), back to display (^1/2.2), 8-bit. Over and under alternate, four rows per image.

The under rows could also lift the black level / pull in the white (``lift``); that is off: it is a
contrast cut by another name and cost contrast recall in session 10 (experiment "E"). The draw that
decides it is still made, so the rows equal session 10's "E2" rows that the ship rule was judged on."""
from __future__ import annotations

import numpy as np

from . import mlsamples
from .dataset import Source
from .features import FEATURE_NAMES, border_dark_fraction, extract
from .variety import level

PER_IMAGE = 4
SEED = "q25c-exposure"  # session 10's name for these rows; kept so the seeds (and rows) stay the same
CURVES = ("expshoulder", "atan", "knee")


def _q8(y: np.ndarray) -> np.ndarray:
    return np.round(np.clip(y, 0, 1) * 255) / 255


def roll_off(v: np.ndarray, how: str, rng: np.random.Generator) -> np.ndarray:
    """A smooth shoulder mapping linear light >= 0 to [0, 1) without a hard clip."""
    if how == "expshoulder":
        a = rng.uniform(1.5, 4.0)
        return (1 - np.exp(-a * v)) / (1 - np.exp(-a))
    if how == "atan":
        a = rng.uniform(2.0, 6.0)
        return np.arctan(a * v) / np.arctan(a)
    k = rng.uniform(0.3, 0.7)  # soft knee: linear up to k, then an exponential approach to 1
    return np.where(v < k, v, k + (1 - k) * (1 - np.exp(-(v - k) / (1 - k))))


def expose(x: np.ndarray, severity: int, over: bool, rng: np.random.Generator,
           lift: bool = False, eight_bit: bool = True) -> tuple[np.ndarray, str]:
    """One over- or under-exposed image of ``x`` (in [0, 1]) and its tag: 8-bit, or left continuous (off the
    8-bit grid) when not ``eight_bit`` (the bit-depth mixing of session 19; no draw of ``rng`` depends on it)."""
    g = level("exposure", severity, rng) ** 2.2
    lin = np.clip(x, 0, 1) ** 2.2 * (g if over else 1 / g)
    how = str(rng.choice(list(CURVES)))
    y = np.clip(roll_off(np.clip(lin, 0, None), how, rng), 0, 1) ** (1 / 2.2)
    tag = f"lin_{how}-{'over' if over else 'under'}"
    if not over and rng.random() < 0.5 and lift:  # lifted black / pulled-in white (off, see the docstring)
        b, w = rng.uniform(0.03, 0.2), rng.uniform(0.0, 0.25)
        y = b + (1 - b - w) * y
        tag += "-lift"
    return (_q8(y) if eight_bit else np.clip(y, 0, 1)), tag


def build(sources: list[Source], per_image: int = PER_IMAGE, log=None, requantise: bool = False) -> mlsamples.MLSet:
    """``per_image`` exposure rows per training image (severity cycles 1-3, over/under alternate). These rows are 8-bit
    (all on the grid); with ``requantise`` (session 19's bit-depth mixing) each row is 8-bit only when its seeded draw
    (``mlsamples.on_grid_draw``) says so and continuous otherwise, so the grid says nothing about exposure."""
    X, border, sev, how, group, modality = [], [], [], [], [], []
    for s in sources:
        for i, img in enumerate(s.load()):
            rng = np.random.default_rng(mlsamples._seed(SEED, s.id, i))
            for j in range(per_image):
                severity = 1 + (i + j) % 3
                eight = not requantise or mlsamples.on_grid_draw("exposure-rolloff", s.id, i, j)
                y, tag = expose(np.asarray(img, np.float64), severity, j % 2 == 0, rng, eight_bit=eight)
                f = extract(np.ascontiguousarray(y, dtype=np.float32), s.modality)
                X.append([f[n] for n in FEATURE_NAMES])
                border.append(border_dark_fraction(y))
                sev.append(severity)
                how.append(tag)
                group.append(s.id)
                modality.append(s.modality)
    if log:
        log(f"  {len(X)} exposure roll-off rows")
    return mlsamples.MLSet.of_one_type("exposure", X, sev, group, modality, border, how, len(FEATURE_NAMES))

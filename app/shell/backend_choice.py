"""Which backend the Backends dock shows first for what is on screen: the one a reader would run on
it (evidence on a video, vessels on a colour fundus photo, biometry on ultrasound, the quality
check on the rest), never a test tool such as the degradation simulator or the demo threshold."""
from __future__ import annotations

TEST_TOOLS = ("degrade", "threshold")


def preferred(kind: str | None, modality: str | None = None, colour: bool = False) -> list[str]:
    """Backend names, best first, for an input of ``kind`` (backends/base.py: image2d, volume,
    video, kspace, ultrasound) of ``modality``; ``colour``: an RGB picture."""
    m = (modality or "").upper()
    if kind == "video":
        return ["evidence"]
    if kind == "kspace":
        return ["mri-recon"]
    if m == "US" or kind == "ultrasound":
        return ["us-biometry", "quality"]
    if colour or m in ("OP", "XC", "SM", "ES"):   # fundus / endoscopy / photos
        return ["vessels2d", "quality"]
    if m in ("MR", "CT") and kind == "volume":
        return ["quality", "restore", "vessels3d"]
    return ["quality", "restore"]


def pick(enabled: list[str], kind: str | None, modality: str | None = None, colour: bool = False) -> str | None:
    """The name to select among the ``enabled`` (runnable on this input) ones."""
    for name in preferred(kind, modality, colour):
        if name in enabled:
            return name
    rest = [n for n in enabled if n not in TEST_TOOLS]
    return (rest or enabled or [None])[0]

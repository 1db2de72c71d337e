"""The length unit of an image, said once for every panel, tool and export: ``"mm"`` only where the
file gives a true spacing, ``"px"`` everywhere else (photos, PNG/TIFF, DICOM without PixelSpacing,
and whole-image figures on ultrasound, whose millimetres hold only inside a calibrated region).

Panels used to decide this each on their own (the Vessels panel looked only for a reader warning
and said "mm" on a TIFF fundus photo that the viewer called uncalibrated). Qt-free."""
from __future__ import annotations

from pathlib import Path

MM, PX = "mm", "px"


def length_unit(volume, source_file: str | Path | None = None) -> str:
    """``"mm"`` when ``volume``'s affine is a true spacing, else ``"px"``."""
    from app.scene.measure import calibration_for

    return MM if calibration_for(volume, source_file).kind == "mm" else PX


def scene_length_unit(scene) -> str:
    """The unit of an open scene (its calibration is already chosen: no file read)."""
    return MM if getattr(getattr(scene, "calibration", None), "kind", "px") == "mm" else PX


def unit_note(unit: str) -> str:
    """A short phrase for panels: what a length in this unit means."""
    return "lengths in mm (true spacing)" if unit == MM else "uncalibrated: lengths in pixels"

"""Camera presets named by the side of the patient the viewer stands on, in LPS world, and the
annotated orientation cube (patient letters, so a flipped volume is visible at a glance)."""
from __future__ import annotations

import numpy as np
from vtkmodules.vtkRenderingAnnotation import vtkAnnotatedCubeActor

# letter -> (direction from focal point to camera, view-up), LPS: +x left, +y posterior, +z superior
CAMERA_PRESETS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "A": ((0.0, -1.0, 0.0), (0.0, 0.0, 1.0)),   # from the front: patient's left on screen right
    "P": ((0.0, 1.0, 0.0), (0.0, 0.0, 1.0)),
    "L": ((1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    "R": ((-1.0, 0.0, 0.0), (0.0, 0.0, 1.0)),
    "S": ((0.0, 0.0, 1.0), (0.0, -1.0, 0.0)),   # from above, anterior up
    "I": ((0.0, 0.0, -1.0), (0.0, -1.0, 0.0)),  # from below, anterior up (radiological axial)
}


def set_camera(renderer, letter: str, bounds=None) -> None:
    """Place the camera on the patient's ``letter`` side looking at the centre of ``bounds`` (or
    of everything visible) and fit the view."""
    key = str(letter).upper()
    if key not in CAMERA_PRESETS:
        raise ValueError(f"camera preset must be one of {', '.join(CAMERA_PRESETS)}, got {letter!r}")
    direction, up = CAMERA_PRESETS[key]
    b = np.asarray(bounds if bounds is not None else renderer.ComputeVisiblePropBounds(), float)
    if not np.all(np.isfinite(b)) or b[1] < b[0]:
        b = np.array([-1, 1, -1, 1, -1, 1], float)
    centre = b.reshape(3, 2).mean(1)
    radius = max(np.linalg.norm(b.reshape(3, 2)[:, 1] - b.reshape(3, 2)[:, 0]) / 2, 1e-3)
    cam = renderer.GetActiveCamera()
    cam.SetFocalPoint(*centre)
    cam.SetPosition(*(centre + np.asarray(direction) * radius * 4.0))
    cam.SetViewUp(*up)
    renderer.ResetCamera(*b)
    cam.Zoom(1.3)  # ResetCamera fits the bounding *sphere*; a box fills the view better
    renderer.ResetCameraClippingRange()


def orientation_cube() -> vtkAnnotatedCubeActor:
    cube = vtkAnnotatedCubeActor()
    cube.SetXPlusFaceText("L")
    cube.SetXMinusFaceText("R")
    cube.SetYPlusFaceText("P")
    cube.SetYMinusFaceText("A")
    cube.SetZPlusFaceText("S")
    cube.SetZMinusFaceText("I")
    cube.SetFaceTextScale(0.65)
    cube.GetCubeProperty().SetColor(0.25, 0.3, 0.4)
    cube.GetTextEdgesProperty().SetColor(0.9, 0.9, 0.9)
    cube.GetTextEdgesProperty().SetLineWidth(1)
    for getter, rgb in (("GetXPlusFaceProperty", (1, 0.4, 0.4)), ("GetXMinusFaceProperty", (1, 0.4, 0.4)),
                        ("GetYPlusFaceProperty", (0.4, 1, 0.4)), ("GetYMinusFaceProperty", (0.4, 1, 0.4)),
                        ("GetZPlusFaceProperty", (0.5, 0.6, 1)), ("GetZMinusFaceProperty", (0.5, 0.6, 1))):
        getattr(cube, getter)().SetColor(*rgb)
    return cube

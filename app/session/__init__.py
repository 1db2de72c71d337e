"""The Qt-free core every face drives: ``Session`` (open, run, decide, edit, export) over a
``Scene`` (the image, its layers and the shared view state). See session.py."""
from app.scene.model import Scene

from .session import RunResult, Session

__all__ = ["RunResult", "Scene", "Session"]

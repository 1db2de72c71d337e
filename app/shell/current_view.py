"""What is on screen, said in one place: the window's ``CurrentView`` emits ``changed(ViewContext)``
whenever the study in the viewer area changes (an image, a volume or a video opened, or the stack
switched between the slice viewer and the video workspace). Every dock subscribes to it and
clears or refreshes itself, so none keeps showing, or acting on, a study that is no longer on
screen (the Quality dock kept the previous image's verdict; the Backends dock ran ``quality`` on
an MR while a video was shown; the status bar kept the CT's HU over a video)."""
from __future__ import annotations

import itertools
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.scene.units import PX, scene_length_unit

_serial = itertools.count(1)


@dataclass(frozen=True)
class ViewContext:
    """``kind``: "none", "image2d", "volume", "ultrasound" or "video" (the backend input kinds).
    ``model`` is the slice viewer's model (None for a video), ``video`` the video workspace
    (None otherwise), ``path`` the file or folder shown, ``unit`` its length unit ("mm"/"px"),
    ``study`` a serial that changes whenever another study comes on screen."""

    kind: str = "none"
    model: object = None
    video: object = None
    path: str = ""
    unit: str = PX
    study: int = 0
    name: str = field(default="")

    @property
    def is_video(self) -> bool:
        return self.kind == "video"

    @property
    def is_image(self) -> bool:
        return self.kind in ("image2d", "volume", "ultrasound")

    def describe(self) -> str:
        if self.kind == "none" and self.name:
            return self.name   # e.g. "head CT (still loading)"
        what = {"image2d": "2D image", "volume": "volume", "ultrasound": "ultrasound image",
                "video": "video", "none": "nothing"}[self.kind]
        return f"{what} {self.name}".strip()

    def study_key(self) -> str:
        """The review store's key for what is shown (its layers are linked to it); "" for none."""
        from app.review.study_links import video_study_key, volume_study_key

        try:
            if self.kind == "video" and self.path:
                return video_study_key(self.path)
            if self.model is not None and getattr(self.model, "volume", None) is not None:
                return volume_study_key(self.model.volume)
        except OSError:   # a video file gone since it was opened: no study to list by
            return ""
        return ""

    def backend_input(self):
        """The input a backend run on what is on screen receives (None when nothing is)."""
        from backends.base import BackendInput

        if self.kind == "video" and self.path:
            return BackendInput("video", path=self.path)
        if self.model is not None:
            return BackendInput.from_volume(self.model.volume)
        return None


def image_context(model, path: str = "", name: str = "") -> ViewContext:
    from backends.base import BackendInput

    kind = BackendInput.from_volume(model.volume).kind
    return ViewContext(kind, model=model, path=str(path or model.volume.source or ""),
                       unit=scene_length_unit(model), study=next(_serial), name=name or Path(str(path)).name)


def loading_context(model, path: str = "", name: str = "") -> ViewContext:
    """A series whose first slice is shown while the rest loads: nothing a dock may act on yet (a
    backend run, a review list or a measurement table would otherwise stay on the previous study)."""
    label = name or Path(str(path)).name or "series"
    return ViewContext("none", path=str(path or model.volume.source or ""), unit=scene_length_unit(model),
                       study=next(_serial), name=f"{label} (still loading)")


def video_context(workspace, path) -> ViewContext:
    return ViewContext("video", video=workspace, path=str(path), unit=PX, study=next(_serial),
                       name=Path(str(path)).name)


_ran_on: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def remember_context(job, ctx: ViewContext) -> None:
    """Note which study ``job`` was submitted for: its results go there, or nowhere."""
    if job is not None:
        _ran_on[job] = ctx


OWN_INPUT = ViewContext("none", name="its own input file")   # a job not run on the study on screen


def context_of(job) -> ViewContext | None:
    try:
        return _ran_on.get(job)
    except TypeError:   # an unhashable stand-in job (tests)
        return None


class CurrentView(QObject):
    """Holds the current ``ViewContext``; ``changed`` fires only when it really changes."""

    changed = Signal(object)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.context = ViewContext()

    def set(self, ctx: ViewContext, reopened: bool = False) -> None:
        """``reopened``: the same file opened again is a new study (its evidence was cleared)."""
        old = self.context
        if not reopened and (old.kind, old.model, old.video, old.path) == (ctx.kind, ctx.model, ctx.video, ctx.path):
            return
        self.context = ctx
        self.changed.emit(ctx)

"""The one list of dockable panels. Panels by other features live in ``app/shell/panels/``; each
entry names a factory (imported lazily, after the window is up) and the dock area. A panel that
fails to build becomes a dock that says why, never a failed start-up (npe2's lesson)."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget


@dataclass(frozen=True)
class DockSpec:
    key: str
    title: str
    area: Qt.DockWidgetArea
    build: Callable[[object], QWidget]   # build(main_window) -> QWidget


def _import(path: str):
    mod, _, name = path.rpartition(".")
    return getattr(importlib.import_module(mod), name)


def _review_store(win):
    from app.paths import user_dir

    store_cls = _import("app.review.store.ReviewStore")
    return store_cls(user_dir() / "review.sqlite")


def _jobs(win):
    dock = _import("app.shell.backends_dock.BackendsDock")(win)
    dock.error.connect(win.show_error)
    return dock


def _review(win):
    return _import("app.shell.panels.review_panel.ReviewPanel")(_review_store(win), win.user)


def _audit(win):
    return _import("app.shell.panels.audit_panel.AuditPanel")(_review_store(win))


def _vessels(win):
    return _import("app.shell.panels.vessel_panel.VesselPanel")()


EXTRA_DOCKS: list[DockSpec] = [
    DockSpec("jobs", "Backends / jobs", Qt.RightDockWidgetArea, _jobs),
    DockSpec("review", "Review", Qt.RightDockWidgetArea, _review),
    DockSpec("audit", "Audit", Qt.RightDockWidgetArea, _audit),
    DockSpec("vessels", "Vessels", Qt.RightDockWidgetArea, _vessels),
]


def build_safely(spec: DockSpec, win) -> QWidget:
    try:
        return spec.build(win)
    except Exception as exc:
        lab = QLabel(f"{spec.title} panel unavailable:\n{type(exc).__name__}: {exc}")
        lab.setWordWrap(True)
        return lab

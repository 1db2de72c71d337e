"""The one list of dockable panels. Panels by other features live in ``app/shell/panels/``; each
entry names a factory (imported lazily, after the window is up) and the dock area. A panel that
fails to build becomes a dock that says why, never a failed start-up (npe2's lesson)."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QLabel, QWidget


@dataclass(frozen=True)
class DockSpec:
    key: str
    title: str
    area: Qt.DockWidgetArea
    build: Callable[[object], QWidget]   # build(main_window) -> QWidget
    present: Callable[[], bool] = lambda: True   # False: the feature is not installed, no dock


def _import(path: str):
    mod, _, name = path.rpartition(".")
    return getattr(importlib.import_module(mod), name)


def _jobs(win):
    dock = _import("app.shell.backends_dock.BackendsDock")(win, runner=win.job_runner())
    dock.error.connect(win.show_error)
    dock.layersAdded.connect(win.on_result_layers)
    return dock


def _review(win):
    wf = win.workflow
    panel = _import("app.shell.panels.review_panel.ReviewPanel")(wf.store, wf.user or None)

    def remember_user() -> None:  # the name typed once is kept in settings for every later session
        if panel.user:
            wf.set_user(panel.user)

    panel.start_button.clicked.connect(remember_user)
    panel.user_edit.returnPressed.connect(remember_user)
    wf.userChanged.connect(lambda name: panel.user != name and panel.set_user(name))
    wf.changed.connect(panel.refresh)
    panel.decided.connect(lambda _d: win.review_changed())
    panel.currentItemChanged.connect(win.show_review_item)
    panel.editRequested.connect(win.edit_review_item)
    # the study on screen: its items only, never a stale list after a switch
    win.current_view.changed.connect(lambda ctx: panel.set_study(ctx.study_key(), ctx.name))
    ctx = getattr(win.current_view, "context", None)
    if ctx is not None:
        panel.set_study(ctx.study_key(), ctx.name)
    return panel


def _audit(win):
    panel = _import("app.shell.panels.audit_panel.AuditPanel")(win.workflow.store)
    win.workflow.changed.connect(panel.refresh)

    def show_selected() -> None:
        """The history of the Review dock's selected item, or none. Built when its tab is first
        shown, the dock never heard of an earlier selection (the walk: "No layer selected" beside
        a selected item)."""
        decided = getattr(win, "_history_layer", None)   # a decision made before this dock was built
        if decided:
            panel.set_layer(decided)
            return
        review = getattr(win, "panels", {}).get("review")
        item = review.current_item() if review is not None else None
        panel.set_layer(item.layer_id if item is not None else None)

    # another study on screen: once every dock has followed it (the Review dock selects the new
    # study's first item, or none), that item's history. Cleared at once, it was cleared after
    # the Review dock had set it ("No layer selected" beside the selected item on every return to
    # a study); the previous study's history no longer stays either (the walk)
    win.current_view.changed.connect(lambda _ctx: QTimer.singleShot(0, panel, show_selected))
    show_selected()
    return panel


def _trust(win):
    trust_cls = _import("app.review.trust.ToolTrust")
    store = win.workflow.store
    panel = _import("app.shell.panels.trust_panel.TrustPanel")(trust_cls.from_store(store))

    def relearn() -> None:
        panel.trust = trust_cls.from_store(store)
        panel.refresh()

    win.workflow.changed.connect(relearn)
    return panel


def _vessels(win):
    panel = _import("app.shell.panels.vessel_panel.VesselPanel")()
    panel.branchReviewed.connect(win.record_branch_decision)
    win.layers_panel.currentLayerChanged.connect(lambda layer: win.show_vessels(panel, layer))

    def follow(ctx) -> None:   # another study on screen: its graph (or none), in its unit
        panel.set_layer(None, unit=ctx.unit)
        if ctx.is_image:
            win.show_vessels(panel, win.layers_panel.current_layer())

    win.current_view.changed.connect(follow)
    follow(win.current_view.context)
    return panel


def _quality(win):
    return _import("app.shell.quality_dock.QualityDock")(win)


def _ultrasound(win):
    return _import("app.shell.panels.ultrasound_panel.build")(win)


def _report(win):
    panel = _import("app.shell.report_panel.ReportPanel")(win.workflow.store, win.workflow.user or "")
    panel.evidenceRequested.connect(win.go_to_evidence)
    panel.study = lambda: win.current_view.context
    win.current_view.changed.connect(panel.view_changed)
    panel.key_images = lambda rep: _import("app.shell.report_images.measurement_key_images")(win, rep)
    panel.signed.connect(lambda _v: win.review_changed())
    return panel


def _pacs(win):
    dock = _import("app.shell.pacs_dock.PacsDock")(win)
    dock.error.connect(lambda msg: win.show_error(msg if msg.startswith("PACS") else f"PACS: {msg}",
                                                  "PACS: see the message above"))   # not "PACS: PACS host..."
    return dock


def quality_backend_present() -> bool:
    """The Quality dock is offered only where the quality backend is installed."""
    import importlib.util

    try:
        return importlib.util.find_spec("backends.quality.spec") is not None
    except (ImportError, ValueError):
        return False


def _kspace(win):
    return _import("app.shell.kspace_panel.KSpacePanel")(win)


def mri_backend_present() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("backends.mri.spec") is not None
    except (ImportError, ValueError):
        return False


EXTRA_DOCKS: list[DockSpec] = [
    DockSpec("jobs", "Backends / jobs", Qt.RightDockWidgetArea, _jobs),
    DockSpec("review", "Review", Qt.RightDockWidgetArea, _review),
    DockSpec("audit", "Audit", Qt.RightDockWidgetArea, _audit),
    DockSpec("trust", "Trust", Qt.RightDockWidgetArea, _trust),
    DockSpec("vessels", "Vessels", Qt.RightDockWidgetArea, _vessels),
    DockSpec("quality", "Quality", Qt.RightDockWidgetArea, _quality, quality_backend_present),
    DockSpec("ultrasound", "Ultrasound", Qt.RightDockWidgetArea, _ultrasound),
    DockSpec("report", "Report", Qt.RightDockWidgetArea, _report),
    DockSpec("kspace", "K-space", Qt.RightDockWidgetArea, _kspace, mri_backend_present),
    DockSpec("pacs", "PACS", Qt.LeftDockWidgetArea, _pacs),
]


def build_safely(spec: DockSpec, win) -> QWidget:
    try:
        return spec.build(win)
    except Exception as exc:
        lab = QLabel(f"{spec.title} panel unavailable:\n{type(exc).__name__}: {exc}")
        lab.setWordWrap(True)
        return lab

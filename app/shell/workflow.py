"""The review workflow behind the window's panels: the Qt face of ``app.session.review.Review``
(the rules: one store per workspace, AI versions stored from a snapshot on a background thread,
decisions and human edits as new records, AI output never overwritten). This adapter adds what
only a desktop has: the workspace and reviewer name from the settings, a dialog asking the name
once, and Qt signals delivered on the GUI thread. Panels stay standalone widgets; this object is
the only place that knows the store, so Review, Audit and Trust always agree."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.session.review import Review


class Workflow(QObject):
    changed = Signal()           # the store gained versions or decisions (panels refresh)
    userChanged = Signal(str)
    saveFailed = Signal(str)
    _deliver = Signal(object)    # a callable from a background save, queued to the GUI thread

    def __init__(self, settings, parent=None, ask_user=None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._ask_user = ask_user or self._dialog_user
        self._deliver.connect(self._run_delivered)   # a method of this QObject: queued to its thread
        self.core = Review(self.workspace, lambda: self.user, lambda: self._ask_user(), self.set_user,
                           deliver=self._deliver.emit)
        self.core.changed.connect(self.changed.emit)
        self.core.save_failed.connect(self.saveFailed.emit)

    def _run_delivered(self, fn) -> None:
        fn()

    # ---- where and who ----------------------------------------------------------------------
    def workspace(self) -> Path:
        from app.paths import user_dir

        ws = self.settings.get("workspace", "")
        return Path(ws) if ws else user_dir() / "workspace"

    @property
    def user(self) -> str:
        return str(self.settings.get("user") or "")

    def set_user(self, name: str) -> None:
        name = (name or "").strip()
        if name and name != self.user:
            self.settings.set("user", name)
            self.settings.sync()
            self.userChanged.emit(name)

    def _dialog_user(self) -> str:
        from PySide6.QtWidgets import QInputDialog

        from app.scene.model import current_user

        name, ok = QInputDialog.getText(self.parent(), "Reviewer", "Your name (recorded with every decision):",
                                        text=current_user())
        return name if ok else ""

    # ---- the review core --------------------------------------------------------------------
    @property
    def store(self):
        return self.core.store

    @property
    def errors(self) -> list[str]:
        return self.core.errors

    def prepare(self) -> None:
        self.core.prepare()

    def require_user(self) -> str:
        return self.core.require_user()

    def is_saving(self, layer_id: str) -> bool:
        return self.core.is_saving(layer_id)

    def ensure_stored(self, layer, study: str = "") -> str:
        return self.core.ensure_stored(layer, study)

    def record_result(self, layers, study: str = ""):
        return self.core.record_result(layers, study)

    def wait_saved(self) -> None:
        self.core.wait_saved()

    def decide(self, layer, decision: str, target_kind: str = "layer", target_ref: str = "",
               comment: str = "", query_kind: str = ""):
        return self.core.decide(layer, decision, target_kind, target_ref, comment, query_kind)

    def decide_id(self, layer_id: str, decision: str, target_kind: str, target_ref: str = "", comment: str = ""):
        return self.core.decide_id(layer_id, decision, target_kind, target_ref, comment)

    def save_edit(self, layer, base_version: str | None = None, comment: str = ""):
        return self.core.save_edit(layer, base_version, comment)

    def close(self) -> None:
        self.core.close()

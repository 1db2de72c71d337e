"""The review workflow behind the window's panels: one review store per workspace, one reviewer
name (asked once, kept in settings), and the glue that turns what happens in the viewer into
store records: backend layers saved as their AI version when they arrive, human edits saved as a
new version on top (AI output is never overwritten), accept/reject of a layer, a vessel branch, a
video event or a restoration recorded as decisions. Panels stay standalone widgets; this object
is the only place that knows the store, so Review, Audit and Trust always agree.

The store is opened on first use (sqlite + serializers stay out of start-up)."""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.data.types import LoupeError


class Workflow(QObject):
    changed = Signal()           # the store gained versions or decisions (panels refresh)
    userChanged = Signal(str)
    saveFailed = Signal(str)
    _saved = Signal(object, str)  # (thread, error) from a background save, queued to the GUI thread

    def __init__(self, settings, parent=None, ask_user=None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._store = None
        self._ask_user = ask_user or self._dialog_user
        self._pending: dict[str, threading.Thread] = {}   # layer id -> thread saving its AI version
        self._saved.connect(self._on_saved)
        self.errors: list[str] = []
        self._closed = False
        self._preparing: threading.Thread | None = None

    # ---- where and who ----------------------------------------------------------------------
    def workspace(self) -> Path:
        from app.paths import user_dir

        ws = self.settings.get("workspace", "")
        return Path(ws) if ws else user_dir() / "workspace"

    def prepare(self) -> None:
        """Create the workspace's store file on a background thread (schema + fsyncs take ~0.1 s),
        so the first use on the UI thread only opens it."""
        if self._store is not None or self._preparing is not None:
            return

        def create() -> None:
            from app.review.store import STORE_FILENAME, ReviewStore

            try:
                ws = self.workspace()
                ws.mkdir(parents=True, exist_ok=True)
                ReviewStore(ws / STORE_FILENAME).close()
            except Exception:
                pass  # the UI-thread open reports any problem with the file

        self._preparing = threading.Thread(target=create, name="review-store-create", daemon=True)
        self._preparing.start()

    @property
    def store(self):
        if self._store is None:
            if self._preparing is not None:
                self._preparing.join()
            from app.review.store import ReviewStore

            self._store = ReviewStore.for_workspace(self.workspace())
        return self._store

    @property
    def user(self) -> str:
        return str(self.settings.get("user") or "")

    def set_user(self, name: str) -> None:
        name = (name or "").strip()
        if name and name != self.user:
            self.settings.set("user", name)
            self.settings.sync()
            self.userChanged.emit(name)

    def require_user(self) -> str:
        """The reviewer's name; asked the first time a decision needs it, then kept."""
        if not self.user:
            self.set_user(self._ask_user() or "")
        if not self.user:
            raise LoupeError("a reviewer name is needed to record decisions (Review panel or Edit > Reviewer)")
        return self.user

    def _dialog_user(self) -> str:
        from PySide6.QtWidgets import QInputDialog

        from viewers.slice.model import current_user

        name, ok = QInputDialog.getText(self.parent(), "Reviewer", "Your name (recorded with every decision):",
                                        text=current_user())
        return name if ok else ""

    # ---- records ----------------------------------------------------------------------------
    def ensure_stored(self, layer) -> str:
        """The layer's head version id, saving the layer as it is now when the store lacks it."""
        th = self._pending.get(layer.id)
        if th is not None:  # its AI version is being written in the background: that one first
            th.join()
        head = self.store.head(layer.id)
        if head is None:
            head = self.store.save_layer(layer)
            self.changed.emit()
        return head.version_id

    def record_result(self, layers) -> threading.Thread | None:
        """Backend output arrives: each layer stored as its (immutable) AI version. Compressing a
        CT-sized mask takes ~90 ms, so the write runs on a thread with its own connection (WAL)
        and the UI thread stays free; anything that needs the version waits for it."""
        from app.layers.codec import copy_layer

        # Snapshot now, on the caller's thread: a stroke made while the thread compresses must
        # not reach the AI version (the layers stay live in the viewer and are edited in place).
        layers = [copy_layer(lay) for lay in layers if lay.id not in self._pending]
        if not layers:
            return None
        path = self.store.path

        def save() -> None:
            from app.review.store import ReviewStore

            err = ""
            try:
                with ReviewStore(path) as st:
                    for lay in layers:
                        if st.head(lay.id) is None:
                            st.save_layer(lay)
            except Exception as exc:  # shown by the window; the layers stay viewable
                err = f"{type(exc).__name__}: {exc}"
            self._saved.emit(th, err)

        th = threading.Thread(target=save, name="review-store-save", daemon=True)
        for lay in layers:
            self._pending[lay.id] = th
        th.start()
        return th

    def _on_saved(self, th, err: str) -> None:
        if self._closed:   # queued from a save that finished while the window closed
            return
        for lid in [k for k, v in self._pending.items() if v is th]:
            del self._pending[lid]
        if err:
            self.errors.append(err)
            self.saveFailed.emit(f"backend result not stored for review: {err}")
        self.changed.emit()

    def wait_saved(self) -> None:
        """Block until background saves are written (closing, scripts, tests)."""
        for th in set(self._pending.values()):
            th.join()

    def decide(self, layer, decision: str, target_kind: str = "layer", target_ref: str = "",
               comment: str = "", query_kind: str = ""):
        user = self.require_user()
        self.ensure_stored(layer)
        d = self.store.decide(user, decision, layer.id, target_kind=target_kind, target_ref=str(target_ref),
                              comment=comment, query_kind=query_kind)
        self.changed.emit()
        return d

    def decide_id(self, layer_id: str, decision: str, target_kind: str, target_ref: str = "", comment: str = ""):
        user = self.require_user()
        d = self.store.decide(user, decision, layer_id, target_kind=target_kind, target_ref=str(target_ref),
                              comment=comment)
        self.changed.emit()
        return d

    def save_edit(self, layer, base_version: str | None = None, comment: str = ""):
        """A human correction as a new version whose parent is ``base_version`` (the version the
        edit started from; default the head). The version it corrects stays in the store."""
        user = self.require_user()
        parent = base_version or self.ensure_stored(layer)
        info = self.store.save_edit(layer, user, edits_version=parent, comment=comment)
        self.changed.emit()
        return info

    def close(self) -> None:
        self.wait_saved()
        self._closed = True
        if self._store is not None:
            self._store.close()
            self._store = None

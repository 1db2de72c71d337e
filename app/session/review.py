"""The review workflow without Qt: one store per workspace, the reviewer's name, and the rules that
turn what happens to layers into store records. Backend layers are kept as their AI version (from
a snapshot, written on a background thread so a viewer stays responsive), decisions are recorded
on the version they judge, and a human correction is a new version on top: AI output is never
overwritten. The desktop's ``app.shell.workflow.Workflow`` is this class with Qt signals and a
name dialog; ``Session`` uses the same rules.

The store is opened on first use (sqlite and the serialisers stay out of start-up)."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from app.data.types import LoupeError
from app.layers import Layer, Signal

if TYPE_CHECKING:
    from app.review.store import Decision, ReviewStore, VersionInfo


class Review:
    """``workspace()`` gives the folder of the store; ``user()`` the reviewer's name ('' when
    unknown: ``ask_user()`` is asked once, and ``remember_user(name)`` keeps the answer).
    ``changed`` fires (no arguments) when the store gained versions or decisions;
    ``save_failed(message)`` when a background save failed; background events are delivered
    through ``deliver(fn)`` (default: at once, on the saving thread)."""

    def __init__(self, workspace: Callable[[], Path], user: Callable[[], str],
                 ask_user: Callable[[], str] = lambda: "",
                 remember_user: Callable[[str], None] = lambda name: None,
                 deliver: Callable[[Callable[[], None]], None] | None = None) -> None:
        self.workspace = workspace
        self._user, self._ask_user, self._remember_user = user, ask_user, remember_user
        self._deliver = deliver or (lambda fn: fn())
        self._store: ReviewStore | None = None
        self._pending: dict[str, threading.Thread] = {}   # layer id -> thread saving its AI version
        self._preparing: threading.Thread | None = None
        self._closed = False
        self.errors: list[str] = []
        self.changed = Signal()
        self.save_failed = Signal()

    # ---- where and who ----------------------------------------------------------------------
    def prepare(self) -> None:
        """Create the workspace's store file on a background thread (schema + fsyncs take ~0.1 s),
        so the first use only opens it."""
        if self._store is not None or self._preparing is not None:
            return

        def create() -> None:
            from app.review.store import STORE_FILENAME, ReviewStore

            try:
                ws = self.workspace()
                ws.mkdir(parents=True, exist_ok=True)
                ReviewStore(ws / STORE_FILENAME).close()
            except Exception:
                pass  # the first real use reports any problem with the file

        self._preparing = threading.Thread(target=create, name="review-store-create", daemon=True)
        self._preparing.start()

    @property
    def store(self) -> ReviewStore:
        if self._store is None:
            if self._preparing is not None:
                self._preparing.join()
            from app.review.store import ReviewStore

            self._store = ReviewStore.for_workspace(self.workspace())
        return self._store

    @property
    def user(self) -> str:
        return str(self._user() or "")

    def require_user(self) -> str:
        """The reviewer's name; asked the first time a decision needs it, then kept."""
        if not self.user:
            name = (self._ask_user() or "").strip()
            if name:
                self._remember_user(name)
        if not self.user:
            raise LoupeError("a reviewer name is needed to record decisions (Review panel or Edit > Reviewer)")
        return self.user

    # ---- records ----------------------------------------------------------------------------
    def is_saving(self, layer_id: str) -> bool:
        """True while the layer's AI version is being written in the background."""
        return layer_id in self._pending

    def ensure_stored(self, layer: Layer, study: str = "") -> str:
        """The layer's head version id, saving the layer as it is now when the store lacks it;
        ``study`` (``app/review/study_links.py``) links it to the study it was made on."""
        th = self._pending.get(layer.id)
        if th is not None:  # its AI version is being written in the background: that one first
            th.join()
        head = self.store.head(layer.id)
        if head is None:
            head = self.store.save_layer(layer)
            self.store.link_study([layer.id], study)
            self.changed.emit()
        elif study and not self.store.study_of(layer.id):
            self.store.link_study([layer.id], study)
        return head.version_id

    def record_result(self, layers: Iterable[Layer], study: str = "") -> threading.Thread | None:
        """Backend output arrives: each layer stored as its (immutable) AI version. The layers
        are snapshotted now, on the caller's thread (a stroke made while the thread compresses
        must not reach the AI version); compressing a CT-sized mask takes ~0.7 s, so the write
        runs on a thread with its own connection (WAL); anything that needs it waits for it.
        ``study`` links the layers to the study they were made on (the Review dock lists by it)."""
        from app.layers.codec import copy_layer

        snaps = [copy_layer(lay) for lay in layers if lay.id not in self._pending]
        if not snaps:
            return None
        path = self.store.path

        def save() -> None:
            from app.review.store import ReviewStore

            err = ""
            try:
                with ReviewStore(path) as st:
                    for lay in snaps:
                        if st.head(lay.id) is None:
                            st.save_layer(lay)
                    st.link_study([lay.id for lay in snaps], study)
            except Exception as exc:  # reported; the layers stay viewable
                err = f"{type(exc).__name__}: {exc}"
            self._deliver(lambda: self._saved(th, err))

        th = threading.Thread(target=save, name="review-store-save", daemon=True)
        for lay in snaps:
            self._pending[lay.id] = th
        th.start()
        return th

    def _saved(self, th: threading.Thread, err: str) -> None:
        if self._closed:   # delivered from a save that finished while closing
            return
        for lid in [k for k, v in self._pending.items() if v is th]:
            del self._pending[lid]
        if err:
            self.errors.append(err)
            self.save_failed.emit(f"backend result not stored for review: {err}")
        self.changed.emit()

    def wait_saved(self) -> None:
        """Block until background saves are written (closing, scripts, tests)."""
        for th in set(self._pending.values()):
            th.join()

    def decide(self, layer: Layer, decision: str, target_kind: str = "layer", target_ref: str = "",
               comment: str = "", query_kind: str = "") -> Decision:
        user = self.require_user()
        vid = self.ensure_stored(layer)
        d = self.store.decide(user, decision, layer.id, version_id=vid, target_kind=target_kind,
                              target_ref=str(target_ref), comment=comment, query_kind=query_kind)
        self.changed.emit()
        return d

    def decide_id(self, layer_id: str, decision: str, target_kind: str, target_ref: str = "",
                  comment: str = "") -> Decision:
        user = self.require_user()
        d = self.store.decide(user, decision, layer_id, target_kind=target_kind, target_ref=str(target_ref),
                              comment=comment)
        self.changed.emit()
        return d

    def save_edit(self, layer: Layer, base_version: str | None = None, comment: str = "") -> VersionInfo:
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

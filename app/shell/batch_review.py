"""File > "Review batch results...": load a batch's results (``run_app.py batch``) into the
Review panel's queue, least certain first. Each mask is stored in the workspace's review store
(as its AI version) so decisions on it can be recorded like on any backend layer."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog


def open_batch_review(win, manifest: str | Path) -> int:
    """Queue the batch at ``manifest`` (file or its folder) in the window's Review panel; returns
    the number of queued items. Errors are LoupeErrors naming the manifest."""
    from app.batch.review import queue_from_manifest

    queue, layers = queue_from_manifest(manifest)
    for layer in layers.values():
        win.workflow.ensure_stored(layer)
    panel = win.panel("review")
    panel.queue = queue
    panel.refresh()
    return len(queue.items)


def ask_and_open(win) -> None:
    path, _ = QFileDialog.getOpenFileName(win, "Batch manifest", "", "Batch manifest (manifest.json)")
    if not path:
        return
    try:
        n = open_batch_review(win, path)
    except Exception as exc:  # noqa: BLE001 - shown to the user, never a crash of the window
        win.show_error(str(exc), "Batch review: see the message above")
        return
    win.statusBar().showMessage(f"{n} batch result(s) queued for review, least certain first", 8000)

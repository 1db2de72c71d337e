"""The Export menu: one entry per format of app/export/formats.py (DICOM SEG, SR, NIfTI, COCO,
CSV). It exports the Layers panel's current layer when the format can hold it, else the top layer
that fits; the reference each format needs (the DICOM series, the image grid, the frames) comes
from the open image. Every failure - no fitting layer, a series the SEG cannot refer to, a file
that exists - is shown in the window's message bar, never raised."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog


class ExportMenu:
    def __init__(self, win, menu) -> None:
        from app.export.formats import FORMATS

        self.win = win
        self.menu = menu
        self.actions = {}
        for fmt in FORMATS:
            a = menu.addAction(f"{fmt.title}...")
            a.setObjectName(f"export_{fmt.key}")
            a.setToolTip(fmt.policy().line())
            a.triggered.connect(lambda _=False, k=fmt.key: self.export_dialog(k))
            self.actions[fmt.key] = a
        menu.setToolTipsVisible(True)
        menu.aboutToShow.connect(self.refresh)
        menu.addSeparator()   # issue 18: DICOM exports (SEG, SR) de-identified, PS3.15 Basic Profile
        self.deid_action = menu.addAction("De-identify DICOM exports")
        self.deid_action.setCheckable(True)
        self.deid_action.setChecked(bool(win.settings.get("export_deidentify", False)))
        self.deid_action.toggled.connect(lambda on: win.settings.set("export_deidentify", bool(on)))
        # research exports (NIfTI, COCO, CSV) are de-identified unless the user asks (issue 21)
        self.identified_action = menu.addAction("Keep identifiers in research exports")
        self.identified_action.setCheckable(True)
        self.identified_action.setChecked(bool(win.settings.get("export_identified", False)))
        self.identified_action.toggled.connect(lambda on: win.settings.set("export_identified", bool(on)))

    # --- what is on screen (session-21 walk: over a video the menu offered, and wrote, the DICOM
    # SR and COCO of the CT hidden behind it, and never the video's own segments) ---
    def video(self):
        """The video workspace when a video is on screen, else None (an image, or nothing)."""
        ctx = getattr(getattr(self.win, "current_view", None), "context", None)
        ws = getattr(self.win, "video", None)
        if ctx is not None and ctx.is_video and ws is not None and ws.source is not None and ws.n_frames:
            return ws
        return None

    @staticmethod
    def video_layer(ws):
        """The video's events to export: its segments, else its evidence events."""
        return next((lay for lay in (ws.segments, *ws.evidence) if lay is not None and lay.events), None)

    @staticmethod
    def video_reference(ws):
        from app.export.reference import FrameReference

        src, n = ws.source, ws.n_frames
        w, h = src.size
        stem = Path(str(ws._video_path or src.label or "video")).stem
        return FrameReference(w, h, [f"{stem}_{k:06d}.png" for k in range(n)], [src.time_of(k) for k in range(n)],
                              source=str(ws._video_path or ""))

    def _video_why_not(self, fmt, ws) -> str | None:
        if fmt.key != "csv_segments":
            return "a video is on screen: this export is of an image (open it to export its layers)"
        if self.video_layer(ws) is None:
            return "no segments or evidence events on this video yet (I and O mark a segment)"
        return None

    def refresh(self) -> None:
        """Offer only the exports that apply to what is open: a disabled entry says why."""
        from app.export.formats import FORMATS

        ws = self.video()
        if ws is not None:
            for fmt in FORMATS:
                why = self._video_why_not(fmt, ws)
                self.actions[fmt.key].setEnabled(why is None)
                self.actions[fmt.key].setToolTip(why or self.policy(fmt).line())
            return
        model = self.win.model
        volume = model.volume if model is not None else None
        kinds = [lay.kind for lay in model.layers[1:]] if model is not None else []
        for fmt in FORMATS:
            why = fmt.why_not(volume, kinds)
            a = self.actions[fmt.key]
            a.setEnabled(why is None)
            a.setToolTip(why or self.policy(fmt).line())

    def layer_for(self, fmt):
        ws = self.video()
        if ws is not None:
            return self.video_layer(ws) if fmt.key == "csv_segments" else None
        model = self.win.model
        if model is None:
            return None
        cur = self.win.layers_panel.current_layer()
        if cur is not None and cur.kind in fmt.layer_kinds and cur is not model.base:
            return cur
        fits = [lay for lay in model.layers[1:] if lay.kind in fmt.layer_kinds]
        return fits[-1] if fits else None

    def reference_for(self, fmt):
        from app.export.reference import reference_for

        ws = self.video()
        if ws is not None:
            return self.video_reference(ws)
        return reference_for(fmt.reference, self.win.model.volume)

    def export_dialog(self, key: str) -> None:
        from app.export.formats import by_key

        fmt = by_key(key)
        if self._layer_or_error(fmt) is None:
            return
        start = str(Path(self.win.settings.get("last_dir") or Path.home()) / f"export{fmt.suffixes[0]}")
        title = f"Export {fmt.title} - {self.policy(fmt).line()}"
        path, _ = QFileDialog.getSaveFileName(self.win, title, start, fmt.file_filter)
        if path:
            self.export_to(key, path, overwrite=True)  # the dialog already asked about replacing

    def policy(self, fmt, deidentify: bool | None = None):
        """The export policy the menu's checks choose for ``fmt`` (app/export/policy.py)."""
        if fmt.destination == "source study":
            deid = self.deid_action.isChecked() if deidentify is None else deidentify
            return fmt.policy(identified=not deid)
        return fmt.policy(identified=self.identified_action.isChecked())

    def _layer_or_error(self, fmt):
        ws = self.video()
        if ws is not None:
            why = self._video_why_not(fmt, ws)
            if why is not None:
                self.win.show_error(f"{fmt.title}: {why}")
                return None
            return self.video_layer(ws)
        model = self.win.model
        why = fmt.why_not(model.volume if model is not None else None,
                          [lay.kind for lay in model.layers[1:]] if model is not None else [])
        if why is not None and not why.startswith("no "):
            self.win.show_error(f"{fmt.title}: {why}")
            return None
        layer = self.layer_for(fmt)
        if layer is None:
            self.win.show_error(f"{fmt.title}: no {' / '.join(fmt.layer_kinds)} layer to export "
                                f"(select one in the Layers panel)")
        return layer

    def _origin(self, layer):
        prov = layer.provenance
        if prov.kind != "human" or not prov.parent:
            return None
        try:
            return self.win.workflow.store.origin(prov.parent)
        except Exception:
            return None

    def export_to(self, key: str, path: str, layer=None, overwrite: bool = False, deidentify: bool | None = None):
        """Write ``layer`` (default: as the menu picks) in format ``key`` to ``path``; returns the
        path written, or None after showing the error in the window. ``deidentify`` (SEG, SR):
        None follows the menu's "De-identify DICOM exports" check."""
        from app.export.formats import by_key

        fmt = by_key(key)
        layer = layer or self._layer_or_error(fmt)
        if layer is None:
            return None
        if not any(str(path).endswith(s) for s in fmt.suffixes):
            path = str(path) + fmt.suffixes[0]
        try:
            ref = self.reference_for(fmt)
            kw = {}
            if fmt.key == "seg":  # a human correction says which algorithm it started from
                origin = self._origin(layer)
                if origin is not None:
                    kw["based_on"] = origin
            policy = self.policy(fmt, deidentify)
            fmt.write(layer, ref, path, overwrite=overwrite, identified=policy.identified, **kw)
            if policy.destination == "source study" and policy.deidentify:
                from app.pacs import audit
                from app.pacs.deid import DeidOptions, deidentify_file

                warnings = deidentify_file(Path(path))
                audit.record("export", destination=str(path), format=fmt.key, instances=1, deidentified=True,
                             deid_method=DeidOptions().method_text(), warnings=warnings, outcome="ok")
        except Exception as exc:  # LoupeError names the file and the problem; others get a type
            from app.errors import failure_line
            msg = failure_line(exc, f"export {fmt.key}")
            self.win.show_error(f"Export {fmt.title} of {layer.name!r} failed: {msg}")
            return None
        self.win.statusBar().showMessage(f"Exported {layer.name} as {fmt.title} to {path} ({policy.line()})", 8000)
        return path

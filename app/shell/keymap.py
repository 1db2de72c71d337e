"""Every key of the shell, declared once, per context. The menus, toolbars, tooltips, the F1 help and
the README's key tables are all made from this table, so a key cannot mean one thing in the help
and another on screen, and a test can check that no key is bound twice where it is live.

Contexts (what is on screen / where the keyboard focus is):

- ``global``: anywhere in the window.
- ``reading``: a slice viewer is on screen (OHIF / 3D Slicer habits: tools by letter, presets by
  digit, arrows through slices).
- ``editing``: label editing over a slice viewer; live together with ``reading`` (so its keys must
  not repeat reading's: Fill is G, not F, which fits the image).
- ``video``: the video workspace is on screen (CVAT / editing suites: J/K/L shuttle, I/O points,
  arrows step frames).
- ``review``: the keyboard is in a list of AI findings (Review queue, vessel branches, evidence
  events); it shadows ``reading`` while the list has the focus, never together with it.

``owner`` says who acts on the key: ``shell`` keys are QActions / shortcuts made from this table;
``view`` keys are read by the focused viewer widget's ``keyPressEvent`` (the test sends each one
and checks the widget takes it), ``panel`` keys by a review list's key filter.

Qt is imported only inside the installing functions: the table itself is plain data."""
from __future__ import annotations

from dataclasses import dataclass

CONTEXTS = ("global", "reading", "editing", "video", "review")
TITLES = {"global": "Anywhere", "reading": "Reading slices", "editing": "Label editing",
          "video": "Video", "review": "Reviewing a list (Review, Vessels, Evidence)"}
# contexts live at the same time (their keys share one keyboard); review shadows reading and editing
LIVE_TOGETHER = {
    "reading": ("global", "reading", "editing"),
    "editing": ("global", "reading", "editing"),
    "video": ("global", "video"),
    "review": ("global", "review"),
}


@dataclass(frozen=True)
class Key:
    context: str
    action: str           # stable id, e.g. "tool.navigate"
    keys: tuple[str, ...]  # QKeySequence portable text; several = alternatives
    label: str
    owner: str = "shell"  # shell | view | panel


def _k(context: str, action: str, keys, label: str, owner: str = "shell") -> Key:
    return Key(context, action, (keys,) if isinstance(keys, str) else tuple(keys), label, owner)


KEYS: list[Key] = [
    # ---- anywhere
    _k("global", "file.open", "Ctrl+O", "Open a file (or drop it on the window)"),
    _k("global", "file.open_folder", "Ctrl+Shift+O", "Open a folder"),
    _k("global", "file.load_labels", "Ctrl+L", "Load a label map (NIfTI / PNG) over the image"),
    _k("global", "file.quit", "Ctrl+Q", "Quit"),
    _k("global", "help.keys", "F1", "This help"),
    _k("global", "measure.copy", "Ctrl+Shift+C", "Copy measurements to the clipboard"),
    # ---- reading slices: shell actions
    _k("reading", "tool.navigate", "N", "Navigate tool (move the linked crosshair)"),
    _k("reading", "tool.distance", "D", "Distance tool"),
    _k("reading", "tool.angle", "A", "Angle tool"),
    _k("reading", "tool.ellipse", "E", "Ellipse ROI tool"),
    _k("reading", "tool.polygon", "P", "Polygon ROI tool"),
    _k("reading", "tool.rotate", "O", "Oblique rotate tool"),
    _k("reading", "layout.1x1", "Ctrl+1", "Layout 1x1"),
    _k("reading", "layout.mpr", "Ctrl+2", "Layout MPR 1x3"),
    _k("reading", "layout.2x2", "Ctrl+3", "Layout 2x2 (three planes + 3D)"),
    _k("reading", "layout.3d", "Ctrl+4", "Layout 3D"),
    # ---- reading slices: the focused slice view
    _k("reading", "view.next", ("Up", "Right"), "Next slice", "view"),
    _k("reading", "view.previous", ("Down", "Left"), "Previous slice", "view"),
    _k("reading", "view.page_up", "PgUp", "10 slices forward", "view"),
    _k("reading", "view.page_down", "PgDown", "10 slices back", "view"),
    _k("reading", "view.first", "Home", "First slice", "view"),
    _k("reading", "view.last", "End", "Last slice", "view"),
    _k("reading", "view.zoom_in", ("+", "="), "Zoom in", "view"),
    _k("reading", "view.zoom_out", "-", "Zoom out", "view"),
    _k("reading", "view.fit", "F", "Fit the image to the view", "view"),
    _k("reading", "view.reset", "R", "Reset window and zoom", "view"),
    _k("reading", "view.invert", "I", "Invert the grey scale", "view"),
    _k("reading", "view.cine", "Space", "Cine: play / pause through slices or frames", "view"),
    _k("reading", "view.cancel", "Esc", "Cancel the measurement being drawn", "view"),
    _k("reading", "view.close_polygon", ("Return", "Enter"), "Close a polygon ROI", "view"),
    _k("reading", "view.preset_auto", "0", "Auto window from percentiles (MR, X-ray)", "view"),
    _k("reading", "view.presets", ("1", "2", "3", "4", "5", "6"),
       "CT presets: brain, subdural, bone, lung, abdomen, soft tissue", "view"),
    # ---- label editing (toolbar over a slice viewer)
    _k("editing", "edit.brush", "B", "Brush on the current label layer"),
    _k("editing", "edit.eraser", "Shift+E", "Eraser"),
    _k("editing", "edit.fill", "G", "Fill (flood fill within the intensity range)"),
    _k("editing", "edit.polygon", "Shift+P", "Label polygon"),
    _k("editing", "edit.undo", "Ctrl+Z", "Undo the last edit"),
    _k("editing", "edit.redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo"),
    _k("editing", "edit.save", "Ctrl+S", "Save the edits as a new version (the AI version stays)"),
    _k("editing", "edit.size", ("[", "]"), "Brush smaller / larger", "view"),
    # ---- video workspace (viewers/video/workspace.py reads these)
    _k("video", "video.play", "Space", "Play / pause", "view"),
    _k("video", "video.reverse", "J", "Play backwards (again: faster)", "view"),
    _k("video", "video.stop", "K", "Stop", "view"),
    _k("video", "video.forward", "L", "Play forwards (again: faster)", "view"),
    _k("video", "video.frame_back", (",", "Left"), "One frame back", "view"),
    _k("video", "video.frame_forward", (".", "Right"), "One frame forward", "view"),
    _k("video", "video.back10", "Shift+Left", "10 frames back", "view"),
    _k("video", "video.forward10", "Shift+Right", "10 frames forward", "view"),
    _k("video", "video.start", "Home", "First frame", "view"),
    _k("video", "video.end", "End", "Last frame", "view"),
    _k("video", "video.slower", "-", "Slower (down to 0.25x)", "view"),
    _k("video", "video.faster", ("=", "+"), "Faster (up to 8x)", "view"),
    _k("video", "video.mark_in", "I", "In point", "view"),
    _k("video", "video.mark_out", "O", "Out point (in and out = a segment)", "view"),
    _k("video", "video.next_segment", "S", "Next segment", "view"),
    _k("video", "video.prev_segment", "Shift+S", "Previous segment", "view"),
    _k("video", "video.next_event", "E", "Next evidence event", "view"),
    _k("video", "video.prev_event", "Shift+E", "Previous evidence event", "view"),
    _k("video", "video.bookmark", "B", "Bookmark this frame (again: remove)", "view"),
    _k("video", "video.next_bookmark", "N", "Next bookmark", "view"),
    _k("video", "video.prev_bookmark", "Shift+N", "Previous bookmark", "view"),
    _k("video", "video.goto", "Ctrl+G", "Go to a frame or a time", "view"),
    _k("video", "video.zoom_in", "Up", "Zoom the timeline in around the playhead", "view"),
    _k("video", "video.zoom_out", "Down", "Zoom the timeline out", "view"),
    _k("video", "video.show_all", "Z", "Whole video in the timeline", "view"),
    _k("video", "video.delete_segment", ("Del", "Backspace"), "Delete the selected segment", "view"),
    _k("video", "video.accept_event", "A", "Accept the selected evidence event (then the next)"),
    _k("video", "video.reject_event", "R", "Reject the selected evidence event (then the next)"),
    # ---- review lists (the focused list's key filter)
    _k("review", "review.accept", "A", "Accept the selected finding / branch / event", "panel"),
    _k("review", "review.reject", "R", "Reject it", "panel"),
    _k("review", "review.edit", "E", "Correct it (Review queue: opens the brush on it)", "panel"),
    _k("review", "review.next", ("N", "J"), "Next item", "panel"),
    _k("review", "review.previous", ("P", "K"), "Previous item", "panel"),
    _k("review", "review.comment", "C", "Write a comment (Review queue)", "panel"),
]

MOUSE: dict[str, list[tuple[str, str]]] = {
    "reading": [
        ("Wheel", "Previous / next slice"),
        ("Ctrl+Wheel", "Zoom about the pointer"),
        ("Middle-drag or Shift+Left-drag", "Pan"),
        ("Right-drag", "Window (horizontal) / level (vertical)"),
        ("Left-click / drag (Navigate)", "Move the linked crosshair"),
        ("Drag a white handle", "Edit a measurement"),
        ("Double-click", "Fit the image (a polygon ROI: close it)"),
    ],
    "editing": [("Left-drag", "Paint with the current tool"), ("Ctrl+Wheel", "Zoom (the brush stays put)")],
    "video": [
        ("Click / drag on the timeline", "Seek / scrub"),
        ("Wheel on the timeline", "Zoom the timeline at the pointer"),
        ("Shift+Wheel on the timeline", "Pan the timeline"),
        ("Double-click a segment", "Label it"),
    ],
    "review": [("Double-click a row", "Show it in the viewer")],
}


def keys_of(context: str) -> list[Key]:
    return [k for k in KEYS if k.context == context]


def find(action: str) -> Key:
    for k in KEYS:
        if k.action == action:
            return k
    raise KeyError(f"no key declared for action {action!r}")


def shortcut(action: str) -> str:
    """The first (main) key of ``action``, as QKeySequence text."""
    return find(action).keys[0]


def key_text(action: str) -> str:
    return " / ".join(find(action).keys)


def tooltip(text: str, action: str) -> str:
    return f"{text} ({key_text(action)})"


def live_keys(context: str) -> list[tuple[str, Key]]:
    """Every (normalised key, binding) live when ``context`` is the one in use."""
    return [(normalise(s), k) for c in LIVE_TOGETHER[context] for k in keys_of(c) for s in k.keys]


def normalise(seq: str) -> str:
    """One spelling per key ("Shift+e" and "shift+E" are the same key)."""
    parts = ["+"] if seq == "+" else seq.split("+")
    *mods, key = parts
    alias = {"PAGEUP": "PGUP", "PAGEDOWN": "PGDOWN", "DELETE": "DEL", "ESCAPE": "ESC"}
    key = alias.get(key.upper(), key.upper())
    return "+".join(sorted(m.capitalize() for m in mods) + [key])


def duplicates(context: str) -> dict[str, list[str]]:
    """Keys bound to more than one action where ``context`` is in use (empty when the map is sound)."""
    seen: dict[str, list[str]] = {}
    for key, k in live_keys(context):
        seen.setdefault(key, []).append(k.action)
    return {key: acts for key, acts in seen.items() if len(acts) > 1}


def help_rows() -> list[tuple[str, str, str]]:
    """(context title, keys, what they do) for the F1 help and the README, keys then mouse."""
    rows = []
    for c in CONTEXTS:
        rows += [(TITLES[c], " / ".join(k.keys), k.label) for k in keys_of(c)]
        rows += [(TITLES[c], m, what) for m, what in MOUSE.get(c, [])]
    return rows


def markdown() -> str:
    """The README's "Keys" section: one table per context."""
    out = ["## Keys", "", "Declared once in `app/shell/keymap.py` (F1 in the app shows the same tables). "
           "Keys of a context that is not on screen are off.", ""]
    for c in CONTEXTS:
        out += [f"### {TITLES[c]}", "", "| Keys | Action |", "|---|---|"]
        out += [f"| {' / '.join(f'`{s}`' for s in k.keys)} | {k.label} |" for k in keys_of(c)]
        out += [f"| {m} | {what} |" for m, what in MOUSE.get(c, [])]
        out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------- Qt side (imported lazily)
def bind(qaction, action: str, text: str | None = None, scope: str = "window") -> None:
    """Give ``qaction`` its key from the table and a tooltip naming it. ``scope``: "window" (live
    anywhere in the window while enabled) or "widget" (only with the focus inside the widgets the
    action is added to)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QKeySequence

    k = find(action)
    qaction.setShortcuts([QKeySequence(s) for s in k.keys])
    qaction.setShortcutContext(Qt.WindowShortcut if scope == "window" else Qt.WidgetWithChildrenShortcut)
    qaction.setToolTip(tooltip(text or qaction.text().replace("&", ""), action))


def install(widget, handlers: dict, parent=None) -> list:
    """QActions for ``handlers`` (action id -> callable) live only while the focus is inside
    ``widget`` (Qt.WidgetWithChildrenShortcut): a context's keys end where its widget ends."""
    from PySide6.QtGui import QAction

    made = []
    for action, slot in handlers.items():
        a = QAction(find(action).label, parent or widget)
        a.setObjectName(f"key_{action}")
        bind(a, action, scope="widget")
        a.triggered.connect(lambda _=False, slot=slot: slot())
        widget.addAction(a)
        made.append(a)
    return made


def panel_key(action_ids, ev) -> str | None:
    """The review-list action a key event asks for, or None. Modifier-free keys only (Ctrl+A
    selects all; a plain A decides)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QKeySequence

    if ev.modifiers() & (Qt.ControlModifier | Qt.AltModifier | Qt.ShiftModifier | Qt.MetaModifier):
        return None
    for action in action_ids:
        for s in find(action).keys:
            if QKeySequence(s)[0].key() == Qt.Key(ev.key()):
                return action
    return None


_FILTER_CLASS = None


def _filter_class():
    global _FILTER_CLASS
    if _FILTER_CLASS is None:
        from PySide6.QtCore import QEvent, QObject

        class ReviewListKeys(QObject):
            """Gives a focused review list its keys: it claims them at ShortcutOverride (so the
            window's reading keys, A = Angle and R = Reset, stand aside - no Qt "ambiguous
            shortcut") and runs the handler once on the key press."""

            def __init__(self, widget, handlers, enabled) -> None:
                super().__init__(widget)
                self.handlers, self.enabled = handlers, enabled

            def eventFilter(self, obj, ev) -> bool:
                if ev.type() in (QEvent.ShortcutOverride, QEvent.KeyPress) and self.enabled():
                    action = panel_key(self.handlers, ev)
                    if action is not None:
                        ev.accept()
                        if ev.type() == QEvent.KeyPress and not ev.isAutoRepeat():
                            self.handlers[action]()
                        return True
                return False

        _FILTER_CLASS = ReviewListKeys
    return _FILTER_CLASS


def review_list(widget, handlers: dict, enabled=lambda: True):
    """Make ``widget`` (a table of findings) a ``review`` context: the keys of ``handlers`` (review
    action id -> callable) act on it while it has the focus."""
    unknown = [a for a in handlers if find(a).context != "review"]
    if unknown:
        raise ValueError(f"not review keys: {unknown}")
    f = _filter_class()(widget, handlers, enabled)
    widget.installEventFilter(f)
    return f

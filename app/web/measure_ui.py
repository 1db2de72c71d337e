"""The Gradio side of measuring and of the Frame slider (kept out of ``ui.py``): each handler turns
browser values into ``app.web.measure`` / ``app.web.study_frames`` calls on the tab's Session and
answers with the viewer's new picture URL, the measurement table and one line. What the server
will not do (a click off the image, a broken payload, a number that is not one) is one warning and
every panel left as it was."""
from __future__ import annotations

from typing import Any

from app.data.types import LoupeError
from app.web import measure as M
from app.web.study_frames import frame_slider, show_frame

# the viewer is an <img> in gr.HTML: a click is reported with the picture's own pixel (centres at
# whole numbers) whatever size the page draws it at, and the picture's URL (the slice it showed)
VIEWER_CLICK_JS = """
element.addEventListener('click', (e) => {
  const img = e.target && e.target.closest ? e.target.closest('img') : null;
  if (!img || !element.contains(img)) return;
  const tool = document.querySelector('#measure-tool input:checked');
  if (!tool || tool.value === 'Off') return;
  const r = img.getBoundingClientRect();
  if (!(r.width > 0 && r.height > 0 && img.naturalWidth > 0)) return;
  const x = (e.clientX - r.left) * img.naturalWidth / r.width - 0.5;
  const y = (e.clientY - r.top) * img.naturalHeight / r.height - 0.5;
  trigger('select', {index: [x, y], value: img.getAttribute('src')});
});
"""
# a typed frame beyond 1..N is clamped in the browser before Gradio checks it (as the video's)
STUDY_FRAME_JS = """(...a) => {
  const box = document.querySelector('#study-frame input[type=number]');
  const lo = box && box.min !== '' ? Number(box.min) : 1;
  const hi = box && box.max !== '' ? Number(box.max) : Infinity;
  const n = Math.round(Number(a[1]));
  a[1] = Number.isFinite(n) ? Math.min(Math.max(n, lo), hi) : lo;
  return a;
}"""
STUDY_OUTPUTS = 5      # table, Delete box, note, Frame slider, draft


def _gr():
    import gradio as gr

    return gr


def _scene(st: Any) -> Any:
    return st.session.scene if st is not None and st.session is not None else None


def _picture(st: Any, view: str, number: Any, window: Any, level: Any, size: int = 512) -> tuple[str, str]:
    """(tab key, viewer HTML) after a change drawn into the tab's pictures (a new URL version)."""
    from app.web.ui import _img, viewer_url

    st.version += 1
    return f"{st.handle}:{st.version}", _img(viewer_url(st, view, number, window, level, size), f"{view} slice")


def _listing(scene: Any) -> tuple:
    gr = _gr()
    return M.table(scene), gr.update(choices=M.choices(scene), value=None)


def study_outputs(st: Any) -> tuple:
    """What opening a study writes into the Measure box and the Frame slider: its own
    measurements (those saved on it before, none of the last study's), no point half drawn, its
    frames from frame 1."""
    gr = _gr()
    scene = _scene(st)
    if st is not None:
        st.pending = None
    restored = getattr(getattr(st.session, "measurements", None), "restored", 0) if st is not None else 0
    note = f"{restored} measurement(s) saved on this study before" if restored else ""
    return (*_listing(scene), note, gr.update(**frame_slider(scene)), "")


def on_click(st: Any, tool: Any, payload: Any) -> tuple:
    """A click on the viewer: (tab key, viewer, note, table, Delete box)."""
    from app.web.ui import refused

    gr = _gr()
    scene = _scene(st)
    if scene is None:
        return refused(LoupeError("open a study first"), 5)
    if not M.TOOLS.get(str(tool), ""):
        return tuple(gr.update() for _ in range(5))
    try:
        view, index, size, x, y, window, level = M.picture_click(payload, st.handle, st.study_since)
        st.pending, line = M.add_click(scene, st.pending, tool, view, index, size, x, y)
    except LoupeError as exc:
        return refused(exc, 5)
    key, html = _picture(st, view, index + 1, window, level, size)
    if st.pending is None:
        line += M.unsaved(st.session)
    return (key, html, line, *_listing(scene))


def on_tool(st: Any, tool: Any, view: str, number: Any, window: Any, level: Any) -> tuple:
    """Another tool: the points half drawn are dropped. (tab key, viewer, note)."""
    gr = _gr()
    if _scene(st) is None:
        return gr.update(), gr.update(), ""
    kind = M.TOOLS.get(str(tool), "")
    had = st.pending is not None
    st.pending = None
    note = f"{tool}: {M.clicks_hint(kind)}" if kind else ""
    if not had:
        return gr.update(), gr.update(), note
    return (*_picture(st, view, number, window, level), note)


def on_undo(st: Any, view: str, number: Any, window: Any, level: Any) -> tuple:
    """Undo point: the last point of the measurement being drawn taken back. (tab key, viewer, note)."""
    from app.web.ui import refused

    if _scene(st) is None:
        return refused(LoupeError("open a study first"), 3)
    try:
        st.pending, line = M.undo_point(st.pending)
    except LoupeError as exc:
        return refused(exc, 3)
    return (*_picture(st, view, number, window, level), line)


def on_delete(st: Any, pick: Any, view: str, number: Any, window: Any, level: Any) -> tuple:
    """(tab key, viewer, note, table, Delete box)."""
    from app.web.ui import refused

    try:
        line = M.delete(_scene(st), pick) + M.unsaved(st.session)
    except LoupeError as exc:
        return refused(exc, 5)
    return (*_picture(st, view, number, window, level), line, *_listing(_scene(st)))


def on_show(st: Any, pick: Any, window: Any, level: Any) -> tuple:
    """Show the picked measurement: (tab key, View, Slice, viewer, note), the crosshair on it."""
    from app.web.ui import refused, slice_slider

    gr = _gr()
    try:
        view, number, count, line = M.locate(_scene(st), pick)
    except LoupeError as exc:
        return refused(exc, 5)
    key, html = _picture(st, view, number, window, level)
    return key, view, gr.update(**slice_slider(number - 1, count)), html, line


def on_draft(st: Any) -> Any:
    """The report draft the desktop makes from the study's measurements, as Markdown."""
    from app.web.reports import draft_view
    from app.web.ui import refused

    scene = _scene(st)
    if scene is None:
        return refused(LoupeError("open a study and measure on it first"), 1)[0]
    try:
        return draft_view(scene, st.path.rstrip("/").split("/")[-1] or "study")
    except LoupeError as exc:
        return refused(exc, 1)[0]


def on_frame(st: Any, number: Any, view: str, index: Any, window: Any, level: Any) -> tuple:
    """The Frame slider: (tab key, viewer, the frame number shown)."""
    from app.web.ui import refused

    scene = _scene(st)
    if scene is None or scene.n_frames < 2:      # the slider is hidden: set by opening a study
        return (_gr().update(),) * 3
    try:
        shown = show_frame(scene, number)
    except LoupeError as exc:
        return refused(exc, 3)
    return (*_picture(st, view, index, window, level), shown)

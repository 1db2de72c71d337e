"""The Gradio Blocks app: study browser with thumbnails, slice viewer, three linked planes,
backend runs with progress and cancel, review, video scrubber with the evidence track, report
view. Every handler translates browser values to ``WebService`` / ``Session`` calls; errors the
reader can act on come back as one line (``gr.Error``), never a traceback.

The slice viewer is an ``<img>`` on the plain image route (``app.web.routes``): scrolling and
window/level changes only change its URL in the browser (a front-end-only event), so a scroll
step is one GET, not a Gradio queue round trip."""

import json
import queue
import time
from pathlib import Path
from typing import Any

from app.data.types import LoupeError
from app.scene.frames import frame_number, frame_text
from app.web.render import png_bytes
from app.web.service import BrowserState, WebService, parse_params, run_summary

VIEWS = ["axial", "coronal", "sagittal"]
RUN_TIMEOUT_S = 600
CANCEL_WAIT_S = 15.0     # how long Cancel waits for the run to stop before saying it has not


def _user(svc: WebService, request: Any) -> str:
    """The login name is the reviewer; without a login (loopback, no token) the configured one."""
    name = getattr(request, "username", None) if request is not None else None
    return str(name or svc.config.user or "web")


def _fail(exc: Exception):
    import gradio as gr

    return gr.Error(str(exc), print_exception=False)


def _job_events(state: Any, backend: str, params: dict[str, Any]):
    """Start ``backend`` on ``state.session`` and yield its events as they come: ``("p", fraction,
    message)`` while it runs, then ``("d", result, error)``; after RUN_TIMEOUT_S without an answer
    the job is cancelled and ``("t", None, why)`` ends it. One loop for every face's run button."""
    events: queue.Queue = queue.Queue()
    try:
        state.job = state.session.run_async(backend, on_progress=lambda f, m: events.put(("p", f, m)),
                                            on_done=lambda r, e: events.put(("d", r, e)), **params)
    except Exception as exc:  # unknown backend, bad parameters: one line
        raise _fail(LoupeError(str(exc))) from None
    t0 = time.monotonic()
    while time.monotonic() - t0 < RUN_TIMEOUT_S:
        try:
            ev = events.get(timeout=0.25)
        except queue.Empty:
            continue
        if ev[0] == "d":
            state.job = None
        yield ev
        if ev[0] == "d":
            return
    if state.job is not None:
        state.job.cancel()
        state.job = None
    yield ("t", None, f"no answer in {RUN_TIMEOUT_S} s, cancelled")


def cancel_line(state: Any, wait_s: float = CANCEL_WAIT_S) -> str | None:
    """Ask the running job to stop; the status line to show, or None to leave the box alone.
    The run's own generator writes the closing line ("... stopped: cancelled") into the same box,
    so once the job has stopped this answer must not put "cancel requested" over the run's final
    word, whichever of the two reaches the page last (seen under load in CI)."""
    job = None if state is None else state.job
    if job is None:
        return "nothing is running"
    job.cancel()
    if job.wait(wait_s):
        return None
    return f"cancel requested; {job.backend} has not stopped after {wait_s:g} s"


def display_number(x: float) -> float:
    """A window or level as a person types it: four significant digits (0.05 % at most from the
    computed value, far below one grey level), so the boxes do not show float noise."""
    return float(f"{float(x):.4g}")


def slice_index(number: Any) -> int:
    """The 0-based slice index of the Slice slider's ``number`` (from 1, as the picture's corner
    says "Slice 70/140"; session 19's walk: the slider said 69 under "Slice 70/140")."""
    return int(round(float(number))) - 1


def viewer_url(st: BrowserState, view: str, number: Any, window: Any, level: Any, size: int = 512) -> str:
    """The viewer picture's URL for the Slice slider's ``number`` (from 1); ``VIEWER_JS`` builds
    the same string in the browser. The route's ``index`` is the array index (from 0)."""
    return (f"/loupe/tab/{st.handle}/slice.png?view={view}&index={slice_index(number)}"
            f"&window={_num(window)}&level={_num(level)}&v={st.version}"
            + (f"&size={size}" if size != 512 else ""))


def _num(v: Any) -> str:
    f = float(v)
    return str(int(f)) if f.is_integer() else repr(f)


def _img(url: str, alt: str, size: int = 512) -> str:
    return f'<img src="{url}" alt="{alt}" width="{size}" height="{size}" style="image-rendering:auto">'


# front-end only: rebuild the viewer's URL from the tab key ("handle:version") and the controls.
# The Slice slider counts from 1 (the route's index from 0); a typed slice beyond the slider's
# range is clamped to it, and a window that is not a positive number (0, -100, an emptied box)
# leaves the picture as it was (session 19's walk: a broken-image icon, no word why).
_VIEWER_JS = """(key, view, number, w, l) => {
  const box = document.querySelector('#slice input[type=number]');
  const lo = box && box.min !== '' ? Number(box.min) : 1;
  const hi = box && box.max !== '' ? Number(box.max) : Infinity;
  let n = Math.round(Number(number));
  n = Number.isFinite(n) ? Math.min(Math.max(n, lo), hi) : number;
  const out = __OUT__;
  const img = document.querySelector('#viewer img');
  if (!img || !key || !key.includes(':')) return out;
  const [h, v] = key.split(':');
  const W = Number(w), L = Number(l);
  if (w === null || l === null || String(w).trim() === '' || String(l).trim() === '' ||
      !Number.isFinite(W) || !(W > 0) || !Number.isFinite(L) || !Number.isFinite(n)) return out;
  img.src = `/loupe/tab/${h}/slice.png?view=${view}&index=${n - 1}` +
            `&window=${String(W)}&level=${String(L)}&v=${v}`;
  return out;
}"""
FRAME_CLAMP_JS = """(s, number) => {
  const box = document.querySelector('#vframe input[type=number]');
  const lo = box && box.min !== '' ? Number(box.min) : 1;
  const hi = box && box.max !== '' ? Number(box.max) : Infinity;
  const n = Math.round(Number(number));
  return [s, Number.isFinite(n) ? Math.min(Math.max(n, lo), hi) : lo];
}"""
VIEWER_JS = _VIEWER_JS.replace("__OUT__", "[]")        # on a Window / Level change
SLICE_JS = _VIEWER_JS.replace("__OUT__", "[n]")        # on a Slice change: the box shows the clamped number


def build_app(svc: WebService):
    import gradio as gr

    from app.scene.render2d import presets
    from app.web import measure_ui as mui
    from app.web import reports as rep_mod
    from app.web import video as vid
    from app.web.png_files import PngFiles
    from app.web.render import world_at
    from app.web.thumbs import Thumbnails

    pngs = PngFiles()
    thumbs = Thumbnails()
    open_outputs: list = []     # the Open button's outputs (filled with the layout below)
    wl_presets = [p["name"] for p in presets()]
    plane_size = 320

    def fail(exc: Exception):
        return _fail(exc)

    def ready(st: BrowserState | None) -> bool:
        return st is not None and st.session is not None and st.session.scene is not None

    def key_of(st: BrowserState | None) -> str:
        return f"{st.handle}:{st.version}" if st is not None and st.handle else ""

    # ---- study browser ----------------------------------------------------------------------------
    def do_search(text):
        try:
            rows = svc.search(text)
        except LoupeError as exc:
            raise fail(exc) from None
        note = f"{len(rows)} series" if rows else "no series found: index the roots first"
        table = catalog_table(rows)
        gallery = []
        for row in rows[:THUMBS_SHOWN]:
            try:
                data = thumbs.png(svc.roots.resolve(row[4]))
            except LoupeError:
                data = None
            # one picture per row, a blank one where the series has none (a video): a click on
            # the n-th picture fills the n-th row's path (pick_thumb)
            picture = pngs.write(data if data is not None else no_thumb_png())
            gallery.append((picture, f"{row[0]} ({row[1]})\n{row[4]}"))
        return table, gallery, note

    def do_index():
        try:
            return svc.index_roots()
        except LoupeError as exc:
            raise fail(exc) from None

    def pick_row(evt: gr.SelectData, table):
        try:
            row = evt.index[0]
            return table.iloc[row, -1] if hasattr(table, "iloc") else table[row][-1]
        except (IndexError, KeyError, TypeError):
            return gr.update()

    def pick_thumb(evt: gr.SelectData, table):
        try:
            return table.iloc[evt.index, -1] if hasattr(table, "iloc") else table[evt.index][-1]
        except (IndexError, KeyError, TypeError):
            return gr.update()

    # ---- viewer ---------------------------------------------------------------------------------
    def viewer(st, view, index, window, level):
        if not ready(st):
            return ""
        return _img(viewer_url(st, view, index, window, level), f"{view} slice")

    def three(st, window, level):
        """The three planes at the tab's cursor, each with the others' lines (the crosshair)."""
        if not ready(st):
            return [None] * len(VIEWS)
        why = window_problem(window, level)
        if why:      # one message; the planes keep their pictures (were three "Error" boxes)
            return list(refused(LoupeError(why), len(VIEWS)))
        out = []
        one_plane = st.session.scene.volume.spatial_shape[0] == 1
        for v in VIEWS:
            if one_plane and v != "axial":   # a photo's "coronal" is a one-pixel line: no black picture
                out.append(None)
                continue
            try:
                out.append(pngs.write(svc.tab_png(st, v, None, window, level, plane_size)))
            except (LoupeError, ValueError, TypeError) as exc:
                return list(refused(exc, len(VIEWS)))   # one warning; "Error" over the planes before
        return out

    def do_open(path, st, view, request: gr.Request):
        from app.scene import mpr

        user = _user(svc, request)
        if st is None or st.session is None:
            st = BrowserState(session=svc.session(user))
        try:
            svc.open_for(st.session, path)
            restored = st.session.restore_saved_layers()   # what was saved on this study, shown again
        except LoupeError as exc:
            # one message; the study on screen stays as it was (a raised error painted "Error" over
            # every control this event writes: View, Slice, Run, Layer, the planes; session 19)
            return (st, *refused(exc, len(open_outputs) - 1))
        st.path = path
        st.version += 1
        st.study_since = st.version  # a click on a picture older than this was on the previous study
        st.edit_target = None        # the editor's slice belonged to the previous study
        svc.register(st, user)
        scene = st.session.scene
        view = opening_view(scene, view)
        idx, count = mpr.slice_position(scene.volume.affine, scene.volume.spatial_shape, scene.plane(view))
        info = study_line(scene, Path(path).name, st.session.user) + restored_note(restored, st.session.unrestored)
        w, lv = display_number(scene.wl.width), display_number(scene.wl.level)   # 236.3, not 236.3249999999971
        found = _report_choices(svc, rep_mod, path)
        return (st, key_of(st), gr.update(**slice_slider(idx, count)), w, lv, viewer(st, view, idx + 1, w, lv), info,
                gr.update(choices=_layer_choices(st), value=None), *three(st, w, lv),
                gr.update(choices=found, value=found[0][1] if found else None),
                f"{len(found)} report(s) next to this study" if found else "no report next to this study",
                gr.update(value=view, interactive=scene.volume.spatial_shape[0] > 1),   # a photo has one plane
                *STUDY_CLEARED, gr.update(choices=preset_names(scene.volume), value=None), "",
                audit_table(st.session), *mui.study_outputs(st))

    def change_view(st, view, window, level):
        if not ready(st):
            return gr.update(), ""
        from app.scene import mpr

        scene = st.session.scene
        idx, count = mpr.slice_position(scene.volume.affine, scene.volume.spatial_shape, scene.plane(view))
        return gr.update(**slice_slider(idx, count)), viewer(st, view, idx + 1, window, level)

    def apply_preset(st, name):
        wl = preset_window(st.session.scene.volume, name) if ready(st) and name else None
        return (gr.update(), gr.update()) if wl is None else wl

    def click_plane(which: str):
        def handler(st, view, window, level, evt: gr.SelectData):
            """A click on one plane moves the crosshair there; the other planes and the main
            viewer follow (the main slider to the cursor's slice)."""
            if not ready(st):
                return refused(LoupeError("open a study first"), 2 + len(VIEWS) + 1)
            from app.scene import mpr

            scene = st.session.scene
            x, y = evt.index[0], evt.index[1]
            scene.set_cursor(world_at(scene, which, plane_size, float(x), float(y)))
            st.version += 1
            idx, _ = mpr.slice_position(scene.volume.affine, scene.volume.spatial_shape, scene.plane(view))
            return (key_of(st), *three(st, window, level), gr.update(value=idx + 1),
                    viewer(st, view, idx + 1, window, level))
        return handler

    def measure_click(st, tool, evt: gr.EventData):
        """A click on the viewer with a measurement tool chosen (the page reports the picture's
        pixel and URL: ``measure_ui.VIEWER_CLICK_JS``)."""
        return mui.on_click(st, tool, getattr(evt, "_data", None))

    # ---- backends and review --------------------------------------------------------------------
    def run_backend(st, backend, params, view, index, window, level, progress=gr.Progress()):  # noqa: B008 (Gradio's documented idiom)
        if not ready(st):     # one message; the viewer is not painted over with "Error"
            yield refused(LoupeError("open a study before running a backend"), 4)
            return
        try:
            prm = parse_params(params)
        except LoupeError as exc:
            yield refused(exc, 4)
            return
        for kind, a, b in _job_events(st, backend, prm):
            if kind == "p":
                progress(a, desc=b or backend)
                yield f"{backend}: {b} ({a:.0%})", gr.update(), gr.update(), gr.update()
                continue
            if kind == "t" or a is None:
                yield f"{backend} stopped: {b}", gr.update(choices=_layer_choices(st)), gr.update(), gr.update()
                return
            res = a
            st.version += 1
            names = ", ".join(lay.name for lay in res.layers) or "no layer"
            first = res.layers[0].id if res.layers else (res.findings_layer.id if res.findings_layer else None)
            yield (f"{backend} done: {names}; " + json.dumps(run_summary(res)["findings"]),
                   gr.update(choices=_layer_choices(st), value=first), viewer(st, view, index, window, level),
                   key_of(st))
            return

    def cancel(st):
        line = cancel_line(st)
        return gr.update() if line is None else line

    def decide(st, layer_id, comment, decision):
        """Accept / Reject. What cannot be decided is one message; the decision line and the
        audit table stay (a raised error put "Error" in their place, the audit hidden; session 19)."""
        if st is None or st.session is None:
            return refused(LoupeError("open a study first"), 2)
        if not layer_id:
            return refused(LoupeError("choose a layer to decide on"), 2)
        try:
            d = st.session.decide(layer_id, decision, comment or None)
        except LoupeError as exc:
            return refused(exc, 2)
        return f"{decision}ed {st.session.layer(layer_id).name} as {d.user}", audit_rows(st)

    def audit_rows(st):
        return [] if st is None or st.session is None else audit_table(st.session)

    # ---- mask editing (Gradio's image editor over the slice) ------------------------------------
    def edit_start(st, layer_id, view, index, window, level):
        """Put the slice in the editor and remember which one it is: Save edit writes there,
        wherever the Slice slider has moved since (it wrote into the slider's slice: strokes
        painted on slice 61 landed on slice 80 after a scroll; session 19's walk)."""
        if not ready(st):
            return refused(LoupeError("open a study first"), 2)
        if not layer_id:
            return refused(LoupeError("choose a label layer to edit"), 2)
        from app.web import mask_edit

        try:
            idx = slice_index(index)
            bg = mask_edit.background(st, layer_id, view, idx, float(window), float(level))
        except LoupeError as exc:
            return refused(exc, 2)
        st.edit_target = (layer_id, view, idx)
        name = st.session.layer(layer_id).name
        return ({"background": bg, "layers": [], "composite": None},
                f"Editing **{name}** on {view} slice {idx + 1}: Save edit writes there")

    def edit_save(st, layer_id, view, index, mode, label, drawing, comment, request: gr.Request):
        if not ready(st):
            return refused(LoupeError("open a study first"), 4)
        if st.edit_target is None:
            return refused(LoupeError("press Edit this slice first: the editor holds no slice of this study"), 4)
        from app.web import mask_edit

        target_layer, target_view, target_idx = st.edit_target   # the slice in the editor, not the slider's
        try:
            msg, new_id = mask_edit.save(st, target_layer, target_view, target_idx, drawing, mode, int(label),
                                         comment or None)
        except LoupeError as exc:
            return refused(exc, 4)       # "nothing painted on this slice": the editor keeps its strokes
        st.edit_target = (new_id, target_view, target_idx)
        st.version += 1
        return msg, key_of(st), audit_rows(st), gr.update(choices=_layer_choices(st), value=new_id)

    # ---- 3D ---------------------------------------------------------------------------------------
    def render_3d(st, camera):
        if not ready(st):
            return refused(LoupeError("open a study first"), 1)[0]
        from app.web.snapshot3d import snapshot

        try:
            return pngs.write(png_bytes(snapshot(st.session.scene, camera)))
        except LoupeError as exc:
            return refused(exc, 1)[0]

    # ---- video --------------------------------------------------------------------------------------
    def video_open(path, vst, request: gr.Request):
        user = _user(svc, request)
        if vst is None:
            vst = BrowserState(session=svc.session(user))
        try:
            meta = vid.open_video(svc, vst, path)
        except LoupeError as exc:
            return (vst, *refused(exc, VIDEO_OPEN_OUTPUTS - 1))
        vst.version += 1
        svc.register(vst, user)
        info = (f"**{Path(path).name}**: {meta['frames']} frames, {meta['width']} x {meta['height']}, "
                f"{meta['duration_s']:.2f} s")
        return (vst, info, gr.update(**frame_slider(meta["frames"])), *video_frame(vst, 1)[:3],
                gr.update(choices=[], value=None), "")    # "" : the Evidence line spoke of the last video

    def video_frame(vst, number):
        """The Frame slider's ``number`` (from 1, as the caption) shown: frame index number - 1;
        the slider gets the number shown back (clamped to 1..N)."""
        if vst is None or vst.video is None:
            return "", "", None, gr.update()
        try:
            number = min(max(int(number), 1), vst.video.n_frames)
            n = number - 1
            if vst.session is not None:
                vst.session.frames.set(n)   # the frame shown, in the Session (one index per study)
            url = f"/loupe/tab/{vst.handle}/frame.png?n={n}&v={vst.version}"
            w, h = vst.video.size
            cap = vid.frame_caption(vst, n)
            strip = pngs.write(png_bytes(vid.evidence_strip(vst.video.n_frames, vst.events, n)))
        except (LoupeError, ValueError, TypeError) as exc:
            return refused(exc, 4)
        return f'<img src="{url}" alt="{frame_text(n)}" width="{w}" height="{h}">', cap, strip, number

    def video_step(vst, n, delta):
        if vst is None or vst.video is None:
            return gr.update()
        return int(min(max(int(n) + delta, 1), vst.video.n_frames))   # frame numbers, from 1

    def video_strip_click(vst, evt: gr.SelectData):
        if vst is None or vst.video is None:
            return gr.update()
        x = float(evt.index[0])
        return frame_number(int(min(vst.video.n_frames - 1, max(0, x * vst.video.n_frames / STRIP_WIDTH))))

    def find_evidence(vst, params, progress=gr.Progress()):  # noqa: B008
        if vst is None or vst.video is None:
            yield refused(LoupeError("open a video first"), 2)
            return
        try:
            prm = parse_params(params)
        except LoupeError as exc:
            yield refused(exc, 2)
            return
        for kind, a, b in _job_events(vst, "evidence", prm):
            if kind == "p":
                progress(a, desc=b or "evidence")
                yield f"evidence: {b} ({a:.0%})", gr.update()
                continue
            if kind == "t" or a is None:
                yield f"evidence stopped: {b}", gr.update()
                return
            vst.events = vid.evidence_layer(a)
            choices = vid.event_choices(vst.events)
            yield (f"evidence: {len(choices)} event(s) on the track", gr.update(choices=choices, value=None))
            return

    # ---- report ---------------------------------------------------------------------------------------
    def report_show(choice):
        if not choice:
            return "", []
        try:
            real = svc.roots.resolve(choice)
            return rep_mod.report_view(real)
        except LoupeError as exc:
            raise fail(exc) from None

    def api_slice(path, view, index, window, level):
        try:
            return pngs.write(svc.slice_png(path, view, index, window, level))
        except (LoupeError, ValueError, TypeError) as exc:
            raise fail(exc) from None

    def api_infer(backend, path, params, request: gr.Request):
        try:
            return svc.infer(_user(svc, request), backend, path, params)
        except Exception as exc:
            raise fail(LoupeError(str(exc))) from None

    # ---- layout -------------------------------------------------------------------------------------
    try:
        backend_names = [r.name for r in svc.runner.backends()]
    except Exception:
        backend_names = ["threshold"]
    # delete_cache: Gradio keeps a copy of every picture it served; a day-long server filled /tmp
    with gr.Blocks(title="Loupe", delete_cache=(3600, 3600)) as demo:
        st = gr.State(None)
        vst = gr.State(None)
        gr.Markdown("## Loupe")
        tab_key = gr.Textbox(visible=False, elem_id="tab-key")
        with gr.Row():
            with gr.Column(scale=1):
                with gr.Accordion("Studies", open=True):
                    query = gr.Textbox(label="Search the catalog", elem_id="search")
                    with gr.Row():
                        search_btn = gr.Button("Search", elem_id="search-btn")
                        index_btn = gr.Button("Index roots", elem_id="index-btn")
                    # two tiles a row: four were cut off by the side column at 1280 and 800 px (session 19)
                    thumbs_g = gr.Gallery(label="Series", columns=THUMB_COLUMNS, height=220, elem_id="thumbs",
                                          allow_preview=False, show_label=False)
                    found = gr.Dataframe(headers=list(CATALOG_HEADERS), interactive=False, elem_id="found",
                                         wrap=True, column_widths=["50%", "50%"])
                    note = gr.Markdown()
                path = gr.Textbox(label="Path (under the roots)", elem_id="path")
                open_btn = gr.Button("Open", variant="primary", elem_id="open-btn")
                info = gr.Markdown(elem_id="info")
                view = gr.Radio(VIEWS, value="axial", label="View", elem_id="view")
                index = gr.Slider(1, 2, step=1, value=1, label="Slice", elem_id="slice")
                frame_ctl = gr.Slider(1, 2, step=1, value=1, label="Frame", elem_id="study-frame", visible=False)
                preset = gr.Dropdown(list(wl_presets), value=None, label="Window preset", elem_id="preset")
                with gr.Row():
                    window = gr.Number(value=400, label="Window", elem_id="window")
                    level = gr.Number(value=40, label="Level", elem_id="level")
            with gr.Column(scale=2):
                image = gr.HTML("", elem_id="viewer", min_height=512, js_on_load=mui.VIEWER_CLICK_JS)
                with gr.Accordion("Measure", open=True, elem_id="measure-box"):
                    tool = gr.Radio(list(mui.M.TOOLS), value="Off", label="Measure (click on the slice)",
                                    elem_id="measure-tool")
                    m_note = gr.Markdown(elem_id="measure-note")
                    m_table = gr.Dataframe(headers=list(mui.M.TABLE_HEADERS), interactive=False, wrap=True,
                                           elem_id="measure-table", column_widths=mui.M.TABLE_WIDTHS)
                    with gr.Row():
                        m_pick = gr.Dropdown([], label="Measurement", elem_id="measure-pick")
                        m_show = gr.Button("Show", elem_id="measure-show")
                        m_del = gr.Button("Delete", elem_id="measure-del")
                        m_undo = gr.Button("Undo point", elem_id="measure-undo")
                        m_draft_btn = gr.Button("Draft report", elem_id="measure-draft-btn")
                    m_draft = gr.Markdown(elem_id="measure-draft")
            with gr.Column(scale=1):
                backend = gr.Dropdown(backend_names, value="threshold" if "threshold" in backend_names else None,
                                      label="Backend", elem_id="backend")
                params = gr.Textbox(value="{}", label="Parameters (JSON)", elem_id="params")
                with gr.Row():
                    run_btn = gr.Button("Run", variant="primary", elem_id="run-btn")
                    cancel_btn = gr.Button("Cancel", elem_id="cancel-btn")
                status = gr.Textbox(label="Run", interactive=False, elem_id="status")
                layer = gr.Dropdown([], label="Layer", elem_id="layer")
                comment = gr.Textbox(label="Comment", elem_id="comment")
                with gr.Row():
                    accept_btn = gr.Button("Accept", elem_id="accept-btn")
                    reject_btn = gr.Button("Reject", elem_id="reject-btn")
                decided = gr.Markdown(elem_id="decided")
                audit = gr.Dataframe(headers=list(AUDIT_HEADERS), interactive=False, elem_id="audit", wrap=True,
                                     column_widths=["28%", "40%", "32%"])
        with gr.Accordion("Three planes (click to move the crosshair)", open=True, elem_id="planes-box"):
            with gr.Row():
                planes = [gr.Image(type="filepath", format="png", show_label=False, interactive=False,
                                   elem_id=f"plane-{v}", height=plane_size, width=plane_size) for v in VIEWS]
        with gr.Accordion("Edit mask", open=False, elem_id="edit-box"):
            gr.Markdown("Paint on the slice (any colour); **Save edit** writes the painted pixels into "
                        "the chosen label layer as a new human version (the AI version is kept), with audit.")
            with gr.Row():
                edit_mode = gr.Radio(["add", "erase"], value="add", label="Mode", elem_id="edit-mode")
                edit_label = gr.Number(value=1, precision=0, label="Label value", elem_id="edit-label")
                edit_btn = gr.Button("Edit this slice", elem_id="edit-btn")
                save_edit_btn = gr.Button("Save edit", variant="primary", elem_id="save-edit-btn")
            editor = gr.ImageEditor(type="numpy", elem_id="editor", height=560, width=560, layers=False,
                                    transforms=(), sources=(),
                                    brush=gr.Brush(colors=["#ff00ff"], default_size=12, color_mode="fixed"))
            edit_note = gr.Markdown(elem_id="edit-note")
        with gr.Accordion("3D snapshot", open=False):
            with gr.Row():
                camera = gr.Dropdown(["A", "P", "L", "R", "S", "I"], value="A", label="Camera (from)",
                                     elem_id="camera")
                snap_btn = gr.Button("Render 3D", elem_id="snap-btn")
            snap = gr.Image(type="filepath", format="png", show_label=False, elem_id="snap", interactive=False,
                            height=512, width=512)
        with gr.Accordion("Video", open=False, elem_id="video-box"):
            with gr.Row():
                vpath = gr.Textbox(label="Video path (under the roots)", elem_id="vpath")
                vopen_btn = gr.Button("Open video", elem_id="vopen-btn")
            vinfo = gr.Markdown(elem_id="vinfo")
            with gr.Row():
                vprev = gr.Button("◀ frame", elem_id="vprev")
                vframe = gr.Slider(1, 2, step=1, value=1, label="Frame", elem_id="vframe")
                vnext = gr.Button("frame ▶", elem_id="vnext")
            vcap = gr.Markdown(elem_id="vcap")
            vimg = gr.HTML("", elem_id="vimg")
            # no download / share / fullscreen buttons: on a 28-px strip they covered the last
            # ~5 % of the track, its events and the marker (session 19's walk at 800 px)
            strip = gr.Image(type="filepath", format="png", show_label=False, interactive=False,
                             elem_id="vstrip", height=28, width=STRIP_WIDTH, buttons=STRIP_BUTTONS)
            with gr.Row():
                vparams = gr.Textbox(value="{}", label="Evidence parameters (JSON)", elem_id="vparams")
                evid_btn = gr.Button("Find evidence", elem_id="evid-btn")
            vstatus = gr.Textbox(label="Evidence", interactive=False, elem_id="vstatus")
            jump = gr.Dropdown([], label="Jump to event", elem_id="jump")
        with gr.Accordion("Report", open=False, elem_id="report-box"):
            report_pick = gr.Dropdown([], label="Reports next to the study", elem_id="report-pick")
            report_note = gr.Markdown(elem_id="report-note")
            report_md = gr.Markdown(elem_id="report-md")
            report_rows = gr.Dataframe(headers=["id", "section", "status", "sentence", "evidence"],
                                       interactive=False, elem_id="report-rows", wrap=True)
        with gr.Row(visible=False):
            a_path, a_view = gr.Textbox(), gr.Textbox()
            a_index, a_window, a_level = gr.Number(), gr.Number(), gr.Number()
            a_png = gr.File()
            a_backend, a_params = gr.Textbox(), gr.Textbox()
            a_out = gr.JSON()

        private = {"api_visibility": "private"}
        search_btn.click(do_search, query, [found, thumbs_g, note], **private)
        query.submit(do_search, query, [found, thumbs_g, note], **private)
        index_btn.click(do_index, None, note, **private)
        found.select(pick_row, found, path, **private)
        thumbs_g.select(pick_thumb, found, path, **private)
        # the panels that speak of the previous study are cleared with the same answer (STUDY_CLEARED)
        outs = [st, tab_key, index, window, level, image, info, layer, *planes, report_pick, report_note,
                        view, status, decided, snap, editor, edit_note, preset, comment, audit,
                        m_table, m_pick, m_note, frame_ctl, m_draft]
        open_outputs.extend(outs)
        open_btn.click(do_open, [path, st, view], outs, **private)
        view.change(change_view, [st, view, window, level], [index, image], **private)
        # front end only: a new URL for the <img> (the Slice box gets the slice it shows back)
        index.change(None, [tab_key, view, index, window, level], index, js=SLICE_JS, **private)
        for ctl in (window, level):
            ctl.change(None, [tab_key, view, index, window, level], None, js=VIEWER_JS, **private)
        for ctl in (window, level):
            ctl.change(three, [st, window, level], planes, trigger_mode="always_last", **private)
        preset.change(apply_preset, [st, preset], [window, level], **private)
        for v, img in zip(VIEWS, planes, strict=True):
            img.select(click_plane(v), [st, view, window, level], [tab_key, *planes, index, image], **private)
        # measuring on the viewer, and the frame of a 4D study (app/web/measure_ui.py)
        measured = [tab_key, image, m_note, m_table, m_pick]
        image.select(measure_click, [st, tool], measured, **private).then(three, [st, window, level], planes,
                                                                          **private)
        tool.change(mui.on_tool, [st, tool, view, index, window, level], [tab_key, image, m_note], **private)
        m_del.click(mui.on_delete, [st, m_pick, view, index, window, level], measured, **private).then(
            three, [st, window, level], planes, **private)
        m_show.click(mui.on_show, [st, m_pick, window, level], [tab_key, view, index, image, m_note],
                     **private).then(three, [st, window, level], planes, **private)
        m_undo.click(mui.on_undo, [st, view, index, window, level], [tab_key, image, m_note], **private)
        m_draft_btn.click(mui.on_draft, st, m_draft, **private)
        frame_ctl.change(mui.on_frame, [st, frame_ctl, view, index, window, level], [tab_key, image, frame_ctl],
                         js=mui.STUDY_FRAME_JS, trigger_mode="always_last", **private).then(
            three, [st, window, level], planes, **private)
        run_btn.click(run_backend, [st, backend, params, view, index, window, level], [status, layer, image, tab_key],
                      concurrency_limit=2, **private).then(three, [st, window, level], planes, **private)
        cancel_btn.click(cancel, st, status, **private)
        snap_btn.click(render_3d, [st, camera], snap, concurrency_limit=1, **private)
        accept_btn.click(lambda s, l, c: decide(s, l, c, "accept"), [st, layer, comment], [decided, audit],
                         **private)
        reject_btn.click(lambda s, l, c: decide(s, l, c, "reject"), [st, layer, comment], [decided, audit],
                         **private)
        edit_btn.click(edit_start, [st, layer, view, index, window, level], [editor, edit_note], **private)
        save_edit_btn.click(edit_save, [st, layer, view, index, edit_mode, edit_label, editor, comment],
                            [edit_note, tab_key, audit, layer], **private).then(
            viewer, [st, view, index, window, level], image, **private).then(
            three, [st, window, level], planes, **private)
        vopen_btn.click(video_open, [vpath, vst], [vst, vinfo, vframe, vimg, vcap, strip, jump, vstatus], **private)
        # a typed frame beyond 1..N is clamped in the browser before Gradio checks it (it answered
        # "Value 999 is greater than maximum value 174" and painted Error over the caption)
        vframe.change(video_frame, [vst, vframe], [vimg, vcap, strip, vframe], trigger_mode="always_last",
                      js=FRAME_CLAMP_JS, **private)
        vprev.click(lambda s, n: video_step(s, n, -1), [vst, vframe], vframe, **private)
        vnext.click(lambda s, n: video_step(s, n, 1), [vst, vframe], vframe, **private)
        strip.select(video_strip_click, vst, vframe, **private)
        evid_btn.click(find_evidence, [vst, vparams], [vstatus, jump], concurrency_limit=1, **private).then(
            video_frame, [vst, vframe], [vimg, vcap, strip, vframe], **private)
        jump.change(lambda n: gr.update() if n is None else int(n), jump, vframe, **private)
        report_pick.change(report_show, report_pick, [report_md, report_rows], **private)
        a_view.submit(api_slice, [a_path, a_view, a_index, a_window, a_level], a_png, api_name="slice", queue=False,
                      concurrency_limit=8, concurrency_id="slice")
        a_backend.submit(api_infer, [a_backend, a_path, a_params], a_out, api_name="infer", concurrency_limit=2)
    demo._loupe_pngs = pngs
    demo._loupe_css = PAGE_CSS
    return demo


THUMBS_SHOWN = 12
THUMB_COLUMNS = 2
# long paths in the study browser wrap inside their column instead of pushing it out of view
PAGE_CSS = "#found td, #found td * { overflow-wrap: anywhere; word-break: break-word; }"
STRIP_WIDTH = 800
VIDEO_OPEN_OUTPUTS = 8
STRIP_BUTTONS: list = []
CATALOG_HEADERS = ("description", "path")
AUDIT_HEADERS = ("who", "what", "when (UTC)")


def refused(exc: Exception, n: int) -> tuple:
    """A handler's answer when the reader asked for something the server will not do: one
    message (a Gradio warning toast, no traceback) and ``n`` outputs left as they were. Raising
    ``gr.Error`` instead paints "Error" over every output of the event."""
    import gradio as gr

    gr.Warning(str(exc))
    return tuple(gr.update() for _ in range(n))


def window_problem(window: Any, level: Any) -> str:
    """Why a typed window/level cannot be drawn ("" when it can)."""
    try:
        w, lv = float(window), float(level)
    except (TypeError, ValueError):
        return "Window and Level must be numbers"
    if not (w > 0 and w < float("inf")):
        return f"Window must be a number above 0 (got {w:g}); the picture keeps the last window"
    if lv != lv or abs(lv) == float("inf"):   # was reported as a bad Window naming the good window
        return f"Level must be a finite number (got {lv:g}); the picture keeps the last level"
    return ""


def catalog_table(rows: list[list[Any]]) -> list[list[Any]]:
    """The study browser's rows as two columns that fit beside the viewer: what the series is
    (description, modality, kind, files) and its path. Five columns hid the path, the column a
    click fills in, at 1280 px and below (session 19's walk)."""
    out = []
    for desc, modality, kind, n_files, where in rows:
        what = ", ".join(str(x) for x in (modality, kind) if x)
        out.append([f"{desc} ({what}, {n_files} file{'s' if n_files != 1 else ''})", where])
    return out


def preset_names(volume: Any) -> list[str]:
    """The window presets that mean something on ``volume``: CT (HU) windows only on a CT, Auto
    (percentiles) on any image (the web offered the CT windows on an MR, and no Auto)."""
    from app.scene.render2d import preset_applies, presets

    return [p["name"] for p in presets() if preset_applies(p, volume)]


def preset_window(volume: Any, name: str) -> tuple[float, float] | None:
    """(window, level) of preset ``name`` on ``volume`` (Auto from its percentiles); None when the
    preset does not apply to it."""
    import numpy as np

    from app.scene.render2d import preset, presets

    p = next((p for p in presets() if p["name"] == name), None)
    if p is None or name not in preset_names(volume):
        return None
    wl = preset(p["key"], np.asarray(volume.array))
    return display_number(wl.width), display_number(wl.level)


def audit_table(session: Any) -> list[list[Any]]:
    """The audit of the study on screen (its layers' entries, newest first, at most 20): who, what
    (the action, the layer's name, the comment), when (to the second, UTC). It listed the whole
    store's last 20 entries, so the previous study's stayed after another was opened, and five
    columns led by the full ISO time pushed the user column out of the side column at 1280 px
    (session 19's walk)."""
    names = {lay.id: lay.name for lay in session.layers}
    if session.scene is not None:              # the study's measurements record (saved on each change)
        from app.review.study_measurements import record_id

        names[record_id(session.scene.volume)] = "measurements"
    rows = []
    for a in session.store.audit():
        if a.layer_id not in names:
            continue
        when = str(a.time).replace("T", " ")[:19]
        d = a.details if isinstance(a.details, dict) else {}
        note = d.get("comment") or d.get("note") or ""
        what = f"{a.action} {names[a.layer_id]}" + (f": {str(note)[:60]}" if note else "")
        rows.append([a.user, what, when])
    return rows[::-1][:20]       # newest first: the decision just made is on screen, not below the fold


def no_thumb_png() -> bytes:
    """The study browser's picture for a series without one: flat dark grey, thumbnail-sized."""
    import numpy as np

    from app.web.thumbs import THUMB

    return png_bytes(np.full((THUMB, THUMB, 3), 48, np.uint8))


# what opening a study writes into the run status, the decision line, the 3D snapshot, the mask
# editor and its note: all of them spoke of the study shown before (a run's result, a decision, a
# picture, a slice to paint on that belongs to another image)
STUDY_CLEARED: tuple = ("", "", None, None, "")


def slice_slider(idx: int, count: int) -> dict[str, Any]:
    """The slice slider's settings for slice index ``idx`` of a view of ``count`` slices: slice
    numbers 1..count, as the picture's corner counts them ("Slice 70/140"; session 19's walk: the
    slider said 0..139 and 69 under it). Gradio refuses a slider whose maximum equals its minimum
    ("Slider minimum must be less than maximum", every output of the event shown as Error): a
    one-slice view keeps 1..2 and is not interactive."""
    return {"minimum": 1, "maximum": max(count, 2), "value": idx + 1, "interactive": count > 1}


def frame_slider(count: int) -> dict[str, Any]:
    """The video's Frame slider: frame numbers 1..count, as the caption counts them (session 19:
    the slider said 0..N-1 under a caption that now says 'frame 1 / N'); a one-frame video keeps
    1..2 and is not interactive (Gradio refuses minimum == maximum, see ``slice_slider``)."""
    return {"minimum": 1, "maximum": max(int(count), 2), "value": 1, "interactive": count > 1}


def opening_view(scene: Any, view: str) -> str:
    """The plane a newly opened study is shown in: the reader's choice, except that a one-slice
    image (a photo, an X-ray, an ultrasound frame) has only its own plane; its coronal or sagittal
    "slices" are one-pixel lines drawn as a black picture."""
    return "axial" if scene.volume.spatial_shape[0] == 1 else view


def restored_note(restored: list, unrestored: list[str]) -> str:
    """After the study line: the saved layers shown again on reopening, and any that could not be read."""
    note = ""
    if restored:
        names = ", ".join(lay.name for lay in restored[:4]) + (", ..." if len(restored) > 4 else "")
        note += f"; saved on this study before: {len(restored)} layer(s) shown again ({names})"
    if unrestored:
        note += f"; not read back: {'; '.join(unrestored[:2])}"
    return note


def study_line(scene: Any, name: str, user: str) -> str:
    """The line under Open: sizes and spacing in the same order (columns x rows x slices), in mm
    only where the file gives a spacing; an uncalibrated image is measured in pixels, as the
    picture's own "uncalibrated" note says."""
    vol, cal = scene.volume, scene.calibration
    ijk = list(reversed(vol.spatial_shape))
    if ijk[2] == 1:
        size = f"{ijk[0]} x {ijk[1]} pixels"
        spacing = [float(x) for x in vol.spacing[:2]]
    else:
        size = f"{' x '.join(map(str, ijk))} voxels"
        spacing = [float(x) for x in vol.spacing]
    if cal.kind == "mm":
        unit = f"spacing {' x '.join(f'{s:.3g}' for s in spacing)} mm"
    elif cal.kind == "us":
        unit = "lengths in mm from the file's ultrasound regions"
    else:
        unit = "no spacing in the file: lengths in px"
    return f"**{name}**: {size}, {unit}; reviewer **{user}**"


def _report_choices(svc: WebService, rep_mod: Any, path: str) -> list[tuple[str, str]]:
    """Reports next to the opened study, as (name, path relative to its root)."""
    real = svc.roots.resolve(path)
    out = []
    for p in rep_mod.find_reports(svc.roots, real):
        rel = svc._relative(str(p))
        out.append((rel, rel))
    return out


def _layer_choices(st: BrowserState) -> list[tuple[str, str]]:
    if st is None or st.session is None:
        return []
    return [(f"{lay.name} ({lay.kind})", lay.id) for lay in st.session.layers]

"""The Gradio Blocks app: study browser, slice viewer, backend runs with progress and cancel,
review. Every handler translates browser values to ``WebService`` / ``Session`` calls; errors the
reader can act on come back as one line (``gr.Error``), never a traceback."""

import json
import os
import queue
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from app.data.types import LoupeError
from app.web.render import SliceRequest, png_bytes, render_view
from app.web.service import BrowserState, WebService, parse_params, run_summary

VIEWS = ["axial", "coronal", "sagittal"]
RUN_TIMEOUT_S = 600


def _user(svc: WebService, request: Any) -> str:
    """The login name is the reviewer; without a login (loopback, no token) the configured one."""
    name = getattr(request, "username", None) if request is not None else None
    return str(name or svc.config.user or "web")


def _fail(exc: Exception):
    import gradio as gr

    return gr.Error(str(exc), print_exception=False)


class PngFiles:
    """PNGs handed to Gradio as files (so the bytes the client downloads are ours, not a
    re-encoding). Named by content, so repeated slices are one file."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="loupe-web-"))

    def write(self, data: bytes) -> str:
        import hashlib

        p = self.dir / f"{hashlib.sha1(data).hexdigest()[:20]}.png"
        if not p.exists():
            tmp = p.with_suffix(f".{threading.get_ident()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, p)
        return str(p)


def build_app(svc: WebService):
    import gradio as gr

    from app.scene.render2d import presets

    pngs = PngFiles()
    wl_presets = {p["name"]: (float(p["width"]), float(p["level"])) for p in presets()
                  if "width" in p and "level" in p}

    # ---- handlers -------------------------------------------------------------------------------
    def do_search(text):
        try:
            rows = svc.search(text)
        except LoupeError as exc:
            raise _fail(exc) from None
        note = f"{len(rows)} series" if rows else "no series found: index the roots first"
        return rows, note

    def do_index():
        try:
            return svc.index_roots()
        except LoupeError as exc:
            raise _fail(exc) from None

    def pick_row(evt: gr.SelectData, table):
        try:
            row = evt.index[0]
            return table.iloc[row, 4] if hasattr(table, "iloc") else table[row][4]
        except (IndexError, KeyError, TypeError):
            return gr.update()

    def draw(st: BrowserState | None, view, index, window, level):
        if st is None or st.session is None or st.session.scene is None:
            return None
        try:
            rgb = render_view(st.session.scene, SliceRequest(view, int(index), float(window), float(level)))
        except (LoupeError, ValueError, TypeError) as exc:
            raise _fail(exc) from None
        return pngs.write(png_bytes(rgb))

    def do_open(path, st, view, request: gr.Request):
        from app.scene import mpr

        if st is None or st.session is None:
            st = BrowserState(session=svc.session(_user(svc, request)))
        try:
            svc.open_for(st.session, path)
        except LoupeError as exc:
            raise _fail(exc) from None
        st.path = path
        scene = st.session.scene
        plane = scene.plane(view)
        idx, count = mpr.slice_position(scene.volume.affine, scene.volume.spatial_shape, plane)
        vol = scene.volume
        info = (f"**{Path(path).name}**: {' x '.join(map(str, vol.spatial_shape))} "
                f"voxels, spacing {' x '.join(f'{s:.3g}' for s in vol.spacing)} mm; reviewer "
                f"**{st.session.user}**")
        img = draw(st, view, idx, scene.wl.width, scene.wl.level)
        return (st, gr.update(maximum=count - 1, value=idx), scene.wl.width, scene.wl.level, img, info,
                gr.update(choices=_layer_choices(st), value=None))

    def change_view(st, view):
        if st is None or st.session is None or st.session.scene is None:
            return gr.update(), None
        from app.scene import mpr

        scene = st.session.scene
        plane = scene.plane(view)
        idx, count = mpr.slice_position(scene.volume.affine, scene.volume.spatial_shape, plane)
        return gr.update(maximum=count - 1, value=idx), draw(st, view, idx, scene.wl.width, scene.wl.level)

    def apply_preset(name):
        if name not in wl_presets:
            return gr.update(), gr.update()
        return wl_presets[name]

    def run_backend(st, backend, params, view, index, window, level, progress=gr.Progress()):  # noqa: B008 (Gradio's documented idiom)
        if st is None or st.session is None or st.session.scene is None:
            raise _fail(LoupeError("open a study before running a backend"))
        try:
            prm = parse_params(params)
        except LoupeError as exc:
            raise _fail(exc) from None
        events: queue.Queue = queue.Queue()
        try:
            st.job = st.session.run_async(backend, on_progress=lambda f, m: events.put(("p", f, m)),
                                          on_done=lambda r, e: events.put(("d", r, e)), **prm)
        except Exception as exc:  # unknown backend, bad parameters: one line
            raise _fail(LoupeError(str(exc))) from None
        t0 = time.monotonic()
        while time.monotonic() - t0 < RUN_TIMEOUT_S:
            try:
                ev = events.get(timeout=0.25)
            except queue.Empty:
                continue
            if ev[0] == "p":
                progress(ev[1], desc=ev[2] or backend)
                yield f"{backend}: {ev[2]} ({ev[1]:.0%})", gr.update(), gr.update()
                continue
            st.job = None
            res, err = ev[1], ev[2]
            if res is None:
                yield f"{backend} stopped: {err}", gr.update(choices=_layer_choices(st)), gr.update()
                return
            names = ", ".join(lay.name for lay in res.layers) or "no layer"
            first = res.layers[0].id if res.layers else (res.findings_layer.id if res.findings_layer else None)
            yield (f"{backend} done: {names}; " + json.dumps(run_summary(res)["findings"]),
                   gr.update(choices=_layer_choices(st), value=first), draw(st, view, index, window, level))
            return
        if st.job is not None:
            st.job.cancel()
        yield f"{backend}: no answer in {RUN_TIMEOUT_S} s, cancelled", gr.update(), gr.update()

    def cancel(st):
        if st is None or st.job is None:
            return "nothing is running"
        st.job.cancel()
        return "cancel requested"

    def decide(st, layer_id, comment, decision):
        if st is None or st.session is None:
            raise _fail(LoupeError("open a study first"))
        if not layer_id:
            raise _fail(LoupeError("choose a layer to decide on"))
        try:
            d = st.session.decide(layer_id, decision, comment or None)
        except LoupeError as exc:
            raise _fail(exc) from None
        return f"{decision}ed {st.session.layer(layer_id).name} as {d.user}", audit_rows(st)

    def audit_rows(st):
        if st is None or st.session is None:
            return []
        return [[a.time, a.user, a.action, a.layer_id[:8], str(a.details)[:80]]
                for a in st.session.store.audit()][-20:]

    def render_3d(st, camera):
        if st is None or st.session is None or st.session.scene is None:
            raise _fail(LoupeError("open a study first"))
        from app.web.snapshot3d import snapshot

        try:
            return pngs.write(png_bytes(snapshot(st.session.scene, camera)))
        except LoupeError as exc:
            raise _fail(exc) from None

    def api_slice(path, view, index, window, level):
        try:
            return pngs.write(svc.slice_png(path, view, index, window, level))
        except (LoupeError, ValueError, TypeError) as exc:
            raise _fail(exc) from None

    def api_infer(backend, path, params, request: gr.Request):
        try:
            return svc.infer(_user(svc, request), backend, path, params)
        except Exception as exc:
            raise _fail(LoupeError(str(exc))) from None

    # ---- layout ---------------------------------------------------------------------------------
    try:
        backend_names = [r.name for r in svc.runner.backends()]
    except Exception:
        backend_names = ["threshold"]
    with gr.Blocks(title="Loupe") as demo:
        st = gr.State(None)
        gr.Markdown("## Loupe")
        with gr.Row():
            with gr.Column(scale=1):
                with gr.Accordion("Studies", open=True):
                    query = gr.Textbox(label="Search the catalog", elem_id="search")
                    with gr.Row():
                        search_btn = gr.Button("Search", elem_id="search-btn")
                        index_btn = gr.Button("Index roots", elem_id="index-btn")
                    found = gr.Dataframe(headers=["description", "modality", "kind", "files", "path"],
                                         interactive=False, elem_id="found")
                    note = gr.Markdown()
                path = gr.Textbox(label="Path (under the roots)", elem_id="path")
                open_btn = gr.Button("Open", variant="primary", elem_id="open-btn")
                info = gr.Markdown(elem_id="info")
                view = gr.Radio(VIEWS, value="axial", label="View", elem_id="view")
                index = gr.Slider(0, 1, step=1, value=0, label="Slice", elem_id="slice")
                preset = gr.Dropdown(list(wl_presets), value=None, label="Window preset", elem_id="preset")
                with gr.Row():
                    window = gr.Number(value=400, label="Window", elem_id="window")
                    level = gr.Number(value=40, label="Level", elem_id="level")
            with gr.Column(scale=2):
                image = gr.Image(type="filepath", format="png", label="Slice", show_label=False, elem_id="viewer",
                                 interactive=False, height=512, width=512)
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
                audit = gr.Dataframe(headers=["time", "user", "action", "layer", "details"], interactive=False,
                                     elem_id="audit")
        with gr.Accordion("3D snapshot", open=False):
            with gr.Row():
                camera = gr.Dropdown(["A", "P", "L", "R", "S", "I"], value="A", label="Camera (from)",
                                     elem_id="camera")
                snap_btn = gr.Button("Render 3D", elem_id="snap-btn")
            snap = gr.Image(type="filepath", format="png", show_label=False, elem_id="snap", interactive=False,
                            height=512, width=512)
        with gr.Row(visible=False):
            a_path, a_view = gr.Textbox(), gr.Textbox()
            a_index, a_window, a_level = gr.Number(), gr.Number(), gr.Number()
            a_png = gr.File()
            a_backend, a_params = gr.Textbox(), gr.Textbox()
            a_out = gr.JSON()

        private = {"api_visibility": "private"}
        search_btn.click(do_search, query, [found, note], **private)
        query.submit(do_search, query, [found, note], **private)
        index_btn.click(do_index, None, note, **private)
        found.select(pick_row, found, path, **private)
        open_btn.click(do_open, [path, st, view], [st, index, window, level, image, info, layer], **private)
        view.change(change_view, [st, view], [index, image], **private)
        index.change(draw, [st, view, index, window, level], image, trigger_mode="always_last", **private)
        preset.change(apply_preset, preset, [window, level], **private)
        window.change(draw, [st, view, index, window, level], image, trigger_mode="always_last", **private)
        level.change(draw, [st, view, index, window, level], image, trigger_mode="always_last", **private)
        run_btn.click(run_backend, [st, backend, params, view, index, window, level], [status, layer, image],
                      concurrency_limit=2, **private)
        cancel_btn.click(cancel, st, status, **private)
        snap_btn.click(render_3d, [st, camera], snap, concurrency_limit=1, **private)
        accept_btn.click(lambda s, l, c: decide(s, l, c, "accept"), [st, layer, comment], [decided, audit],
                         **private)
        reject_btn.click(lambda s, l, c: decide(s, l, c, "reject"), [st, layer, comment], [decided, audit],
                         **private)
        a_view.submit(api_slice, [a_path, a_view, a_index, a_window, a_level], a_png, api_name="slice", queue=False,
                      concurrency_limit=8, concurrency_id="slice")
        a_backend.submit(api_infer, [a_backend, a_path, a_params], a_out, api_name="infer", concurrency_limit=2)
    demo._loupe_pngs = pngs
    return demo


def _layer_choices(st: BrowserState) -> list[tuple[str, str]]:
    if st is None or st.session is None:
        return []
    return [(f"{lay.name} ({lay.kind})", lay.id) for lay in st.session.layers]

"""The web face's parts without a server: the PNG writer, clicks to world points, the
crosshair under label layers, what the slice cache keys on, the evidence track, the report view
and the mask edit written as a human version."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from runner_made import runner_made

from app.data.types import LoupeError

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "assets" / "sample"


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    from app.web.service import WebConfig, WebService

    return WebService(WebConfig(roots=[str(SAMPLE)], workspace=tmp_path_factory.mktemp("ws"), user="ana"))


def _decode(data: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def _otsu_layer(scene):
    from app.layers.provenance import Provenance
    from app.layers.types import LabelLayer

    lab = (np.asarray(scene.volume.array) > 300).astype(np.uint8)
    return runner_made(LabelLayer(lab, scene.volume.affine, "bone", Provenance("backend", "test", "1")))


def test_png_writer_is_lossless_and_small(svc):
    from app.web.render import SliceRequest, png_bytes, render_view

    rng = np.random.default_rng(0)
    for img in (render_view(svc.scene("head_ct"), SliceRequest("axial", 60, 80, 40)),
                rng.integers(0, 256, (37, 53, 3), dtype=np.uint8), np.zeros((1, 1, 3), np.uint8)):
        data = png_bytes(img)
        assert np.array_equal(_decode(data), img)
    from PIL import Image

    pic = render_view(svc.scene("head_ct"), SliceRequest("axial", 60, 80, 40))
    buf = io.BytesIO()
    Image.fromarray(pic).save(buf, format="PNG", compress_level=1)
    assert len(png_bytes(pic)) < 1.2 * len(buf.getvalue()), "the Up filter should compress like Pillow's"
    with pytest.raises(ValueError):
        png_bytes(np.zeros((4, 4), np.uint8))


def test_a_click_lands_on_the_world_point_under_it(svc):
    """world_at inverts the picture's mapping: the screen position of a voxel centre clicks
    back to that voxel (to within half a screen pixel), and clicks outside stay in the volume."""
    from app.scene.model import Scene
    from app.web.render import _screen, plane_at, view_mapping, world_at

    scene = Scene(svc.scene("head_ct").volume, "t")
    for view in ("axial", "coronal", "sagittal"):
        plane, cursor, _, _ = plane_at(scene, view, None)
        zoom, cuv = view_mapping(plane, 320, 320)
        target = scene.volume.index_to_world(np.array([200, 300, 70]))
        target = target - ((target - cursor) @ plane.normal) * plane.normal      # on this plane
        sx, sy = _screen(target, plane, zoom, cuv, 320, 320)
        got = world_at(scene, view, 320, sx - 0.5, sy - 0.5)
        assert np.abs(got - target).max() < 0.6 / zoom + 1e-6, (view, got, target)
        corner = world_at(scene, view, 320, 0, 0)
        ijk = scene.volume.world_to_index(corner)
        assert (ijk >= -1e-6).all() and (ijk <= np.array(scene.volume.spatial_shape[::-1]) - 1 + 1e-6).all()


def test_crosshair_is_drawn_over_label_layers(svc):
    """With a label layer the picture is resampled in colour; the crosshair must still be on it
    (a reshaped copy of a non-contiguous picture once swallowed it)."""
    from app.scene.model import Scene
    from app.web.render import SliceRequest, render_view

    scene = Scene(svc.scene("head_ct").volume, "t")
    scene.add_layer(_otsu_layer(scene))
    for view, k in (("axial", 60), ("coronal", 200), ("sagittal", 100)):
        with_x = render_view(scene, SliceRequest(view, k, 80, 40, annotate=False))
        without = render_view(scene, SliceRequest(view, k, 80, 40, crosshair=False, annotate=False))
        changed = np.abs(with_x.astype(int) - without.astype(int)).max(-1) > 30
        assert changed.sum() > 300, f"{view}: no crosshair over the label layer"
        assert changed[:5].any(), f"{view}: the crosshair does not reach the black border"


def test_slice_cache_keys_on_cursor_layers_and_their_versions(svc):
    from app.scene.model import Scene
    from app.web.render import SliceRequest
    from app.web.service import render_key

    real = svc.roots.resolve("head_ct")
    scene = Scene(svc.scene("head_ct").volume, "t")
    req = SliceRequest("axial", 60, 80.0, 40.0)
    base = render_key(real, scene, req)
    assert base == render_key(real, svc.scene("head_ct"), req), "a fresh tab shares the API's pictures"
    layer = _otsu_layer(scene)
    scene.add_layer(layer)
    k1 = render_key(real, scene, req)
    assert k1 != base
    layer.notify_data_changed()
    k2 = render_key(real, scene, req)
    assert k2 != k1, "an edited layer must not reuse the old picture"
    layer.opacity = 0.9
    assert render_key(real, scene, req) != k2
    scene.set_cursor(scene.cursor + np.array([5.0, 0, 0]))
    assert render_key(real, scene, req)[2] != k2[2]


def test_evidence_strip_marks_events_and_the_current_frame():
    from app.layers.provenance import Provenance
    from app.layers.types import EventsLayer, TemporalEvent
    from app.web.video import EVENT, MARKER, event_choices, evidence_strip

    ev = EventsLayer([TemporalEvent(50, 59, 0.8, "polyp")], "evidence", Provenance("backend", "evidence"))
    img = evidence_strip(200, ev, 120, width=400)
    orange = np.nonzero((img[14] == EVENT).all(-1))[0]
    assert orange.min() == 100 and orange.max() == 119, (orange.min(), orange.max())
    white = np.nonzero((img[2] == MARKER).all(-1))[0]
    assert 239 <= white.min() <= white.max() <= 242
    # numbered from 1 as the Frame slider and the caption count (frame indices 50..59; session 19)
    assert event_choices(ev) == [("1: frames 51-60 polyp (0.80)", 51)]
    assert not (evidence_strip(200, None, 0, width=400)[14] == EVENT).all(-1).any()
    with pytest.raises(LoupeError):
        evidence_strip(0, None, 0)


def test_reports_are_found_next_to_the_study_and_only_under_the_roots(tmp_path):
    from app.report.model import Evidence, Report, save_report
    from app.web.reports import find_reports, report_view
    from app.web.safety import Roots

    root = tmp_path / "root"
    (root / "case" / "report").mkdir(parents=True)
    (root / "case" / "ct.nii.gz").write_bytes(b"x")
    (root / "case" / "other.json").write_text('{"not": "a report"}')
    rep = Report("case")
    rep.add("Findings", "No fracture.", [Evidence("finding", "threshold", label="bone")])
    save_report(rep, root / "case" / "report" / "report.json")
    outside = tmp_path / "outside"
    outside.mkdir()
    save_report(rep, outside / "report.json")
    (root / "case" / "leak").symlink_to(outside, target_is_directory=True)
    roots = Roots([root])
    found = find_reports(roots, roots.resolve("case/ct.nii.gz"))
    assert found == [(root / "case" / "report" / "report.json").resolve()], found
    md, rows = report_view(found[0])
    assert "No fracture." in md and rows == [["s1", "Findings", "unchecked", "No fracture.", "finding bone (threshold)"]]
    with pytest.raises(LoupeError, match="not a Loupe report"):
        report_view(root / "case" / "other.json")


def test_mask_edit_writes_a_human_version_on_that_slice_only(svc, tmp_path):
    """Strokes from the editor become voxels of the painted slice in a copy of the layer, stored
    as a human version with audit; the AI version stays as it was."""
    from app.review.store import STORE_FILENAME, ReviewStore
    from app.web import mask_edit
    from app.web.render import plane_at
    from app.web.service import BrowserState

    st = BrowserState(session=svc.session("ed"))
    svc.open_for(st.session, "head_ct")
    st.path = "head_ct"
    ai = _otsu_layer(st.session.scene)
    st.session.add_layer(ai)
    before = ai.labels.copy()
    bg = mask_edit.background(st, ai.id, "axial", 60, 80, 40)
    plane, _, _, _ = plane_at(st.session.scene, "axial", 60)
    assert bg.shape == plane.shape + (3,)
    stroke = np.zeros(plane.shape + (4,), np.uint8)
    stroke[250:260, 250:270, 3] = 255          # 200 plane pixels in the brain (label 0 there)
    msg, new_id = mask_edit.save(st, ai.id, "axial", 60, {"background": bg, "layers": [stroke]}, "add", 3, "fix")
    new = st.session.layer(new_id)
    assert "saved add of" in msg and new is not ai, "the edit must be a copy (same layer id, new version)"
    assert np.array_equal(ai.labels, before), "the AI layer's array was written"
    diff = np.nonzero(new.labels != before)
    assert len(set(diff[0].tolist())) == 1 and len(diff[0]) == int(msg.split("add of ")[1].split()[0])
    assert (new.labels[diff] == 3).all()
    with pytest.raises(LoupeError, match="nothing painted"):
        mask_edit.save(st, new_id, "axial", 60, {"background": bg, "layers": []}, "add", 3, None)
    st.session.close()
    store = ReviewStore(svc.config.workspace / STORE_FILENAME)
    try:
        assert any(a.user == "ed" and "edit" in a.action for a in store.audit())
        head = store.head(new_id)
        assert head is not None and head.author == "ed" and head.source_kind == "human" and head.parent_version, \
            "not a human version on top of the AI one"
    finally:
        store.close()


def test_image_routes_answer_one_line_and_log_no_details(svc, caplog, monkeypatch):
    """An unexpected failure while drawing is a generic 500 to the browser and only the
    exception's type in the log (its text may hold a path or a patient name)."""
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from app.web.routes import Login, add_routes

    app = Starlette()
    add_routes(app, svc, Login(svc, lambda: None, required=False))
    client = TestClient(app)
    ok = client.get("/loupe/slice.png", params={"path": "head_ct", "index": 3, "window": 80, "level": 40})
    assert ok.status_code == 200 and ok.content == svc.slice_png("head_ct", "axial", 3, 80, 40)

    def boom(*a, **kw):
        raise RuntimeError("/data/DOE^JOHN/1.2.840.113619.2.55 unreadable")

    monkeypatch.setattr(svc, "slice_png", boom)
    with caplog.at_level("DEBUG"):
        r = client.get("/loupe/slice.png", params={"path": "head_ct", "index": 3})
    assert r.status_code == 500 and r.json() == {"error": "the server could not draw this picture"}
    assert "DOE" not in caplog.text and "1.2.840" not in caplog.text and "RuntimeError" in caplog.text
    # a login is required and there is none (Gradio not mounted yet): refused, not the default user
    locked = Starlette()
    add_routes(locked, svc, Login(svc, lambda: None, required=True))
    assert TestClient(locked).get("/loupe/slice.png", params={"path": "head_ct"}).status_code == 401


def test_a_reader_scrolling_finds_the_next_slices_drawn(svc):
    """After two one-slice steps the next PREFETCH slices of that direction are in the cache,
    and they are the pictures the tab would have drawn; a jump prefetches nothing."""
    import time

    from app.web.render import SliceRequest
    from app.web.service import PREFETCH, BrowserState, render_key

    st = BrowserState(session=svc.session("pf"))
    svc.open_for(st.session, "head_ct")
    st.path = "head_ct"
    real = svc.roots.resolve("head_ct")
    scene = st.session.scene

    def cached(k):
        return render_key(real, scene, SliceRequest("axial", k, 70.0, 30.0)) in svc._pngs

    svc.tab_png(st, "axial", 20, 70, 30)
    svc.tab_png(st, "axial", 30, 70, 30)           # a jump: no direction
    time.sleep(0.5)
    assert not cached(31) and not cached(29)
    svc.tab_png(st, "axial", 29, 70, 30)           # one step down
    t0 = time.monotonic()
    while not all(cached(29 - n) for n in range(1, PREFETCH + 1)) and time.monotonic() - t0 < 60:
        time.sleep(0.05)
    assert all(cached(29 - n) for n in range(1, PREFETCH + 1)), "the next slices were not drawn ahead"
    assert not cached(30 + PREFETCH + 1)
    hits = svc.png_hits
    got = svc.tab_png(st, "axial", 28, 70, 30)
    assert svc.png_hits == hits + 1
    from app.web.render import png_bytes, render_view

    assert got == png_bytes(render_view(scene, SliceRequest("axial", 28, 70.0, 30.0)))
    st.session.close()


def test_cancel_leaves_the_runs_closing_line_alone_once_the_job_stopped():
    """Cancel and the run write the same status box; the page shows whichever answer arrives last.
    Once the job has stopped, Cancel must answer 'leave it' (None), or under load its
    'cancel requested' lands over the run's 'stopped: cancelled' (a CI failure)."""
    import threading
    from types import SimpleNamespace

    from app.web.ui import cancel_line

    class SlowToStop:
        backend = "threshold"

        def __init__(self, stops: bool) -> None:
            self.stops, self.cancelled, self._done = stops, False, threading.Event()

        def cancel(self) -> None:
            self.cancelled = True
            if self.stops:     # the supervisor notices a moment later, on its own thread
                threading.Timer(0.2, self._done.set).start()

        def wait(self, timeout: float | None = None) -> bool:
            return self._done.wait(timeout)

    assert cancel_line(SimpleNamespace(job=None)) == "nothing is running"
    job = SlowToStop(stops=True)
    assert cancel_line(SimpleNamespace(job=job), wait_s=5.0) is None and job.cancelled
    stuck = SlowToStop(stops=False)
    line = cancel_line(SimpleNamespace(job=stuck), wait_s=0.3)
    assert stuck.cancelled and line is not None and "has not stopped" in line and "threshold" in line


def _open_handler(svc):
    """The Open button's handler from the built Gradio app, and its outputs' elem_ids."""
    from app.web.ui import build_app

    demo = build_app(svc)
    for fn in demo.fns.values():
        ids = [getattr(b, "elem_id", None) for b in fn.outputs]
        if "info" in ids and "tab-key" in ids:
            return fn.fn, ids
    raise AssertionError("no Open handler in the app")


def test_opening_another_study_clears_what_spoke_of_the_previous_one(tmp_path):
    """Walked in Chromium (session 14): a CT run shown in coronal, then a fundus photo opened.
    The photo came up in 'coronal' (a black picture, slider over 584 one-pixel lines), the Run
    box still said "threshold done ... 802.9 mL" of the CT, and the line under Open said
    "1 x 584 x 565 voxels, spacing 1 x 1 x 1 mm" for a file with no spacing (sizes in k, j, i
    order beside spacing in i, j, k)."""
    from PIL import Image

    from app.web.service import WebConfig, WebService

    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (60, 80), dtype=np.uint8)).save(tmp_path / "photo.png")
    svc2 = WebService(WebConfig(roots=[str(SAMPLE), str(tmp_path)], workspace=tmp_path / "ws", user="ana"))
    handler, ids = _open_handler(svc2)

    def out(values):
        return dict(zip(ids, values, strict=True))

    ct = out(handler("head_ct", None, "coronal", None))
    assert ct["view"]["value"] == "coronal" and ct["view"]["interactive"] is True   # a volume keeps the reader's plane
    assert "512 x 512 x 140 voxels, spacing 0.451 x 0.451 x 1 mm" in ct["info"], ct["info"]
    for cleared in ("status", "decided", "snap", "editor", "edit-note"):
        assert cleared in ids and not ct[cleared], cleared
    photo = out(handler(str(tmp_path / "photo.png"), None, "coronal", None))
    assert photo["view"]["value"] == "axial", photo["view"]
    assert photo["view"]["interactive"] is False, photo["view"]   # walked: coronal / sagittal of a photo were black
    assert photo["plane-axial"] is not None and photo["plane-coronal"] is None and photo["plane-sagittal"] is None
    assert ct["plane-coronal"] is not None and ct["plane-sagittal"] is not None
    sl = photo["slice"]                                   # Gradio refuses a slider with max == min
    assert sl["maximum"] > sl["minimum"] and sl["value"] == 1 and sl["interactive"] is False, sl
    assert ct["slice"]["maximum"] == 512 and ct["slice"]["interactive"] is True, ct["slice"]   # numbers 1..512
    assert "80 x 60 pixels" in photo["info"] and "mm" not in photo["info"], photo["info"]
    assert "px" in photo["info"], photo["info"]
    odd = np.linspace(0.3, 3071.7, 60 * 80).reshape(60, 80) ** 1.01   # percentiles far from round numbers
    Image.fromarray(odd.astype(np.uint16)).save(tmp_path / "odd.png")
    shown = out(handler(str(tmp_path / "odd.png"), None, "axial", None))
    for box in ("window", "level"):   # walked: the boxes showed 236.3249999999971
        digits = f"{float(shown[box]):.10g}".replace("-", "").replace(".", "").lstrip("0")
        assert box in ids and len(digits) <= 4, (box, shown[box])


def test_the_study_browser_opens_the_series_clicked(tmp_path, data_dir):
    """Walked in Chromium (session 14): with a folder of photos and a video as a root, every
    row of the study browser gave the folder as its path (a click on '02_test.tif' filled the
    folder, which opens some other file), and only series with a thumbnail got a picture, so
    the n-th picture no longer matched the n-th row that a click on it fills in."""
    from app.web.service import WebConfig, WebService

    clip = data_dir / "endoscopy" / "endovis2017_clip"
    if not (clip / "short_source.mp4").exists():
        pytest.skip("LOUPE_DATA has no endovis2017_clip")
    svc2 = WebService(WebConfig(roots=[str(clip)], workspace=tmp_path / "ws", catalog_db=tmp_path / "cat.sqlite"))
    svc2.index_roots()
    from app.web.ui import build_app

    demo = build_app(svc2)
    search = next(fn.fn for fn in demo.fns.values()
                  if [getattr(b, "elem_id", None) for b in fn.outputs] == ["found", "thumbs", None])
    table, gallery, _ = search("")
    rows = svc2.search("")
    assert [t[-1] for t in table] == [r[4] for r in rows], "the table's last column is the path a click fills"
    assert {r[0] for r in rows} >= {"frame.png", "short_source.mp4"}, rows
    for desc, _mod, _kind, _n, where in rows:
        real = svc2.roots.resolve(where)
        assert real.is_file() and real.name == desc, (desc, where)
    assert len(gallery) == len(rows), (len(gallery), len(rows))
    from app.scene.thumbnail import middle_slice_thumbnail

    pic = middle_slice_thumbnail(str(clip / "frame.png"), 96)   # a photo is its own picture (was none: a grey tile)
    assert pic is not None and pic.shape[2] == 3 and max(pic.shape[:2]) <= 96 and float(pic.std()) > 10, pic
    for (_pic, caption), row in zip(gallery, rows, strict=True):
        assert caption.endswith(row[4]), (caption, row)


def _handler(demo, *elem_ids, exact: bool = False):
    """The handler of ``demo`` whose outputs include every one of ``elem_ids`` (or are exactly
    them), and its outputs' ids."""
    for fn in demo.fns.values():
        ids = [getattr(b, "elem_id", None) for b in fn.outputs]
        if (ids == list(elem_ids)) if exact else all(e in ids for e in elem_ids):
            return fn.fn, ids
    raise AssertionError(f"no handler writing {elem_ids}")


def test_walk19_slices_from_1_presets_audit_of_this_study_and_one_message(tmp_path, monkeypatch):
    """Walked in Chromium (session 19): the Slice slider said 69 (0..139) under a picture saying
    "Slice 70/140"; the Window preset offered the CT windows on an MR (and no Auto) and kept
    "CT bone" when the MR opened; the Comment box and the audit table kept the CT's decision
    after the MR opened, and the audit's full ISO time pushed its user column out of view; a
    path that does not open painted "Error" over every control of the Open event."""
    import gradio as gr
    from PIL import Image

    from app.web import ui
    from app.web.service import WebConfig, WebService

    warned: list[str] = []
    monkeypatch.setattr(gr, "Warning", lambda msg, *a, **kw: warned.append(str(msg)))
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (60, 80), dtype=np.uint8)).save(tmp_path / "photo.png")
    svc2 = WebService(WebConfig(roots=[str(SAMPLE), str(tmp_path)], workspace=tmp_path / "ws", user="ana"))
    handler, ids = _open_handler(svc2)

    def out(values):
        return dict(zip(ids, values, strict=True))

    ct = out(handler("head_ct", None, "axial", None))
    assert ct["slice"]["minimum"] == 1 and ct["slice"]["maximum"] == 140 and ct["slice"]["value"] == 70, ct["slice"]
    assert "index=69&" in ct["viewer"], ct["viewer"]       # the route's index is the array's (from 0)
    assert ui.slice_index(70) == 69
    assert "CT bone" in ct["preset"]["choices"] and "Auto (percentiles)" in ct["preset"]["choices"]
    assert ct["preset"]["value"] is None and ct["comment"] == "" and ct["audit"] == []
    st = next(v for k, v in zip(ids, handler("head_ct", None, "axial", None), strict=True) if k is None)
    ct_volume = st.session.scene.volume
    assert ui.preset_window(ct_volume, "CT bone") == (2000, 500)
    layer = st.session.add_layer(_otsu_layer(st.session.scene))
    st.session.decide(layer.id, "accept", "bone fine")
    rows = ui.audit_table(st.session)
    assert rows and rows[0][0] == "ana" and rows[0][1] == "accept bone: bone fine", rows   # newest first
    assert "T" not in rows[0][2] and len(rows[0][2]) == 19 and len(rows[0]) == len(ui.AUDIT_HEADERS), rows
    photo = out(handler(str(tmp_path / "photo.png"), st, "axial", None))
    assert photo["preset"]["choices"] == ["Auto (percentiles)"] and photo["preset"]["value"] is None
    assert photo["comment"] == "" and photo["audit"] == [], photo["audit"]    # nothing of the CT's
    assert ui.preset_window(st.session.scene.volume, "CT bone") is None
    w, lv = ui.preset_window(st.session.scene.volume, "Auto (percentiles)")
    assert w > 0
    # a path that does not open: one message, every output left as it was, no exception
    bad = out(handler("no/such/study", st, "axial", None))
    assert warned and "no such file or folder" in warned[-1], warned
    assert all(v == gr.update() for k, v in bad.items() if k is not None), bad
    assert ui.window_problem(-100, 40) and ui.window_problem(None, 40) and not ui.window_problem(80, 40)
    assert ui.window_problem(400, float("nan")).startswith("Level must be a finite number")   # named the window
    assert ui.catalog_table([["STD BRAIN", "CT", "dicom", 28, "a/b"]]) == [["STD BRAIN (CT, dicom, 28 files)", "a/b"]]


def test_walk19_video_frame_clamped_and_evidence_line_cleared(tmp_path, data_dir, monkeypatch):
    """Walked in Chromium (session 19): a second video opened under the first one's "evidence: 1
    event(s) on the track"; a typed frame beyond 1..N was Gradio's "Value 999 is greater than
    maximum" with Error over the caption; a video path that does not open painted Error over
    the video controls."""
    import gradio as gr

    from app.web.service import WebConfig, WebService
    from app.web.ui import build_app

    clip = data_dir / "endoscopy" / "endovis2017_clip"
    if not (clip / "short_source.mp4").exists():
        pytest.skip("LOUPE_DATA has no endovis2017_clip")
    warned: list[str] = []
    monkeypatch.setattr(gr, "Warning", lambda msg, *a, **kw: warned.append(str(msg)))
    svc2 = WebService(WebConfig(roots=[str(clip)], workspace=tmp_path / "ws", user="ana"))
    demo = build_app(svc2)
    vopen, ids = _handler(demo, "vinfo", "vstatus")
    first = dict(zip(ids, vopen("short_source.mp4", None, None), strict=True))
    assert first["vstatus"] == "" and first["vframe"]["maximum"] == 20, first
    vst = next(v for k, v in zip(ids, vopen("short_source.mp4", None, None), strict=True) if k is None)
    frame, fids = _handler(demo, "vimg", "vcap", "vstrip", "vframe", exact=True)
    shown = dict(zip(fids, frame(vst, 999), strict=True))
    assert shown["vframe"] == 20 and shown["vcap"].startswith("frame 20 / 20"), shown
    assert dict(zip(fids, frame(vst, 0), strict=True))["vframe"] == 1
    bad = dict(zip(ids, vopen("nope.mp4", vst, None), strict=True))
    assert warned and "no such file" in warned[-1] and all(v == gr.update() for k, v in bad.items() if k), bad


def test_walk19_bad_numbers_are_one_plain_line(svc):
    """Walked (session 19): /loupe/tab/<h>/slice.png?index=abc answered Python's "invalid literal
    for int() with base 10: 'abc'", window=abc "could not convert string to float"."""
    with pytest.raises(LoupeError, match="index must be a whole number, got 'abc'"):
        svc.slice_png("head_ct", "axial", "abc", 80, 40)
    with pytest.raises(LoupeError, match="window must be a number, got 'abc'"):
        svc.slice_png("head_ct", "axial", 3, "abc", 40)
    with pytest.raises(LoupeError, match="index must be a whole number"):
        svc.slice_png("head_ct", "axial", "2.5", 80, 40)
    from app.web.service import whole_number

    with pytest.raises(LoupeError, match="frame index n must be a whole number"):
        whole_number("x", "frame index n")


def test_walk19_a_refused_action_leaves_the_panels_alone(tmp_path, monkeypatch):
    """Walked in Chromium (session 19): Reject with no layer chosen answered "choose a layer to
    decide on" and put "Error" where the decision line and the audit table were (the audit
    hidden); Run before any study painted Error over the viewer. One message; outputs unchanged."""
    import gradio as gr

    from app.web.service import WebConfig, WebService
    from app.web.ui import build_app

    warned: list[str] = []
    monkeypatch.setattr(gr, "Warning", lambda msg, *a, **kw: warned.append(str(msg)))
    svc2 = WebService(WebConfig(roots=[str(SAMPLE)], workspace=tmp_path / "ws", user="ana"))
    demo = build_app(svc2)
    decide, _ = _handler(demo, "decided", "audit", exact=True)
    assert decide(None, None, "") == (gr.update(), gr.update()) and "open a study" in warned[-1]
    run, _ = _handler(demo, "status", "layer", "viewer", "tab-key", exact=True)
    answers = list(run(None, "threshold", "{}", "axial", 1, 80, 40))
    assert answers == [(gr.update(),) * 4] and "open a study" in warned[-1], answers
    snap, _ = _handler(demo, "snap", exact=True)
    assert snap(None, "A") == gr.update()


def test_walk19_nothing_covers_the_evidence_track(svc):
    """Walked in Chromium at 800 px (session 19): Gradio's download / share / fullscreen buttons
    sat over the right end of the 28-px evidence track, hiding its last events and the marker."""
    from app.web.ui import build_app

    demo = build_app(svc)
    strip = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "vstrip")
    assert not strip.buttons, strip.buttons


def test_walk19_save_edit_writes_on_the_slice_in_the_editor(tmp_path, monkeypatch):
    """Walked in Chromium (session 19): "Edit this slice" on slice 61, a scroll to slice 80 to
    look around, strokes painted on the editor's picture of 61, Save edit: the strokes were
    written into slice 80 (the slider's), not the slice painted on. The editor now says which
    slice it holds and Save edit writes there; Save without an editor slice is one message."""
    import gradio as gr

    from app.web.service import WebConfig, WebService
    from app.web.ui import build_app

    warned: list[str] = []
    monkeypatch.setattr(gr, "Warning", lambda msg, *a, **kw: warned.append(str(msg)))
    svc2 = WebService(WebConfig(roots=[str(SAMPLE)], workspace=tmp_path / "ws", user="ana"))
    demo = build_app(svc2)
    opener, ids = _handler(demo, "info", "tab-key")
    st = next(v for k, v in zip(ids, opener("head_ct", None, "axial", None), strict=True) if k is None)
    ai = st.session.add_layer(_otsu_layer(st.session.scene))
    start, _ = _handler(demo, "editor", "edit-note", exact=True)
    save, _ = _handler(demo, "edit-note", "tab-key", "audit", "layer", exact=True)
    assert save(st, ai.id, "axial", 80, "add", 3, None, "", None) == (gr.update(),) * 4
    assert "Edit this slice first" in warned[-1]
    editor, note = start(st, ai.id, "axial", 61, 80, 40)
    assert "axial slice 61" in note, note
    bg = editor["background"]
    stroke = np.zeros(bg.shape[:2] + (4,), np.uint8)
    stroke[250:260, 250:270, 3] = 255
    msg, _key, _audit, layer_update = save(st, ai.id, "axial", 80, "add", 3,
                                           {"background": bg, "layers": [stroke]}, "", None)
    assert "saved add of" in msg, msg
    new = st.session.layer(layer_update["value"])
    changed = np.nonzero(new.labels != ai.labels)
    assert set(changed[0].tolist()) == {60}, sorted(set(changed[0].tolist()))   # slice 61 = index 60, not 80

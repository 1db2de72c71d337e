"""Case board: four real images of different kinds, one statement linking ROIs on three of them,
save/restore through the review store, linked cameras only within a frame of reference, the
headless board screenshot and the figure export (PNG, PDF)."""
from __future__ import annotations

import re
import zlib

import numpy as np
import pytest
from PIL import Image

from app.board import CaseBoard, report_sentences
from app.board.persist import load_board, saved_boards
from app.data.types import LoupeError
from app.review.store import ReviewStore


@pytest.fixture
def four(data_dir):
    """X-ray, CT series, ultrasound frame, fundus photo: four kinds, four coordinate systems."""
    return [data_dir / "xray_iqa/cxr/00000001_000.png",
            data_dir / "dicom/dcm_qa_ct_philips_phantom/dicom",
            data_dir / "ultrasound/PSFHS_png/images/03744.png",
            data_dir / "retina/DRIVE/test/images/01_test.tif"]


def _board(qtbot, paths, **kw):
    from app.shell.case_board import CaseBoardWidget

    w = CaseBoardWidget.from_paths(paths, case_id="case-7", modalities=["DX", "", "US", "OP"][:len(paths)], **kw)
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    return w


def _centre_roi(w, image_id, frac=0.1):
    """An ellipse ROI at the centre of the image's displayed slice (world coordinates)."""
    m = w.models[image_id]
    v = w.cells[image_id].view
    p = m.plane(v.view_name)
    c = p.pixel_to_world(np.array([(p.shape[1] - 1) / 2, (p.shape[0] - 1) / 2]))
    a = c + p.right * p.shape[1] * p.pixel_size[0] * frac
    b = c + p.down * p.shape[0] * p.pixel_size[1] * frac * 0.6
    return w.add_roi_world(image_id, "ellipse", [c, a, b])


def test_board_model_links_and_json_roundtrip():
    b = CaseBoard("c1", "Case 1")
    from app.board import BoardImage

    ims = [b.add_image(BoardImage(f"/x/{i}.png", modality=m, calibrated=cal, frame_of_reference=f))
           for i, (m, cal, f) in enumerate([("CT", True, "1.2.3"), ("CT", True, "1.2.3"), ("OP", False, ""),
                                           ("MR", True, "9.9")])]
    r = [b.add_roi(im.id, "polygon", [[0, 0, 0], [10, 0, 0], [0, 10, 0]]) for im in ims[:3]]
    assert [x.space for x in r] == ["LPS_mm", "LPS_mm", "pixel"]
    s = b.add_statement("  lesion   seen on both  ", [x.id for x in r])
    assert s.text == "lesion seen on both"
    assert sorted(b.highlighted(s.id)) == sorted(im.id for im in ims[:3])
    assert b.link_groups() == [[ims[0].id, ims[1].id]]   # the MR (other FoR) and the photo are not linked
    assert "statements 1" in b.caption(ims[2]) and "no statements" in b.caption(ims[3])
    b2 = CaseBoard.from_dict(b.to_dict())
    assert b2.to_dict() == b.to_dict()
    with pytest.raises(LoupeError):
        b.add_statement("x", ["roi-nope"])
    with pytest.raises(LoupeError):
        b.add_statement("   ", [])
    bad = b.to_dict()
    bad["statements"][0]["roi_ids"].append("roi-missing")
    with pytest.raises(LoupeError, match="not on the board"):
        CaseBoard.from_dict(bad)
    assert report_sentences("FINDINGS: Heart size normal. No effusion.\n\nIMPRESSION: No acute disease.") == [
        "Heart size normal.", "No effusion.", "No acute disease."]


def test_statement_links_three_rois_highlight_save_restore(qtbot, four, tmp_path):
    from app.shell.case_board import CaseBoardWidget

    w = _board(qtbot, four)
    ids = [im.id for im in w.board.images]
    assert [im.calibrated for im in w.board.images] == [False, True, False, False]
    rois = [_centre_roi(w, i) for i in ids[:3]]
    assert len(w.board.rois) == 3 and w.roi_list.count() == 3
    # ROI coordinates: LPS mm on the CT, pixels on the photos (the X-ray ROI centre is its pixel centre)
    xr = w.board.roi(rois[0])
    assert xr.space == "pixel" and np.allclose(xr.handles[0][:2], [(512 - 1) / 2, (512 - 1) / 2], atol=0.6)
    ct = w.board.roi(rois[1])
    assert ct.space == "LPS_mm" and ct.handles[0][2] > 690   # the phantom sits at z ~ 700 mm
    # the user ticks three ROIs, types a statement, clicks Link
    for i in range(3):
        w.roi_list.item(i).setCheckState(__import__("PySide6.QtCore", fromlist=["Qt"]).Qt.Checked)
    w.statement_edit.setEditText("Round hyperdense focus matches on X-ray, CT and US")
    w._link_clicked()
    assert len(w.board.statements) == 1 and w.statement_list.count() == 1
    st = w.board.statements[0]
    assert sorted(st.roi_ids) == sorted(rois)
    # clicking the statement highlights every linked ROI (and nothing on the fourth image)
    w.highlight(None)
    assert all(not l.shapes for l in w.highlight_layers.values())
    w.statement_list.itemClicked.emit(w.statement_list.item(0))
    assert {k: len(v) for k, v in w.highlighted.items()} == {ids[0]: 1, ids[1]: 1, ids[2]: 1, ids[3]: 0}
    for n, i in enumerate(ids):
        img = _qimage_rgb(w.cells[i].view.grab().toImage())
        Image.fromarray(img).save(tmp_path / f"hl{n}.png")
        magenta = ((img[..., 0] > 200) & (img[..., 1] < 90) & (img[..., 2] > 180)).sum()
        assert (magenta > 30) == (i != ids[3]), (i, magenta)
    assert "statements 1" in w.cells[ids[0]].caption.text() and "no statements" in w.cells[ids[3]].caption.text()

    # save with the case, twice (immutable versions, audited), reopen from a fresh store handle
    store_path = tmp_path / "ws" / "loupe_review.sqlite"
    with ReviewStore(store_path) as store:
        v1 = w.save(store)
        w.board.add_statement("second look", [rois[2]], source="report")
        v2 = w.save(store, note="after report")
        assert v2.parent_version == v1.version_id and v2.author == w.user
        assert [a.action for a in store.audit(f"board:{w.board.case_id}")] == ["save_board", "save_board"]
        with pytest.raises(LoupeError, match="not a layer"):
            store.load_layer(f"board:{w.board.case_id}")
        import sqlite3

        with pytest.raises(sqlite3.DatabaseError, match="immutable"):   # the store's triggers hold for boards
            store._db.execute("UPDATE versions SET note='rewritten' WHERE version_id=?", (v1.version_id,))
        from app.shell.panels.review_panel import items_from_store

        assert items_from_store(store) == []   # a board is not an AI layer to review
    with ReviewStore(store_path, create=False) as store:
        assert store.integrity_check() == ["ok"]
        assert [b["kind"] for b in saved_boards(store)] == ["board"]
        old = load_board(store, "case-7", v1.version_id)
        assert len(old.statements) == 1
        back = load_board(store, "case-7")
        assert load_board(store, "other-case") is None
    assert back.to_dict() == w.board.to_dict()
    w2 = CaseBoardWidget.from_board(back)
    qtbot.addWidget(w2)
    for rid in rois:   # every ROI is back on its image at the same world position
        r = back.roi(rid)
        s1, s2 = w._shape_of(rid), w2._shape_of(rid)
        assert s2 is not None and np.allclose(s1.vertices, s2.vertices, atol=1e-6), r.kind
    w2.highlight(back.statements[0].id)
    assert sum(len(v) for v in w2.highlighted.values()) == 3


def _qimage_rgb(qimg) -> np.ndarray:
    from PySide6.QtGui import QImage

    q = qimg.convertToFormat(QImage.Format_RGB888)
    a = np.frombuffer(q.constBits(), np.uint8).reshape(q.height(), q.bytesPerLine())
    return a[:, : q.width() * 3].reshape(q.height(), q.width(), 3).copy()


def test_linking_only_within_one_frame_of_reference(qtbot, data_dir):
    ct = data_dir / "dicom/dcm_qa_ct_philips_phantom/dicom"
    paths = [ct, ct, data_dir / "dicom/dcm_qa_ct_GE_gantry_tilt/dicom", data_dir / "retina/DRIVE/test/images/01_test.tif"]
    from app.shell.case_board import CaseBoardWidget

    w = CaseBoardWidget.from_paths(paths, case_id="link")
    qtbot.addWidget(w)
    w.resize(1200, 900)
    w.show()
    qtbot.waitExposed(w)
    ids = [im.id for im in w.board.images]
    fors = [im.frame_of_reference for im in w.board.images]
    assert fors[0] and fors[0] == fors[1] and fors[2] and fors[2] != fors[0] and fors[3] == ""
    assert w.groups == [ids[:2]]
    assert "Linked (same frame of reference): images 1 + 2" in w.link_note.text()
    assert "Not linked: images 3, 4" in w.link_note.text()
    views = [w.cells[i].view for i in ids]
    before = [(v.zoom, v.center_uv) for v in views]
    views[0].zoom_by(2.0)
    assert views[1].zoom == pytest.approx(views[0].zoom) and views[1].center_uv == views[0].center_uv
    assert (views[2].zoom, views[2].center_uv) == before[2] and (views[3].zoom, views[3].center_uv) == before[3]
    c2, c3 = w.models[ids[2]].cursor.copy(), w.models[ids[3]].cursor.copy()
    w.models[ids[0]].step("axial", 3)
    assert np.allclose(w.models[ids[1]].cursor, w.models[ids[0]].cursor)
    assert np.allclose(w.models[ids[2]].cursor, c2) and np.allclose(w.models[ids[3]].cursor, c3)


def _cell_matches_source(img: np.ndarray, view, source: np.ndarray) -> float:
    """Correlation between what a cell shows inside the image's rectangle and the source image
    resized to it: whole (the rectangle is inside the cell) and recognisable (high correlation)."""
    p = view.plane
    tl = view.screen_of_world(p.pixel_to_world(np.array([-0.5, -0.5])))
    br = view.screen_of_world(p.pixel_to_world(np.array([p.shape[1] - 0.5, p.shape[0] - 0.5])))
    x0, y0, x1, y1 = int(round(tl.x())), int(round(tl.y())), int(round(br.x())), int(round(br.y()))
    assert 0 <= x0 < x1 <= view.width() and 0 <= y0 < y1 <= view.height(), "image not whole in its cell"
    shown = img[y0 + 2:y1 - 2, x0 + 2:x1 - 2].astype(float).mean(-1)
    src = np.asarray(Image.fromarray(source).convert("L").resize((x1 - x0, y1 - y0), Image.BILINEAR), float)
    src = src[2:-2, 2:-2]
    # corner text is drawn over the image: compare the central 80 % only
    h, w = shown.shape
    sl = (slice(h // 10, h - h // 10), slice(w // 10, w - w // 10))
    return float(np.corrcoef(shown[sl].ravel(), src[sl].ravel())[0, 1])


def test_board_screenshot_four_kinds_whole_and_recognisable(qtbot, four, tmp_path):
    from app.cli import main
    from app.shell.case_board import board_for_screenshot

    out = tmp_path / "board.png"
    assert main(["screenshot", *map(str, four), "--layout", "board", "--size", "400", "--out", str(out)]) == 0
    shot = np.asarray(Image.open(out).convert("RGB"))
    w = board_for_screenshot(four, 400)
    qtbot.addWidget(w)
    grab = _qimage_rgb(w.grab().toImage())
    assert grab.shape == shot.shape and np.abs(grab.astype(int) - shot).mean() < 1.0  # what the CLI wrote
    for im in w.board.images:
        view = w.cells[im.id].view
        assert min(view.width(), view.height()) >= 390
        o = view.mapTo(w, view.rect().topLeft())
        img = shot[o.y():o.y() + view.height(), o.x():o.x() + view.width()]
        if im.calibrated:   # the CT: its displayed (middle) axial slice, windowed as shown
            source = np.asarray(view._grey(w.models[im.id].slice_image(view.plane), w.models[im.id].wl))
        else:
            source = np.asarray(Image.open(im.path).convert("RGB"))
        r = _cell_matches_source(img, view, source)
        assert r > 0.9, (im.path, r)
    with pytest.raises(SystemExit):
        main(["screenshot", "--layout", "board", "--out", str(out)])
    assert main(["screenshot", str(four[0]), str(four[2]), "--out", str(tmp_path / "x.png")]) == 1


def _pdf_texts(pdf: bytes) -> list[str]:
    """The page's glyphs decoded with each embedded font's ToUnicode CMap (spaces are moves in a
    Qt PDF, and whatever they map to is dropped). No PDF library is installed: this reads what QPdfWriter writes."""
    glyphs = []
    for st in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            body = zlib.decompress(st)
        except zlib.error:
            continue
        glyphs += [int(h, 16) for run in re.findall(rb"<([0-9A-Fa-f]+)>\s*Tj", body)
                   for h in re.findall(rb"[0-9A-Fa-f]{4}", run)]
    out = []
    for cmap in re.findall(rb"begincmap(.*?)endcmap", pdf, re.S):
        table = {}
        for a, b, rest in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(\[[^\]]*\]|<[0-9A-Fa-f]+>)", cmap):
            a, b = int(a, 16), int(b, 16)
            if rest.startswith(b"["):
                for k, u in enumerate(re.findall(rb"<([0-9A-Fa-f]+)>", rest)):
                    table[a + k] = chr(int(u, 16))
            else:
                for k in range(b - a + 1):
                    table[a + k] = chr(int(rest[1:-1], 16) + k)
        out.append("".join(table.get(g, "?") for g in glyphs if not table.get(g, "?").isspace()))
    return out


def test_figure_export_png_and_pdf(qtbot, four, tmp_path):
    from app.shell.case_board import FIG_CAPTION, FIG_CELL, FIG_MARGIN, export_figure

    w = _board(qtbot, four)
    ids = [im.id for im in w.board.images]
    rois = [_centre_roi(w, i) for i in (ids[0], ids[2], ids[3])]
    w.add_statement("Finding seen in three images", rois)
    w.highlight(None)
    png = export_figure(w, tmp_path / "fig.png")
    assert all(not l.shapes for l in w.highlight_layers.values())   # the figure leaves the board as it was
    fig = np.asarray(Image.open(png).convert("RGB"))
    head = 40
    assert fig.shape == (head + 2 * (FIG_CELL + FIG_CAPTION) + FIG_MARGIN + 22 * 2 + FIG_MARGIN,
                         2 * FIG_MARGIN + 2 * FIG_CELL + FIG_MARGIN, 3)
    for n in range(4):   # each image rendered, each caption has dark text on white
        r, c = divmod(n, 2)
        x, y = FIG_MARGIN + c * (FIG_CELL + FIG_MARGIN), head + r * (FIG_CELL + FIG_CAPTION + FIG_MARGIN)
        assert fig[y:y + FIG_CELL, x:x + FIG_CELL].std() > 20
        cell = fig[y:y + FIG_CELL, x:x + FIG_CELL].astype(int)   # cited ROIs outlined in magenta
        magenta = ((cell[..., 0] > 200) & (cell[..., 1] < 90) & (cell[..., 2] > 180)).sum()
        assert (magenta > 30) == (n != 1), (n, magenta)
        cap = fig[y + FIG_CELL + 2:y + FIG_CELL + FIG_CAPTION - 2, x:x + FIG_CELL].mean(-1)
        assert (cap < 100).sum() > 150, n
    assert w.board.caption(w.board.images[1]).startswith("2. dcm_qa_ct_philips_phantom/dicom | CT | no statements")
    assert "| US | statements 1" in w.board.caption(w.board.images[2])
    pdf = export_figure(w, tmp_path / "fig.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1
    assert len(re.findall(rb"/Subtype\s*/Image", pdf)) >= 4    # four images (Qt may add soft masks)
    assert re.search(rb"/Font", pdf)                            # captions are text, not pixels
    text = _pdf_texts(pdf)
    for im in w.board.images:   # every caption reads back from the PDF's glyphs via its ToUnicode map
        assert any(w.board.caption(im).replace(" ", "") in t for t in text), w.board.caption(im)
    assert any("1.Findingseeninthreeimages(ROIsonimages1,3,4)" in t for t in text)
    box = [float(v) for v in re.search(rb"/MediaBox\s*\[([^\]]+)\]", pdf).group(1).split()]
    assert box[2] == pytest.approx(fig.shape[1] * 0.75, abs=1.5) and box[3] == pytest.approx(fig.shape[0] * 0.75, abs=1.5)
    with pytest.raises(LoupeError, match="unknown"):
        export_figure(w, tmp_path / "fig.tiff")


def test_rois_drawn_with_the_usual_tools_become_board_rois(qtbot, four, tmp_path):
    """The Ellipse ROI tool dragged with the mouse on the fundus adds a board ROI in pixels; a
    distance measurement does not; deleting the shape drops the ROI from its statement."""
    from PySide6.QtCore import QPoint, Qt

    w = _board(qtbot, four)
    fundus = w.board.images[3]
    view = w.cells[fundus.id].view
    w.tool_box.setCurrentIndex([k for k, _ in __import__("app.shell.case_board", fromlist=["x"]).BOARD_TOOLS].index("ellipse"))
    c = view.screen_of_world([282.0, 291.5, 0.0])
    qtbot.mousePress(view, Qt.LeftButton, pos=QPoint(round(c.x()), round(c.y())))
    qtbot.mouseMove(view, QPoint(round(c.x()) + 40, round(c.y()) + 25))
    qtbot.mouseRelease(view, Qt.LeftButton, pos=QPoint(round(c.x()) + 40, round(c.y()) + 25))
    assert len(w.board.rois) == 1
    r = w.board.rois[0]
    assert r.image_id == fundus.id and r.kind == "ellipse" and r.space == "pixel"
    assert np.allclose(r.handles[0][:2], [282.0, 291.5], atol=1.5)   # pixel column, row of the press
    w.tool_box.setCurrentIndex(3)   # distance: a measurement, not an ROI
    qtbot.mousePress(view, Qt.LeftButton, pos=QPoint(20, 20))
    qtbot.mouseMove(view, QPoint(80, 60))
    qtbot.mouseRelease(view, Qt.LeftButton, pos=QPoint(80, 60))
    assert len(w.board.rois) == 1 and len(w.models[fundus.id].measurements.shapes) == 2
    st = w.add_statement("vessel crossing", [r.id])
    m = w.models[fundus.id]
    m.measurements.shapes = [s for s in m.measurements.shapes if s.attrs.get("measure") != "ellipse"]
    m.measurements.notify_data_changed()
    assert w.board.rois == [] and w.board.statement(st).roi_ids == []
    w.grab().save(str(tmp_path / "board_window.png"))


def test_video_frame_on_the_board_is_exactly_that_frame(data_dir):
    """``clip.mp4@N`` puts frame N on the board: compared with PyAV decoding the file in order."""
    import av

    from app.board.images import open_board_image

    clip = data_dir / "endoscopy/endovis2017_clip/short_source.mp4"
    im, vol = open_board_image(f"{clip}@7")
    assert im.path.endswith("@7") and not im.calibrated and vol.array.shape[-1] == 3
    with av.open(str(clip)) as c:
        ref = next(f for i, f in enumerate(c.decode(video=0)) if i == 7).to_ndarray(format="rgb24")
    assert np.array_equal(vol.array[0], ref)
    with pytest.raises(LoupeError, match="outside"):
        open_board_image(f"{clip}@999")


@pytest.mark.gui
def test_window_case_board_saved_with_case_and_reopened(qtbot, four, tmp_path):
    """The window's File > Case board: a board saved in the workspace store reopens as it was."""
    from app.shell.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.settings.set("workspace", str(tmp_path / "ws"))
    win.resize(1200, 800)
    win.show()
    board = win.open_case_board([str(p) for p in four], "case-42")
    assert win.stack.currentWidget() is board and len(board.cells) == 4
    ids = [im.id for im in board.board.images]
    rois = [_centre_roi(board, i) for i in ids[1:]]
    board.add_statement("Same lesion on CT, US and fundus", rois)
    board._save_clicked()
    assert "saved board case-42" in board.status.text()
    again = win.open_case_board(None, "case-42")   # no file dialog: the saved board is found
    assert again is not board and again.board.to_dict() == board.board.to_dict()
    again.statement_list.itemClicked.emit(again.statement_list.item(0))
    assert sorted(i for i, v in again.highlighted.items() if v) == sorted(ids[1:])
    win.close()

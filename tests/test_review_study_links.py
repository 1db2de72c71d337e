"""The review store knows which study each AI layer was made on, so the Review dock lists the items
of the study on screen (a CT reader was shown a fundus photo's vessel mask and a video's events),
and a result that finishes after another study was opened is kept with the study it ran on."""
from __future__ import annotations

import sqlite3

import numpy as np
from runner_made import runner_made

from app.data.types import Volume
from app.layers import LabelLayer, Provenance
from app.review.store import ReviewStore
from app.review.study_links import video_study_key, volume_study_key


def _ai(vol: Volume, name: str) -> LabelLayer:
    mask = (np.asarray(vol.array)[0] > 0).astype(np.uint8)
    return runner_made(LabelLayer(mask, vol.affine, name, Provenance.backend("vessels2d", "1.0", {})))


def _vol(seed: int, uid: str = "") -> Volume:
    arr = np.random.default_rng(seed).integers(0, 2, (1, 16, 16)).astype(np.uint8)
    v = Volume(arr, np.eye(4))
    if uid:
        v.meta["series_uid"] = uid
    return v


def test_links_are_kept_once_and_old_stores_read_as_unlinked(tmp_path):
    with ReviewStore(tmp_path / "s.sqlite") as st:
        assert st.layers_of_study("series:1") == set() and st.study_of("x") == ""   # no table yet
        a, b = _ai(_vol(1), "a"), _ai(_vol(2), "b")
        st.save_layer(a)
        st.save_layer(b)
        st.link_study([a.id], "series:1")
        st.link_study([a.id], "series:2")     # a link is never moved
        st.link_study([b.id], "")             # no study: nothing recorded
        assert st.layers_of_study("series:1") == {a.id}
        assert st.layers_of_study("series:2") == set() and st.study_of(b.id) == ""
    with sqlite3.connect(tmp_path / "s.sqlite") as db:   # the store's own tables are untouched
        assert db.execute("SELECT COUNT(*) FROM versions").fetchone()[0] == 2


def test_study_keys(tmp_path):
    assert volume_study_key(_vol(1, "1.2.3")) == "series:1.2.3"
    assert volume_study_key(_vol(1)) == volume_study_key(_vol(1)) != volume_study_key(_vol(2))
    clip = tmp_path / "a.mp4"
    clip.write_bytes(bytes(range(256)) * 20_000)
    moved = tmp_path / "b.mp4"
    moved.write_bytes(clip.read_bytes())
    other = tmp_path / "c.mp4"
    other.write_bytes(bytes(range(256)) * 20_000 + b"x")
    assert video_study_key(clip) == video_study_key(moved) != video_study_key(other)


def test_session_links_results_to_the_study_they_ran_on(tmp_path):
    """A result that arrives after another study was opened is stored with the study it ran on and
    does not join the scene now open."""
    from app.jobs.attest import attest_result
    from app.session import Session
    from backends.base import BackendResult

    s = Session(store=tmp_path / "ws", user="ana", runner=object())
    va, vb = _vol(1, "1.1"), _vol(2, "2.2")
    s.open_volume(va, "A")
    scene_a, study_a = s.scene, s.study
    assert study_a == "series:1.1"
    s.open_volume(vb, "B")
    late = _ai(va, "late mask")
    res = attest_result(BackendResult(layers=[late], record={"backend": "vessels2d", "version": "1.0", "params": {}}))
    s._accept("vessels2d", res, scene_a, study_a)
    assert late not in s.scene.layers
    assert s.store.layers_of_study(study_a) == {late.id} and s.store.layers_of_study(s.study) == set()
    drawn = LabelLayer(np.zeros((16, 16), np.uint8), vb.affine, "drawn on B", Provenance.human("ana"))
    s.add_layer(drawn)
    assert s.store.layers_of_study("series:2.2") == {drawn.id}
    s.close()


def test_review_panel_lists_the_study_on_screen(qtbot, tmp_path):
    from app.shell.panels.review_panel import ReviewPanel

    st = ReviewStore(tmp_path / "s.sqlite")
    a, b, old = _ai(_vol(1), "ct mask"), _ai(_vol(2), "photo mask"), _ai(_vol(3), "unlinked mask")
    for lay, study in ((a, "series:ct"), (b, "content:photo"), (old, "")):
        st.save_layer(lay)
        st.link_study([lay.id], study)
    panel = ReviewPanel(st, "ana")
    qtbot.addWidget(panel)
    titles = lambda: sorted(it.title.split(" (")[0] for it in panel.items)   # noqa: E731
    assert titles() == ["ct mask", "photo mask", "unlinked mask"]      # nothing on screen: everything
    panel.set_study("series:ct", "head CT")
    assert titles() == ["ct mask"] and "in head CT" in panel.status.text()
    panel.set_study("content:photo", "01_test.tif")
    assert titles() == ["photo mask"]
    panel.all_studies.setChecked(True)
    assert titles() == ["ct mask", "photo mask", "unlinked mask"]
    st.close()

"""Reopening a study shows again what was saved on it (walking the web face, a reopened CT showed
none of the layers made and corrected on it): each layer at its newest version, a correction over
the AI mask it replaced, a rejected one left out, another image's layers never."""
from __future__ import annotations

import numpy as np

from app.data.types import Volume
from app.layers import LabelLayer, Provenance
from app.session import Session
from app.web.ui import restored_note


def _image(offset: int = 0):
    return Volume(np.arange(64, dtype=np.int16).reshape(1, 8, 8) + offset, np.eye(4))


def test_reopening_shows_the_newest_saved_versions_and_leaves_out_rejected_ones(tmp_path):
    s = Session(store=tmp_path / "ws", user="ana", runner=object())
    s.open_volume(_image(), "img", "a/x.png")
    ai = s.add_layer(LabelLayer(np.zeros((1, 8, 8), np.uint8), np.eye(4), "vessels", Provenance.human("ana")))
    corrected = np.zeros((1, 8, 8), np.uint8)
    corrected[0, 2:5, 2:5] = 1
    s.edit(ai, labels=corrected)
    bad = s.add_layer(LabelLayer(np.ones((1, 8, 8), np.uint8), np.eye(4), "wrong", Provenance.human("ana")))
    s.decide(bad, "reject")
    again = s.add_layer(LabelLayer(corrected.copy(), np.eye(4), "vessels", Provenance.human("ana")))   # same again
    assert again.id != ai.id
    s2 = Session(store=tmp_path / "ws", user="bo", runner=object())
    s2.open_volume(_image(), "img", "b/moved.png")          # the same image, found by content
    assert s2.layers == []                                  # opening alone changes nothing
    back = s2.restore_saved_layers()
    assert [lay.name for lay in back] == ["vessels"] and s2.layers == back
    assert np.array_equal(back[0].labels, corrected)        # the correction, not the first version
    assert s2.restore_saved_layers() == []                  # nothing twice
    assert "1 layer(s) shown again (vessels)" in restored_note(back, s2.unrestored)
    # another image gets nothing of it
    s3 = Session(store=tmp_path / "ws", user="cy", runner=object())
    s3.open_volume(_image(1), "other")
    assert s3.restore_saved_layers() == [] and restored_note([], []) == ""

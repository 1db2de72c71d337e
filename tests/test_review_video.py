"""Video annotations: keyframe boxes interpolate linearly, segments and points validate frames, and
everything becomes ordinary layers that the COCO/CSV exporters accept."""
from __future__ import annotations

import numpy as np
import pytest

from app.data.types import LoupeError
from app.export.coco import read_coco, write_coco
from app.export.csv_segments import read_csv_segments, write_csv_segments
from app.export.reference import FrameReference
from app.review.video_annotations import VideoAnnotations


def test_keyframe_box_interpolation():
    va = VideoAnnotations(50)
    t = va.track("grasper")
    va.set_box(t, 10, (100, 100, 200, 150))
    va.set_box(t, 20, (200, 120, 320, 190))
    assert t.box_at(10) == (100, 100, 200, 150)
    assert np.allclose(t.box_at(15), (150, 110, 260, 170))
    assert np.allclose(t.box_at(12), (120, 104, 224, 158))
    assert t.box_at(9) is None and t.box_at(21) is None
    va.set_box(t, 30, (0, 0, 10, 10))
    assert np.allclose(t.box_at(25), (100, 60, 165, 100))
    t.remove_key(20)
    assert np.allclose(t.box_at(20), (50, 50, 105, 80))
    with pytest.raises(LoupeError, match="outside the video"):
        va.set_box(t, 50, (0, 0, 1, 1))
    layer = va.boxes_layer("ana")
    assert len(layer.shapes) == 21 and sum(s.attrs["keyframe"] for s in layer.shapes) == 2


def test_video_annotations_export(tmp_path):
    va = VideoAnnotations(12)
    t = va.track("tool")
    va.set_box(t, 0, (10, 10, 50, 40))
    va.set_box(t, 10, (60, 20, 100, 60))
    va.add_segment("bleeding", 2, 5, note="small")
    va.add_segment("suction", 6, 11)
    va.add_point(3, 30.0, 20.0, "tip")
    with pytest.raises(LoupeError):
        va.add_segment("x", 5, 2)
    ref = FrameReference(128, 96, [f"f{i}.png" for i in range(12)],
                         frame_times=[i / 25 for i in range(12)])
    out = write_coco([va.boxes_layer("ana"), va.points_layer("ana")], ref, tmp_path / "v.json")
    back = read_coco(out)
    boxes = back["shapes"].shapes
    assert len(boxes) == 11 and boxes[5].frame == 5
    assert np.allclose(boxes[5].vertices[:, :2], [[35, 15], [75, 50]])
    csv = write_csv_segments(va.segments_layer("ana"), ref, tmp_path / "s.csv")
    ev = read_csv_segments(csv, ref).events
    assert [(e.label, e.start_frame, e.end_frame, e.note) for e in ev] == [
        ("bleeding", 2, 5, "small"), ("suction", 6, 11, "")]

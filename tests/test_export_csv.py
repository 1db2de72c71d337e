"""CSV segment labels for video: exact round trip, times from the frame table, bad rows named."""
from __future__ import annotations

import pytest

from app.data.types import LoupeError
from app.export.csv_segments import read_csv_segments, write_csv_segments
from app.export.reference import FrameReference
from app.layers import EventsLayer, Provenance, TemporalEvent


def test_csv_round_trip(tmp_path):
    times = [0.0, 0.04, 0.08, 0.125, 0.166, 0.2, 0.25, 0.29, 0.33, 0.375]  # uneven (VFR) on purpose
    ref = FrameReference(320, 240, [f"{i}.png" for i in range(10)], frame_times=times)
    ev = [TemporalEvent(0, 3, 0.9, "bleeding, active", "red \"pool\"", [1, 2]),
          TemporalEvent(5, 9, 1.0, "clip applied", "", [])]
    layer = EventsLayer(ev, "segments", Provenance.human("ana"))
    out = write_csv_segments(layer, ref, tmp_path / "s.csv")
    text = out.read_text().splitlines()
    # the header says the frames are 0-based indices (the viewer numbers them from 1; session 19)
    assert text[0].startswith("label,start_frame_index,end_frame_index,start_s,end_s")
    assert text[0].endswith("key_frame_indices")
    assert "0.125000" in text[1] and "0.375000" in text[2]
    back = read_csv_segments(out, ref)
    assert [e.to_dict() for e in back.events] == [e.to_dict() for e in layer.events]
    # a file written before session 19 (start_frame, end_frame, key_frames) still reads the same
    old = tmp_path / "old.csv"
    old.write_text(out.read_text().replace("start_frame_index,end_frame_index", "start_frame,end_frame")
                   .replace("key_frame_indices", "key_frames"))
    assert [e.to_dict() for e in read_csv_segments(old, ref).events] == [e.to_dict() for e in layer.events]


def test_csv_bad_input(tmp_path):
    ref = FrameReference(320, 240, ["a", "b"])
    layer = EventsLayer([TemporalEvent(0, 5, 1.0, "x")], "s", Provenance.human("a"))
    # the layer's segment numbered as the timeline shows it (from 1); the file's numbers named as the
    # 0-based indices they are (both said "frames 0-5" beside "the 2 frames": neither numbering)
    with pytest.raises(LoupeError, match=r"segment 'x' \(frames 1-6\) falls outside the 2 frames"):
        write_csv_segments(layer, ref, tmp_path / "s.csv")
    assert not (tmp_path / "s.csv").exists()
    p = tmp_path / "past_end.csv"
    p.write_text("label,start_frame_index,end_frame_index\nx,0,5\n")
    with pytest.raises(LoupeError, match=r"line 2: frame indices 0-5 fall outside 0\.\.1 \(the 2 frames"):
        read_csv_segments(p, ref)
    p = tmp_path / "bad.csv"
    p.write_text("label,start_frame,end_frame\nx,7,3\n")
    with pytest.raises(LoupeError, match="line 2"):
        read_csv_segments(p)
    p.write_text("name,begin\nx,1\n")
    with pytest.raises(LoupeError, match="missing column"):
        read_csv_segments(p)


def test_format_table_dispatches_to_each_module(tmp_path):
    from app.export.formats import FORMATS, by_key, formats_for

    assert [f.key for f in formats_for("labels")] == ["seg", "nifti", "coco"]
    assert [f.key for f in formats_for("events")] == ["csv_segments"]
    for f in FORMATS:  # every entry names real functions
        assert callable(f._fn(f.writer)) and callable(f._fn(f.reader)) and f.file_filter.startswith(f.title)
    layer = EventsLayer([TemporalEvent(1, 2, 1.0, "x")], "s", Provenance.human("a"))
    out = by_key("csv_segments").write(layer, None, tmp_path / "s.csv")
    assert by_key("csv_segments").read(out).events[0].label == "x"
    with pytest.raises(KeyError, match="unknown export format"):
        by_key("pdf")

"""Video report sentences name frames and times as the video viewer's caption shows them
('frame n / N   hh:mm:ss.mmm': frames numbered from 1 since session 19, times from the first frame's
timestamp). On a
variable-frame-rate recording frame / frame rate is not that time (found walking the surgeon's task
in session 16: "key frame 85 at 3.4 s" for a frame the viewer shows at 00:00:04.900)."""
from __future__ import annotations

import json
from fractions import Fraction

import av
import numpy as np

from app.data.video import open_video
from app.report.draft import draft_report
from app.report.verify import verify_sentence

N = 120


def _vfr_video(path):
    """25 fps for 60 frames, then 10 fps: frame n starts at 0.04 n s, then 2.4 + 0.1 (n - 60) s."""
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.codec_context.time_base = Fraction(1, 1000)
        s.time_base = Fraction(1, 1000)
        for i in range(N):
            f = av.VideoFrame.from_ndarray(np.full((48, 64, 3), (i * 7) % 256, np.uint8), format="rgb24")
            f.pts = 40 * i if i < 60 else 2400 + 100 * (i - 60)
            f.time_base = Fraction(1, 1000)
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def test_event_times_are_the_viewers_on_a_variable_frame_rate_video(tmp_path):
    video = _vfr_video(tmp_path / "vfr.mkv")
    with open_video(video) as src:
        assert src.index.n_frames == N
        shown = {n: src.index.time_of(n) for n in (80, 85, 90)}    # what the caption shows
    assert abs(shown[85] - 4.9) < 1e-6 and abs(shown[80] - 4.4) < 1e-6
    res = tmp_path / "ev"
    res.mkdir()
    (res / "result.json").write_text(json.dumps({"backend": "evidence", "input": "vfr.mkv"}))
    (res / "events.json").write_text(json.dumps({"frames_total": N, "frames_kept": 20, "events": [
        {"start_frame": 80, "end_frame": 90, "key_frames": [85], "score": 0.9, "label": "event", "reason": ""}]}))
    (res / "evidence_stats.json").write_text(json.dumps({"fps": 25.0}))
    rep = draft_report(video, [res])
    event = rep.sentences[-1]
    # indices 80..90, key frame index 85: the reader sees them numbered from 1 (session 19)
    assert "frames 81 to 91 (4.4 s to 5.4 s); key frame 86 at 4.9 s" in event.text, event.text
    assert verify_sentence(event).status == "supported", verify_sentence(event).problems
    loc = event.evidence[0].locator
    assert (loc["start_frame"], loc["end_frame"], loc["start_frame_number"]) == (80, 90, 81)   # indices kept
    # a sentence naming the 0-based index sends the reader one frame off: not supported by the locator
    from dataclasses import replace

    off = replace(event, text=event.text.replace("key frame 86", "key frame 85"))
    assert verify_sentence(off).status != "supported"
    # without the video at hand (moved, deleted) the times fall back to frame / frame rate
    rep = draft_report(tmp_path / "gone.mkv", [res])
    assert "key frame 86 at 3.4 s" in rep.sentences[-1].text

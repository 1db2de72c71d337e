"""Exports: `run_app.py export-frame` writes exactly frame N; clips are exact and stream-copied
only when the cut is clean; storyboards hold the chosen frames."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from test_video_testkit import ROOT_DIR, cached_video, encode_video, read_code, shared_root, vfr_times_ms

from app.cli import main
from app.data.video import open_video
from app.data.video.export import clip_can_stream_copy, export_clip, storyboard


@pytest.fixture(scope="session")
def video(tmp_path_factory):
    return cached_video(shared_root(tmp_path_factory), "export_gop50.mp4",
                        lambda p: encode_video(p, 300, gop=50, bframes=2))


def codes(path):
    with open_video(path) as src:
        return [read_code(src.get(i).image) for i in range(src.n_frames)], src.index


@pytest.mark.parametrize("n", [0, 49, 50, 173, 299])
def test_export_frame_cli_writes_exact_frame(video, tmp_path, n):
    out = tmp_path / f"f{n}.png"
    assert main(["export-frame", str(video), "--index", str(n), "-o", str(out)]) == 0
    img = np.asarray(Image.open(out).convert("RGB"))
    assert img.shape == (240, 320, 3) and read_code(img) == n
    with open_video(video) as src:      # identical to what the viewer shows
        assert np.array_equal(img, src.frame(n))


def test_export_frame_cli_by_time_and_errors(video, tmp_path, capsys):
    out = tmp_path / "t.png"
    assert main(["export-frame", str(video), "--time", "00:00:02.000", "-o", str(out)]) == 0
    assert read_code(np.asarray(Image.open(out).convert("RGB"))) == 50
    assert main(["export-frame", str(video), "--index", "300", "-o", str(out)]) == 1
    assert "outside 0..299" in capsys.readouterr().err
    assert main(["export-frame", str(tmp_path / "missing.mp4"), "--index", "0", "-o", str(out)]) == 1


def test_export_frame_cli_time_refuses_a_frame_number(video, tmp_path, capsys):
    """--time takes a time: a frame number there ("12", "#12") is one line naming --index and the
    base of each (it was taken as index 12, one frame past the viewer's frame 12 that the go-to box
    shows for the same text)."""
    out = tmp_path / "n.png"
    for text in ("12", "#12"):
        assert main(["export-frame", str(video), "--time", text, "-o", str(out)]) == 1
        err = capsys.readouterr().err
        assert "is a frame number, not a time: give --index 11 for the viewer's frame 12" in err, err
        assert "Traceback" not in err and not out.exists()
    assert main(["export-frame", str(video), "--time", "2s", "-o", str(out)]) == 0
    assert read_code(np.asarray(Image.open(out).convert("RGB"))) == 50


def test_export_frame_cli_time_zero_negative_or_past_the_end_is_one_line(video, tmp_path, capsys):
    """--time 0 (the start, to most) said "frame numbers start at 1" about an option that takes a
    time; a time before 0 or past the end of the video silently wrote the first or last frame
    and exited 0 (session 21's review). Each is one line saying what to give instead."""
    out = tmp_path / "z.png"
    assert main(["export-frame", str(video), "--time", "0", "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "--time '0' is a frame number, not a time: give --time 0s for 0 seconds" in err, err
    assert "frame numbers start at 1" not in err and not out.exists()
    assert main(["export-frame", str(video), "--time=-5", "-o", str(out)]) == 1
    assert "--time '-5' is before the start: times count from 0" in capsys.readouterr().err
    for text in ("-2s", "-0.5", "999s", "00:10:00"):
        assert main(["export-frame", str(video), f"--time={text}", "-o", str(out)]) == 1
        err = capsys.readouterr().err
        assert "outside the video (00:00:00.000 to 00:00:12.000)" in err, (text, err)
        assert "Traceback" not in err and not out.exists()
    assert main(["export-frame", str(video), "--time", "0s", "-o", str(out)]) == 0
    assert read_code(np.asarray(Image.open(out).convert("RGB"))) == 0
    one = tmp_path / "one"                  # a lone frame lasts 0 s: its own time is still on the video
    one.mkdir()
    Image.fromarray(np.full((32, 48, 3), 90, np.uint8)).save(one / "f_0001.png")
    assert main(["export-frame", str(one), "--fps", "10", "--time", "0s", "-o", str(tmp_path / "one.png")]) == 0
    assert main(["export-frame", str(one), "--fps", "10", "--time", "1s", "-o", str(tmp_path / "one.png")]) == 1


def test_export_clip_cli_refuses_indices_past_the_video_in_one_line(video, tmp_path, capsys):
    """An index outside the video is the user's slip: one plain line (it was reported as an
    unexpected IndexError, with a pointer to the error log)."""
    out = tmp_path / "c.mp4"
    for a, b in (("-1", "3"), ("290", "300")):
        assert main(["export-clip", str(video), "--start", a, "--end", b, "-o", str(out)]) == 1
        err = capsys.readouterr().err
        assert f"clip frame indices {a}..{b} are outside 0..299" in err and "IndexError" not in err, err
        assert "errors.log" not in err and not out.exists()


def test_export_frame_via_run_app(video, tmp_path):
    out = tmp_path / "via_run_app.png"
    r = subprocess.run([sys.executable, str(ROOT_DIR / "run_app.py"), "export-frame", str(video), "--index", "123",
                        "-o", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert read_code(np.asarray(Image.open(out).convert("RGB"))) == 123


def test_clip_stream_copy_when_clean(video, tmp_path):
    with open_video(video) as src:
        assert clip_can_stream_copy(src.index, 100, 149)
        res = export_clip(src, 100, 149, tmp_path / "copy.mp4")
    assert res["method"] == "stream_copy"
    got, idx = codes(tmp_path / "copy.mp4")
    assert got == list(range(100, 150)) and idx.time_of(1) == pytest.approx(0.04)


def test_clip_reencoded_when_start_is_not_a_keyframe(video, tmp_path):
    with open_video(video) as src:
        assert not clip_can_stream_copy(src.index, 101, 160)
        res = export_clip(src, 101, 160, tmp_path / "re.mkv")
    assert res["method"] == "reencode"
    got, _ = codes(tmp_path / "re.mkv")
    assert got == list(range(101, 161))


def test_clip_cli_and_vfr_timing_kept(tmp_path):
    vfr = encode_video(tmp_path / "vfr.mkv", 80, times_ms=vfr_times_ms(80), gop=20)
    out = tmp_path / "vclip.mp4"
    assert main(["export-clip", str(vfr), "--start", "7", "--end", "40", "-o", str(out)]) == 0
    with open_video(vfr) as src:
        want = src.index.times[7:41] - src.index.times[7]
    got, idx = codes(out)
    assert got == list(range(7, 41)) and np.allclose(idx.times, want, atol=2e-3)


def test_storyboard_png_and_html(video, tmp_path):
    with open_video(video) as src:
        png = storyboard(src, [250, 10, 120], tmp_path / "board.png", columns=2, tile_width=320)
        page = storyboard(src, [10, 120], tmp_path / "board.html")
    sheet = np.asarray(Image.open(png).convert("RGB"))
    assert sheet.shape[1] == 2 * (320 + 8) + 8
    # tiles are in frame order: top-left is frame 10 (tile at full size, barcode readable)
    assert read_code(sheet[8:8 + 240, 8:8 + 320]) == 10
    assert read_code(sheet[8:8 + 240, 8 + 328:8 + 328 + 320]) == 120
    html = page.read_text()
    assert "frame 11 " in html and "frame 121 " in html   # captions number from 1 (indices 10, 120)
    assert read_code(np.asarray(Image.open(tmp_path / "board_frames" / "frame_0000120.png").convert("RGB"))) == 120

"""Storyboard export of evidence events: one self-contained HTML page (key frames embedded as
JPEG, so the page survives being copied on its own), a PDF of the same sheet, and the events as
CSV and JSON. Frames are read exactly through the video source (frame-exact seeks)."""
from __future__ import annotations

import base64
import csv
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from app.scene.frames import frame_number, frame_text

THUMB_W = 320


def _fmt_time(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{int(h):d}:{int(m):02d}:{s:06.3f}"


def _thumb(img: np.ndarray, width: int = THUMB_W):
    from PIL import Image

    im = Image.fromarray(np.ascontiguousarray(img[..., :3]))
    h = max(1, int(round(im.height * width / max(1, im.width))))
    return im.resize((width, h), Image.Resampling.LANCZOS)


def write_csv(events: Sequence[dict], times, out: Path) -> Path:
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        # the frames are 0-based indices (the viewer numbers them from 1): the header says so
        w.writerow(["event", "start_frame_index", "end_frame_index", "start_time_s", "end_time_s", "score", "label",
                    "reason", "key_frame_indices"])
        for i, e in enumerate(events, 1):
            t0 = float(times[e["start_frame"]]) if times is not None else ""
            t1 = float(times[e["end_frame"]]) if times is not None else ""
            w.writerow([i, e["start_frame"], e["end_frame"], t0, t1, e["score"], e["label"], e["reason"],
                        " ".join(str(k) for k in e["key_frames"])])
    return out


def write_storyboard(source, doc: dict, out_dir: Path, *, stem: str = "storyboard",
                     pdf: bool = True) -> dict[str, Path]:
    """Write ``<stem>.html``, ``<stem>.pdf`` (when ``pdf``), ``events.csv`` and
    ``events_storyboard.json`` under ``out_dir``; returns {name: path}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    events = doc["events"]
    times = source.index.times
    files: dict[str, Path] = {}
    files["events_csv"] = write_csv(events, times, out_dir / "events.csv")
    rows = []
    tiles = []  # (event number, frame, time, score, PIL image)
    for i, e in enumerate(events, 1):
        cells = []
        for k in e["key_frames"]:
            fr = source.get(int(k))
            im = _thumb(fr.image)
            tiles.append((i, int(k), float(times[int(k)]), e["score"], im))
            buf = io.BytesIO()
            im.save(buf, format="JPEG", quality=85)
            b64 = base64.b64encode(buf.getvalue()).decode("ascii")
            cells.append(f"<figure><img src='data:image/jpeg;base64,{b64}' alt='{frame_text(k)}'>"
                         f"<figcaption>{frame_text(k)} &middot; {_fmt_time(times[int(k)])}</figcaption></figure>")
        rows.append(   # frames numbered from 1 for the reader, as the viewer shows them
            f"<section><h2>Event {i}: frames {frame_number(e['start_frame'])}&ndash;{frame_number(e['end_frame'])} "
            f"({_fmt_time(times[e['start_frame']])} &ndash; {_fmt_time(times[e['end_frame']])}) "
            f"&middot; score {e['score']:.2f}</h2><p><b>{html.escape(e['label'])}</b>: "
            f"{html.escape(e['reason'])}</p><div class='row'>{''.join(cells)}</div></section>")
    title = f"Evidence storyboard: {html.escape(source.label)}"
    summary = (f"{len(events)} events; {doc['frames_kept']} of {doc['frames_total']} frames kept "
               f"({100.0 * doc['frames_kept'] / max(1, doc['frames_total']):.2f}%)")
    page = ("<!doctype html><meta charset='utf-8'><title>" + title + "</title><style>"
            "body{background:#18181c;color:#ddd;font-family:sans-serif;margin:16px}"
            "h2{font-size:16px;margin:18px 0 4px}.row{display:flex;flex-wrap:wrap;gap:8px}"
            f"figure{{margin:0}}img{{width:{THUMB_W}px}}figcaption{{font-size:12px}}</style>"
            f"<h1>{title}</h1><p>{summary}</p>" + "".join(rows))
    html_path = out_dir / f"{stem}.html"
    html_path.write_text(page, encoding="utf-8")
    files["storyboard_html"] = html_path
    (out_dir / "events_storyboard.json").write_text(json.dumps(
        {**doc, "times_s": {str(k): float(times[k]) for e in events for k in e["key_frames"]}}, indent=1))
    files["storyboard_json"] = out_dir / "events_storyboard.json"
    if pdf and tiles:
        files["storyboard_pdf"] = _write_pdf(tiles, out_dir / f"{stem}.pdf", title=source.label)
    return files


def _write_pdf(tiles, out: Path, *, title: str, per_page: int = 12, cols: int = 3) -> Path:
    """A4-ish pages of key-frame tiles with event, frame, time and score (Pillow's PDF writer)."""
    from PIL import Image, ImageDraw

    pw, ph = 1240, 1754
    pages = []
    tw = (pw - 40 * (cols + 1)) // cols
    for p0 in range(0, len(tiles), per_page):
        page = Image.new("RGB", (pw, ph), "white")
        d = ImageDraw.Draw(page)
        d.text((40, 20), f"Evidence storyboard: {title}  (page {p0 // per_page + 1})", fill="black")
        y = 60
        row_h = 0
        for j, (ev, n, t, score, im) in enumerate(tiles[p0:p0 + per_page]):
            c = j % cols
            if c == 0 and j:
                y += row_h + 40
                row_h = 0
            th = int(round(im.height * tw / im.width))
            x = 40 + c * (tw + 40)
            page.paste(im.resize((tw, th)), (x, y))
            d.text((x, y + th + 4), f"event {ev}  {frame_text(n)}  {_fmt_time(t)}  score {score:.2f}", fill="black")
            row_h = max(row_h, th + 20)
        pages.append(page)
    pages[0].save(out, format="PDF", save_all=True, append_images=pages[1:], resolution=150)
    return out

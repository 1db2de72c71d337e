"""Constructed long endoscopy videos for the evidence backend (a *constructed* benchmark: no real
capsule or long surgical video is available offline, see ../shared/data/README.md).

Every picture comes from a real frame of the shared data; nothing is drawn from scratch except the
degradations a real scope produces (illumination drift and jumps, blur episodes, specular/bubble
spots, dark stretches, sensor noise, single-frame glitches):

- **filler**: a virtual camera wandering smoothly (Ornstein-Uhlenbeck pan/zoom/roll) over the
  *non-lesion* parts of the real frames (Kvasir-SEG images with the polyp mask kept out of view,
  the EndoVis surgical frames), cutting to another frame now and then (shot boundaries);
- **events**: short stretches showing a real lesion (a Kvasir-SEG polyp, the mask inside the view)
  or another real scene (the EndoVis frame that is not part of the clip), with the same camera
  motion and degradations, sometimes two distinct lesions close together.

Ground truth is the frame interval of each event (presentation-order frame numbers).

Long 720p videos are too slow to encode in full on a 2-core machine, so :func:`build_surgical`
encodes a pool of distinct 10-second segments in one encoder session (IDR at every segment start)
and then stream-copies those segments, with shifted timestamps, into the full-length file: filler
segments repeat (far apart), event segments appear once. :func:`build_capsule` encodes every frame.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

BUILD_VERSION = 3   # part of cached file names: bump when the construction changes


# ---------------------------------------------------------------- real pictures

@dataclass
class Picture:
    """A real frame; ``avoid`` marks pixels that must stay out of filler views (the lesion)."""

    name: str
    image: np.ndarray              # RGB uint8
    lesion: np.ndarray | None = None  # bool mask of the lesion (polyp), when known

    def lesion_box(self) -> tuple[int, int, int, int] | None:
        if self.lesion is None or not self.lesion.any():
            return None
        ys, xs = np.nonzero(self.lesion)
        return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def _rgb(path: Path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(path)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def scope_interior(img: np.ndarray, min_valid: float = 0.995) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the largest centred box inside a still's image area: endoscopy stills
    have a black octagonal border with text and boxes burned in, which a real scope shows fixed.
    A virtual camera panning across that border would make motion no scope produces, so views are
    taken inside this box and the scope's border is drawn back on top, fixed (:class:`ScopeMask`)."""
    bad = (cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) <= 20).astype(np.int64)
    y0, y1, x0, x1 = 0, bad.shape[0], 0, bad.shape[1]
    # peel off whichever edge line holds the largest share of border pixels until the box is clean
    while y1 - y0 > 16 and x1 - x0 > 16:
        if bad[y0:y1, x0:x1].sum() <= (1 - min_valid) * (y1 - y0) * (x1 - x0):
            break
        edges = {"top": bad[y0, x0:x1].mean(), "bottom": bad[y1 - 1, x0:x1].mean(),
                 "left": bad[y0:y1, x0].mean(), "right": bad[y0:y1, x1 - 1].mean()}
        side = max(edges, key=edges.get)
        if side == "top":
            y0 += 1
        elif side == "bottom":
            y1 -= 1
        elif side == "left":
            x0 += 1
        else:
            x1 -= 1
    return x0, y0, x1, y1


def load_pictures(data_dir: Path) -> dict[str, list[Picture]]:
    """'polyps': Kvasir-SEG frames with masks; 'surgical': the EndoVis clip frames;
    'surgical_other': the EndoVis still that is not in the clip."""
    root = Path(data_dir) / "endoscopy"
    polyps = []
    for img_path in sorted((root / "Kvasir-SEG" / "images").glob("*.jpg")):
        mask = cv2.imread(str(root / "Kvasir-SEG" / "masks" / img_path.name), cv2.IMREAD_GRAYSCALE)
        img = _rgb(img_path)
        x0, y0, x1, y1 = scope_interior(img)
        polyps.append(Picture(img_path.stem[:10], img[y0:y1, x0:x1].copy(), mask[y0:y1, x0:x1] >= 128))
    surgical = []
    with av.open(str(root / "endovis2017_clip" / "short_source.mp4")) as c:
        for i, f in enumerate(c.decode(video=0)):
            surgical.append(Picture(f"endovis_clip_{i:02d}", f.to_ndarray(format="rgb24")))
    other = [Picture("endovis_frame", _rgb(root / "endovis2017_clip" / "frame.png"))]
    return {"polyps": polyps, "surgical": surgical, "surgical_other": other}


# ---------------------------------------------------------------- camera and degradations

@dataclass
class Camera:
    """Smooth random pan/zoom/roll over a picture (Ornstein-Uhlenbeck on each parameter).
    ``step`` is the typical per-frame move as a fraction of the view (capsule frames at 3 fps move
    much more between frames than surgical frames at 25 fps)."""

    rng: np.random.Generator
    pic_hw: tuple[int, int]
    out_wh: tuple[int, int]
    step: float
    view_frac: float = 0.6   # view width as a fraction of the picture width, on average
    cx: float = 0.0
    cy: float = 0.0
    zoom: float = 1.0
    roll: float = 0.0
    v: np.ndarray = field(default_factory=lambda: np.zeros(4))

    def __post_init__(self) -> None:
        h, w = self.pic_hw
        self.cx, self.cy = w / 2, h / 2

    def view_size(self) -> tuple[float, float]:
        h, w = self.pic_hw
        ow, oh = self.out_wh
        vw = min(w, self.view_frac * w * self.zoom)
        vh = vw * oh / ow
        if vh > h:
            vh = h
            vw = vh * ow / oh
        return vw, vh

    def place(self, cx: float, cy: float) -> None:
        self.cx, self.cy = cx, cy
        self._clamp()

    def _clamp(self) -> None:
        h, w = self.pic_hw
        vw, vh = self.view_size()
        r = 0.5 * np.hypot(vw, vh) * abs(np.sin(self.roll)) * 0.15
        self.cx = float(np.clip(self.cx, vw / 2 + r, w - vw / 2 - r)) if w > vw + 2 * r else w / 2
        self.cy = float(np.clip(self.cy, vh / 2 + r, h - vh / 2 - r)) if h > vh + 2 * r else h / 2

    def move(self) -> None:
        vw, _ = self.view_size()
        theta = 0.15
        noise = self.rng.normal(size=4)
        self.v = (1 - theta) * self.v + theta * noise
        self.cx += self.v[0] * self.step * vw * 2
        self.cy += self.v[1] * self.step * vw * 2
        self.zoom = float(np.clip(self.zoom * np.exp(self.v[2] * self.step * 0.6), 0.6, 1.4))
        self.roll = float(np.clip(self.roll + self.v[3] * self.step * 0.8, -0.6, 0.6))
        self._clamp()

    def matrix(self) -> np.ndarray:
        """Affine map from output pixels to picture pixels (for WARP_INVERSE_MAP)."""
        ow, oh = self.out_wh
        vw, _ = self.view_size()
        s = vw / ow
        c, sn = np.cos(self.roll) * s, np.sin(self.roll) * s
        return np.array([[c, -sn, self.cx - c * ow / 2 + sn * oh / 2],
                         [sn, c, self.cy - sn * ow / 2 - c * oh / 2]], np.float64)

    def view_corners(self) -> np.ndarray:
        ow, oh = self.out_wh
        m = self.matrix()
        pts = np.array([[0, 0, 1], [ow, 0, 1], [0, oh, 1], [ow, oh, 1]], np.float64)
        return pts @ m.T

    def render(self, pic: np.ndarray) -> np.ndarray:
        return cv2.warpAffine(pic, self.matrix(), self.out_wh, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_REFLECT101)


def lesion_fraction(cam: Camera, lesion: np.ndarray | None, integral: np.ndarray | None) -> float:
    """Fraction of the lesion mask's bounding area inside the view box (axis-aligned estimate)."""
    if lesion is None or integral is None:
        return 0.0
    c = cam.view_corners()
    h, w = lesion.shape
    x0, y0 = (int(np.clip(np.floor(c[:, 0].min()), 0, w)), int(np.clip(np.floor(c[:, 1].min()), 0, h)))
    x1, y1 = (int(np.clip(np.ceil(c[:, 0].max()), 0, w)), int(np.clip(np.ceil(c[:, 1].max()), 0, h)))
    inside = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
    return float(inside) / max(1.0, float(integral[-1, -1]))


def filler_view_frac(pic: Picture, wh: tuple[int, int]) -> float:
    """View width (fraction of the picture width) that fits beside the lesion's bounding box."""
    box = pic.lesion_box()
    if box is None:
        return 0.6
    h, w = pic.image.shape[:2]
    x0, y0, x1, y1 = box
    aspect = wh[1] / wh[0]
    free_w = max(x0, w - 1 - x1)                       # strips left/right: full height available
    free_h = max(y0, h - 1 - y1)                       # strips above/below: full width available
    best = max(min(free_w, h / aspect), min(w, free_h / aspect))
    return float(min(0.5, 0.9 * best / w))


def octagon_border(wh: tuple[int, int], cut: float = 0.22) -> np.ndarray:
    """The fixed black border of a scope's image (an octagon, as in the Kvasir stills): True outside."""
    w, h = wh
    yy, xx = np.mgrid[0:h, 0:w]
    u, v = np.abs(xx - (w - 1) / 2) / (w / 2), np.abs(yy - (h - 1) / 2) / (h / 2)
    return (u + v) > 2.0 - 2.0 * cut


class Degrader:
    """Scope degradations with episodes: illumination drift and jumps, blur, specular/bubble spots,
    darkness, noise, and one-frame glitches (a flash or a frame of other content)."""

    def __init__(self, rng: np.random.Generator, wh: tuple[int, int], fps: float, episodes: bool = True,
                 scope_border: bool = False) -> None:
        self.rng, self.wh, self.fps, self.episodes = rng, wh, fps, episodes
        self.border = octagon_border(wh) if scope_border else None
        w, h = wh
        self.noise = [rng.normal(0, 4.0, (h, w, 3)).clip(-12, 12).astype(np.int16) for _ in range(6)]
        self.noise_pos = [np.clip(n, 0, None).astype(np.uint8) for n in self.noise]
        self.noise_neg = [np.clip(-n, 0, None).astype(np.uint8) for n in self.noise]
        self.gain = 1.0
        self.gain_target = 1.0
        self.episode = None  # (kind, frames_left, param)
        yy, xx = np.mgrid[0:h, 0:w]
        r = np.hypot((xx - w / 2) / (w / 2), (yy - h / 2) / (h / 2))
        self.vignette = np.clip(1.15 - 0.35 * r ** 2, 0.4, 1.1).astype(np.float32)[..., None]
        self.n = 0

    def _maybe_start_episode(self) -> None:
        per_s = 1.0 / 25.0  # one episode every ~25 s on average
        if self.episodes and self.episode is None and self.rng.random() < per_s / self.fps * 1.0:
            kind = self.rng.choice(["blur", "bubbles", "dark", "blur", "bubbles"])
            secs = float(self.rng.uniform(0.3, 4.0))
            self.episode = [str(kind), max(1, int(round(secs * self.fps))), self.rng.integers(1 << 30)]

    def apply(self, img: np.ndarray) -> np.ndarray:
        rng = self.rng
        self.n += 1
        # illumination: slow drift plus occasional auto-exposure jumps
        if rng.random() < 1.0 / (8.0 * self.fps):
            self.gain_target = float(rng.uniform(0.65, 1.3))
        self.gain += (self.gain_target - self.gain) * min(1.0, 2.0 / self.fps)
        out = cv2.convertScaleAbs(img, alpha=self.gain)
        if self.n % 3 == 0 or self.fps < 10:
            pass
        self._maybe_start_episode()
        if self.episode is not None:
            kind, left, seed = self.episode
            if kind == "blur":
                k = 2 * int(3 + (seed % 5) * self.wh[0] / 256) + 1
                out = cv2.GaussianBlur(out, (k, k), 0)
            elif kind == "dark":
                out = cv2.convertScaleAbs(out, alpha=0.18 + (seed % 10) * 0.015)
            elif kind == "bubbles":
                out = self._bubbles(out, np.random.default_rng(seed))
            self.episode[1] -= 1
            if self.episode[1] <= 0:
                self.episode = None
        k = int(rng.integers(len(self.noise)))
        out = cv2.subtract(cv2.add(out, self.noise_pos[k]), self.noise_neg[k])
        if self.border is not None:
            out[self.border] = 0
        return out

    def _bubbles(self, img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Clusters of translucent rings with a bright specular dot (air bubbles under the light)."""
        w, h = self.wh
        out = img.copy()
        cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
        jitter = self.rng.normal(0, 0.01 * w, 2)
        for _ in range(int(rng.integers(15, 60))):
            x = int(cx + rng.normal(0, 0.18 * w) + jitter[0])
            y = int(cy + rng.normal(0, 0.18 * h) + jitter[1])
            r = int(max(2, rng.gamma(2.0, 0.012 * w)))
            cv2.circle(out, (x, y), r, (235, 240, 235), max(1, r // 5), cv2.LINE_AA)
            cv2.circle(out, (x - r // 3, y - r // 3), max(1, r // 4), (255, 255, 255), -1, cv2.LINE_AA)
        return cv2.addWeighted(out, 0.8, img, 0.2, 0)

    def glitch(self, img: np.ndarray, other: np.ndarray) -> np.ndarray:
        """A one-frame artefact: a white flash, a torn frame or one frame of unrelated content."""
        kind = self.rng.integers(3)
        if kind == 0:
            return cv2.convertScaleAbs(img, alpha=2.5, beta=60)
        if kind == 1:
            out = img.copy()
            y = int(self.rng.integers(img.shape[0] // 4, 3 * img.shape[0] // 4))
            out[y:] = np.roll(out[y:], int(self.rng.integers(10, img.shape[1] // 3)), axis=1)
            return out
        return other


# ---------------------------------------------------------------- scene scripts

@dataclass
class EventTruth:
    start_frame: int
    end_frame: int
    source: str
    kind: str  # 'polyp' or 'scene'


@dataclass
class VideoTruth:
    path: str
    fps: float
    width: int
    height: int
    n_frames: int
    events: list[EventTruth]
    note: str = ""

    def save(self, path: Path) -> None:
        d = asdict(self)
        Path(path).write_text(json.dumps(d, indent=1))

    @staticmethod
    def load(path: Path) -> VideoTruth:
        d = json.loads(Path(path).read_text())
        d["events"] = [EventTruth(**e) for e in d["events"]]
        return VideoTruth(**d)


class SceneMaker:
    """Renders filler and event frames from real pictures with camera motion and degradations."""

    def __init__(self, pics: dict[str, list[Picture]], wh: tuple[int, int], fps: float, step: float,
                 seed: int, filler_kinds: tuple[str, ...], episodes: bool = True,
                 scope_border: bool = False) -> None:
        self.rng = np.random.default_rng(seed)
        self.wh, self.fps, self.step = wh, fps, step
        self.pics = pics
        self.filler = [p for k in filler_kinds for p in pics[k] if filler_view_frac(p, wh) >= 0.25]
        self.integrals = {id(p): (None if p.lesion is None else
                                  cv2.integral(p.lesion.astype(np.uint8))) for k in pics for p in pics[k]}
        self.deg = Degrader(self.rng, wh, fps, episodes, scope_border)

    def _camera(self, pic: Picture, view_frac: float) -> Camera:
        return Camera(self.rng, pic.image.shape[:2], self.wh, self.step, view_frac=view_frac)

    def _lesion_free_camera(self, pic: Picture) -> Camera:
        """A camera on ``pic`` placed where its lesion is not in view."""
        integ = self.integrals[id(pic)]
        cam = self._camera(pic, filler_view_frac(pic, self.wh))
        for _ in range(200):
            h, w = pic.image.shape[:2]
            cam.place(self.rng.uniform(0, w), self.rng.uniform(0, h))
            if lesion_fraction(cam, pic.lesion, integ) < 0.01:
                break
        return cam

    def lesion_free_view(self, pic: Picture) -> np.ndarray:
        """One view of ``pic`` without its lesion (glitch frames must not show an unlabelled lesion)."""
        return self._lesion_free_camera(pic).render(pic.image)

    def filler_frames(self, n: int, *, pic: Picture | None = None, glitches: bool = True):
        """``n`` filler frames from one picture (a shot), the lesion kept out of view."""
        pic = pic or self.filler[int(self.rng.integers(len(self.filler)))]
        integ = self.integrals[id(pic)]
        cam = self._lesion_free_camera(pic)
        frames = []
        for _ in range(n):
            old = (cam.cx, cam.cy, cam.zoom, cam.roll, cam.v.copy())
            cam.move()
            if lesion_fraction(cam, pic.lesion, integ) >= 0.01:  # bounce off the lesion
                cam.cx, cam.cy, cam.zoom, cam.roll, cam.v = old[0], old[1], old[2], old[3], -old[4]
            img = cam.render(pic.image)
            if glitches and self.deg.episodes and self.rng.random() < 1.0 / (40.0 * self.fps):
                other = self.filler[int(self.rng.integers(len(self.filler)))]
                img = self.deg.glitch(img, self.lesion_free_view(other))
            frames.append(self.deg.apply(img))
        return frames

    def event_frames(self, n: int, pic: Picture):
        """``n`` frames with the lesion (or the whole other scene) in view."""
        box = pic.lesion_box()
        cam = self._camera(pic, 0.7 if box is None else 0.75)
        if box is not None:
            x0, y0, x1, y1 = box
            cam.place((x0 + x1) / 2 + self.rng.normal(0, 0.1 * (x1 - x0)),
                      (y0 + y1) / 2 + self.rng.normal(0, 0.1 * (y1 - y0)))
        frames = []
        for _ in range(n):
            cam.move()
            if box is not None:  # keep the lesion centre inside the view
                x0, y0, x1, y1 = box
                vw, vh = cam.view_size()
                cam.place(float(np.clip(cam.cx, (x0 + x1) / 2 - vw * 0.3, (x0 + x1) / 2 + vw * 0.3)),
                          float(np.clip(cam.cy, (y0 + y1) / 2 - vh * 0.3, (y0 + y1) / 2 + vh * 0.3)))
            frames.append(self.deg.apply(cam.render(pic.image)))
        return frames


# ---------------------------------------------------------------- encoding

def _open_encoder(path: Path, wh: tuple[int, int], fps: float, *, gop: int, crf: int = 26):
    c = av.open(str(path), "w")
    rate = Fraction(fps).limit_denominator(1001)
    s = c.add_stream("libx264", rate=rate)
    s.width, s.height = wh
    s.pix_fmt = "yuv420p"
    s.codec_context.gop_size = gop
    s.codec_context.options = {"preset": "ultrafast", "crf": str(crf), "forced-idr": "1",
                               "x264-params": f"keyint={gop}:min-keyint={min(gop, 25)}"}
    return c, s


def _encode(c, s, img: np.ndarray, idr: bool = False) -> None:
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
    if idr:
        frame.pict_type = av.video.frame.PictureType.I
    for p in s.encode(frame):
        c.mux(p)


def _flush(c, s) -> None:
    for p in s.encode():
        c.mux(p)
    c.close()


def _event_plan(rng: np.random.Generator, n_events: int, lo: int, hi: int, pair_every: int = 4):
    """Event lengths in frames; every ``pair_every``-th event is followed closely by a second,
    distinct lesion (gap 0 to a few frames)."""
    plan = []
    for i in range(n_events):
        length = int(rng.integers(lo, hi + 1))
        pair = (i % pair_every == pair_every - 1)
        plan.append((length, pair))
    return plan


def build_capsule(out: Path, data_dir: Path, *, n_frames: int = 20000, fps: float = 3.0, size: int = 256,
                  n_events: int = 16, seed: int = 1, progress=None) -> VideoTruth:
    """A capsule-like study: 256x256 at 2-4 fps, every frame encoded. Events last 3-8 frames."""
    pics = load_pictures(data_dir)
    rng = np.random.default_rng(seed + 1000)
    maker = SceneMaker(pics, (size, size), fps, step=0.06, seed=seed, filler_kinds=("polyps",),
                       scope_border=True)
    lesions = pics["polyps"] + pics["surgical_other"]
    plan = _event_plan(rng, n_events, 3, 8)
    # event start frames spread over the study, at least 300 frames apart
    slots = np.sort(rng.choice(np.arange(200, n_frames - 200, 300), size=len(plan), replace=False))
    tmp = out.with_name(out.stem + ".part" + out.suffix)
    c, s = _open_encoder(tmp, (size, size), fps, gop=int(fps * 10))
    truth: list[EventTruth] = []
    n = 0
    shot_left = 0
    ev = 0
    li = int(rng.integers(len(lesions)))

    def emit(frames, idr=False):
        nonlocal n
        for i, f in enumerate(frames):
            _encode(c, s, f, idr and i == 0)
            n += 1
            if progress and n % 2000 == 0:
                progress(n / n_frames)

    while n < n_frames:
        if ev < len(plan) and n >= slots[ev]:
            length, pair = plan[ev]
            ev += 1
            pic = lesions[li % len(lesions)]
            li += 1
            truth.append(EventTruth(n, n + length - 1, pic.name, "polyp" if pic.lesion is not None else "scene"))
            emit(maker.event_frames(length, pic))
            if pair:
                gap = int(rng.integers(0, 3))
                emit(maker.filler_frames(gap, glitches=False))
                pic2 = lesions[li % len(lesions)]
                li += 1
                length2 = int(rng.integers(3, 9))
                truth.append(EventTruth(n, n + length2 - 1, pic2.name,
                                        "polyp" if pic2.lesion is not None else "scene"))
                emit(maker.event_frames(length2, pic2))
            shot_left = 0
            continue
        if shot_left <= 0:
            shot_left = int(rng.integers(int(20 * fps), int(200 * fps)))
            shot_pic = maker.filler[int(rng.integers(len(maker.filler)))]
        chunk = min(shot_left, n_frames - n, (slots[ev] - n) if ev < len(plan) else n_frames)
        chunk = max(1, chunk)
        emit(maker.filler_frames(chunk, pic=shot_pic))
        shot_left -= chunk
    _flush(c, s)
    os.replace(tmp, out)
    vt = VideoTruth(str(out), fps, size, size, n, truth,
                    note="constructed capsule-like study: real Kvasir-SEG/EndoVis frames, every frame encoded")
    vt.save(out.with_suffix(".truth.json"))
    return vt


def build_surgical(out: Path, data_dir: Path, *, minutes: float = 30.0, fps: float = 25.0,
                   wh: tuple[int, int] = (1280, 720), n_events: int = 8, n_filler_segments: int = 14,
                   segment_s: float = 10.0, seed: int = 2, progress=None) -> VideoTruth:
    """A surgical-rate stream: 720p at 25 fps for ``minutes``. Distinct 10-s segments are encoded
    once (IDR at each start) and stream-copied into the full-length file with shifted timestamps."""
    pics = load_pictures(data_dir)
    rng = np.random.default_rng(seed + 1000)
    seg_n = int(round(segment_s * fps))
    maker = SceneMaker(pics, wh, fps, step=0.004, seed=seed, filler_kinds=("surgical",))
    clip = pics["surgical"]
    # not the EndoVis still: it is a frame of the same operation as the filler clip, the same scene
    # a moment apart, which no reader (and no appearance model) could tell from the filler
    lesions = pics["polyps"]

    def surgical_filler(n: int) -> list[np.ndarray]:
        # the real clip's 20 frames (10 fps) play forwards and backwards under the wandering camera
        start = int(rng.integers(len(clip)))
        cam = maker._camera(clip[0], 0.8)
        h, w = clip[0].image.shape[:2]
        cam.place(rng.uniform(0, w), rng.uniform(0, h))
        frames = []
        for i in range(n):
            k = start + int(i * 10 / fps)
            k = k % (2 * len(clip) - 2)
            k = k if k < len(clip) else 2 * len(clip) - 2 - k
            cam.move()
            img = cam.render(clip[k].image)
            if rng.random() < 1.0 / (40.0 * fps):
                img = maker.deg.glitch(img, maker.lesion_free_view(lesions[0]))
            frames.append(maker.deg.apply(img))
        return frames

    # segment pool: filler segments, then one segment per event (or close pair)
    plan = _event_plan(rng, n_events, int(0.5 * fps), int(1.2 * fps))
    pool_tmp = out.with_name(out.stem + ".pool.mp4")
    c, s = _open_encoder(pool_tmp, wh, fps, gop=seg_n)
    seg_events: list[list[tuple[int, int, str, str]]] = []
    li = int(rng.integers(len(lesions)))
    total_pool = n_filler_segments + len(plan)
    for si in range(total_pool):
        if si < n_filler_segments:
            frames = surgical_filler(seg_n)
            seg_events.append([])
        else:
            length, pair = plan[si - n_filler_segments]
            evs = []
            pre = int(rng.integers(int(2 * fps), seg_n - 2 * length - 10))
            frames = surgical_filler(pre)
            pic = lesions[li % len(lesions)]
            li += 1
            evs.append((len(frames), len(frames) + length - 1, pic.name, "polyp" if pic.lesion is not None else "scene"))
            frames += maker.event_frames(length, pic)
            if pair:
                frames += surgical_filler(int(rng.integers(0, int(0.3 * fps))))
                pic2 = lesions[li % len(lesions)]
                li += 1
                l2 = int(rng.integers(int(0.5 * fps), int(1.2 * fps)))
                evs.append((len(frames), len(frames) + l2 - 1, pic2.name, "polyp" if pic2.lesion is not None else "scene"))
                frames += maker.event_frames(l2, pic2)
            frames += surgical_filler(seg_n - len(frames))
            seg_events.append(evs)
        for i, f in enumerate(frames):
            _encode(c, s, f, idr=(i == 0))
        if progress:
            progress(0.8 * (si + 1) / total_pool)
    _flush(c, s)

    # arrangement: events spread over the stream, filler segments elsewhere (repeats far apart)
    n_segs = int(round(minutes * 60 / segment_s))
    order = [int(x) for x in rng.integers(0, n_filler_segments, n_segs)]
    ev_slots = np.sort(rng.choice(np.arange(1, n_segs - 1), size=len(plan), replace=False))
    for j, slot in enumerate(ev_slots):
        order[int(slot)] = n_filler_segments + j
    truth = []
    for pos, seg in enumerate(order):
        for a, b, name, kind in seg_events[seg]:
            truth.append(EventTruth(pos * seg_n + a, pos * seg_n + b, name, kind))
    _remux_segments(pool_tmp, out, seg_n, order)
    pool_tmp.unlink()
    if progress:
        progress(1.0)
    vt = VideoTruth(str(out), fps, wh[0], wh[1], n_segs * seg_n, truth,
                    note=(f"constructed surgical-rate stream: {total_pool} distinct {segment_s:g}-s segments of real "
                          f"EndoVis/Kvasir-SEG frames, stream-copied into {n_segs} segments (filler repeats)"))
    vt.save(out.with_suffix(".truth.json"))
    return vt


def _remux_segments(pool: Path, out: Path, seg_n: int, order: list[int]) -> None:
    """Write segments of ``pool`` (each ``seg_n`` frames, starting with an IDR, no B-frames) in
    ``order`` with continuous timestamps."""
    with av.open(str(pool)) as ic:
        ist = ic.streams.video[0]
        packets = [(p.pts, p.dts, p.is_keyframe, bytes(p)) for p in ic.demux(ist) if p.size]
        packets.sort(key=lambda p: p[1])
        step = packets[1][0] - packets[0][0]
        base = packets[0][0]
        segs: list[list] = [[] for _ in range(len(packets) // seg_n)]
        for pts, dts, key, data in packets:
            k = int(round((pts - base) / step)) // seg_n
            if k < len(segs):
                segs[k].append((pts - base - k * seg_n * step, dts - base - k * seg_n * step, key, data))
        tmp = out.with_name(out.stem + ".part" + out.suffix)
        with av.open(str(tmp), "w") as oc:
            ost = oc.add_stream_from_template(ist)
            for pos, k in enumerate(order):
                shift = pos * seg_n * step
                for pts, dts, key, data in segs[k]:
                    pk = av.Packet(data)
                    pk.pts, pk.dts = pts + shift, dts + shift
                    pk.time_base = ist.time_base
                    pk.stream = ost
                    if key:
                        pk.is_keyframe = True
                    oc.mux(pk)
    os.replace(tmp, out)


def build_scripted(out: Path, data_dir: Path, script: list[tuple], *, fps: float = 3.0, size: int = 256,
                   seed: int = 0, episodes: bool = False) -> VideoTruth:
    """A short video from a script (for tests): ``("filler", n)`` frames of one filler shot,
    ``("event", n, picture_index)`` frames of lesion picture i (Kvasir polyps, then the EndoVis
    still), ``("odd", picture_index)`` one single frame of that picture amid the filler."""
    pics = load_pictures(data_dir)
    maker = SceneMaker(pics, (size, size), fps, step=0.03, seed=seed, filler_kinds=("polyps",), episodes=episodes,
                       scope_border=True)
    lesions = pics["polyps"] + pics["surgical_other"]
    shot = maker.filler[seed % len(maker.filler)]
    frames: list[np.ndarray] = []
    truth = []
    for item in script:
        if item[0] == "filler":
            frames += maker.filler_frames(item[1], pic=shot, glitches=False)
        elif item[0] == "event":
            pic = lesions[item[2] % len(lesions)]
            truth.append(EventTruth(len(frames), len(frames) + item[1] - 1, pic.name, "polyp"))
            frames += maker.event_frames(item[1], pic)
        elif item[0] == "odd":
            frames += maker.event_frames(1, lesions[item[1] % len(lesions)])
        else:
            raise ValueError(item)
    tmp = out.with_name(out.stem + ".part" + out.suffix)
    c, s = _open_encoder(tmp, (size, size), fps, gop=int(fps * 10))
    for f in frames:
        _encode(c, s, f)
    _flush(c, s)
    os.replace(tmp, out)
    vt = VideoTruth(str(out), fps, size, size, len(frames), truth, note="scripted test video")
    vt.save(out.with_suffix(".truth.json"))
    return vt


def cached(path: Path, build, **kw) -> VideoTruth:
    """Build once; reuse the file and its truth afterwards (the build is deterministic by seed)."""
    truth_path = path.with_suffix(".truth.json")
    if path.exists() and truth_path.exists():
        return VideoTruth.load(truth_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return build(path, **kw)


if __name__ == "__main__":
    import argparse
    import sys
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.common import data_root

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kind", choices=("capsule", "surgical"))
    ap.add_argument("out")
    ap.add_argument("--frames", type=int, default=20000)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    t0 = time.perf_counter()
    if a.kind == "capsule":
        vt = build_capsule(Path(a.out), data_root(), n_frames=a.frames, seed=a.seed)
    else:
        vt = build_surgical(Path(a.out), data_root(), minutes=a.minutes, seed=a.seed)
    print(f"{vt.n_frames} frames, {len(vt.events)} events, {time.perf_counter() - t0:.1f} s")

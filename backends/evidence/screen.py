"""Screening: cheap per-frame features on reduced frames, computed at decode speed.

Frames arrive as reduced YUV planes (strided views of the decoder's own planes, no RGB conversion,
see ``reader.py``) and are processed in batches so the Python cost per frame stays small. Per frame:

- quality: mean luma, dark fraction, informative area (the fraction of the frame in blocks that
  are both lit and structured: how much there is to see, however dark the rest), detail on black
  (blocks whose contrast is large relative to their level above a flat black: dim views on black),
  specular/saturated
  fraction (bubbles, flashes), sharpness (mean |Laplacian| relative to luma; blur lowers it);
- colour: gain-invariant chromaticity ((U-128)/Y, (V-128)/Y: a scope's illumination changes scale
  U-128, V-128 and Y together), red/blood ratio (fraction of strongly red pixels);
- appearance descriptor for novelty: an 8x8 luma layout normalised to zero mean and unit variance
  (illumination invariant, nearly blur invariant at that size), 4x4 chromaticity layouts, a 4x4
  chromaticity histogram and a texture-energy pair. Blocks are weighted to comparable norms.

Novelty against a running background model is in :func:`novelty`: a frame is evidence-like when it
differs from the frames *before and after* it at some time scale, beyond what the local stream
normally changes at that scale. A shot boundary differs from one side only, so it is not novel; a
short excursion (a lesion coming into view and leaving) differs from both.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

LAYOUT = 8          # luma layout grid
CLAYOUT = 4         # chroma layout grid
HIST = 4            # chromaticity histogram bins per axis
U_RANGE = (-0.45, 0.15)   # (U-128)/Y over tissue: blue-ish negative, typical -0.2..0
V_RANGE = (-0.05, 0.55)   # (V-128)/Y: red positive
RED_V = 0.32        # (V-128)/Y above this: strongly red (blood, inflamed or vascular tissue)
DARK_Y = 28
BRIGHT_Y = 232
LHIST = 8          # relative luma histogram bins
GRAY_NO_GLARE = False  # session 15d: no pixel of a colourless frame is set aside as glare (batch_features).
                       # OFF: failed its rule (docs/figures/evidence_session15d_rule.md; criteria 2 and 4)
GRAY_CHROMA = 2        # a frame is colourless when every chroma sample is within this of neutral (128)
DESC_DIM = LAYOUT * LAYOUT + 2 * CLAYOUT * CLAYOUT + HIST * HIST + LHIST + 4 + 5
W_LAYOUT, W_CLAYOUT, W_HIST, W_LHIST, W_TEXTURE, W_MOMENTS = 0.35, 1.0, 1.0, 1.0, 3.0, 4.0
INFO_Y = 45        # a block counts as lit at this mean luma...
INFO_STD = 5.0     # ...and as structured at this luma standard deviation (sensor noise alone: ~4);
INFO_EDGE_STD = 12.0  # a block this contrasted counts at any level (dim fluorescence, green on black)
INFO_GRID = 16     # blocks per side (2x2 pixels on the usual 32-pixel reduced grid)
DETAIL_REL = 0.4   # a view on black: a block is detail when its luma+chroma contrast is this share...
DETAIL_MIN = 14.0  # ...of its level above the frame's black, and at least this (dev: 18 lost dim-crop frames)
BLACK_MARGIN = 10.0  # pixels within this of the frame's own black level (1st percentile) are black...
BLACK_SD = 2.5     # ...when flat (codec black: ~0-1; a dim scene's darkest parts: texture and noise)...
ON_BLACK = 0.6     # ...and a frame with this share of such blocks is a view on black
SCALAR_NAMES = ("luma", "dark", "bright", "sharp", "red", "u", "v", "info", "spots", "detail")
TILE_GRID = 4      # regional channel (region.py): a TILE_GRID x TILE_GRID grid of tiles...
TILE_DIMS = 5      # ...each with: luma relative to the frame's, contrast, chromaticity u, v, gradient energy
CHEAP_TILE_DIMS = 6  # session 14 ("cheap"): the 4 cells of the 8x8 luma layout a tile covers, tile chromaticity u, v


@dataclass
class Features:
    """Per-frame screening features; arrays of length ``n`` (frame numbers 0..n-1)."""

    n: int
    desc: np.ndarray                   # (n, DESC_DIM) float32
    scalars: dict[str, np.ndarray]     # SCALAR_NAMES -> (n,) float32
    decoded: np.ndarray                # (n,) bool: False where a frame never arrived
    tiles: np.ndarray | None = None    # (n, TILE_GRID**2, TILE_DIMS) float32 tile statistics (region.py)

    def __post_init__(self) -> None:
        if self.tiles is None and "tiles" in self.scalars:   # the dict batch_features returns
            sc = dict(self.scalars)
            self.tiles = sc.pop("tiles")
            self.scalars = sc

    def __getitem__(self, name: str) -> np.ndarray:
        return self.scalars[name]


class FeatureAccumulator:
    """Streaming: takes batches of reduced frames, keeps only the small per-frame features (the
    pictures are dropped at once, so memory is bounded by the number of frames x ~130 floats)."""

    def __init__(self, n_frames: int, tiles: bool | str = False) -> None:
        self.n = int(n_frames)
        self.desc = np.zeros((self.n, DESC_DIM), np.float32)
        self.scalars = {k: np.zeros(self.n, np.float32) for k in SCALAR_NAMES}
        self.decoded = np.zeros(self.n, bool)
        # tile statistics for the regional channel (region.py), only when it is on: off, screening costs what it did
        # ("cheap": read off what the features compute anyway, session 14)
        self.tile_kind = tiles
        dims = CHEAP_TILE_DIMS if tiles == "cheap" else TILE_DIMS
        self.tiles = np.zeros((self.n, TILE_GRID * TILE_GRID, dims), np.float32) if tiles else None

    def grow(self, n: int) -> None:
        """The stream held more frames than announced (a table built from an estimate)."""
        if n <= self.n:
            return
        extra = max(n, int(self.n * 1.25) + 64) - self.n
        self.desc = np.concatenate([self.desc, np.zeros((extra, DESC_DIM), np.float32)])
        for k in SCALAR_NAMES:
            self.scalars[k] = np.concatenate([self.scalars[k], np.zeros(extra, np.float32)])
        self.decoded = np.concatenate([self.decoded, np.zeros(extra, bool)])
        if self.tiles is not None:
            self.tiles = np.concatenate([self.tiles, np.zeros((extra, *self.tiles.shape[1:]), np.float32)])
        self.n += extra

    def add(self, frame_numbers: np.ndarray, y: np.ndarray, u: np.ndarray, v: np.ndarray) -> None:
        """``y``, ``u``, ``v``: (B, h, w) uint8 on the same reduced grid."""
        idx = np.asarray(frame_numbers, np.int64)
        ok = idx >= 0
        if not ok.all():
            idx, y, u, v = idx[ok], y[ok], u[ok], v[ok]
        if len(idx) == 0:
            return
        self.grow(int(idx.max()) + 1)
        desc, sc = batch_features(y, u, v, tiles=self.tile_kind)
        self.desc[idx] = desc
        for k in SCALAR_NAMES:
            self.scalars[k][idx] = sc[k]
        if self.tiles is not None:
            self.tiles[idx] = sc["tiles"]
        self.decoded[idx] = True

    def result(self, n_frames: int | None = None) -> Features:
        n = self.n if n_frames is None else min(self.n, int(n_frames))
        if n_frames is None and self.decoded.any():
            n = int(np.nonzero(self.decoded)[0].max()) + 1
        return Features(n, self.desc[:n], {k: v[:n] for k, v in self.scalars.items()}, self.decoded[:n],
                        None if self.tiles is None else self.tiles[:n])


def _dilate(m: np.ndarray) -> np.ndarray:
    """3x3 binary dilation of a (B, h, w) mask."""
    out = m.copy()
    out[:, 1:] |= m[:, :-1]
    out[:, :-1] |= m[:, 1:]
    o2 = out.copy()
    o2[:, :, 1:] |= out[:, :, :-1]
    o2[:, :, :-1] |= out[:, :, 1:]
    return o2


def _lap_energy(y: np.ndarray, where: np.ndarray | None = None) -> np.ndarray:
    """Mean |4-neighbour Laplacian| over each frame's interior, or over its ``where`` pixels (OpenCV
    on the frames stacked into one tall image; the rows where two frames meet are border rows and
    are left out)."""
    import cv2

    b, h, w = y.shape
    lap = cv2.Laplacian(np.ascontiguousarray(y, dtype=np.float32).reshape(b * h, w), cv2.CV_32F, ksize=1)
    lap = np.abs(lap, out=lap).reshape(b, h, w)[:, 1:-1, 1:-1]
    if where is None:
        return lap.mean(axis=(1, 2))
    m = where[:, 1:-1, 1:-1].astype(np.float32)
    return np.einsum("bij,bij->b", lap, m) / np.maximum(m.sum(axis=(1, 2)), 1)


def _pool2(y: np.ndarray) -> np.ndarray:
    b, h, w = y.shape
    return _block_mean(y, 0, (h // 2, w // 2))


def _block_mean(a: np.ndarray, g: int, hw: tuple[int, int] | None = None) -> np.ndarray:
    """(B, h, w) -> (B, g, g) block means (the image cropped to a multiple of g); ``hw`` gives
    another output grid. OpenCV's area resize of the frames stacked into one tall image: exact box
    means (blocks never straddle two frames), several times faster than NumPy's reshape-mean."""
    import cv2

    b, h, w = a.shape
    gh, gw = hw if hw is not None else (g, g)
    hh, ww = (h // gh) * gh, (w // gw) * gw
    tall = np.ascontiguousarray(a[:, :hh, :ww], dtype=np.float32).reshape(b * hh, ww)
    return cv2.resize(tall, (gw, b * gh), interpolation=cv2.INTER_AREA).reshape(b, gh, gw)


def informative_area(y: np.ndarray) -> np.ndarray:
    """Fraction of each frame (a INFO_GRID x INFO_GRID block grid) that is lit (mean >= INFO_Y) and
    structured (std >= INFO_STD), or strongly contrasted at any level (std >= INFO_EDGE_STD). A
    fluorescence or small-sector ultrasound view with two thirds of its pixels black still shows a
    third of a frame of structure; a light failure (everything scaled down, contrast with it) shows
    next to none. Measured on the development pictures (benchmarks/evidence_appearances.py, dev
    half): dark episodes at most 7 blocks of 256, dark-window views at least 18, small bright
    lesions at least 12."""
    return _informative_blocks(y)[0]


def _informative_blocks(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(informative area, (the INFO_GRID x INFO_GRID block means, their standard deviations))."""
    m = _block_mean(y, INFO_GRID)
    sq = _block_mean(y * y, INFO_GRID)
    sd = np.sqrt(np.maximum(sq - m * m, 0.0))
    return (((m >= INFO_Y) & (sd >= INFO_STD)) | (sd >= INFO_EDGE_STD)).mean(axis=(1, 2)), (m, sd)


def detail_on_black(y: np.ndarray, u8: np.ndarray, v8: np.ndarray,
                    fine_blocks: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Fraction of each frame in detail blocks when the frame is a view on black (else 0).

    Relative, not absolute: a block counts when its contrast (luma and chroma together, so a
    false-colour red or green view counts) is at least ``DETAIL_REL`` of its own level above the
    frame's black (its darkest block of ``fine_blocks``, the INFO_GRID block means and standard
    deviations). Dim text, a dim crop or a thin red arc on black passes (contrast about equal to
    the level); a light failure does not, because it is not a view on black at all: its dim
    picture fills the scope (dev: dark filler has at most 35% of its pixels near black; views on
    black 84-99%). A view on black: ``ON_BLACK`` of its blocks flat (sd < ``BLACK_SD``) and within
    ``BLACK_MARGIN`` of black. Dev (seeds 1-2, 11, 31): small dim crops and ring views 6-12 blocks of 256, dark
    filler 0 in 99.5% of frames."""
    b = y.shape[0]
    m, sd = fine_blocks
    black = m.reshape(b, -1).min(axis=1)   # the darkest 2x2 block: the frame's own black (16 in video range)
    # black is flat: a dim scene's darkest parts still carry texture and noise
    on_black = ((m < (black + BLACK_MARGIN)[:, None, None]) & (sd < BLACK_SD)).mean(axis=(1, 2)) >= ON_BLACK
    out = np.zeros(b, np.float32)
    if not on_black.any():
        return out
    uu, vv = u8[on_black].astype(np.float32), v8[on_black].astype(np.float32)
    m = m[on_black]
    var = sd[on_black] ** 2
    for c in (uu, vv):
        mc = _block_mean(c, INFO_GRID)
        var += _block_mean(c * c, INFO_GRID) - mc * mc
    con = np.sqrt(np.maximum(var, 0.0))
    level = m - black[on_black][:, None, None]
    out[on_black] = ((con >= DETAIL_MIN) & (con >= DETAIL_REL * (level + 8.0))).mean(axis=(1, 2))
    return out


_FRAME_INDEX: dict[tuple[int, int, int], np.ndarray] = {}


def _frame_index(b: int, h: int, w: int) -> np.ndarray:
    """(b*h, w) uint8 image whose pixels hold their frame's number in the batch: with it, one
    OpenCV ``calcHist`` call makes every frame's histogram at once (a 2-D histogram of frame number
    x bin), instead of a pass per frame or an index array the size of the batch."""
    key = (b, h, w)
    if key not in _FRAME_INDEX:
        _FRAME_INDEX[key] = np.repeat(np.arange(b, dtype=np.uint8), h * w).reshape(b * h, w)
    return _FRAME_INDEX[key]


def _in_bins(x: np.ndarray, n: int) -> np.ndarray:
    """Bin numbers 0..n-1 (uint8) of values in bin units (bin k holds [k, k+1)); values beyond the
    first or last bin go into it."""
    return np.clip(x, 0.0, n - 1e-3).astype(np.uint8)


def _frame_hist(code: np.ndarray, bins: int, valid: np.ndarray) -> np.ndarray:
    """Per-frame histograms (B, bins) float32 of uint8 bin numbers ``code`` over ``valid`` pixels
    (OpenCV's uint8 histogram: ~8x faster than its float one, ~3x faster than NumPy's bincount)."""
    import cv2

    b, h, w = code.shape
    out = np.empty((b, bins), np.float32)
    for a in range(0, b, 255):    # frame numbers must fit in uint8
        c, m = code[a: a + 255], valid[a: a + 255]
        k = len(c)
        out[a: a + k] = cv2.calcHist([_frame_index(k, h, w), np.ascontiguousarray(c).reshape(k * h, w)], [0, 1],
                                     np.ascontiguousarray(m).view(np.uint8).reshape(k * h, w), [k, bins],
                                     [0, k, 0, bins])
    return out


def _abs_step_mean(a: np.ndarray) -> np.ndarray:
    """Per-frame mean |a[:, :, x+1] - a[:, :, x]| (OpenCV on the frames stacked into one tall image)."""
    import cv2

    b, h, w = a.shape
    tall = np.ascontiguousarray(a, dtype=np.float32).reshape(b * h, w)
    d = cv2.absdiff(tall[:, 1:], tall[:, :-1])
    return d.reshape(b, h * (w - 1)).mean(axis=1)


def batch_features(y8: np.ndarray, u8: np.ndarray, v8: np.ndarray, tiles: bool | str = False) -> tuple[np.ndarray, dict]:
    """Features of a batch of reduced frames (see module docstring). Written for speed (issue 20:
    screening must stay within 1.3x of decode-only): float32 throughout, in-place arithmetic,
    masked sums as einsum (no temporaries), histograms and steps in OpenCV. ``tiles``: also the
    regional channel's tile statistics (True: ``tile_stats``, a second pass; "cheap": ``cheap_tiles``,
    from the luma layout and chroma planes computed here anyway)."""
    b = y8.shape[0]
    y = y8.astype(np.float32)
    luma = y.mean(axis=(1, 2))
    dark = (y8 < DARK_Y).mean(axis=(1, 2))
    info, fine_blocks = _informative_blocks(y)
    detail = detail_on_black(y, u8, v8, fine_blocks)
    coarse = _block_mean(y, LAYOUT)
    # gain-invariant chromaticity; pixels too dark or saturated say nothing about colour
    inv = y + 2.0   # pixels darker than DARK_Y never count, so a small offset keeps the ratio gain-invariant
    np.reciprocal(inv, out=inv)
    ur = u8.astype(np.float32)
    ur -= 128.0
    vr = v8.astype(np.float32)
    vr -= 128.0
    if tiles == "cheap":   # tile chroma means before the per-pixel division (one area resize each)
        tuv = (_block_mean(ur, TILE_GRID), _block_mean(vr, TILE_GRID))
    ur *= inv
    vr *= inv
    # specular highlights and bubble rims: bright and nearly white (tissue is red). They and their
    # immediate neighbours are left out of every appearance and texture feature, so a burst of
    # bubbles over the same mucosa does not look like new content.
    white = ((y8 > 150) & (vr < 0.12) & (ur > -0.12)) | (y8 > BRIGHT_Y)
    if GRAY_NO_GLARE:
        # telling glare from tissue rests on colour (tissue is coloured, glare is white); a frame with
        # no colour at all (a grayscale stream: every chroma sample neutral) gives that test nothing,
        # and there every pixel over 150 was glare: a CT's bone ring, an ultrasound's bright echoes
        # (issue 20, unseen12's grayscale head-CT scroll: 7-32 of 2,120 pixels left for the
        # appearance features, whose frame-to-frame step then matched a cut). Nothing is glare there.
        colourless = ((u8.max(axis=(1, 2)) <= 128 + GRAY_CHROMA) & (u8.min(axis=(1, 2)) >= 128 - GRAY_CHROMA)
                      & (v8.max(axis=(1, 2)) <= 128 + GRAY_CHROMA) & (v8.min(axis=(1, 2)) >= 128 - GRAY_CHROMA))
        if colourless.any():
            white[colourless] = False
    bright = white.mean(axis=(1, 2))
    # the part of it in spots and thin rings (highlights, bubbles), not in wide bright areas (a
    # radiograph's bone, a lit wall): what an opening (erode, then dilate) removes
    opened = _dilate(~_dilate(~white))
    spotty = white & ~opened
    spots = spotty.mean(axis=(1, 2))
    # structure (layout, texture, sharpness) leaves out only the spots and rings and their rims:
    # a wide bright area (a radiograph's bone, white CT tissue, a bright lesion) is content, and
    # blanking it made such views look blurred (issue 20: a bright CT slice set aside as blur)
    glare = _dilate(spotty)
    white = _dilate(white)
    valid = (y8 >= DARK_Y) & ~white
    validf = valid.astype(np.float32)
    nvalid = np.maximum(valid.sum(axis=(1, 2)), 1)
    # soft count: pixels near the bar count partly, so an exposure change does not flip many at once
    redness = vr - (RED_V - 0.05)
    redness *= 10.0
    np.clip(redness, 0.0, 1.0, out=redness)
    red = np.einsum("bij,bij->b", redness, validf) / nvalid
    urv, vrv = ur * validf, vr * validf   # zero outside the valid pixels
    umean = urv.sum(axis=(1, 2)) / nvalid
    vmean = vrv.sum(axis=(1, 2)) / nvalid
    # luma layout, normalised per frame
    fill = np.einsum("bij,bij->b", y, validf) / nvalid
    yc = np.where(glare, fill[:, None, None], y) if glare.any() else y
    # sharpness of what is visible: over the lit pixels and their rims only, so a small lesion or a
    # window on black is judged by its own focus, not diluted by the empty surround (issue 20: a
    # small bright lesion amid textured surgical filler was set aside as blurred)
    lit = _dilate(y8 >= DARK_Y)
    nlit = lit.sum(axis=(1, 2))
    lit_frac = nlit / float(lit[0].size)
    lap1 = _lap_energy(yc, lit)
    lap2 = _lap_energy(_pool2(yc), _pool2(lit) > 0)
    lit_luma = np.einsum("bij,bij->b", y, lit.astype(np.float32)) / np.maximum(nlit, 1)
    sharp = lap1 / (0.5 * lap2 + 0.02 * (lit_luma + 8.0))
    lap1, lap2 = lap1 * lit_frac, lap2 * lit_frac   # texture descriptors stay whole-frame measures
    lay = (coarse if yc is y else _block_mean(yc, LAYOUT)).reshape(b, -1)
    lay = (lay - lay.mean(1, keepdims=True)) / (lay.std(1, keepdims=True) + 4.0)
    # chroma layouts (blocks with no valid pixel fall back to the frame mean)
    wsum = _block_mean(validf, CLAYOUT) + 1e-3
    ul = (_block_mean(urv, CLAYOUT) + 1e-3 * umean[:, None, None]) / wsum
    vl = (_block_mean(vrv, CLAYOUT) + 1e-3 * vmean[:, None, None]) / wsum
    # chromaticity histogram of valid pixels
    hu = ur - U_RANGE[0]   # in bin units, computed as before the histogram moved to OpenCV (same ties)
    hu /= U_RANGE[1] - U_RANGE[0]
    hu *= HIST
    hv = vr - V_RANGE[0]
    hv /= V_RANGE[1] - V_RANGE[0]
    hv *= HIST
    code = _in_bins(hu, HIST)
    code *= HIST
    code += _in_bins(hv, HIST)
    hist = _frame_hist(code, HIST * HIST, valid)
    hist /= nvalid[:, None]
    # texture: gradient and Laplacian energies at two scales, relative to luma (translation invariant)
    rel = 1.0 / (luma + 2.0)
    gx = _abs_step_mean(yc) * rel
    gc = _abs_step_mean(_block_mean(yc, LAYOUT * 2)) * rel
    texture = np.stack([gx, gc, lap1 * rel, lap2 * rel], 1)
    # relative luma histogram of valid pixels (shading and shape of the scene, translation invariant)
    yrel = y / (fill[:, None, None] + 1.0).astype(np.float32)
    yrel *= LHIST / 2.0
    lhist = _frame_hist(_in_bins(yrel, LHIST), LHIST, valid)
    lhist /= nvalid[:, None]
    # chromaticity spread
    ustd = np.sqrt(np.maximum(np.einsum("bij,bij->b", urv, ur) / nvalid - umean ** 2, 0))
    vstd = np.sqrt(np.maximum(np.einsum("bij,bij->b", vrv, vr) / nvalid - vmean ** 2, 0))
    moments = np.stack([umean, vmean, ustd, vstd, red], 1)
    # weights: translation-invariant blocks (colour, texture) dominate; layout helps but a moving
    # camera changes it all the time
    desc = np.concatenate([
        lay * (W_LAYOUT / np.sqrt(LAYOUT * LAYOUT)),
        (ul.reshape(b, -1) - U_RANGE[0]) * (W_CLAYOUT / CLAYOUT),
        (vl.reshape(b, -1) - V_RANGE[0]) * (W_CLAYOUT / CLAYOUT),
        np.sqrt(hist) * W_HIST,
        np.sqrt(lhist) * W_LHIST,
        texture * W_TEXTURE,
        moments * W_MOMENTS,
    ], axis=1).astype(np.float32)
    sc = {"luma": luma, "dark": dark, "bright": bright, "sharp": sharp, "red": red, "u": umean, "v": vmean,
          "info": info, "spots": spots, "detail": detail}
    out = {k: np.asarray(v, np.float32) for k, v in sc.items()}
    if tiles == "cheap":
        out["tiles"] = cheap_tiles(coarse, *tuv)
    elif tiles:   # the regional channel's tile statistics (region.py; off in the product)
        out["tiles"] = tile_stats(y, u8, v8)
    return desc, out


def cheap_tiles(coarse: np.ndarray, tu: np.ndarray, tv: np.ndarray) -> np.ndarray:
    """(B, TILE_GRID**2, CHEAP_TILE_DIMS) tile statistics from what screening computes anyway
    (session 14): the four cells of the LAYOUT x LAYOUT luma block means (``coarse``, all pixels, before
    any masking) that a tile covers, as log level relative to the frame's median cell, and the tile's
    (U-128)/Y, (V-128)/Y of its means (``tu``, ``tv``: (B, g, g) block means of U-128, V-128)."""
    b = coarse.shape[0]
    g = TILE_GRID
    c = LAYOUT // g
    lvl = coarse + 8.0
    ref = np.median(lvl.reshape(b, -1), axis=1)[:, None, None]
    cells = np.log(lvl / ref).reshape(b, g, c, g, c).transpose(0, 1, 3, 2, 4).reshape(b, g * g, c * c)
    tl = _block_mean(lvl, g)   # tile level: mean of its cells (equal-size cells)
    t = np.concatenate([cells, (tu / tl).reshape(b, -1, 1), (tv / tl).reshape(b, -1, 1)], axis=2)
    return t.astype(np.float32)


def tile_stats(y: np.ndarray, u8: np.ndarray, v8: np.ndarray) -> np.ndarray:
    """(B, TILE_GRID**2, TILE_DIMS) statistics of each tile of a coarse grid, for the regional
    channel (region.py): what a change confined to part of the frame moves (an inset, a picture
    sliding in at the edge) while whole-frame statistics dilute it. Tile level relative to the
    frame's median tile (log), contrast and gradient energy relative to the tile's level, and
    chromaticity ((U-128)/Y, (V-128)/Y of the tile's means, over all its pixels: a grey picture over
    red tissue is mostly 'white' to the appearance features, which leave such pixels out)."""
    import cv2

    b, h, w = y.shape
    g = TILE_GRID
    tm = _block_mean(y, g)
    tsd = np.sqrt(np.maximum(_block_mean(y * y, g) - tm * tm, 0.0))
    tall = y.reshape(b * h, w)
    dx = cv2.absdiff(tall[:, 1:], tall[:, :-1]).reshape(b, h, w - 1)
    dy = cv2.absdiff(tall[1:], tall[:-1])
    dy = np.concatenate([dy, dy[-1:]]).reshape(b, h, w)[:, :-1]   # the last row of each frame crosses frames: dropped
    lvl = tm + 8.0
    grad = (_block_mean(dx, g) + _block_mean(dy, g)) / lvl
    ref = np.median(lvl.reshape(b, -1), axis=1)[:, None, None]
    tu = (_block_mean(u8, g) - 128.0) / lvl
    tv = (_block_mean(v8, g) - 128.0) / lvl
    t = np.stack([np.log(lvl / ref), tsd / lvl, tu, tv, grad], axis=-1)
    return t.reshape(b, g * g, TILE_DIMS).astype(np.float32)


# ---------------------------------------------------------------- quality gate

@dataclass(frozen=True)
class QualityGate:
    """A frame is uninformative when too little of it is both lit and structured (``info``; not
    how dark it is on average: a mostly black view with clear structure in the rest is kept) and it
    is not a view on black with dim detail (``detail``: contrast relative to the local level, so a
    small dim crop or a thin false-colour arc on black is kept, a light failure is not),
    flooded with specular highlights/bubbles, or much blurrier than the frames around it while
    showing the same colours (relative, so a soft-focus scope is not rejected wholesale; and only
    against the same scene, so smooth new content, a CT slice or a small lesion amid textured
    surgical filler, is left to the full-resolution check, which judges a span by its own frames)."""

    min_info: float = 10 / 256    # informative area below 10 blocks of 256...
    min_detail: float = 3 / 256   # ...and no view on black with this much detail: nothing to see (dark)
    max_bright: float = 0.3       # whitish bright pixels beyond this fraction (a flash, a flood)...
    rel_bright: float = 2.0       # ...and beyond this multiple of the running level...
    min_spotty: float = 0.2       # ...and a fifth of it in spots and rings (dev: X-ray views 0.04-0.10, bubble floods >= 0.24)
    min_rel_sharp: float = 0.55   # much less sharp than the frames around it...
    max_colour_z: float = 6.0     # ...while showing their colours (colour_change z below this; dev: heavy
    #                               blur of the filler -0.7..3.1, small lesions and CT slices amid surgical filler 23-60)
    context: int = 301  # frames for the running references


def quality(f: Features, gate: QualityGate = QualityGate()) -> tuple[np.ndarray, np.ndarray]:
    """(good: bool array, reason code array: 0 ok, 1 dark, 2 specular/bubbles, 3 blur, 4 missing)."""
    sharp, bright = f["sharp"], f["bright"]
    code = np.zeros(f.n, np.int8)
    soft = sharp < gate.min_rel_sharp * np.maximum(running_median(sharp, gate.context), 1e-6)
    if soft.any():  # blur is judged against frames of the same scene: other colours are other content
        soft &= colour_change(f, gate.context) < gate.max_colour_z
    code[soft] = 3
    code[(bright > gate.max_bright) & (bright > gate.rel_bright * running_median(bright, gate.context))
         & (f["spots"] >= gate.min_spotty * bright)] = 2
    code[(f["info"] < gate.min_info) & (f["detail"] < gate.min_detail)] = 1
    code[~f.decoded] = 4
    return code == 0, code


COLOUR_DIMS = slice(LAYOUT * LAYOUT, LAYOUT * LAYOUT + 2 * CLAYOUT * CLAYOUT + HIST * HIST)
MOMENT_DIMS = slice(DESC_DIM - 5, DESC_DIM)


def colour_change(f: Features, window: int) -> np.ndarray:
    """Robust z of how far each frame's colour (chromaticity layouts, histogram and moments: parts
    of the descriptor that blur leaves alone) is from the running per-dimension median of the
    stream around it. A blurred view of the same scene scores low; new content (a grey radiograph
    amid red mucosa) scores high."""
    from scipy.ndimage import median_filter

    col = np.concatenate([f.desc[:, COLOUR_DIMS], f.desc[:, MOMENT_DIMS]], axis=1)
    n = len(col)
    if n < 3:
        return np.zeros(n, np.float32)
    step = max(1, window // 64)
    med = median_filter(col[::step], size=(max(1, window // step) | 1, 1), mode="nearest")
    idx = np.minimum(np.arange(n) // step, len(med) - 1)
    d = np.linalg.norm(col - med[idx], axis=1)
    m = running_median(d, window)
    q75 = running_median(np.abs(d - m), window)
    return ((d - m) / (1.4826 * np.maximum(q75, 1e-3))).astype(np.float32)


def running_median(x: np.ndarray, window: int) -> np.ndarray:
    """Median over a centred window, computed on a decimated series (cheap for long videos)."""
    from scipy.ndimage import median_filter

    n = len(x)
    if n == 0:
        return x.copy()
    step = max(1, window // 64)
    xs = x[::step]
    m = median_filter(xs, size=max(1, window // step) | 1, mode="nearest")
    return np.interp(np.arange(n), np.arange(0, n, step)[: len(m)], m).astype(np.float32)


# ---------------------------------------------------------------- novelty

@dataclass
class Novelty:
    z: np.ndarray            # (n,) best two-sided novelty z-score over the time scales
    scale: np.ndarray        # (n,) time scale (frames) that gave it
    cut: np.ndarray          # (n,) z-score of the change from frame t-1 to t (shot/lesion boundaries)
    scales: list[int] = field(default_factory=list)


def _offset_dist(desc: np.ndarray, k: int) -> np.ndarray:
    """d[t] = ||desc[t] - desc[t+k]|| for t in 0..n-k-1."""
    d = desc[:-k] - desc[k:]
    return np.sqrt(np.einsum("ij,ij->i", d, d))


def novelty(f: Features, good: np.ndarray, *, max_event_frames: int, context_frames: int,
            window: int = 6) -> Novelty:
    """Two-sided novelty at time scales g = 1, 2, 4, ... up to ``max_event_frames``.

    For scale g, the past reference of frame t is its nearest neighbour (in descriptor space)
    among good frames t-g-window .. t-g, the future reference likewise after t; the two-sided
    distance is the smaller of the two (a change that persists is a shot boundary, not an event).
    Each scale's distances are turned into robust z-scores against the running median/MAD of the
    same scale over ``context_frames`` (the background model), and the best scale wins."""
    n = f.n
    desc = f.desc
    big = np.float32(np.inf)
    scales = [1]
    while scales[-1] * 2 <= max(1, max_event_frames):
        scales.append(scales[-1] * 2)
    offsets = sorted({g + int(round(j * g / window)) for g in scales for j in range(window + 1)} | set(scales))
    offsets = [k for k in offsets if k < n]
    dist = {}
    for k in offsets:
        d = _offset_dist(desc, k)
        pair_ok = good[:-k] & good[k:]
        d[~pair_ok] = big
        dist[k] = d
    best_z = np.full(n, -np.inf, np.float32)
    best_g = np.zeros(n, np.int32)
    for g in scales:
        ks = [k for k in offsets if g <= k <= g + max(1, g)]
        past = np.full(n, big, np.float32)
        fut = np.full(n, big, np.float32)
        for k in ks:
            d = dist[k]
            np.minimum(past[k:], d, out=past[k:])   # frame t vs t-k
            np.minimum(fut[:-k], d, out=fut[:-k])   # frame t vs t+k
        two = np.minimum(past, fut)
        # one side missing (start/end of video): use the side there is
        two = np.where(np.isinf(two), np.where(np.isinf(past), fut, past), two)
        fin = np.isfinite(two)
        if fin.sum() < 8:
            continue
        filled = np.where(fin, two, np.nan)
        med, scale = running_scale(filled, context_frames)
        z = np.where(fin & good, (two - med) / scale, -np.inf).astype(np.float32)
        better = z > best_z
        best_z[better] = z[better]
        best_g[better] = g
    # consecutive change, for boundaries between distinct contents
    cut = np.zeros(n, np.float32)
    if n > 1:
        d1 = _offset_dist(desc, 1)
        med, scale = running_scale(d1, context_frames)
        cut[1:] = (d1 - med) / scale
    best_z[~np.isfinite(best_z)] = 0.0
    return Novelty(best_z, best_g, cut, scales)


def running_scale(x: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Running median of ``x`` and a robust standard deviation from its upper quartile (with a
    floor, so a near-constant stretch does not make every small change huge): the background model
    every z-score of the screener is taken against. NaN/inf values are ignored."""
    med = _nan_running(x, window, 50)
    q75 = _nan_running(x, window, 75)
    return med, 1.4826 * np.maximum(q75 - med, 1e-3 + 0.05 * med) / 0.6745


def _nan_running(x: np.ndarray, window: int, q: float) -> np.ndarray:
    """Running q-th percentile over a centred window, ignoring NaN/inf, on a decimated series."""
    n = len(x)
    step = max(1, window // 48)
    xs = x[::step].astype(np.float64)
    xs[~np.isfinite(xs)] = np.nan
    half = max(1, (window // step) // 2)
    m = len(xs)
    out = np.empty(m, np.float64)
    glob = np.nanpercentile(xs, q) if np.isfinite(xs).any() else 0.0
    # sliding window via a strided view; windows are at most ~50 samples, so this stays cheap
    pad = np.concatenate([np.full(half, np.nan), xs, np.full(half, np.nan)])
    view = np.lib.stride_tricks.sliding_window_view(pad, 2 * half + 1)
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out = np.nanpercentile(view, q, axis=1)
    out = np.where(np.isfinite(out), out, glob)
    return np.interp(np.arange(n), np.arange(0, n, step)[:m], out).astype(np.float32)


def shot_boundaries(nov: Novelty, threshold: float = 8.0) -> np.ndarray:
    """Frames where the content changes abruptly and stays changed (cut, not an excursion)."""
    return np.nonzero((nov.cut > threshold) & (nov.z < threshold / 2))[0]

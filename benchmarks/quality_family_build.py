"""The runner shared by the blind quality families' set builders (families 5-8,
``build_quality_independent{5,6,7,8}_set.py``): the held-out check, the seed, the crop, the
per-source ``.npz`` cache, the source loop and the command line; and families 10-12's windowed views
and samples (:class:`ViewFamily`). Each builder keeps what is its own
(SEED, SOURCES, clean views, which degradations, their seeds) and passes it in; the sets they build
are byte for byte what they were before this module (checked by a whole-set hash, family by family).
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from build_quality_independent4_set import Sample  # noqa: E402

# what a family makes of one source: (data root, source number, id, modality group, path, index, crop) -> its samples
MakeSamples = Callable[..., list[Sample]]


def seed(base: int, *p) -> int:
    """The seed fixed by (the family's SEED, what is drawn)."""
    return zlib.crc32("|".join(map(str, (base,) + p)).encode())


def check_held_out(root, sources, family: int, training_paths) -> None:
    """Refuse if a source is (inside) a training source, or if a PSFHS frame is outside the held-out
    block (the last 30 % of the sorted frames)."""
    from app.data.types import LoupeError
    bad = []
    train = training_paths(root)
    for sid, _, rel, _, _ in sources:
        p = (Path(root) / rel).resolve()
        for t in train:
            if p == t or t in p.parents:
                bad.append(f"{sid} ({t})")
    us = sorted(glob.glob(str(Path(root) / "ultrasound" / "PSFHS_png" / "images" / "*.png")))
    block = {Path(u).name for u in us[int(0.7 * len(us)):]}
    bad += [sid for sid, _, rel, _, _ in sources if "PSFHS_png" in rel and Path(rel).name not in block]
    if bad:
        raise LoupeError(f"independent set {family} would evaluate on training data: {', '.join(sorted(set(bad)))}")


def crop_view(native: np.ndarray, crop: tuple[int, int, int] | None) -> np.ndarray:
    """The (row, col, size) square of the native image (clamped to it), or the whole image."""
    if crop is None:
        return native
    r, c, s = crop
    h, w = native.shape[:2]
    return native[min(r, max(h - s, 0)): min(r, max(h - s, 0)) + s, min(c, max(w - s, 0)): min(c, max(w - s, 0)) + s]


def implementation(q, n: int, group: str) -> str:
    """Implementations of family module ``q`` in turn: source number + group number, so each modality
    gets each about equally."""
    imps = q.IMPLEMENTATIONS[group]
    return imps[(n + q.GROUPS.index(group)) % len(imps)]


class NativeCache:
    """Native slices loaded once per build (several views share one DICOM); a few kept at a time."""

    def __init__(self, load_native) -> None:
        self.load_native = load_native
        self.kept: dict = {}

    def __call__(self, root, rel: str, index: int):
        key = (str(root), rel, index)
        if key not in self.kept:
            if len(self.kept) > 4:
                self.kept.clear()
            self.kept[key] = self.load_native(root, rel, index)
        return self.kept[key]


def cached(cache: Path | None, sid: str, mgroup: str, make: Callable[[], list[Sample]]) -> list[Sample]:
    """``make()``'s samples of one source, kept in (and read back from) ``cache/<source>.npz``."""
    if cache is None:
        return make()
    f = cache / (sid.replace("/", "__").replace(":", "_") + ".npz")
    if f.is_file():
        d = np.load(f, allow_pickle=False)
        return [Sample(sid, str(m[5]), mgroup, d[f"im{i}"], m[0], m[1], m[2], m[3], int(m[4]), float(m[6]))
                for i, m in enumerate(d["meta"])]
    out = make()
    cache.mkdir(parents=True, exist_ok=True)
    tmp = f.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, meta=np.array([[s.labels, s.kind, s.group, s.how, str(s.severity), s.modality,
                                             repr(s.measured)] for s in out]),
                        **{f"im{i}": s.image for i, s in enumerate(out)})
    os.replace(tmp, f)
    return out


def samples(root, sources, check: Callable[[object], None], make: MakeSamples, cache: str | Path | None = None,
            limit_images: int | None = None, log=None, only: Iterable[int] | None = None) -> Iterator[Sample]:
    """Every sample of a set, source by source, deterministically (``check``: the family's held-out
    check, run first; ``only``: those source numbers, a floor test's fixed subset, each source keeping
    its number n, so its samples are the whole set's)."""
    check(root)
    folder = Path(cache) if cache else None
    keep = None if only is None else set(only)
    for n, (sid, mgroup, rel, index, crop) in enumerate(sources):
        if limit_images is not None and n >= limit_images:
            return
        if keep is not None and n not in keep:
            continue
        yield from cached(folder, sid, mgroup, lambda: make(root, n, sid, mgroup, rel, index, crop))
        if log:
            log(f"  {sid} done")


def main(argv, *, doc: str | None, samples, band, name: Callable[[Sample], str]) -> int:
    """Build (and cache) a family's set; 1 if a degraded sample's measure is outside its group's band."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--cache", default=None, help="folder for the generated images (.npz per source image)")
    a = ap.parse_args(argv)
    t, n = time.time(), 0
    out = []
    for s in samples(a.data, a.cache, log=print):
        n += 1
        if s.group != "none":
            lo, hi = band(s.group)
            if not lo <= s.measured <= hi:
                out.append(f"{name(s)} {s.measured:.4f}")
    print(f"{n} samples in {time.time() - t:.0f} s" + (f" -> {a.cache}" if a.cache else ""))
    if out:
        print(f"{len(out)} samples outside their severity band: " + "; ".join(out[:20]))
        return 1
    return 0


class ViewFamily:
    """What families 10-12 (``build_quality_independent{10,11,12}_set.py``) share: a view is a crop of
    the product's analysis image, or of a CT slice in HU through one of the family's named windows;
    per view the family's clean views (as cropped, and ``mirror``-ed) and each construction group once,
    its implementation taken in turn, its seed fixed by (SEED, ``tag``, source, group); exposure over
    or under by ``over_exposed`` (families 11, 12; None: family 10's drawn direction); ``check`` is the
    family's held-out check. Each builder keeps its own SOURCES, windows, seed and degradations and
    binds these methods to its module names; the sets are byte for byte what they were (whole-set
    hash, family by family: /work/notes/D16-close.md)."""

    def __init__(self, *, q, family: int, seed: int, tag: str, sources, windows: dict, clean_views,
                 hu_slice, load_native, check: Callable[[object], None], mirror: Callable[[np.ndarray], np.ndarray],
                 over_exposed: Callable[[int], bool] | None = None) -> None:
        self.q, self.family, self.seed, self.tag = q, family, seed, tag
        self.sources, self.windows, self.clean_views = sources, windows, clean_views
        self.check, self.mirror, self.over_exposed = check, mirror, over_exposed
        self.number = {s[0]: n for n, s in enumerate(sources)}
        self._product = NativeCache(load_native)
        self._hu = NativeCache(hu_slice)

    def window(self, hu: np.ndarray, name: str) -> np.ndarray:
        centre, width = self.windows[name]
        return np.clip((hu - centre) / width + 0.5, 0.0, 1.0).astype(np.float32)

    def implementation(self, n: int, group: str) -> str:
        return implementation(self.q, n, group)

    def view_of(self, root, sid: str) -> tuple[np.ndarray, str]:
        """(the analysis image of source ``sid`` as cropped, the modality the assessor is told)."""
        from build_quality_independent4_set import analysis
        _, _, rel, index, crop, win = self.sources[self.number[sid]]
        if win:
            hu, modality = self._hu(root, rel, index)
            native = self.window(hu, win)
        else:
            native, modality = self._product(root, rel, index)
        return analysis(crop_view(native, crop)), modality

    def make(self, root, _n, sid: str, mgroup: str, _rel, _index, _crop) -> list[Sample]:
        """The samples of one source (its number in SOURCES picks the implementations)."""
        q, n = self.q, self.number[sid]
        img, modality = self.view_of(root, sid)
        out = [Sample(sid, modality, mgroup, np.asarray(im, np.float32), "", "none", "none", v, 0)
               for v, im in zip(self.clean_views, (img, np.ascontiguousarray(self.mirror(img))))]
        for g in q.GROUPS:
            rng = np.random.default_rng(seed(self.seed, self.tag, sid, g))
            over = {} if self.over_exposed is None else {"over": self.over_exposed(n)}
            y, how, m = q.apply(img, g, rng, self.implementation(n, g), **over)
            out.append(Sample(sid, modality, mgroup, y, q.FAMILY[g], q.SUBTYPE.get(g, q.FAMILY[g]), g,
                              f"{g}:{how}", 2, m))
        return out

    def samples(self, root, cache: str | Path | None = None, limit_images: int | None = None,
                log=None, only: Iterable[int] | None = None) -> Iterator[Sample]:
        """Every sample of the set, source by source, deterministically (``only``: those source numbers)."""
        keep = None if only is None else set(only)
        srcs = [s[:5] for n, s in enumerate(self.sources) if keep is None or n in keep]
        return samples(root, srcs, self.check, self.make, cache, limit_images, log)

    def n_expected(self) -> int:
        return len(self.sources) * (len(self.clean_views) + len(self.q.GROUPS))

    def main(self, doc: str | None, argv=None) -> int:
        import build_quality_independent9_set as b9
        a = b9.build_args(doc, argv)
        return b9.check_set(self.samples(a.data, a.cache, log=print), self.q.band, self.n_expected(), a.cache,
                            clean_view=self.clean_views[0], shown=40)

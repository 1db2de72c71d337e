"""DEVELOPMENT ablation at SMALL scale (issue 25, session 7): what the session-7 training classes and
features change in a model trained on a SUBSET of the training images (variety rows only, no
simulator rows) -- a direction, not the product model (the full rows could not be built).

Training subset: DRIVE training 21-26, the three chest X-ray PNGs, 6 PSFHS frames, 3 slices of the
Philips head CT and of the VMTK aorta MR; ``mlsamples.variety_rows`` per image (+ the grey-feed rows
of the colour ones). Test: family 3 (DEVELOPMENT since its report) on its X-ray and fundus images
(13 images: the 4 clean views and family 3's own noise, JPEG and exposure draws -- 22 samples an
image, the same samples family 3 makes), through the product path's steps. Four fits (``train_assessor.fit``):

    A  shipped 106 features, without grey-feed / re-saved JPEG / mottle rows
    B  A + grey-feed rows
    C  B + re-saved JPEG and mottle rows
    D  C with the session-7 features (``features.extract_v23``)

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/dev_quality_mini_ablation.py train|test|fit OUTDIR"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from backends.quality import assess as assess_mod  # noqa: E402
from backends.quality import features, mlsamples, train_assessor  # noqa: E402
from backends.quality.assess import analysis_image, from_prediction  # noqa: E402
from backends.quality.train_sets import grey_feed_sources, train_sources  # noqa: E402

SUBSET = {"drive/": 6, "cxr/00000001_000.png": 1, "cxr/h0001.png": 1, "cxr/tb0005.png": 1, "psfhs/": 6,
          "ct/philips_head_140": 1, "mr/vmtk_aorta": 1}
SLICES = 3
TEST_GROUPS = ("noise", "jpeg", "exposure")  # + the 4 clean views: what the session-7 changes aim at (time)


def _pick(srcs):
    left = dict(SUBSET)
    out = []
    for s in srcs:
        for k in left:
            if s.id.startswith(k) and left[k] > 0:
                left[k] -= 1
                out.append(s)
                break
    return out


def train_rows(data, out: Path) -> None:
    mlsamples.WITH_V23 = True
    rows, meta = [], []
    for feed, srcs in (("", train_sources(data)), ("grey", grey_feed_sources(data))):
        for s in _pick(srcs):
            for i, img in enumerate(s.load()[:SLICES]):
                r = mlsamples.variety_rows(s.id, s.modality, i, img, per_group=mlsamples.PER_GROUP, n_stacked=3,
                                           feed=feed)
                rows += [(*x[:5], f"{feed}:{x[5]}" if feed else x[5]) for x in r]
                meta += [(s.id, s.modality)] * len(r)
            print(f"  {feed or 'display'} {s.id}: {len(rows)} rows", flush=True)
    mlsamples.save(out / "train.npz", mlsamples._pack(rows, meta))


def _family3_samples(b3, sid: str, img: np.ndarray):
    """Family 3's own samples of ``TEST_GROUPS`` (its seeds and draws, as ``b3.samples_for``)."""
    import quality_independent3 as q3
    img = np.asarray(img, np.float32)
    for k, v in enumerate(b3.CLEAN_VIEWS):
        yield np.ascontiguousarray(np.rot90(img, k)), "", "none", "none", v
    for g in TEST_GROUPS:
        for d in range(b3.DRAWS):
            y, how = q3.apply(img, g, np.random.default_rng(b3._seed("indep3", sid, g, d)))
            yield y, q3.FAMILY[g], q3.SUBTYPE.get(g, q3.FAMILY[g]), g, f"{g}:{how}"


def test_rows(data, out: Path) -> None:
    import build_quality_independent3_set as b3
    names = list(features.FEATURE_NAMES) + list(features.V23_NAMES)
    X, meta, border = [], [], []
    for sid, mg, mod, loader, rel, frame in b3.SOURCES:
        if mg not in ("X-ray", "fundus"):
            continue
        img = b3.load(data, loader, rel, frame)
        for y, labels, kind, group, how in _family3_samples(b3, sid, img):
            x, _ = analysis_image(y)
            f = features.extract(x, mod)
            f.update(features.extract_v23(x))
            X.append([f[k] for k in names])
            border.append(features.border_dark_fraction(x))
            meta.append([sid, mod, mg, labels, kind, group, how])
        print(f"  {sid}: {len(X)} samples", flush=True)
    np.savez_compressed(out / "test.npz", X=np.array(X), names=np.array(names), meta=np.array(meta),
                        border=np.array(border))


def _score(model, z) -> dict:
    import eval_quality_independent3 as ev
    names = list(z["names"])
    X = z["X"][:, [names.index(k) for k in model.feature_names]]
    meta = z["meta"]
    pred = model.predict(X, list(meta[:, 1]), list(z["border"]))
    rs = []
    for i, m in enumerate(meta):
        a = from_prediction(pred, i, dict(zip(names, z["X"][i])), str(m[1]))
        top = a.degradations[0] if a.degradations else None
        rs.append({"source": m[0], "modality": m[1], "modality_group": m[2], "labels": m[3], "kind": m[4],
                   "group": m[5], "how": m[6], "severity": 2, "truth": m[3] or "none",
                   "call": top.family if top else "none", "subtype": top.type if top else "", "status": a.status,
                   "reported": [d.family for d in a.degradations]})
    s = ev.summarise(rs)
    return {"macro_f1": round(s["macro_f1"], 3), "min_recall": round(s["min_recall"], 3),
            "clean_false_alarm": {g: (v["false_alarm_clean"], v["clean_calls"]) for g, v in s["by_modality"].items()},
            "recall": {k: round(v["recall"], 3) for k, v in s["per_class"].items()},
            "impl": {k: round(v["recall"], 2) for k, v in s["by_implementation"].items()}}


def fit(out: Path) -> dict:
    mlsamples.WITH_V23 = True
    tr = mlsamples.load(out / "train.npz")
    z = np.load(out / "test.npz", allow_pickle=False)
    all_names = mlsamples.row_names()
    grey = np.array([h.startswith("grey:") for h in tr.how])
    new_cls = np.array([any(t in h for t in ("crop_after", "double", "mottle")) for h in tr.how])
    res = {}
    only = os.environ.get("ONLY", "ABCD")
    for name, keep, cols in (("A", ~grey & ~new_cls, features.FEATURE_NAMES), ("B", ~new_cls, features.FEATURE_NAMES),
                             ("C", np.ones(len(tr), bool), features.FEATURE_NAMES), ("D", np.ones(len(tr), bool), all_names)):
        if name not in only:
            continue
        s = mlsamples.subset(tr, keep)
        s.X = s.X[:, [all_names.index(c) for c in cols]]
        train_assessor.FEATURE_NAMES = list(cols)
        assess_mod.FEATURE_NAMES = list(cols)  # the model class checks its vector against this
        model = train_assessor.fit(s, 100, log=lambda m: None)
        res[name] = {"rows": int(keep.sum()), **_score(model, z)}
        print(name, json.dumps(res[name]), flush=True)
    return res


if __name__ == "__main__":
    what, out = sys.argv[1], Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    data = os.environ.get("LOUPE_DATA", "../shared/data")
    if what == "train":
        train_rows(data, out)
    elif what == "test":
        test_rows(data, out)
    else:
        (out / "fit.json").write_text(json.dumps(fit(out), indent=1))

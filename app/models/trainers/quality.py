"""Training driver of ``quality`` (the image-quality assessor): where its examples come from, and
the adapt -> held-back score -> gate -> versioned model loop.

Examples are reviewed quality verdicts in the review store - never unreviewed AI output:

- an AI verdict (the quality run's findings layer) that someone *accepted*: the degradation
  families it reported (none = clean) are the label;
- a reviewer's correction (``app/review/quality_verdict.correct_verdict``: the families present, or
  "clean"), and a human version someone accepted;
- per layer the newest such version; none that anyone's latest decision rejected.
The picture behind a verdict is found through the run's provenance: ``source`` (the file),
``slice`` and ``image_sha`` (hash of the [0, 1] grey slice the assessor judged), read exactly as
a run reads it; a file that changed since is refused in one line. Or labelled files:
``--images DIR --labels FILE_OR_DIR`` (see :func:`read_label_file`).

Features are computed through the assessor's public path (``analysis_image`` + ``extract`` +
``border_dark_fraction``, the columns its ``feature_names`` list), so a retrained assessor with
other features still trains here. The fit is ``backends/quality/site_fit.fit_site``.
Gate: on the held-back reviewed images the new model's macro-F1 must not be lower and it may
flag no more clean images than the current model."""
from __future__ import annotations

import csv
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from app.data.types import LoupeError
from app.models.registry import CARD_NAME, ModelRegistry, weights_name

BACKEND = "quality"
MADE_BY = ("quality", "restore")   # both backends' findings layers carry the assessor's verdict
LABEL_FILES = ("labels.csv", "labels.json")


@dataclass
class QualityExample:
    """One reviewed image: its assessor features, modality, border darkness and the families a
    reviewer says are present (empty set = clean)."""
    name: str
    features: dict[str, float]
    modality: str
    border: float
    families: set[str]
    origin: dict


def example(name: str, unit: np.ndarray, modality: str, fams: set[str], origin: dict) -> QualityExample:
    """Features of a [0, 1] grey image exactly as ``assess`` measures them."""
    from backends.quality.assess import analysis_image
    from backends.quality.degrade import normalise_modality
    from backends.quality.features import border_dark_fraction, extract

    m = normalise_modality(modality)
    x, _ = analysis_image(unit)
    return QualityExample(name, extract(x, m), m, float(border_dark_fraction(x)), set(fams), origin)


def _picture(path: Path, slice_index: int = -1, modality: str = "auto"):
    """The grey slice a quality run judges in ``path`` (backends/quality/backend._slice)."""
    from app.jobs.inputs import open_input
    from backends.quality.backend import _slice

    try:
        inp = open_input(path)
    except (OSError, ValueError, LoupeError) as e:
        raise LoupeError(f"{path}: cannot open it as an image ({e})") from e
    return _slice(inp, slice_index, modality or "auto")


def reviewed_verdicts(store, since: datetime | None = None) -> list[dict]:
    """The newest reviewed version per quality layer: accepted (AI or human) or a correction."""
    from app.models.examples import rejected_versions, reviewed_target
    decisions = store.decisions()
    rejected = rejected_versions(decisions)
    chosen: dict[str, dict] = {}
    origins: dict[str, object] = {}
    for d in decisions:
        target = reviewed_target(d, since)
        if target is None:
            continue
        vid, how = target
        if vid in rejected:
            continue
        if d.layer_id not in origins:
            origins[d.layer_id] = store.origin(vid)
        origin = origins[d.layer_id]
        if origin is None or getattr(origin, "author", "") not in MADE_BY:
            continue
        v = store.version(vid)
        cur = chosen.get(v.layer_id)
        if cur is None or v.seq > cur["seq"]:
            chosen[v.layer_id] = {"layer_id": v.layer_id, "version_id": vid, "seq": v.seq, "author": v.author,
                                  "source_kind": v.source_kind, "reviewers": {d.user}, "decisions": {how},
                                  "created": v.created}
        elif cur["version_id"] == vid:
            cur["reviewers"].add(d.user)
            cur["decisions"].add(how)
    return sorted(chosen.values(), key=lambda r: r["seq"])


def from_store(store, since=None, images: Path | None = None) -> list[QualityExample]:
    """Reviewed quality verdicts in ``store`` with their pictures (see module doc)."""
    from app.layers import FindingsLayer
    from app.models import examples as E
    from app.review.quality_verdict import verdict_families
    from backends.quality.backend import image_sha

    by_name = E._files(images, E.IMAGE_SUFFIXES + (".dcm",)) if images else {}
    out = []
    for r in reviewed_verdicts(store, since):
        layer = store.load_layer(r["layer_id"], r["version_id"])
        if not isinstance(layer, FindingsLayer):
            continue
        origin = store.origin(r["version_id"])
        p = origin.params
        src = str(p.get("source", ""))
        path = E.recorded_source(src, by_name)
        if path is None:
            raise LoupeError(f"quality verdict {layer.name!r} (version {r['version_id'][:8]}): its image "
                             f"{src or '(not recorded: assessed before issue 27)'} is not found; pass --images DIR")
        s = _picture(path, int(p.get("slice", p.get("slice_index", -1))), str(p.get("modality", "auto")))
        sha = str(p.get("image_sha", ""))
        if sha and image_sha(s.unit) != sha:
            raise LoupeError(f"{path}: is not the picture quality verdict {layer.name!r} was made on "
                             f"(slice {s.k}): the file changed since")
        out.append(example(E._stem(path), s.unit, s.modality, verdict_families(layer),
                           {"kind": "review", "layer_id": r["layer_id"], "version_id": r["version_id"],
                            "verdict": r["source_kind"], "author": r["author"],
                            "reviewers": sorted(r["reviewers"]), "decisions": sorted(r["decisions"]),
                            "image": str(path), "slice": s.k, "origin_model": p.get("model", "")}))
    return out


def read_label_file(labels: Path) -> dict[str, set[str]]:
    """Image name -> reviewed families, from a CSV (``image,types``: types separated by ';',
    'clean' for none; a header row is allowed) or a JSON object ({"a.png": ["blur"], "b.png":
    "clean"}); a folder holding labels.csv or labels.json. One table for a whole set, editable in a
    spreadsheet: a quality label is a short list of words, not a picture."""
    from app.review.quality_verdict import parse_families

    p = Path(labels)
    if p.is_dir():
        found = [p / n for n in LABEL_FILES if (p / n).is_file()]
        if not found:
            raise LoupeError(f"{p}: holds no {' or '.join(LABEL_FILES)} (image -> degradation types)")
        p = found[0]
    if not p.is_file():
        raise LoupeError(f"{p}: no such label file")
    out: dict[str, set[str]] = {}
    try:
        if p.suffix.lower() == ".json":
            doc = json.loads(p.read_text())
            if not isinstance(doc, dict):
                raise LoupeError(f"{p}: expected a JSON object image -> types")
            for k, v in doc.items():
                out[str(k)] = parse_families(v if isinstance(v, str | list) else str(v))
        else:
            with open(p, newline="") as f:
                for n, row in enumerate(csv.reader(f), 1):
                    if not row or not row[0].strip() or row[0].strip().startswith("#"):
                        continue
                    if n == 1 and row[0].strip().lower() in ("image", "file", "name"):
                        continue
                    out[row[0].strip()] = parse_families(row[1] if len(row) > 1 else "")
    except LoupeError as e:
        raise LoupeError(f"{p}: {e}") from e
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise LoupeError(f"{p}: cannot read it as a label table ({e})") from e
    if not out:
        raise LoupeError(f"{p}: no labelled image in it")
    return out


def from_folders(images: Path, labels: Path) -> list[QualityExample]:
    """Images in ``images`` with their types from a label table (``read_label_file``)."""
    from app.models import examples as E

    table = read_label_file(labels)
    imgs = E._files(images, E.IMAGE_SUFFIXES + (".dcm",))
    by_full = {p.name: p for p in imgs.values()}
    out, missing = [], []
    for name, fams in table.items():
        path = by_full.get(name) or imgs.get(E._stem(Path(name)))
        if path is None:
            missing.append(name)
            continue
        s = _picture(path)
        out.append(example(E._stem(path), s.unit, s.modality, fams,
                           {"kind": "file", "image": str(path), "label": str(labels)}))
    if missing:
        raise LoupeError(f"{labels}: {len(missing)} labelled image(s) not found in {images}: "
                         f"{', '.join(missing[:5])}")
    return out


def _matrix(model, items: Sequence[QualityExample]):
    names = model.feature_names
    miss = sorted({k for it in items for k in names if k not in it.features})
    if miss:
        raise LoupeError(f"the assessor needs features these examples lack ({', '.join(miss[:5])}): "
                         f"collect them again")
    X = np.array([[it.features[k] for k in names] for it in items], np.float64).reshape(len(items), len(names))
    return X, [it.modality for it in items], [it.border for it in items], [set(it.families) for it in items]


def _hardware() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, CPU only (scikit-learn)"


def train_model(backend: str, items: Sequence[QualityExample], out_dir: Path, *, base: str | None = None,
                iters: int | None = None, seed: int = 0, registry: ModelRegistry | None = None,
                progress: Callable[[float, str], None] = lambda f, m: None,
                cancelled: Callable[[], bool] = lambda: False, command: str = "") -> dict:
    """Adapt ``base`` (default: the active version) to the reviewed images minus a held-back
    part, score both on that part, write + register the new version. Returns its card.
    (``iters`` is accepted for the common signature; the fit has no steps.)"""
    from backends.quality import site_fit as F

    from ..training import _sha, finetune_card, split_holdback

    reg = registry or ModelRegistry(backend)
    base_ref = reg.get(base)
    if not items:
        raise LoupeError("nothing to train on: no accepted or corrected quality verdicts (and no labelled files)")
    base_model = F.load_model(base_ref.weights)
    train, held = split_holdback(items, seed=seed)
    t0, c0 = time.time(), time.process_time()
    progress(0.1, f"adapting {backend} {base_ref.version} to {len(train)} reviewed images ({len(held)} held back)")
    X, mods, border, labels = _matrix(base_model, train)
    model = F.fit_site(base_model, X, mods, border, labels,
                       meta={"base_model": base_ref.version, "created": datetime.now(UTC).isoformat(timespec="seconds")})
    train_s, train_cpu = time.time() - t0, time.process_time() - c0
    if cancelled():
        raise InterruptedError("training cancelled")
    metrics: dict = {}
    if held:
        progress(0.6, f"scoring on {len(held)} held-back reviewed images")
        Xh, mh, bh, th = _matrix(base_model, held)
        new, old = F.held_score(model, Xh, mh, bh, th), F.held_score(base_model, Xh, mh, bh, th)
        ok, reason = F.gate(new, old)
        reason += f" of {base_ref.version} on {len(held)} image(s)"
        metrics = {"heldback_f1_new": round(new.macro_f1, 4), "heldback_f1_base": round(old.macro_f1, 4),
                   "heldback_new": new.to_dict(), "heldback_base": old.to_dict(),
                   "heldback_items": [{"name": h.name, "truth": sorted(t), "new": sorted(a), "base": sorted(b)}
                                      for h, t, a, b in zip(held, th, new.found, old.found)]}
    else:
        ok, reason = False, (f"only {len(items)} reviewed image(s): none could be held back to compare with "
                             f"{base_ref.version}")
    if cancelled():
        raise InterruptedError("training cancelled")
    card = {
        **finetune_card(backend, base_ref, train, held, metrics, ok, reason, (train_s, train_cpu, 0.0)),
        "kind": "site-fit",
        "method": "kernel vote of the reviewed images in the base model's raw family-logit space, shrunk "
                  "towards the base probability (backends/quality/site_fit.py); base classifiers unchanged",
        "kappa": model.kappa, "bandwidth": F.BANDWIDTH, "bandwidth_abs": round(model.h, 4),
        "reviewed_pooled": int(len(model.E)), "families_learned": {
            f: int(model.Y[:, j].sum()) for j, f in enumerate(model.families) if model.Y[:, j].any()},
        "clean_learned": int((model.Y.sum(1) == 0).sum()),
        "shipped_weights_sha256": _sha(reg.shipped().weights),
        "seed": seed, "hardware": _hardware(), "command": command,
    }
    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()):
        raise LoupeError(f"{out_dir}: output folder is not empty")
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / weights_name(backend))
    (out_dir / CARD_NAME).write_text(json.dumps(card, indent=2, default=str))
    ref = reg.register(out_dir)
    progress(1.0, f"{backend} {ref.version}: {reason}")
    return ref.card


def item_uncertainty(ref, item) -> float:
    """A quality queue item's uncertainty under model ``ref``: its input re-assessed (the
    largest binary entropy of the calibrated family probabilities, as the queue ranks)."""
    from app.review.quality_items import quality_uncertainty
    from backends.quality.assess import assess
    from backends.quality.backend import _load

    src = (item.meta or {}).get("input")
    if not src or not Path(src).is_file():
        raise LoupeError(f"{(item.meta or {}).get('title', item.item_id)}: input image {src or '(not recorded)'} "
                         f"not found")
    s = _picture(Path(src))
    return quality_uncertainty(assess(s.unit, s.modality, _load(str(ref.weights))).to_json())


__all__ = ["QualityExample", "example", "from_folders", "from_store", "item_uncertainty", "read_label_file",
           "reviewed_verdicts", "train_model"]

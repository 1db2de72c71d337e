"""Training driver of ``us-biometry`` (pubic symphysis / fetal head segmentation): where its
examples come from, and the train -> held-back score -> gate -> versioned model loop.

Examples are reviewed label layers of us-biometry runs (accepted or corrected human versions, the
rule of app/models/examples.reviewed_versions: never a backend version) or labelled files. A
label image is 0 background, 1 pubic symphysis, 2 fetal head, on the frame's grid. The frame
behind a reviewed mask is found through the provenance of the run it started from: ``source``
(the input file), ``frame`` (index in a cine) and ``frame_sha`` (hash of the grey frame the
network saw), so a cine measured frame by frame, or a file changed since, never pairs a mask with
the wrong picture.

Gate: the new model must at least match the current one on the held-back reviewed frames, on both
the mean Dice of PS and FH and the AoP error (the product's reading of its mask against the IUGC
AoP of the reviewed mask)."""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from app.data.types import LoupeError
from app.models import examples as E
from app.models.registry import ModelRegistry

BACKEND = "us-biometry"


def frame_sha(grey: np.ndarray) -> str:
    """Identity of the grey frame the network saw (segment.to_grey output)."""
    return hashlib.sha256(np.ascontiguousarray(grey, np.float32).tobytes()).hexdigest()[:16]


def source_frames(path: Path) -> list[np.ndarray]:
    """The grey frames of an input file exactly as a us-biometry run reads them."""
    from app.jobs.inputs import open_input
    from backends.ultrasound.backend import frames_of
    from backends.ultrasound.segment import to_grey

    inp = open_input(path)
    if inp.volume is None and inp.kind == "video":
        from app.ultrasound.video import video_cine_volume
        from backends.base import BackendInput
        inp = BackendInput.from_volume(video_cine_volume(str(path)), "volume")
    return [to_grey(f) for f in frames_of(inp, 100000)]


def _frame_of(path: Path, params: dict, name: str) -> np.ndarray:
    frames = source_frames(path)
    idx, sha = int(params.get("frame", 0) or 0), str(params.get("frame_sha", ""))
    if 0 <= idx < len(frames) and (not sha or frame_sha(frames[idx]) == sha):
        return frames[idx]
    for f in frames if sha else []:   # a frame measured on its own records index 0: find it by content
        if frame_sha(f) == sha:
            return f
    raise LoupeError(f"{path}: holds no frame like the one layer {name!r} was made from "
                     f"(frame {idx}, sha {sha or '-'}): the file changed since")


def _check_labels(lab: np.ndarray, where: str) -> np.ndarray:
    lab = np.asarray(lab)
    if lab.ndim != 2:
        raise LoupeError(f"{where}: a 2D label image is needed, got shape {lab.shape}")
    bad = set(np.unique(lab).tolist()) - {0, 1, 2}
    if bad:
        raise LoupeError(f"{where}: labels must be 0 background, 1 pubic symphysis, 2 fetal head; "
                         f"found {sorted(bad)[:5]}")
    return lab.astype(np.uint8)


def from_store(store, since=None, images: Path | None = None) -> list:
    """Reviewed PS/FH masks of us-biometry runs in ``store`` (see module doc)."""
    from app.layers import LabelLayer
    from backends.ultrasound.finetune import Example

    by_name = E._files(images, E.IMAGE_SUFFIXES + (".dcm",)) if images else {}
    out = []
    for r in E.reviewed_versions(store, since):
        origin = store.origin(r["version_id"])
        if origin is None or origin.author != BACKEND:
            continue   # another backend's mask (or purely human work without a frame on record)
        layer = store.load_layer(r["layer_id"], r["version_id"])
        if not isinstance(layer, LabelLayer):
            continue
        lab = np.asarray(layer.labels)
        lab = _check_labels(lab[0] if lab.ndim == 3 and lab.shape[0] == 1 else lab, f"layer {layer.name!r}")
        src = str(origin.params.get("source", ""))
        path = E.recorded_source(src, by_name)
        if path is None:
            raise LoupeError(f"layer {layer.name!r} (version {r['version_id'][:8]}): its frame's file "
                             f"{src or '(not recorded)'} is not found; pass --images DIR holding it")
        grey = _frame_of(path, origin.params, layer.name)
        if grey.shape != lab.shape:
            raise LoupeError(f"{path}: frame is {grey.shape[1]}x{grey.shape[0]} px but the reviewed mask of "
                             f"layer {layer.name!r} is {lab.shape[1]}x{lab.shape[0]}")
        out.append(Example(E._stem(path), grey, lab,
                           {"kind": "review", "layer_id": r["layer_id"], "version_id": r["version_id"],
                            "author": r["author"], "reviewers": sorted(r["reviewers"]),
                            "decisions": sorted(r["decisions"]), "image": str(path),
                            "frame": int(origin.params.get("frame", 0) or 0),
                            "origin_model": origin.params.get("model", "")}))
    return out


def from_folders(images: Path, labels: Path) -> list:
    """Frames and label images (PNG or 2D NIfTI, 0/1/2) with the same name stem."""
    from PIL import Image

    from backends.ultrasound.finetune import Example
    from backends.ultrasound.segment import to_grey

    imgs, labs = E._files(images, E.IMAGE_SUFFIXES), E._files(labels, E.LABEL_SUFFIXES)
    common = sorted(set(imgs) & set(labs))
    if not common:
        raise LoupeError(f"no image in {images} has a label of the same name in {labels}")
    out = []
    for name in common:
        lp = labs[name]
        if lp.name.lower().endswith((".nii", ".nii.gz")):
            import nibabel as nib

            try:
                lab = np.squeeze(np.asarray(nib.load(str(lp)).dataobj))
            except Exception as e:
                raise LoupeError(f"{lp}: cannot read it as NIfTI ({e})") from e
            lab = lab.T if lab.ndim == 2 else lab
        else:
            try:
                with Image.open(lp) as im:
                    lab = np.asarray(im)
            except OSError as e:
                raise LoupeError(f"{lp}: cannot read it as a label image ({e})") from e
        lab = _check_labels(np.rint(lab), str(lp))
        grey = to_grey(E.read_rgb(imgs[name]))
        if lab.shape != grey.shape:
            raise LoupeError(f"{lp}: label is {lab.shape[1]}x{lab.shape[0]} px but its image "
                             f"{imgs[name].name} is {grey.shape[1]}x{grey.shape[0]}")
        out.append(Example(name, grey, lab, {"kind": "file", "image": str(imgs[name]), "label": str(lp)}))
    return out


def gate(new: dict, base: dict) -> tuple[bool, str]:
    """Promotable only if neither the mean Dice nor the AoP MAE is worse than the current model's."""
    ok = new["dice"] >= base["dice"]
    txt = f"held-back Dice PS/FH {new['dice_ps']:.3f}/{new['dice_fh']:.3f} vs {base['dice_ps']:.3f}/{base['dice_fh']:.3f}"
    if new["aop_mae"] is not None and base["aop_mae"] is not None:
        ok = ok and new["aop_mae"] <= base["aop_mae"]
        txt += f", AoP error {new['aop_mae']:.2f} vs {base['aop_mae']:.2f} deg"
    return ok, txt


def train_model(backend: str, items: Sequence, out_dir: Path, *, base: str | None = None,
                iters: int | None = None, seed: int = 0, registry: ModelRegistry | None = None,
                progress: Callable[[float, str], None] = lambda f, m: None,
                cancelled: Callable[[], bool] = lambda: False, command: str = "") -> dict:
    """Fine-tune ``base`` (default: the active version) on the reviewed frames minus a held-back
    part, score both models on that part, write + register the new version. Returns its card."""
    from backends.ultrasound import finetune as T

    from ..training import _hardware, _write_model, finetune_card, split_holdback

    reg = registry or ModelRegistry(backend)
    base_ref = reg.get(base)
    if not items:
        raise LoupeError("nothing to train on: no accepted or corrected PS/FH masks (and no labelled files)")
    train, held = split_holdback(items, seed=seed)
    iters = iters or T.FINETUNE_ITERS
    t0, c0 = time.time(), time.process_time()
    progress(0.0, f"fine-tuning {base_ref.version} on {len(train)} reviewed frames ({len(held)} held back)")
    model, step_s = T.finetune(base_ref.weights, train, iters=iters, seed=seed, cancelled=cancelled,
                               progress=lambda f, m: progress(0.9 * f, m))
    train_s, train_cpu = time.time() - t0, time.process_time() - c0
    metrics: dict = {}
    if held:
        progress(0.92, "scoring on held-back frames")
        rows_new, rows_base = T.score(model, held), T.score(T.load_model(base_ref.weights), held)
        new, old = T.summary(rows_new), T.summary(rows_base)
        ok, reason = gate(new, old)
        reason += f" of {base_ref.version} on {len(held)} frame(s)"
        metrics = {"heldback_dice_new": new["dice"], "heldback_dice_base": old["dice"],
                   "heldback_new": new, "heldback_base": old,
                   "heldback_items": [{"name": h.name, "new": a, "base": b} for h, a, b in
                                      zip(held, [{k: (round(v, 4) if v is not None else None) for k, v in r.items()}
                                                 for r in rows_new],
                                          [{k: (round(v, 4) if v is not None else None) for k, v in r.items()}
                                           for r in rows_base])]}
    else:
        ok, reason = False, (f"only {len(items)} reviewed frame(s): none could be held back to compare with "
                             f"{base_ref.version}")
    if cancelled():
        raise InterruptedError("training cancelled")
    card = {
        **finetune_card(backend, base_ref, train, held, metrics, ok, reason, (train_s, train_cpu, step_s)),
        "tuned": T.FINETUNE_TUNE, "loss": "Dice + CE + "
        f"{T.SHAPE_WEIGHT:g} x PS long-axis term (train_psfhs)", "batch": T.BATCH,
        "iters": iters, "lr": T.FINETUNE_LR, "seed": seed, "hardware": _hardware(), "command": command,
    }
    _write_model(T, model, out_dir, card)
    ref = reg.register(out_dir)
    progress(1.0, f"{backend} {ref.version}: {reason}")
    return ref.card


__all__ = ["from_folders", "from_store", "gate", "source_frames", "train_model"]

"""Merge several dataset folders into one manifest (JSON, and CSV beside it)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from app.data.types import LoupeError

from .duplicates import MAX_HAMMING, MIN_CORRELATION, duplicate_pairs
from .scan import scan_folder
from .split import SPLITS, assign_splits

FORMAT = 1
CSV_COLUMNS = ["id", "dataset", "kind", "path", "modality", "anatomy", "task", "patient", "split", "label",
               "label_classes", "shape", "n_files", "series_uid", "phash", "duplicates"]


def merge(folders, fractions=(0.8, 0.1, 0.1), seed: str = "loupe", sidecars: dict | None = None) -> dict:
    """``sidecars`` maps a folder to a sidecar file kept elsewhere (read-only dataset folders)."""
    items, datasets = [], {}
    side = {Path(k).resolve(): v for k, v in (sidecars or {}).items()}
    unknown = set(side) - {Path(f).resolve() for f in folders}
    if unknown:
        raise LoupeError(f"--sidecar given for {', '.join(map(str, sorted(unknown)))}, which is not merged")
    for f in folders:
        sc, its = scan_folder(f, side.get(Path(f).resolve()))
        if sc.dataset in datasets:
            raise LoupeError(f"{f}: dataset name {sc.dataset!r} is already used by {datasets[sc.dataset]['folder']}; "
                             f"give one of them another name in its loupe-dataset.json")
        datasets[sc.dataset] = {"folder": str(Path(f).resolve()), "items": len(its),
                                "sidecar": sc.declared, "modality": sorted({i.modality for i in its}),
                                "anatomy": sorted({i.anatomy for i in its}), "task": sc.task,
                                "label_schema": {str(k): v for k, v in sorted(sc.label_schema.items())},
                                "labelled": sum(bool(i.label) for i in its)}
        items.extend(its)
    pairs = duplicate_pairs([i.fp for i in items])
    dup = [(items[a], items[b]) for a, b, _d, _c in pairs]
    assign_splits(items, dup, fractions, seed)
    leaks = {}
    for it in items:
        leaks.setdefault(it.patient, set()).add(it.split)
    if any(len(s) != 1 for s in leaks.values()):   # cannot happen by construction; never ship a leak
        raise LoupeError("internal error: a patient landed in two splits")
    return {
        "format": FORMAT,
        "params": {"split_fractions": list(fractions), "seed": seed, "duplicate_max_hamming": MAX_HAMMING,
                   "duplicate_min_correlation": MIN_CORRELATION},
        "datasets": datasets,
        "splits": {s: sum(i.split == s for i in items) for s in SPLITS},
        "items": [i.record() for i in items],
        "duplicates": [[items[a].id, items[b].id] for a, b, _d, _c in pairs],
        "duplicate_details": [{"a": items[a].id, "b": items[b].id, "hamming": d, "correlation": round(c, 5),
                               "cross_dataset": items[a].dataset != items[b].dataset} for a, b, d, c in pairs],
    }


def write_manifest(manifest: dict, out) -> tuple[Path, Path]:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    dups: dict[str, list[str]] = {}
    for a, b in manifest["duplicates"]:
        dups.setdefault(a, []).append(b)
        dups.setdefault(b, []).append(a)
    csv_path = out.with_suffix(".csv")
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, CSV_COLUMNS)
        w.writeheader()
        for it in manifest["items"]:
            row = dict(it)
            row["label_classes"] = " ".join(map(str, it["label_classes"]))
            row["shape"] = "x".join(map(str, it["shape"]))
            row["duplicates"] = ";".join(dups.get(it["id"], []))
            w.writerow({k: row.get(k, "") for k in CSV_COLUMNS})
    return out, csv_path

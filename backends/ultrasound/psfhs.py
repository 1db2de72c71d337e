"""PSFHS frames on disk and the case-wise split shared by training, validation and tests.

Frame ids in PSFHS_png are consecutive frame numbers of acquisitions: neighbouring ids are often
frames of the same woman's cine (image correlation > 0.9). A random split would leak a case into
both sides, so frames are chained into *cases* (neighbouring ids with similar pictures) and whole
cases go to one side: train (70%), dev (10%: model selection) and test (20%: reported figures only).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

LABELS = {0: "background", 1: "pubic symphysis", 2: "fetal head"}
SPLIT_FILE = Path(__file__).resolve().parents[2] / "assets" / "models" / "us_biometry" / "split.json"


def psfhs_dir(data_root: Path) -> Path:
    return Path(data_root) / "ultrasound" / "PSFHS_png"


def frame_ids(root: Path) -> list[str]:
    return sorted(p.stem for p in (root / "images").glob("*.png"))


def load_pair(root: Path, fid: str) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image

    img = np.asarray(Image.open(root / "images" / f"{fid}.png").convert("L"))
    lab = np.asarray(Image.open(root / "labels" / f"{fid}.png"))
    return img, lab


def chain_cases(root: Path, ids: list[str], same_case_corr: float = 0.75, max_id_gap: int = 6) -> list[list[str]]:
    """Group sorted frame ids into cases: a new case starts where the id jumps or the picture changes."""
    from PIL import Image

    small = [np.asarray(Image.open(root / "images" / f"{i}.png").convert("L"), np.float32)[::4, ::4].ravel()
             for i in ids]
    cases, cur = [], [ids[0]]
    for k in range(1, len(ids)):
        gap = int(ids[k]) - int(ids[k - 1])
        corr = float(np.corrcoef(small[k - 1], small[k])[0, 1])
        if gap > max_id_gap or corr < same_case_corr:
            cases.append(cur)
            cur = []
        cur.append(ids[k])
    cases.append(cur)
    return cases


def make_split(root: Path) -> dict:
    ids = frame_ids(root)
    cases = chain_cases(root, ids)
    split = {"train": [], "dev": [], "test": []}
    for n, case in enumerate(cases):
        side = "test" if n % 10 in (0, 5) else "dev" if n % 10 == 3 else "train"
        split[side].extend(case)
    split["n_cases"] = len(cases)
    split["rule"] = ("cases = runs of neighbouring ids (gap <= 6) whose 64x64 thumbnails correlate >= 0.75; "
                     "case n -> test if n % 10 in (0, 5), dev if n % 10 == 3, else train")
    return split


def load_split(root: Path | None = None) -> dict:
    """The split committed next to the weights (made once by train_psfhs; never recomputed silently)."""
    if SPLIT_FILE.is_file():
        return json.loads(SPLIT_FILE.read_text())
    if root is None:
        raise FileNotFoundError(f"{SPLIT_FILE} missing: run python -m backends.ultrasound.train_psfhs")
    split = make_split(root)
    SPLIT_FILE.parent.mkdir(parents=True, exist_ok=True)
    SPLIT_FILE.write_text(json.dumps(split, indent=1))
    return split

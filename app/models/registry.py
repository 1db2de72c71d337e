"""Model versions of a trainable backend, kept under ``user_dir()/models/BACKEND/VERSION``.

Why: a model trained from reviews must never silently replace the one clinicians validated. Each
trained or adapted model is a new numbered version with its card (base model, what it learned
from, metrics, time, hardware); ``shipped`` is the weights in ``assets/``. Exactly one version is
*active* (what a run without ``model=`` uses); promoting and rolling back only move that pointer,
and every move is appended to ``history.jsonl``. Runs pin the concrete version into their
parameters (:func:`pin_model`), so layers record the model that made them and the result cache
never mixes two models. Cheap to import: json and paths only."""
from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.data.types import LoupeError
from app.paths import ASSETS, user_dir

SHIPPED = "shipped"
WEIGHTS_NAME = "model.pt"
CARD_NAME = "card.json"
#: trainable backends: the shipped weights (under assets/) and the module that trains them
TRAINABLE = {
    "vessels2d": {"shipped": "models/vessels2d/unet2d.pt", "trainer": "backends.vessels.finetune"},
    # PS / fetal head segmentation; "driver": its own examples and train loop (app/models/trainers),
    # "adapt": False - no source-free adaptation for it
    "us-biometry": {"shipped": "models/us_biometry/psfhs_unet.pt", "trainer": "backends.ultrasound.finetune",
                    "driver": "app.models.trainers.us_biometry", "adapt": False},
    # the image-quality assessor (scikit-learn): a version is a site-adapted assessor ("weights":
    # its file name in a version folder); the shipped card is the assessor's own metadata
    "quality": {"shipped": "models/quality/assessor.joblib", "trainer": "backends.quality.site_fit",
                "driver": "app.models.trainers.quality", "adapt": False, "weights": "model.joblib"},
}
#: backends that run another backend's trainable model (restore assesses with the quality assessor):
#: their runs pin that model's version too, so provenance and cache keys name it
USES_MODEL_OF = {"restore": "quality"}
_VERSION_RE = re.compile(r"^v(\d+)$")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class ModelRef:
    """One model: its version name ('shipped', 'v3', or a folder path), weights and card."""
    backend: str
    version: str
    weights: Path
    card: dict[str, Any]

    @property
    def threshold(self) -> float:
        return float(self.card["threshold"])


def require_trainable(backend: str) -> dict[str, str]:
    if backend not in TRAINABLE:
        raise LoupeError(f"backend {backend!r} cannot be trained here; trainable: {', '.join(TRAINABLE)}")
    return TRAINABLE[backend]


def require_adaptable(backend: str) -> dict[str, str]:
    info = require_trainable(backend)
    if info.get("adapt") is False:
        ok = ", ".join(b for b, i in TRAINABLE.items() if i.get("adapt") is not False)
        raise LoupeError(f"backend {backend!r} has no source-free adaptation (train it from reviews instead); "
                         f"adaptable: {ok}")
    return info


def weights_name(backend: str) -> str:
    """The weights file of a version folder of ``backend`` (model.pt for the torch backends)."""
    return TRAINABLE.get(backend, {}).get("weights", WEIGHTS_NAME)


def read_model_dir(backend: str, folder: Path, version: str | None = None) -> ModelRef:
    folder = Path(folder)
    w, c = folder / weights_name(backend), folder / CARD_NAME
    if not w.is_file() or not c.is_file():
        raise LoupeError(f"{folder}: not a model folder (needs {w.name} and {CARD_NAME})")
    try:
        card = json.loads(c.read_text())
    except (OSError, ValueError) as e:
        raise LoupeError(f"{c}: unreadable model card ({e})") from e
    if card.get("backend", backend) != backend:
        raise LoupeError(f"{folder}: a model for {card.get('backend')!r}, not {backend!r}")
    return ModelRef(backend, version or str(folder.resolve()), w, card)


class ModelRegistry:
    def __init__(self, backend: str, root: Path | None = None) -> None:
        self.info = require_trainable(backend)
        self.backend = backend
        self.root = Path(root) if root is not None else user_dir() / "models" / backend

    # ---- reading ----------------------------------------------------------------------------
    def shipped(self) -> ModelRef:
        w = ASSETS / self.info["shipped"]
        if not w.is_file():
            raise LoupeError(f"shipped weights of {self.backend} are missing: {w}")
        cj = w.with_suffix(".json")
        card = json.loads(cj.read_text()) if cj.is_file() else {"model": w.name, "weights_file": str(w.name)}
        return ModelRef(self.backend, SHIPPED, w, {**card, "version": SHIPPED, "backend": self.backend})

    def versions(self) -> list[str]:
        """'shipped' then v1, v2, ... in order."""
        found = []
        if self.root.is_dir():
            for p in self.root.iterdir():
                m = _VERSION_RE.match(p.name)
                if m and (p / CARD_NAME).is_file():
                    found.append((int(m.group(1)), p.name))
        return [SHIPPED] + [name for _, name in sorted(found)]

    def get(self, version_or_dir: str | os.PathLike | None = None) -> ModelRef:
        """A version name, 'active' / '' / None (the promoted one), or a model folder."""
        v = str(version_or_dir or "").strip()
        if v in ("", "active"):
            v = self.active()
        if v == SHIPPED:
            return self.shipped()
        if _VERSION_RE.match(v):
            folder = self.root / v
            if not folder.is_dir():
                raise LoupeError(f"{self.backend} has no model version {v!r}; versions: "
                                 f"{', '.join(self.versions())} (run_app.py models {self.backend})")
            return read_model_dir(self.backend, folder, v)
        p = Path(v).expanduser()
        if p.is_dir():
            return read_model_dir(self.backend, p)
        raise LoupeError(f"{v!r} is neither a model version of {self.backend} ({', '.join(self.versions())}) "
                         f"nor a model folder")

    # ---- active pointer -------------------------------------------------------------------------
    def _history(self) -> list[dict[str, Any]]:
        p = self.root / "history.jsonl"
        if not p.is_file():
            return []
        return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]

    def history(self) -> list[dict[str, Any]]:
        return self._history()

    def _stack(self) -> list[str]:
        """Replay of promotions (push) and rollbacks (pop): the active version is on top."""
        stack = [SHIPPED]
        for e in self._history():
            if e.get("action") == "promote":
                stack.append(e["active"])
            elif e.get("action") == "rollback" and len(stack) > 1:
                stack.pop()
        known = set(self.versions())
        return [v for v in stack if v in known] or [SHIPPED]

    def active(self) -> str:
        """The promoted version (a version whose folder was removed falls back to the one below)."""
        return self._stack()[-1]

    def _append(self, entry: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "history.jsonl", "a") as f:
            f.write(json.dumps(entry) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def promote(self, version: str, user: str = "", force: bool = False) -> str:
        """Make ``version`` active. Refused when its card says it scored below the model it was
        compared with on held-back reviewed items, unless ``force``."""
        ref = self.get(version)
        if ref.version not in self.versions():
            raise LoupeError(f"{version}: register a model folder before promoting it (only versions can be active)")
        gate = ref.card.get("promotion", {})
        if gate and not gate.get("ok", False) and not force:
            raise LoupeError(f"{self.backend} {ref.version} is not promotable: {gate.get('reason', 'failed its check')}")
        prev = self.active()
        self._append({"time": _now(), "action": "promote", "active": ref.version, "previous": prev,
                      "user": user, "forced": bool(force and gate and not gate.get("ok", False))})
        return ref.version

    def rollback(self, user: str = "") -> str:
        """Back to the version that was active before the current one was promoted."""
        stack = self._stack()
        if len(stack) < 2:
            raise LoupeError(f"{self.backend}: nothing to roll back to (active: {stack[-1]})")
        self._append({"time": _now(), "action": "rollback", "active": stack[-2], "previous": stack[-1],
                      "user": user})
        return self.active()

    # ---- writing ------------------------------------------------------------------------------
    def register(self, folder: Path) -> ModelRef:
        """Copy a trained model folder in as the next version; its card gets that version."""
        src = read_model_dir(self.backend, folder)
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".incoming-{uuid.uuid4().hex[:8]}"
        shutil.copytree(folder, tmp)
        while True:  # next free number; rename is atomic, so two trainings never share one
            n = max([int(_VERSION_RE.match(v).group(1)) for v in self.versions()[1:]] + [0]) + 1
            dest = self.root / f"v{n}"
            try:
                os.rename(tmp, dest)
                break
            except OSError:
                if not dest.exists():
                    raise
        card = {**src.card, "version": dest.name, "registered": _now()}
        (dest / CARD_NAME).write_text(json.dumps(card, indent=2))
        card_out = Path(folder) / CARD_NAME
        card_out.write_text(json.dumps(card, indent=2))  # the -o folder says which version it became
        return read_model_dir(self.backend, dest, dest.name)

    def rows(self) -> list[dict[str, Any]]:
        """One row per version for listings (CLI, Backends dock)."""
        act = self.active()
        out = []
        for v in self.versions():
            try:
                c = self.get(v).card
            except LoupeError as e:
                out.append({"version": v, "active": v == act, "error": str(e)})
                continue
            m = c.get("metrics", {})
            out.append({"version": v, "active": v == act, "kind": c.get("kind", "shipped" if v == SHIPPED else ""),
                        "base": c.get("base_model", ""), "created": c.get("created", ""),
                        "examples": c.get("data", {}).get("train", "") if isinstance(c.get("data"), dict) else "",
                        "heldback_dice": m.get("heldback_dice_new"), "heldback_dice_base": m.get("heldback_dice_base"),
                        "heldback_f1": m.get("heldback_f1_new"), "heldback_f1_base": m.get("heldback_f1_base"),
                        "source_dice": m.get("source_dice_new"), "source_dice_base": m.get("source_dice_base"),
                        "promotable": c.get("promotion", {}).get("ok", v == SHIPPED),
                        "reason": c.get("promotion", {}).get("reason", "")})
        return out


def pin_model(backend: str, params: dict[str, Any]) -> dict[str, Any]:
    """Replace an empty / 'active' ``model`` parameter of a trainable backend by the concrete
    version (a folder by its absolute path), so provenance and cache keys name the model."""
    backend = USES_MODEL_OF.get(backend, backend)
    if backend not in TRAINABLE or "model" not in params or params.get("method") == "frangi":
        return params
    try:
        ref = ModelRegistry(backend).get(params.get("model"))
    except LoupeError:
        if params.get("model"):
            raise  # a named model that does not exist is the caller's error
        return params  # no weights at all: the backend falls back as it always did
    return {**params, "model": ref.version}

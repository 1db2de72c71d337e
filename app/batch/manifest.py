"""``OUT/manifest.json``: one entry per item, rewritten atomically (temp file + rename) each time
an item finishes, so a run killed at any moment leaves a valid manifest and the next run with the
same backend and parameters skips what is recorded (``resumed: true``) and reruns the rest.

    {"engine": "ray", "backend": "vessels2d", "params": {...}, "input": "/data/fundus",
     "items": [{"input": "/data/fundus/01.tif", "status": "ok", "output": "results/01.tif",
                "error": "", "seconds": 4.2, "resumed": false, "cached": false}, ...]}

``output`` is relative to the manifest's folder, so OUT can be moved."""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from app.data.types import LoupeError

NAME = "manifest.json"
ENGINE = "ray"


class Manifest:
    def __init__(self, out: Path, backend: str, params: dict[str, Any], source: str = "") -> None:
        self.out, self.backend, self.params, self.source = Path(out), backend, dict(params), source
        self.items: dict[str, dict[str, Any]] = {}

    @property
    def path(self) -> Path:
        return self.out / NAME

    @classmethod
    def open(cls, out: str | Path, backend: str, params: dict[str, Any], source: str = "") -> Manifest:
        """The manifest in ``out`` (new when absent); a batch of another backend or other
        parameters there is refused, naming both, rather than mixed in."""
        m = cls(Path(out), backend, params, source)
        if not m.path.exists():
            return m
        try:
            doc = json.loads(m.path.read_text())
            items = doc["items"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise LoupeError(f"{m.path}: not a readable batch manifest ({exc}); use another -o folder") from exc
        if doc.get("backend") != backend or doc.get("params") != m.params:
            raise LoupeError(f"{out} holds a batch of {doc.get('backend')!r} with parameters "
                             f"{doc.get('params')}; this run is {backend!r} with {m.params}: "
                             f"use another -o folder")
        if source and doc.get("input") and doc["input"] != source:  # result folder names would collide
            raise LoupeError(f"{out} holds a batch of {doc['input']}; this run is over {source}: "
                             f"use another -o folder")
        m.items = {e["input"]: dict(e) for e in items if isinstance(e, dict) and "input" in e}
        return m

    @staticmethod
    def load(path: str | Path) -> dict[str, Any]:
        """A manifest document (for readers such as the review queue)."""
        p = Path(path)
        if p.is_dir():
            p = p / NAME
        try:
            doc = json.loads(p.read_text())
        except (OSError, ValueError) as exc:
            raise LoupeError(f"{p}: cannot read batch manifest ({exc})") from exc
        if doc.get("engine") != ENGINE or not isinstance(doc.get("items"), list):
            raise LoupeError(f"{p}: not a Loupe batch manifest")
        return doc

    def finished(self, key: str, retry_failed: bool = False) -> bool:
        """Recorded as done: ok with its result folder present, or failed (unless retrying)."""
        e = self.items.get(key)
        if e is None:
            return False
        if e.get("status") == "ok":
            return bool(e.get("output")) and (self.out / e["output"] / "result.json").is_file()
        return e.get("status") == "failed" and not retry_failed

    def mark_resumed(self, key: str) -> None:
        self.items[key]["resumed"] = True

    def record(self, key: str, status: str, output: str = "", error: str = "", seconds: float = 0.0,
               cached: bool = False) -> dict[str, Any]:
        e = {"input": key, "status": status, "output": output, "error": error,
             "seconds": round(float(seconds), 4), "resumed": False, "cached": bool(cached)}
        self.items[key] = e
        self.save()
        return e

    def counts(self) -> dict[str, int]:
        c = {"ok": 0, "failed": 0}
        for e in self.items.values():
            c[e.get("status", "failed")] = c.get(e.get("status", "failed"), 0) + 1
        return c

    def save(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        doc = {"engine": ENGINE, "backend": self.backend, "params": self.params, "input": self.source,
               "items": [self.items[k] for k in sorted(self.items)]}
        tmp = self.out / f".{NAME}.{uuid.uuid4().hex[:8]}.tmp"
        with open(tmp, "w") as fh:
            json.dump(doc, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

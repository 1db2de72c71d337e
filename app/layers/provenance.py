"""Who or what made a layer. Required by every layer constructor (highdicom's lesson): a layer
without provenance cannot be reviewed, exported as SEG/SR or used to train the next model."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def params_digest(params: dict[str, Any]) -> str:
    blob = json.dumps(params, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@dataclass(frozen=True)
class Provenance:
    kind: str                     # "human" | "backend" | "file"
    author: str                   # user id, backend name, or file name
    version: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    created: str = field(default_factory=_now)
    parent: str | None = None     # id of the layer version this one edits

    @staticmethod
    def human(user: str, parent: str | None = None) -> Provenance:
        if not user:
            raise ValueError("a human provenance needs a user name")
        return Provenance("human", user, parent=parent)

    @staticmethod
    def backend(name: str, version: str, params: dict[str, Any] | None = None) -> Provenance:
        if not name or not version:
            raise ValueError(f"a backend provenance needs name and version, got {name!r} {version!r}")
        return Provenance("backend", name, version, dict(params or {}))

    @staticmethod
    def file(path: str) -> Provenance:
        return Provenance("file", str(path))

    @property
    def digest(self) -> str:
        return params_digest(self.params)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "author": self.author, "version": self.version,
                "params": self.params, "created": self.created, "parent": self.parent}

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Provenance:
        return Provenance(d["kind"], d["author"], d.get("version", ""), dict(d.get("params", {})),
                          d.get("created", _now()), d.get("parent"))

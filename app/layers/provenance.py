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
    attestation: str = ""         # the job runner's signature on a backend layer (app/jobs/attest.py)

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

    def as_import(self, source: str) -> Provenance:
        """A backend claim read from a file that this installation's runner did not sign: kept as a
        file import that names the claim (shown and exported, never trusted as AI output)."""
        params = {**self.params, "claimed_backend": self.author, "claimed_version": self.version}
        return Provenance("file", source, params=params, created=self.created, parent=self.parent)

    def algorithm(self) -> Provenance | None:
        """The algorithm this layer says made it: a backend, or the claim an import names (for
        DICOM SEG/SR algorithm identification); None for a person's or a plain file's layer."""
        if self.kind == "backend":
            return self
        if self.kind == "file" and self.params.get("claimed_backend"):
            rest = {k: v for k, v in self.params.items() if k not in ("claimed_backend", "claimed_version")}
            return Provenance("backend", str(self.params["claimed_backend"]),
                              str(self.params.get("claimed_version") or ""), rest, self.created)
        return None

    @property
    def digest(self) -> str:
        return params_digest(self.params)

    def to_dict(self) -> dict[str, Any]:
        d = {"kind": self.kind, "author": self.author, "version": self.version,
             "params": self.params, "created": self.created, "parent": self.parent}
        if self.attestation:
            d["attestation"] = self.attestation
        return d

    @staticmethod
    def from_dict(d: dict[str, Any]) -> Provenance:
        return Provenance(d["kind"], d["author"], d.get("version", ""), dict(d.get("params", {})),
                          d.get("created", _now()), d.get("parent"), str(d.get("attestation") or ""))

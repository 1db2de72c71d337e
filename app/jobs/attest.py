"""Runner attestation: a layer may be stored as a backend's output only when this installation's
job runner made it. Why: a layer's provenance is just data; anything (a file read back, a web
client, a script) could build ``Provenance.backend("vessels2d", ...)`` and have a hand-drawn mask
counted as AI output by the trust model, the review queue and training. The runner signs what it
hands out (HMAC-SHA256 under a per-installation key that never leaves ``user_dir()/keys``) over
the provenance and a digest of the layer's content, so an attestation cannot be moved to other
data, other parameters or another backend, and the review store checks it before it records a
version as a backend's."""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import os
import secrets
from typing import Any

from app.layers.base import Layer
from app.layers.provenance import Provenance

_PRESENTATION = ("provenance", "name", "visible", "opacity", "color", "colors", "outline", "colormap")


def _key() -> bytes:
    from app.paths import user_dir
    path = user_dir() / "keys" / "runner.key"
    try:
        key = bytes.fromhex(path.read_text().strip())
        if len(key) == 32:
            return key
    except (OSError, ValueError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    tmp = path.with_name(f"runner.key.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key.hex())
    try:  # first writer wins; a concurrent process reads the winner's key
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return bytes.fromhex(path.read_text().strip())


def content_digest(layer: Layer, *, with_id: bool = True) -> str:
    """SHA-256 over what a layer says (its arrays and geometry), not how it is shown: a rename or
    a colour change keeps the digest, any changed voxel, vertex or event does not."""
    from app.layers.codec import Arrays, encode_layer
    arrays = Arrays()
    doc = {k: v for k, v in encode_layer(layer, arrays).items()
           if k not in _PRESENTATION and (with_id or k != "id")}   # without: the same result under another id
    if isinstance(doc.get("volume"), dict):  # where an image was read from is not what it says
        doc["volume"] = {k: v for k, v in doc["volume"].items() if k != "source"}
    h = hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode())
    for name in sorted(arrays.store):
        a = arrays.store[name]
        h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
        h.update(memoryview(a).cast("B") if a.size else b"")
    return h.hexdigest()


def _message(prov: Provenance, layer_id: str, digest: str) -> bytes:
    body: dict[str, Any] = {"layer": layer_id, "content": digest, "kind": prov.kind, "author": prov.author,
                            "version": prov.version, "params": prov.digest, "created": prov.created,
                            "parent": prov.parent}
    return json.dumps(body, sort_keys=True).encode()


def sign(prov: Provenance, layer_id: str, digest: str) -> str:
    return hmac.new(_key(), _message(prov, layer_id, digest), hashlib.sha256).hexdigest()


def attest_layer(layer: Layer) -> Layer:
    """Sign a backend layer the runner produced (called where a job finishes); other kinds are
    left as they are."""
    prov = layer.provenance
    if prov.kind == "backend":
        layer.provenance = dataclasses.replace(prov, attestation=sign(prov, layer.id, content_digest(layer)))
    return layer


def _document_message(name: str, doc: Any) -> bytes:
    return json.dumps({"document": name, "body": doc}, sort_keys=True, default=str).encode()


def document_signature(name: str, doc: Any) -> str:
    return hmac.new(_key(), _document_message(name, doc), hashlib.sha256).hexdigest()


def verify_document(name: str, doc: Any, signature: str) -> bool:
    return bool(signature) and hmac.compare_digest(document_signature(name, doc), signature)


def attest_derived(layer: Layer, name: str, doc: Any, signature: str, source: str) -> Layer:
    """A layer a face builds from a run's document (the ultrasound pane's AoP lines for one frame
    of a cine): signed when the document carries this runner's valid signature, else an import
    that names the claim."""
    if layer.provenance.kind == "backend" and verify_document(name, doc, signature):
        return attest_layer(layer)
    return checked_claim(layer, source)


def attest_result(result: Any) -> Any:
    """Attest every backend layer of a BackendResult, its findings layer (built here, once, so
    the one the caller stores is the signed one) and its documents (signatures in
    ``record['document_signatures']``, for layers a face derives from them)."""
    for layer in getattr(result, "layers", None) or []:
        attest_layer(layer)
    docs = getattr(result, "documents", None) or {}
    record = getattr(result, "record", None)
    if docs and isinstance(record, dict):
        record["document_signatures"] = {n: document_signature(n, d) for n, d in docs.items()}
    if getattr(result, "findings", None) and hasattr(result, "made_findings_layer"):
        result.made_findings_layer = None
        fl = result.findings_layer()
        if fl is not None:
            result.made_findings_layer = attest_layer(fl)
    return result


def verify(layer: Layer, digest: str | None = None) -> bool:
    """True when the layer's backend provenance carries this installation's runner signature for
    exactly this content."""
    prov = layer.provenance
    if prov.kind != "backend" or not prov.attestation:
        return False
    expected = sign(prov, layer.id, digest or content_digest(layer))
    return hmac.compare_digest(expected, prov.attestation)


def checked_claim(layer: Layer, source: str) -> Layer:
    """A layer read from a file (a result folder, a DICOM SEG): its backend claim stands only with
    this installation's valid signature over this content; otherwise it becomes an import."""
    if layer.provenance.kind == "backend" and not verify(layer):
        layer.provenance = layer.provenance.as_import(source)
    return layer

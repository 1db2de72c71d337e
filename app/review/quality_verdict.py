"""A quality verdict as a reviewer sees it and corrects it.

A run of the ``quality`` backend is stored as its findings layer: one finding per reported
degradation (``code`` = the catalogue kind, e.g. ``gaussian_blur``), or "No image degradation
detected" (no code). Reviewers accept or reject that layer like any other; when the assessor got
the TYPE wrong they correct it here: :func:`correct_verdict` saves a human version of the same
layer stating the degradation families present (``code`` = the family, e.g. ``blur``) or
``clean``, through ``ReviewStore.save_edit`` (who, when, and an 'edit' decision on the version it
corrects). Both kinds of version read back with :func:`verdict_families`, which is what training
from reviews learns from (app/models/trainers/quality.py)."""
from __future__ import annotations

from app.data.types import LoupeError
from app.layers import Finding, FindingsLayer

CLEAN_CODE = "clean"
CLEAN_WORDS = ("clean", "none", "no degradation", "")


def families() -> tuple[str, ...]:
    from backends.quality.families import FAMILIES
    return FAMILIES


def parse_families(text_or_names) -> set[str]:
    """Reviewed families from 'blur; jpeg', ['noise'], 'clean' (empty set) - family names or
    catalogue kinds (``gaussian_blur`` -> blur). Unknown names raise one line listing the known."""
    from backends.quality.families import FAMILY_OF
    names = text_or_names.replace(",", ";").split(";") if isinstance(text_or_names, str) else list(text_or_names)
    out: set[str] = set()
    for n in (str(x).strip().lower().replace(" ", "_") for x in names):
        if n.replace("_", " ") in CLEAN_WORDS:
            continue
        fam = n if n in families() else FAMILY_OF.get(n)
        if fam is None:
            raise LoupeError(f"unknown degradation type {n!r}; known: {', '.join(families())} (or 'clean')")
        out.add(fam)
    return out


def is_quality_layer(layer, origin_author: str | None) -> bool:
    return isinstance(layer, FindingsLayer) and origin_author in ("quality", "restore")


def verdict_families(layer: FindingsLayer) -> set[str]:
    """The families a quality findings layer states (empty set = clean)."""
    from backends.quality.families import FAMILY_OF
    out: set[str] = set()
    for f in layer.findings:
        code = (f.code or "").strip()
        if code in families():
            out.add(code)
        elif code in FAMILY_OF:
            out.add(FAMILY_OF[code])
        elif code == CLEAN_CODE or not code:
            continue   # "No image degradation detected", a reviewer's "clean", or a plain note
    return out


def verdict_text(fams: set[str]) -> str:
    from backends.quality.families import label
    return ", ".join(label(f) for f in sorted(fams)) if fams else "clean"


def corrected_layer(layer: FindingsLayer, fams: set[str], user: str) -> FindingsLayer:
    """A copy of ``layer`` (same id) whose findings state ``fams`` as a reviewer's verdict."""
    from app.layers import Provenance
    from backends.quality.families import label
    findings = ([Finding(f"{label(f)}: present (reviewer {user})", None, code=f) for f in sorted(fams)] or
                [Finding(f"Clean: no degradation (reviewer {user})", None, code=CLEAN_CODE)])
    return FindingsLayer(findings, layer.name, Provenance.human(user), layer_id=layer.id)


def correct_verdict(store, layer_id: str, fams, user: str, comment: str = "") -> str:
    """Save a reviewer's quality verdict (families present, or clean) as a human version of the
    quality layer ``layer_id`` on top of its head, with an 'edit' decision. Returns the version id."""
    if not user:
        raise LoupeError("a quality verdict needs a reviewer name")
    fams = parse_families(fams)
    head = store.head(layer_id)
    if head is None:
        raise LoupeError(f"quality layer {layer_id} is not in {store.path}: save it before correcting it")
    layer = store.load_layer(layer_id, head.version_id)
    if not isinstance(layer, FindingsLayer):
        raise LoupeError(f"layer {layer.name!r} is a {layer.kind} layer, not a quality verdict")
    new = corrected_layer(layer, fams, user)
    info = store.save_edit(new, user, edits_version=head.version_id,
                           comment=comment or f"quality verdict: {verdict_text(fams)}", query_kind="quality")
    return info.version_id


__all__ = ["CLEAN_CODE", "correct_verdict", "corrected_layer", "is_quality_layer", "parse_families",
           "verdict_families", "verdict_text"]

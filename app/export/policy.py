"""One export policy, chosen by where an export goes. Why one module: the dialog, the CLI and every
writer must agree on what leaves identified.

- **Back to the source study** (DICOM SEG, SR, PACS sends): keeps the source's patient module,
  because a PACS files an object by it; de-identifying stays a choice (PS3.15 basic profile).
- **Research and annotation** (NIfTI label maps, COCO, CSV segments, report PDF/Markdown, anything
  marked for research): de-identified by default. Source file names become keyed pseudonyms (the
  same source always gets the same name under this installation's key, so exports still match
  each other, but the name cannot be read back), local paths are cut, and a report's case name is
  replaced. Identified only when the user asks (``--identified``, or the Export menu's check)."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

SOURCE_STUDY = "source study"
RESEARCH = "research"

_DESTINATION = {"seg": SOURCE_STUDY, "sr": SOURCE_STUDY, "pacs": SOURCE_STUDY,
                "nifti": RESEARCH, "coco": RESEARCH, "csv_segments": RESEARCH, "csv": RESEARCH,
                "report": RESEARCH, "pdf": RESEARCH, "markdown": RESEARCH}


@dataclass(frozen=True)
class ExportPolicy:
    destination: str
    identified: bool

    @property
    def deidentify(self) -> bool:
        return not self.identified

    def line(self) -> str:
        """The sentence the export dialog and the CLI show before writing."""
        if self.destination == SOURCE_STUDY:
            return ("back to the source study: keeps its patient module (a PACS files by it)"
                    + ("" if self.identified else "; de-identified (PS3.15 basic profile) as asked"))
        if self.identified:
            return "research export, IDENTIFIED as asked: source file names, paths and case names kept"
        return ("research export, de-identified: source file names pseudonymised, local paths and "
                "case names removed (ask for an identified export to keep them)")


def policy_for(key: str, identified: bool | None = None) -> ExportPolicy:
    """The policy of a format or destination key ('seg', 'nifti', 'coco', 'report', ...).
    ``identified`` None takes the destination's default."""
    dest = _DESTINATION.get(key, RESEARCH)  # unknown destinations are treated as research
    if identified is None:
        identified = dest == SOURCE_STUDY
    return ExportPolicy(dest, bool(identified))


def pseudonym(name: str, prefix: str = "anon") -> str:
    """A stable keyed pseudonym for a source name, keeping its extension(s):
    ``DOE_JOHN_001.dcm`` -> ``anon-3f2a...c1.dcm``."""
    from app.privacy import _key

    p = PurePath(str(name))
    suffix = "".join(p.suffixes[-2:]) if len(p.suffixes) <= 2 else p.suffixes[-1]
    if len(suffix) > 12 or " " in suffix:
        suffix = ""
    digest = hmac.new(_key(), p.name.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()[:16]
    return f"{prefix}-{digest}{suffix}"


def _path_like(s: str) -> bool:
    return "/" in s or "\\" in s


def scrub(obj: Any) -> Any:
    """Local paths in a JSON-like value replaced by pseudonyms of their last part."""
    if isinstance(obj, dict):
        return {k: scrub(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [scrub(v) for v in obj]
    if isinstance(obj, str) and _path_like(obj):
        return pseudonym(PurePath(obj).name)
    return obj


def provenance_out(prov: dict[str, Any], policy: ExportPolicy) -> dict[str, Any]:
    """A provenance record as a research export may carry it: a file import's name and any path
    in the parameters pseudonymised; reviewers' user names and backend names kept (they are staff
    and tools, not patients)."""
    if policy.identified:
        return prov
    out = dict(prov)
    out["params"] = scrub(prov.get("params") or {})
    out.pop("attestation", None)  # meaningless outside this installation
    if prov.get("kind") == "file" and prov.get("author"):
        out["author"] = pseudonym(PurePath(str(prov["author"])).name)
    return out

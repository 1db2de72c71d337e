"""The report model: sections of sentences, each sentence carrying the evidence it rests on.

Why links and not free text: a clinician signs a sentence only if it shows where it came from, and
the verifier can only check a claim against something concrete. An evidence link names its kind
(``measurement``, ``finding`` or ``locator``), the result file it came from, where to look
(``locator``: series + slice or a point/ROI in LPS mm, or frame index and time) and the value with
its unit. ``label`` names what the value is ("branches", "gaussian noise") so presence claims can be
matched to findings."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.data.types import LoupeError

EVIDENCE_KINDS = ("measurement", "finding", "locator")
STATUSES = ("supported", "unsupported", "unverifiable", "unchecked")
FORMAT = "loupe-report/1"


@dataclass
class Evidence:
    kind: str
    source: str
    locator: dict[str, Any] = field(default_factory=dict)
    value: Any = None
    unit: str = ""
    label: str = ""

    def __post_init__(self) -> None:
        if self.kind not in EVIDENCE_KINDS:
            raise LoupeError(f"evidence kind {self.kind!r} is not one of {', '.join(EVIDENCE_KINDS)}")

    def to_json(self) -> dict:
        return {"kind": self.kind, "source": self.source, "locator": self.locator, "value": self.value,
                "unit": self.unit, "label": self.label}

    @classmethod
    def from_json(cls, d: dict) -> Evidence:
        return cls(kind=str(d.get("kind", "")), source=str(d.get("source", "")),
                   locator=dict(d.get("locator") or {}), value=d.get("value"), unit=str(d.get("unit") or ""),
                   label=str(d.get("label") or ""))


@dataclass
class Sentence:
    id: str
    text: str
    evidence: list[Evidence] = field(default_factory=list)
    status: str = "unchecked"
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"id": self.id, "text": self.text, "evidence": [e.to_json() for e in self.evidence],
                "status": self.status, "problems": list(self.problems)}


@dataclass
class Section:
    title: str
    sentences: list[Sentence] = field(default_factory=list)


@dataclass
class Report:
    case: str
    sections: list[Section] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def sentences(self) -> list[Sentence]:
        return [s for sec in self.sections for s in sec.sentences]

    def sentence(self, sid: str) -> Sentence:
        for s in self.sentences:
            if s.id == sid:
                return s
        raise KeyError(sid)

    def add(self, title: str, text: str, evidence: list[Evidence]) -> Sentence:
        """Append a sentence under section ``title`` (created on first use) with a stable id."""
        sec = next((s for s in self.sections if s.title == title), None)
        if sec is None:
            sec = Section(title)
            self.sections.append(sec)
        s = Sentence(f"s{len(self.sentences) + 1}", text, list(evidence))
        sec.sentences.append(s)
        return s

    def to_json(self) -> dict:
        return {"format": FORMAT, "case": self.case, "meta": self.meta,
                "sections": [{"title": sec.title, "sentence_ids": [s.id for s in sec.sentences]}
                             for sec in self.sections],
                "sentences": [s.to_json() for s in self.sentences]}

    @classmethod
    def from_json(cls, d: dict, where: str = "report") -> Report:
        if not isinstance(d, dict) or not isinstance(d.get("sentences"), list):
            raise LoupeError(f"{where}: not a Loupe report (no 'sentences' list)")
        by_id = {}
        for n, sd in enumerate(d["sentences"], 1):
            if not isinstance(sd, dict) or "text" not in sd:
                raise LoupeError(f"{where}: sentence {n} has no 'text'")
            ev = sd.get("evidence") or []
            if not isinstance(ev, list):
                raise LoupeError(f"{where}: sentence {sd.get('id', n)} 'evidence' is not a list")
            try:
                evidence = [Evidence.from_json(e) for e in ev]
            except (LoupeError, AttributeError) as e:
                raise LoupeError(f"{where}: sentence {sd.get('id', n)}: {e}") from e
            sid = str(sd.get("id") or f"s{n}")
            by_id[sid] = Sentence(sid, str(sd["text"]), evidence, str(sd.get("status") or "unchecked"),
                                  list(sd.get("problems") or []))
        rep = cls(str(d.get("case", "")), meta=dict(d.get("meta") or {}))
        used = set()
        for sec in d.get("sections") or []:
            ids = [i for i in sec.get("sentence_ids", []) if i in by_id and i not in used]
            used.update(ids)
            rep.sections.append(Section(str(sec.get("title", "")), [by_id[i] for i in ids]))
        rest = [s for i, s in by_id.items() if i not in used]
        if rest:
            rep.sections.append(Section("Findings" if not rep.sections else "Other", rest))
        return rep


def save_report(report: Report, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(report.to_json(), indent=2, default=_json_default))
    tmp.replace(path)
    return path


def load_report(path: str | Path) -> Report:
    path = Path(path)
    if not path.is_file():
        raise LoupeError(f"{path}: report file not found")
    try:
        d = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise LoupeError(f"{path}: not a JSON report ({e})") from e
    return Report.from_json(d, str(path))


def _json_default(o):
    import numpy as np
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")

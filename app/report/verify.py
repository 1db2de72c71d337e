"""The claim verifier: every atomic claim in a sentence is checked against the sentence's own
evidence links and comes out supported, unsupported or unverifiable.

- a number must equal (to the precision it is written with, after unit conversion within one
  dimension: mm/cm, s/ms, ...) the value of one evidence link or one number in a link's locator
  with a compatible unit; a number under "not" that equals its evidence contradicts it;
- laterality is checked against a link's ``laterality`` or, for a point in LPS mm with the volume's
  centre, the side of the patient it lies on (+x is the patient's left in LPS);
- presence/absence of a named finding must agree with a finding link of that label whose value is
  true/false; a finding named with no such link is unverifiable (nobody measured it).
A sentence is unsupported if any claim is, else unverifiable if any claim is, else supported."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .claims import (
    LateralityClaim,
    NumberClaim,
    PresenceClaim,
    TupleClaim,
    laterality_claims,
    number_claims,
    presence_claims,
    tuple_claims,
    unit_info,
)
from .model import Evidence, Report, Sentence

_LOCATOR_UNITS = {"point_lps": "mm", "roi_lps": "mm", "center_lps": "mm", "time_s": "s", "start_s": "s",
                  "end_s": "s", "frame": "", "start_frame": "", "end_frame": "", "slice": "", "slice_number": "", "slice_count": "",
                  "frame_number": "", "frame_count": "", "start_frame_number": "", "end_frame_number": "",
                  "point_px": "px", "index": "", "event": "", "branch": ""}


@dataclass
class ClaimResult:
    kind: str            # number | laterality | presence
    text: str
    status: str          # supported | unsupported | unverifiable
    why: str = ""
    start: int = 0       # span of the claim in the sentence (for highlighting)
    end: int = 0


@dataclass
class SentenceResult:
    id: str
    status: str
    claims: list[ClaimResult] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return [f"{c.text}: {c.why}" for c in self.claims if c.status != "supported"]


def _stated(locator: dict | None) -> list[tuple[str, object]]:
    """The locator's entries a sentence may state. Where the viewer's 1-based slice number is given
    ("slice_number"), the file's 0-based k index ("slice", kept for navigation) is not one of them: a
    text that names the k index sends the reader one slice off (or far off when k runs toward the
    feet), so it must not pass for the written slice."""
    items = list((locator or {}).items())
    if "slice_number" in (locator or {}):
        items = [(k, v) for k, v in items if k != "slice"]
    # the same for frames: where the 1-based number a reader sees is given, the 0-based index is not
    # a number the sentence may state (session 19)
    hidden = {k for k in ("frame", "start_frame", "end_frame") if f"{k}_number" in (locator or {})}
    return [(k, v) for k, v in items if k not in hidden]


def _numbers_of(ev: Evidence) -> list[tuple[float, str]]:
    """(number, unit) pairs an evidence link vouches for: its value and its locator's numbers."""
    out = []
    if isinstance(ev.value, (int, float)) and not isinstance(ev.value, bool):
        out.append((float(ev.value), ev.unit))
    for key, v in _stated(ev.locator):
        unit = _LOCATOR_UNITS.get(key)
        if unit is None:
            continue
        for x in (v if isinstance(v, (list, tuple)) else [v]):
            for y in (x if isinstance(x, (list, tuple)) else [x]):
                if isinstance(y, (int, float)) and not isinstance(y, bool):
                    out.append((float(y), unit))
    return out


def _matches(claim: NumberClaim, value: float, unit: str) -> bool:
    c_unit, c_f, c_dim = unit_info(claim.unit)
    e_unit, e_f, e_dim = unit_info(unit)
    if c_dim != e_dim or (c_dim == "count" and c_unit != e_unit) or not math.isfinite(value):
        return False
    if c_dim == "count" and claim.decimals == 0 and not float(value).is_integer():
        return False  # a whole count never stands for a fraction (severity 0 is not probability 0.34)
    expected = value * e_f / c_f
    tol = 0.5 * 10 ** (-claim.decimals) * (1 + 1e-9) + 1e-12 * abs(expected)
    return abs(expected - claim.value) <= tol


def _check_number(c: NumberClaim, evidence: list[Evidence], text: str) -> ClaimResult:
    r = _check_number_plain(c, evidence, text)
    r.start, r.end = c.start, c.end
    return r


def _check_number_plain(c: NumberClaim, evidence: list[Evidence], text: str) -> ClaimResult:
    shown = text[c.start:c.end]
    pairs = [p for ev in evidence for p in _numbers_of(ev)]
    if not pairs:
        return ClaimResult("number", shown, "unverifiable", "no linked evidence carries a number")
    hit = any(_matches(c, v, u) for v, u in pairs)
    bound = _bound_link(c, evidence, text)
    if hit and bound is not None and not _matches(c, float(bound.value), bound.unit):
        return ClaimResult("number", shown, "unsupported",
                           f"the sentence gives this as {bound.label}, which is {bound.value:g} {bound.unit}".rstrip())
    if hit and c.negated:
        return ClaimResult("number", shown, "unsupported", "denied, but the evidence has exactly this value")
    if hit:
        return ClaimResult("number", shown, "supported")
    near = [f"{v:g} {u}".strip() for v, u in pairs if unit_info(u)[2] == unit_info(c.unit)[2]]
    if c.negated:
        return ClaimResult("number", shown, "supported", "a denied value that the evidence does not have")
    why = f"evidence has {', '.join(near[:4])}" if near else \
        f"no linked evidence in {unit_info(c.unit)[0] or 'counts'}"
    return ClaimResult("number", shown, "unsupported", why)


def _vectors_of(ev: Evidence) -> list[tuple[list[float], str]]:
    """Positions a link holds (a point, each corner of an ROI, a slice range) with their unit."""
    out = []
    for key, v in _stated(ev.locator):
        unit = _LOCATOR_UNITS.get(key)
        if unit is None or not isinstance(v, (list, tuple)):
            continue
        for vec in (v if v and isinstance(v[0], (list, tuple)) else [v]):
            if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in vec):
                out.append(([float(x) for x in vec], unit))
    return out


def _check_tuple(t: TupleClaim, evidence: list[Evidence], text: str) -> ClaimResult | None:
    vecs = [(v, u) for e in evidence for v, u in _vectors_of(e) if len(v) == len(t.numbers)]
    if not vecs:
        return None   # nothing positional to compare with: the numbers were checked one by one
    if any(all(_matches(c, x, u) for c, x in zip(t.numbers, v)) for v, u in vecs):
        return None
    return ClaimResult("position", text[t.start:t.end], "unsupported",
                       "not one of the linked positions: " + "; ".join(str(v) for v, _ in vecs[:3]),
                       t.start, t.end)


_NUMBER_TOKEN = re.compile(r"\d")
BIND_GAP_CHARS = 12   # "292 branches", "mean -935.9 HU", "SD 226.5 HU": a label right beside its number


def _bound_link(c: NumberClaim, evidence: list[Evidence], text: str) -> Evidence | None:
    """The link whose label stands right beside the number in the text (nothing but a few letters
    between them, no other number), so swapping two values of one sentence is caught; None when no
    label is written next to it."""
    low = text.lower()
    best = None
    for e in evidence:
        if e.kind != "measurement" or not e.label or isinstance(e.value, bool) or \
                not isinstance(e.value, (int, float)):
            continue
        for m in re.finditer(rf"\b{re.escape(e.label.lower())}\b", low):
            if m.start() >= c.end:
                gap = text[c.end:m.start()]
            elif m.end() <= c.start:
                gap = text[m.end():c.start]
            else:
                continue
            if len(gap) > BIND_GAP_CHARS or _NUMBER_TOKEN.search(gap) or any(ch in gap for ch in ",;()"):
                continue
            if best is None or len(gap) < best[0]:
                best = (len(gap), e)
    return best[1] if best else None


def _side_of(ev: Evidence) -> str | None:
    loc = ev.locator or {}
    if loc.get("laterality") in ("left", "right", "bilateral"):
        return loc["laterality"]
    p, c = loc.get("point_lps"), loc.get("volume_center_lps")
    if p and c:
        return "left" if float(p[0]) > float(c[0]) else "right"
    return None


def _check_laterality(c: LateralityClaim, evidence: list[Evidence], text: str) -> ClaimResult:
    r = _check_laterality_plain(c, evidence, text)
    r.start, r.end = c.start, c.end
    return r


def _check_laterality_plain(c: LateralityClaim, evidence: list[Evidence], text: str) -> ClaimResult:
    shown = text[c.start:c.end]
    sides = {s for s in (_side_of(e) for e in evidence) if s}
    if not sides:
        return ClaimResult("laterality", shown, "unverifiable", "no linked evidence has a side")
    if c.side in sides:
        return ClaimResult("laterality", shown, "supported")
    return ClaimResult("laterality", shown, "unsupported", f"evidence lies on the {'/'.join(sorted(sides))}")


def _check_presence(c: PresenceClaim, evidence: list[Evidence], text: str) -> ClaimResult:
    r = _check_presence_plain(c, evidence, text)
    r.start, r.end = c.start, c.end
    return r


def _check_presence_plain(c: PresenceClaim, evidence: list[Evidence], text: str) -> ClaimResult:
    shown = text[c.start:c.end] if c.present else f"no {text[c.start:c.end]}"
    links = [e for e in evidence if e.kind == "finding" and e.label.lower() == c.concept
             and isinstance(e.value, bool)]
    if not links:
        return ClaimResult("presence", shown, "unverifiable", f"no linked finding about {c.concept!r}")
    if any(e.value == c.present for e in links):
        return ClaimResult("presence", shown, "supported")
    return ClaimResult("presence", shown, "unsupported",
                       f"the evidence says {c.concept} is {'present' if links[0].value else 'absent'}")


def verify_sentence(s: Sentence) -> SentenceResult:
    ev = s.evidence
    concepts = [e.label for e in ev if e.kind == "finding" and isinstance(e.value, bool)]
    results = [_check_number(c, ev, s.text) for c in number_claims(s.text)]
    results += [r for r in (_check_tuple(t, ev, s.text) for t in tuple_claims(s.text)) if r is not None]
    results += [_check_laterality(c, ev, s.text) for c in laterality_claims(s.text)]
    results += [_check_presence(c, ev, s.text) for c in presence_claims(s.text, concepts)]
    statuses = {r.status for r in results}
    status = "unsupported" if "unsupported" in statuses else \
        "unverifiable" if ("unverifiable" in statuses or not ev) else "supported"
    return SentenceResult(s.id, status, results)


def verify_report(report: Report) -> list[SentenceResult]:
    """Check every sentence; writes status and problems back onto the sentences."""
    out = []
    for s in report.sentences:
        r = verify_sentence(s)
        s.status, s.problems = r.status, r.problems
        out.append(r)
    return out

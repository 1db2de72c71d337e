"""Atomic claims in a sentence: numbers with their units, laterality, presence/absence of a named
finding. The same reader serves drafted sentences, a reviewer's edits and VLM text, so the verifier
never trusts where a sentence came from."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .negation import is_negated

# unit spelling -> (canonical unit, factor to the dimension's base unit, dimension)
_UNITS = {
    "mm²": ("mm2", 1.0, "area"), "mm2": ("mm2", 1.0, "area"), "mm^2": ("mm2", 1.0, "area"),
    "cm²": ("cm2", 100.0, "area"), "cm2": ("cm2", 100.0, "area"),
    "mm³": ("mm3", 1.0, "volume"), "ml": ("ml", 1000.0, "volume"), "mL": ("ml", 1000.0, "volume"),
    "µm": ("um", 0.001, "length"), "um": ("um", 0.001, "length"),
    "mm": ("mm", 1.0, "length"), "cm": ("cm", 10.0, "length"), "millimetres": ("mm", 1.0, "length"),
    "millimeters": ("mm", 1.0, "length"), "centimetres": ("cm", 10.0, "length"),
    "centimeters": ("cm", 10.0, "length"),
    "px²": ("px2", 1.0, "pixel_area"), "px2": ("px2", 1.0, "pixel_area"),
    "px": ("px", 1.0, "pixel"), "pixels": ("px", 1.0, "pixel"), "pixel": ("px", 1.0, "pixel"),
    "%": ("%", 1.0, "percent"), "percent": ("%", 1.0, "percent"),
    "ms": ("ms", 0.001, "time"), "s": ("s", 1.0, "time"), "sec": ("s", 1.0, "time"),
    "seconds": ("s", 1.0, "time"), "second": ("s", 1.0, "time"), "min": ("min", 60.0, "time"),
    "minutes": ("min", 60.0, "time"),
    "HU": ("HU", 1.0, "hu"), "°": ("deg", 1.0, "angle"), "deg": ("deg", 1.0, "angle"),
    "degrees": ("deg", 1.0, "angle"), "Hz": ("Hz", 1.0, "frequency"), "fps": ("Hz", 1.0, "frequency"),
}
_UNIT_ALT = "|".join(re.escape(u) for u in sorted(_UNITS, key=len, reverse=True))
_NUM = r"(?:(?<=[\s(\[,:=/])|^)[-−]?\d+(?:\.\d+)?|(?<![\w.])\d+(?:\.\d+)?"
_NUMBER_RE = re.compile(rf"(?P<num>{_NUM})(?:\s?(?P<unit>{_UNIT_ALT})(?![A-Za-z0-9]))?(?![\w])")
_TUP = r"\(\s*[-−]?\d[\d.]*(?:\s*,\s*[-−]?\d[\d.]*)+\s*\)"
_TUPLE_RE = re.compile(rf"{_TUP}(?:\s*(?:to|and|-|–)\s*{_TUP})*\s?(?P<unit>{_UNIT_ALT})(?![A-Za-z])")
_RANGE_RE = re.compile(rf"[-−]?\d[\d.]*\s*(?:to|-|–|and)\s*[-−]?\d[\d.]*\s?(?P<unit>{_UNIT_ALT})(?![A-Za-z])")
_LATERALITY_RE = re.compile(r"\b(left|right|bilateral|bilaterally)\b", re.IGNORECASE)
_NUMBER_NEGATION_RE = re.compile(r"\b(not|never|isn't|aren't|wasn't)\s+(?:\w+\s+)?$", re.IGNORECASE)

# findings a sentence may assert or deny; one with no evidence link is unverifiable, not ignored
FINDING_TERMS = (
    "stenosis", "narrowing", "occlusion", "aneurysm", "dissection", "thrombus", "haemorrhage",
    "hemorrhage", "bleeding", "nodule", "mass", "lesion", "polyp", "tumour", "tumor", "fracture",
    "effusion", "pneumothorax", "consolidation", "opacity", "cardiomegaly", "oedema", "edema",
    "calcification", "infiltrate", "atelectasis", "emphysema", "pneumonia", "tuberculosis",
    "microaneurysm", "exudate", "neovascularisation", "neovascularization", "retinopathy",
    "image degradation", "degradation", "artefact", "artifact",
)


def unit_info(unit: str) -> tuple[str, float, str]:
    """(canonical, factor to base, dimension); '' is a pure count."""
    if not unit:
        return "", 1.0, "count"
    return _UNITS.get(unit, (unit, 1.0, unit))


@dataclass
class NumberClaim:
    value: float
    decimals: int
    unit: str          # canonical unit, '' for a count
    start: int
    end: int
    negated: bool = False

    @property
    def text_span(self) -> tuple[int, int]:
        return self.start, self.end


@dataclass
class LateralityClaim:
    side: str          # left | right | bilateral
    start: int
    end: int


@dataclass
class PresenceClaim:
    concept: str
    present: bool
    start: int
    end: int


def number_claims(text: str) -> list[NumberClaim]:
    inherited = {}
    for rx in (_TUPLE_RE, _RANGE_RE):
        for m in rx.finditer(text):
            for n in re.finditer(r"[-−]?\d[\d.]*", m.group(0)):
                inherited[m.start() + n.start() + (1 if n.group(0)[0] in "-−" else 0)] = m.group("unit")
    out = []
    for m in _NUMBER_RE.finditer(text):
        raw = m.group("num").replace("−", "-")
        start = m.start("num") + (1 if raw.startswith("-") else 0)
        unit = m.group("unit") or inherited.get(start, "")
        raw = raw.removesuffix(".")
        dec = len(raw.split(".")[1]) if "." in raw else 0
        neg = bool(_NUMBER_NEGATION_RE.search(text[:m.start()]))
        out.append(NumberClaim(float(raw), dec, unit_info(unit)[0], m.start("num"), m.end(), neg))
    return out


def laterality_claims(text: str) -> list[LateralityClaim]:
    out = []
    for m in _LATERALITY_RE.finditer(text):
        side = m.group(1).lower()
        out.append(LateralityClaim("bilateral" if side.startswith("bilateral") else side, m.start(), m.end()))
    return out


def presence_claims(text: str, concepts: list[str]) -> list[PresenceClaim]:
    """Each concept named in ``text`` (evidence labels first, then FINDING_TERMS), with polarity."""
    low, out, taken = text.lower(), [], []
    for concept in sorted({c.lower() for c in concepts if c} | set(FINDING_TERMS), key=len, reverse=True):
        for m in re.finditer(rf"\b{re.escape(concept)}s?\b", low):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
            out.append(PresenceClaim(concept, not is_negated(text, m.start(), m.end()), m.start(), m.end()))
    return sorted(out, key=lambda c: c.start)


@dataclass
class TupleClaim:
    """A written position such as "(-189.8, -27.2, 46.5) mm": all its coordinates together must be
    one position of the evidence, so a coordinate swapped or borrowed from another point is caught."""
    numbers: list[NumberClaim]
    start: int
    end: int


def tuple_claims(text: str) -> list[TupleClaim]:
    nums = number_claims(text)
    out = []
    for m in _TUPLE_RE.finditer(text):
        for t in re.finditer(_TUP, m.group(0)):
            a, b = m.start() + t.start(), m.start() + t.end()
            inside = [c for c in nums if a <= c.start and c.end <= b + len(m.group("unit")) + 1 and c.start < b]
            if len(inside) >= 2:
                out.append(TupleClaim(inside, a, b))
    return out

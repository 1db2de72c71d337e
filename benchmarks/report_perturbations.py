"""Perturbations of report sentences that a claim verifier must catch: a number changed, a unit
swapped, left/right swapped, a negation added or removed. Each returns the perturbed text or None
when the sentence has nothing of that kind. Deterministic for a given ``random.Random``."""
from __future__ import annotations

import random
import re

from app.report.claims import laterality_claims, number_claims, presence_claims
from app.report.negation import POST_TRIGGERS, PRE_TRIGGERS

KINDS = ("number", "unit", "laterality", "negation")
EXTRA_KINDS = ("swap",)   # beyond the four the goal is stated on: two values of a sentence exchanged
_UNIT_SWAP = {"mm": "cm", "cm": "mm", "px": "mm", "%": "px", "s": "ms", "ms": "s", "HU": "%", "°": "%",
              "mm2": "cm2"}
_UNIT_TOKEN = re.compile(r"(?<=[\d)])(\s?)(mm2|mm|cm2|cm|px|%|ms|s|HU|°)(?![A-Za-z0-9])")


def _fmt(v: float, decimals: int) -> str:
    return f"{v:.{decimals}f}"


def perturb_number(text: str, rng: random.Random) -> str | None:
    claims = number_claims(text)
    if not claims:
        return None
    c = rng.choice(claims)
    shown = _fmt(c.value, c.decimals)
    for _ in range(20):
        if c.decimals == 0 and abs(c.value) < 10:
            new = c.value + rng.choice([-3, -2, -1, 1, 2, 3])
        else:
            f = rng.uniform(0.5, 0.9) if rng.random() < 0.5 else rng.uniform(1.1, 2.0)
            new = c.value * f if c.value != 0 else rng.choice([1, 2, 5]) * 10 ** -c.decimals
        s = _fmt(new, c.decimals)
        if s != shown and s.lstrip("-") != shown.lstrip("-"):
            break
    else:
        return None
    start = c.start + (1 if text[c.start] in "-−" else 0)
    end = start + len(shown.lstrip("-"))
    if text[start:end] != shown.lstrip("-"):
        return None
    if text[c.start] in "-−" and new < 0:
        return text[:start] + s.lstrip("-") + text[end:]
    if text[c.start] in "-−":
        return text[:c.start] + s + text[end:]
    return text[:start] + s + text[end:]


def perturb_unit(text: str, rng: random.Random) -> str | None:
    hits = list(_UNIT_TOKEN.finditer(text))
    if not hits:
        return None
    m = rng.choice(hits)
    new = _UNIT_SWAP[m.group(2)]
    return text[:m.start(2)] + new + text[m.end(2):]


def perturb_laterality(text: str, rng: random.Random) -> str | None:
    claims = [c for c in laterality_claims(text) if c.side in ("left", "right")]
    if not claims:
        return None
    c = rng.choice(claims)
    word = text[c.start:c.end]
    swap = "right" if c.side == "left" else "left"
    swap = swap.capitalize() if word[0].isupper() else swap
    return text[:c.start] + swap + text[c.end:]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def perturb_negation(text: str, rng: random.Random, concepts: list[str]) -> str | None:
    claims = presence_claims(text, concepts)
    if not claims:
        return None
    c = rng.choice(claims)
    low = text.lower()
    if c.present:
        for a, b in ((" is present", " is not present"), (" are present", " are not present"),
                     (" was detected", " was not detected"), (" were detected", " were not detected")):
            i = low.find(a, c.end)
            if i >= 0:
                return text[:i] + b + text[i + len(a):]
        m = re.search(r"\bfound (\d+) ", text[:c.start])
        if m:
            return text[:m.start()] + "found no " + text[m.end():]
        return text[:c.start] + "no " + text[c.start:]
    for trig in sorted(PRE_TRIGGERS, key=len, reverse=True):
        for m in re.finditer(rf"\b{re.escape(trig)}\b\s*", low[:c.start]):
            out = text[:m.start()] + text[m.end():]
            return _cap(out) if m.start() == 0 else out
    for trig in sorted(POST_TRIGGERS, key=len, reverse=True):
        i = low.find(trig, c.end)
        if i >= 0:
            repl = "present" if "absent" in trig else trig.replace("not ", "")
            return text[:i] + repl + text[i + len(trig):]
    return None


def perturb(kind: str, text: str, rng: random.Random, concepts: list[str]) -> str | None:
    if kind == "number":
        return perturb_number(text, rng)
    if kind == "unit":
        return perturb_unit(text, rng)
    if kind == "laterality":
        return perturb_laterality(text, rng)
    if kind == "swap":
        return swap_numbers(text, rng)
    return perturb_negation(text, rng, concepts)


# ---- legitimate rewrites: the same facts written differently; the verifier must still support them
REWRITES = ("coarser", "convert")
_CONVERT = {"mm": ("cm", 0.1, 1), "cm": ("mm", 10.0, -1), "s": ("ms", 1000.0, -3), "ms": ("s", 0.001, 3)}


def rewrite(kind: str, text: str, rng: random.Random) -> str | None:
    claims = number_claims(text)
    if kind == "coarser":
        cands = [c for c in claims if c.decimals > 0 and text[c.start:c.end].lstrip("-−")[:1].isdigit()]
        if not cands:
            return None
        c = rng.choice(cands)
        shown = _fmt(abs(c.value), c.decimals)
        i = text.find(shown, c.start)
        if i < 0:
            return None
        return text[:i] + _fmt(abs(c.value), c.decimals - 1) + text[i + len(shown):]
    hits = [m for m in re.finditer(r"(?<![\w.])(\d+(?:\.\d+)?)(\s?)(mm|cm|ms|s)(?![A-Za-z0-9])", text)
            # the unit of a range or tuple belongs to all its numbers: converting one end is a new claim
            if not re.search(r"(\d\s*(to|and|-|–)\s*|,\s*)$", text[:m.start()]) and text[m.start() - 1:m.start()] != "("]
    if not hits:
        return None
    m = rng.choice(hits)
    unit, factor, shift = _CONVERT[m.group(3)]
    dec = len(m.group(1).split(".")[1]) if "." in m.group(1) else 0
    new = _fmt(float(m.group(1)) * factor, max(dec + shift, 0))
    return text[:m.start()] + new + m.group(2) + unit + text[m.end():]


def swap_numbers(text: str, rng: random.Random) -> str | None:
    """Two different numbers of one sentence written in each other's place (same unit)."""
    claims = [c for c in number_claims(text) if text[c.start] not in "-−"]
    pairs = [(a, b) for i, a in enumerate(claims) for b in claims[i + 1:]
             if a.unit == b.unit and text[a.start:a.end] != text[b.start:b.end]]
    if not pairs:
        return None
    a, b = rng.choice(pairs)
    sa, sb = _fmt(a.value, a.decimals), _fmt(b.value, b.decimals)
    if text[a.start:a.start + len(sa)] != sa or text[b.start:b.start + len(sb)] != sb:
        return None
    return text[:a.start] + sb + text[a.start + len(sa):b.start] + sa + text[b.start + len(sb):]

"""NegEx-style negation (Chapman et al. 2001): a trigger phrase before a concept (pre-negation) or
right after it (post-negation) negates it, unless a termination word ("but", "however", ...) closes
the scope first or the concept is more than ``WINDOW`` words away.

Why not medspaCy/negspacy: ``pip install negspacy==1.0.4`` works offline, but it brings spaCy 3.8 and
fourteen compiled packages (thinc, blis, preshed, ...) into a shared environment for what is a list
of phrases here, and negspacy only negates *named entities*, which a model-free ``spacy.blank`` pipe
does not produce - we would still have to write the concept matcher below. The trigger lists follow
NegEx's published lexicon (the subset that occurs in imaging reports)."""
from __future__ import annotations

import re

PRE_TRIGGERS = (
    "no evidence of", "no sign of", "clear of", "no signs of", "negative for", "free of", "absence of",
    "without", "not", "no", "nor", "neither", "never", "cannot be seen", "rules out", "ruled out",
    "there is no", "there are no", "did not show", "does not show", "is not", "are not", "was not",
)
POST_TRIGGERS = (
    "is absent", "are absent", "was absent", "absent", "not seen", "not detected", "not present",
    "not identified", "not found", "was not detected", "is not present", "are not present",
    "not visible", "ruled out", "excluded",
)
# pseudo-triggers look like negation but are not ("not only", "no increase")
PSEUDO = ("not only", "no change", "no increase", "not necessarily", "without change")
TERMINATORS = ("but", "however", "although", "though", "except", "yet", "whereas", "while", "which",
               "aside from", "apart from", ";")
WINDOW = 8  # words between trigger and concept (commas and or/and/nor of a list not counted)
_LIST_GLUE = {",", "or", "and", "nor"}

_WORD = re.compile(r"[A-Za-z]+(?:[-'][A-Za-z]+)*|;|,")


def _words(text: str) -> list[tuple[str, int, int]]:
    return [(m.group(0).lower(), m.start(), m.end()) for m in _WORD.finditer(text)]


def _match_at(words, i, phrase) -> bool:
    parts = phrase.split()
    return i + len(parts) <= len(words) and all(words[i + n][0] == p for n, p in enumerate(parts))


def _find(words, phrases):
    """(start word index, end word index exclusive) of every phrase occurrence, longest first."""
    hits, taken = [], set()
    for ph in sorted(phrases, key=lambda p: -len(p.split())):
        n = len(ph.split())
        for i in range(len(words)):
            if _match_at(words, i, ph) and not taken.intersection(range(i, i + n)):
                hits.append((i, i + n))
                taken.update(range(i, i + n))
    return hits


def _span_words(words, idx) -> int:
    return sum(words[i][0] not in _LIST_GLUE for i in idx)


def is_negated(text: str, start: int, end: int) -> bool:
    """Whether the concept at character span [start, end) of ``text`` is negated."""
    words = _words(text)
    if not words:
        return False
    first = next((i for i, (_, s, e) in enumerate(words) if e > start), len(words))
    last = max((i for i, (_, s, e) in enumerate(words) if s < end), default=first)
    pseudo = {i for a, b in _find(words, PSEUDO) for i in range(a, b)}
    terms = {i for a, b in _find(words, TERMINATORS) for i in range(a, b)}
    for a, b in _find(words, PRE_TRIGGERS):
        if a in pseudo or b > first:
            continue
        between = range(b, first)
        if _span_words(words, between) <= WINDOW and not terms.intersection(between):
            return True
    for a, _b in _find(words, POST_TRIGGERS):
        if a in pseudo or a <= last:
            continue
        between = range(last + 1, a)
        if _span_words(words, between) <= WINDOW and not terms.intersection(between) and "," not in \
                {words[i][0] for i in between}:
            return True
    return False

"""Every planned break in scripts/mutation_check.py still finds the exact text it breaks, once: a
refactor that moves the text leaves the mutation unrunnable (the checker stops at it), so the test
it was meant to prove could no longer be shown to fail. Three had gone stale unnoticed (session 16)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _mutations():
    spec = importlib.util.spec_from_file_location("loupe_mutation_check", ROOT / "scripts" / "mutation_check.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod   # dataclasses look their module up while the class is made
    spec.loader.exec_module(mod)
    return mod.MUTATIONS


def test_every_mutation_anchor_occurs_exactly_once_and_names_are_unique():
    muts = _mutations()
    stale = [(m.name, m.file, (ROOT / m.file).read_text().count(m.old)) for m in muts
             if (ROOT / m.file).read_text().count(m.old) != 1]
    assert not stale, stale
    names = [m.name for m in muts]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    missing = [(m.name, t) for m in muts for t in m.tests if not (ROOT / t.split("::")[0]).is_file()]
    assert not missing, missing

"""The quality assessor's independent degradation families, scored through the product path the
way their floor tests need them: one place that loads a family's evaluator from benchmarks/ and
checks a summary against its floors (families 2-4 share the measures)."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def family_scores(evaluator: str, data_dir, **assess_kw) -> dict:
    """Summary of ``benchmarks/<evaluator>.py`` run on every sample of its family."""
    sys.path.insert(0, str(BENCH))
    try:
        ev = importlib.import_module(evaluator)
    finally:
        sys.path.remove(str(BENCH))
    return ev.summarise(ev.assess_rows(data_dir, **assess_kw))


def assert_floors(s: dict, *, n_min: int, macro_f1: float, min_recall: float, clean_ceiling: float,
                  blur_subtype: float) -> None:
    assert s["n"] >= n_min, s["n"]
    assert s["macro_f1"] >= macro_f1, s["macro_f1"]
    assert s["min_recall"] >= min_recall, (s["min_recall"], s["per_class"])
    assert s["false_alarm_clean"] <= clean_ceiling, s["false_alarm_clean"]
    assert s["blur_subtype_accuracy"] >= blur_subtype, s["blur_subtype_accuracy"]

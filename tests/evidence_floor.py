"""Shared by the evidence floor tests on the blind constructions: build the named clips through the
construction's own runner at the product's settings and check the floors one way for every set."""
from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any


def clip_folder(name: str, tmp_path_factory) -> Path:
    """``$LOUPE_TEST_CACHE/name`` when that is set, else a fresh temporary folder."""
    env = os.environ.get("LOUPE_TEST_CACHE")
    return Path(env) / name if env else tmp_path_factory.mktemp(name)


def construction_rows(run: Callable, name: str, clips: Sequence[str], tmp_path_factory, data_dir,
                      monkeypatch, folder: Path | None = None) -> list[dict]:
    """Rows of ``run`` (e.g. ``run_unseen8``) on ``clips``; clips are cached in ``folder``, by default
    :func:`clip_folder`'s."""
    monkeypatch.setenv("LOUPE_DATA", str(data_dir))
    cache = folder if folder is not None else clip_folder(name, tmp_path_factory)
    out = tmp_path_factory.mktemp(f"{name}_rows") / "rows.json"
    a = SimpleNamespace(seeds=None, variations=list(clips), cache=str(cache), build_only=False,
                        tolerance_s=1.0, json=str(out))
    assert run(a) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [r["variation"] for r in rows] == list(clips) and not any(r.get("error") for r in rows), rows
    return rows


def first_events(construction: Any, plan: Callable[[int], Mapping[str, list]], k: int) -> Any:
    """``construction`` (a runner's ``Construction`` or ``Blind``) whose clips hold only the FIRST ``k``
    events of their frozen plan: the clip's own schedule, filler, noise and event draws, so up to the
    end of event ``k`` the frames are those of the report clip (each stream draws in order), followed
    by the construction's closing filler. Cached under its own name (``..._first{k}``), never in
    place of the whole clip."""

    def build(out, data_dir, *, variation, seed):
        return construction.build_clip(out, data_dir, variation=variation, seed=seed,
                                       plan=list(plan(seed)[variation.name][:k]))

    def path(cache, v, seed):
        whole = Path(construction.clip_path(cache, v, seed))
        return whole.with_name(f"{whole.stem}_first{k}{whole.suffix}")

    return dataclasses.replace(construction, build_clip=build, clip_path=path)


def assert_evidence_floor(rows: list[dict], *, events_true: int, found_floor: int,
                          kept_ceiling: float | Mapping[str, float], false_per_hour_ceiling: float) -> None:
    """Events found over all clips, frames kept per clip, false events an hour over all clips."""
    assert sum(r["events_true"] for r in rows) == events_true
    found = sum(r["events_found"] for r in rows)
    assert found >= found_floor, [(r["variation"], r["events_found"], r["missed"]) for r in rows]
    for r in rows:
        ceiling = kept_ceiling[r["variation"]] if isinstance(kept_ceiling, Mapping) else kept_ceiling
        assert r["kept_fraction"] <= ceiling + 1e-9, (r["variation"], r["kept_fraction"], ceiling)
    hours = sum(r["minutes"] for r in rows) / 60
    false = sum(r["false_events"] for r in rows)
    assert false / hours <= false_per_hour_ceiling, (false, hours)

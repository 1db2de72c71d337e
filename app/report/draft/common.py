"""What every drafter shares: reading a result folder and writing numbers exactly as the evidence
holds them (the verifier checks the written precision against the stored value)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.data.types import LoupeError


def fmt(v: float, decimals: int) -> str:
    s = f"{float(v):.{decimals}f}"
    return s.lstrip("-") if float(s) == 0 else s


def fmt_point(p, decimals: int = 1) -> str:
    return "(" + ", ".join(fmt(x, decimals) for x in p) + ")"


def rounded(v: float, decimals: int) -> float:
    """The value as it is written: the evidence stores what the sentence shows."""
    return round(float(v), decimals)


@dataclass
class ResultFolder:
    path: Path
    record: dict[str, Any]

    @property
    def backend(self) -> str:
        return str(self.record.get("backend", ""))

    @property
    def input_name(self) -> str:
        return str(self.record.get("input", "")) or self.path.name

    def file(self, name: str) -> Path:
        return self.path / name

    def json(self, name: str) -> Any:
        p = self.path / name
        try:
            return json.loads(p.read_text())
        except FileNotFoundError as e:
            raise LoupeError(f"{p}: missing from the result folder") from e
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise LoupeError(f"{p}: not valid JSON ({e})") from e

    def layer(self, name: str) -> dict | None:
        return next((l for l in self.record.get("layers", []) if l.get("name") == name), None)

    def src(self, name: str) -> str:
        """Evidence source: the folder's name and the file, so the link survives moving the case."""
        return f"{self.path.name}/{name}"


def open_result_folder(path: str | Path) -> ResultFolder:
    path = Path(path)
    if not path.is_dir():
        raise LoupeError(f"{path}: result folder not found")
    rec = path / "result.json"
    if rec.is_file():
        try:
            record = json.loads(rec.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise LoupeError(f"{rec}: not valid JSON ({e})") from e
    elif (path / "biometry.json").is_file():
        record = {"backend": "biometry", "input": ""}
    else:
        raise LoupeError(f"{path}: no result.json (or biometry.json): not a backend result folder "
                         f"(write one with: run_app.py infer BACKEND INPUT -o {path})")
    return ResultFolder(path, record)


def graph_branches(nodes_pos: np.ndarray, edges: np.ndarray, edge_branch: np.ndarray) -> dict[int, list[int]]:
    """Each branch's node ids in order along the centreline (edges of one branch form a path)."""
    out: dict[int, list[int]] = {}
    by_branch: dict[int, list[tuple[int, int]]] = {}
    for (a, b), br in zip(edges.tolist(), edge_branch.tolist()):
        by_branch.setdefault(int(br), []).append((int(a), int(b)))
    for br, es in by_branch.items():
        adj: dict[int, list[int]] = {}
        for a, b in es:
            adj.setdefault(a, []).append(b)
            adj.setdefault(b, []).append(a)
        ends = [n for n, nb in adj.items() if len(nb) == 1] or [es[0][0]]
        path, prev, cur = [ends[0]], None, ends[0]
        while True:
            nxt = [n for n in adj[cur] if n != prev and n not in path[-2:]]
            if not nxt or len(path) > len(adj):
                break
            prev, cur = cur, nxt[0]
            path.append(cur)
        out[br] = path
    return out


def path_length(pos: np.ndarray, path: list[int]) -> float:
    p = pos[path]
    return float(np.linalg.norm(np.diff(p, axis=0), axis=1).sum()) if len(p) > 1 else 0.0

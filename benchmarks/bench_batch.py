"""Batch throughput on the same 20 DRIVE fundus images, in one run: serial in this process, a
plain process pool (concurrent.futures, spawn) and ``app.batch`` on a local Ray on loopback,
each with N workers, the result cache off, every result written as ``infer`` writes it. Ray's
figure includes starting and stopping Ray; its start/stop alone is also shown.

    .venv/bin/python benchmarks/bench_batch.py [--backend vessels2d|threshold] [--workers 2] [--n 20]
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from common import data_root

_LOADED: dict = {}


def run_plain(backend: str, path: str, out: str) -> float:
    """One item the plain way: read, run_pipeline, write_result (backend loaded once per process)."""
    import torch
    torch.set_num_threads(1)  # as Ray does for a 1-CPU task (OMP_NUM_THREADS=1)
    from app.jobs.inputs import open_input
    from app.jobs.result_folder import write_result
    from backends.base import RunContext, run_pipeline
    from backends.registry import default_registry

    t0 = time.perf_counter()
    spec = default_registry().get(backend)
    if backend not in _LOADED:
        _LOADED[backend] = (spec.load(), spec.pick_device())
    inst, device = _LOADED[backend]
    params = spec.parse_params(None)
    work = Path(out) / ".files"
    inp = open_input(path)
    res = run_pipeline(spec, inst, inp, params, RunContext(spec, params, device=device, out_dir=work))
    write_result(res, out, input_name=Path(path).name)
    shutil.rmtree(work, ignore_errors=True)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default="vessels2d")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--n", type=int, default=20)
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    images = sorted((data_root() / "retina" / "DRIVE" / "training" / "images").glob("*.tif"))
    images += sorted((data_root() / "retina" / "DRIVE" / "test" / "images").glob("*.tif"))
    images = images[: args.n]
    if len(images) < args.n:
        raise SystemExit(f"only {len(images)} DRIVE images found")
    n, w = len(images), args.workers
    print(f"{args.backend} on {n} DRIVE images (565x584 RGB), {w} worker(s), cache off, {os.cpu_count()} CPU(s)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["LOUPE_HOME"] = str(tmp / "home")  # no cache entries leak into the user's cache

        t0 = time.perf_counter()
        for i, p in enumerate(images):
            run_plain(args.backend, str(p), str(tmp / "serial" / str(i)))
        rows.append(("serial (this process)", time.perf_counter() - t0))

        import multiprocessing as mp
        t0 = time.perf_counter()
        with ProcessPoolExecutor(w, mp_context=mp.get_context("spawn")) as pool:
            list(pool.map(run_plain, [args.backend] * n, [str(p) for p in images],
                          [str(tmp / "pool" / str(i)) for i in range(n)]))
        rows.append((f"process pool ({w} processes)", time.perf_counter() - t0))

        from app.batch.cluster import ray_session
        from app.batch.engine import run_batch
        from app.batch.items import items_from_folder

        folder = tmp / "in"
        folder.mkdir()
        for p in images:
            os.symlink(p, folder / p.name)
        t0 = time.perf_counter()
        s = run_batch(args.backend, items_from_folder(folder), tmp / "ray", None, workers=w, use_cache=False,
                      root=str(folder), progress=False)
        rows.append((f"Ray batch ({w} workers, local, loopback)", time.perf_counter() - t0))
        if s.ok != n:
            raise SystemExit(f"Ray batch: {s.line()}")
        t0 = time.perf_counter()
        with ray_session(num_cpus=w):
            pass
        ray_fixed = time.perf_counter() - t0

    serial = rows[0][1]
    print("\n| engine | wall (s) | images/s | vs serial |\n|---|---|---|---|")
    for name, t in rows:
        print(f"| {name} | {t:.1f} | {n / t:.2f} | {serial / t:.2f}x |")
    print(f"\nRay start + stop alone: {ray_fixed:.1f} s (included in the Ray row)")


if __name__ == "__main__":
    main()

"""The batch driver: submit items to Ray a bounded window at a time (inputs ``ray.put`` into the
object store as they are submitted, so memory stays bounded on archives of any size), write each
finished item's result folder and manifest entry at once, show a progress bar, and stop cleanly
on Ctrl-C (running tasks cancelled, the manifest left valid for a resume)."""
from __future__ import annotations

import os
import shutil
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .items import BatchItem, output_name
from .manifest import Manifest

RESULTS = "results"


class BatchInterrupted(Exception):
    """Ctrl-C: the run stopped; finished items are in the manifest."""


@dataclass
class BatchSummary:
    total: int = 0
    ok: int = 0
    failed: int = 0
    resumed: int = 0
    computed: int = 0
    cached: int = 0
    wall_s: float = 0.0
    workers: list[str] = field(default_factory=list)
    manifest: str = ""

    def line(self) -> str:
        return (f"{self.total} item(s): {self.ok} ok, {self.failed} failed; {self.resumed} resumed from an "
                f"earlier run, {self.computed} computed, {self.cached} from the cache; "
                f"{self.wall_s:.1f} s on {len(set(self.workers)) or 0} worker process(es)")


def _payload(item: BatchItem) -> list[tuple[str, str]]:
    if not item.folder:
        return [(Path(item.files[0]).name, item.files[0])]
    common = Path(os.path.commonpath(item.files)) if len(item.files) > 1 else Path(item.files[0]).parent
    return [(str(Path(f).relative_to(common)), f) for f in item.files]


def _write_output(res: dict[str, Any], item: BatchItem, out: Path, rel: str, job: dict) -> None:
    """The item's result folder, laid out exactly as ``infer`` writes it; built beside its final
    place and renamed in, so a run killed mid-write leaves no half folder behind a manifest entry."""
    from app.jobs import codec
    from app.jobs.result_folder import write_result

    final = out / rel
    tmp = final.parent / f".tmp-{final.name}-{uuid.uuid4().hex[:6]}"
    files_tmp = tmp / ".bundle"
    try:
        b = res["bundle"]
        for name, data in b["files"].items():
            dest = files_tmp / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            data.tofile(dest)
        result = codec.decode_result(b["doc"], codec.Arrays(dict(b["arrays"])))
        result.files = {k: str(files_tmp / v) for k, v in result.files.items()}
        result.cached = bool(res.get("cached"))
        write_result(result, tmp, input_name=item.name, extra={"job": job})
        shutil.rmtree(files_tmp, ignore_errors=True)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_batch(backend: str, items: Sequence[BatchItem], out: str | Path, params: Any = None, *,
              address: str | None = None, workers: int | None = None, kind: str | None = None,
              retry_failed: bool = False, use_cache: bool = True, cache_root: str | None = None,
              root: str | None = None, source: str = "", progress: bool = True,
              object_store_mb: int | None = None) -> BatchSummary:
    """Run ``backend`` over ``items`` into ``out``; resumes what ``out/manifest.json`` records."""
    from backends.params import to_dict
    from backends.registry import default_registry

    t_start = time.perf_counter()
    spec = default_registry().require_available(backend)  # a wrong name or parameter: before Ray starts
    from app.models.registry import pin_model
    # the concrete model version, as infer pins it: same cache keys, provenance names the model
    pdict = pin_model(spec.name, to_dict(spec.parse_params(params)))
    out = Path(out).resolve()
    manifest = Manifest.open(out, backend, pdict, source)
    summary = BatchSummary(total=len(items), manifest=str(manifest.path))
    todo = []
    for it in items:
        if manifest.finished(it.key, retry_failed):
            manifest.mark_resumed(it.key)
            summary.resumed += 1
        else:
            todo.append(it)
    manifest.save()
    if cache_root is None and use_cache:
        from app.paths import user_dir
        cache_root = str(user_dir() / "cache" / "results")
    bar = None
    if progress:
        from tqdm import tqdm
        bar = tqdm(total=len(items), initial=summary.resumed, unit="item", file=sys.stderr,
                   desc=backend, dynamic_ncols=True)
    try:
        if todo:
            _run_on_ray(spec, pdict, todo, out, manifest, summary, bar, address=address, workers=workers,
                        kind=kind, use_cache=use_cache, cache_root=cache_root, root=root,
                        object_store_mb=object_store_mb)
    finally:
        if bar is not None:
            bar.close()
        mine = [manifest.items[it.key] for it in items if it.key in manifest.items]
        summary.ok = sum(e["status"] == "ok" for e in mine)
        summary.failed = sum(e["status"] == "failed" for e in mine)
        summary.wall_s = time.perf_counter() - t_start
    return summary


def _run_on_ray(spec, pdict, todo, out, manifest, summary, bar, *, address, workers, kind, use_cache,
                cache_root, root, object_store_mb) -> None:
    from .cluster import ray_session, task_options
    from .task import pack_files, run_item

    with ray_session(address, num_cpus=workers, object_store_mb=object_store_mb) as ray:
        opts = task_options(spec, ray.cluster_resources())
        remote = ray.remote(run_item).options(**opts)
        slots = max(1, int(workers or ray.cluster_resources().get("CPU", 1) // max(opts["num_cpus"], 1e-3)))
        window = 2 * slots  # one waiting per running task keeps every worker busy
        pending: dict[Any, tuple[BatchItem, float]] = {}
        queue = iter(todo)
        more = True
        try:
            while more or pending:
                while more and len(pending) < window:
                    it = next(queue, None)
                    if it is None:
                        more = False
                        break
                    try:
                        ref_in = ray.put(pack_files(_payload(it)))
                    except OSError as exc:
                        _done(manifest, summary, bar, it, "failed", error=f"{it.key}: cannot read ({exc})")
                        continue
                    ref = remote.remote(spec.name, pdict, Path(it.key).name, it.folder, ref_in, kind,
                                        cache_root, use_cache)
                    pending[ref] = (it, time.perf_counter())
                if not pending:
                    continue
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
                for ref in ready:
                    it, t0 = pending.pop(ref)
                    _collect(ray, ref, it, t0, spec, out, manifest, summary, bar, root)
        except KeyboardInterrupt:
            if address and pending:   # a shared cluster: free its workers. A private local Ray is stopped on exit
                # anyway, and force-cancelling a task whose reply is in flight can trip a Ray check
                # (task_manager.cc CompletePendingTask) that ends the process with a C++ dump
                _, running = ray.wait(list(pending), num_returns=len(pending), timeout=0)
                for ref in running:
                    ray.cancel(ref, force=True)
            manifest.save()
            raise BatchInterrupted(f"stopped: {len(manifest.items)} item(s) recorded in {manifest.path}; "
                                   f"run the same command again to resume") from None


def _collect(ray, ref, it: BatchItem, t0: float, spec, out: Path, manifest, summary, bar, root) -> None:
    try:
        res = ray.get(ref)
    except Exception as exc:  # noqa: BLE001 - a worker that died (crash, out of memory) fails this item
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        _done(manifest, summary, bar, it, "failed", error=f"{it.name}: worker failed: {type(exc).__name__}: {msg}",
              seconds=time.perf_counter() - t0)
        return
    summary.workers.append(res.get("where", ""))
    if res["status"] != "ok":
        _done(manifest, summary, bar, it, "failed", error=res["error"], seconds=res["seconds"])
        return
    rel = f"{RESULTS}/{output_name(it.key, root)}"
    job = {"id": f"batch-{uuid.uuid4().hex[:8]}", "where": res["where"], "wall_s": round(res["seconds"], 4),
           "cached": bool(res["cached"])}
    try:
        _write_output(res, it, out, rel, job)
    except Exception as exc:  # noqa: BLE001 - e.g. disk full: recorded for this item, the batch goes on
        _done(manifest, summary, bar, it, "failed", error=f"{it.name}: cannot write results: {exc}",
              seconds=res["seconds"])
        return
    if res["cached"]:
        summary.cached += 1
    else:
        summary.computed += 1
    _done(manifest, summary, bar, it, "ok", output=rel, seconds=res["seconds"], cached=res["cached"])


def _done(manifest, summary, bar, it: BatchItem, status: str, *, output: str = "", error: str = "",
          seconds: float = 0.0, cached: bool = False) -> None:
    manifest.record(it.key, status, output=output, error=error, seconds=seconds, cached=cached)
    if bar is not None:
        c = manifest.counts()
        bar.set_postfix(ok=c.get("ok", 0), failed=c.get("failed", 0), refresh=False)
        bar.update(1)

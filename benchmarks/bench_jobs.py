"""Job runtime costs on the real 140-slice head CT, against the same work done in-process.

- in-process: ``run_pipeline`` of the Otsu threshold backend in this process (the floor);
- local worker: the same through LocalRunner (spawned process, input via /dev/shm .npy, result
  bundle back), cache off; the difference is the price of isolation;
- cache hit: the same request again (content hash of the input + loading the cached bundle);
- remote: through ``serve`` on loopback (npz upload, HTTP polling, npz download);
- input hand-over: our .npy-in-shared-memory + memory-map against pickling the array through a
  multiprocessing Pipe (multiprocessing's default), both ending with a full read of the data.

    .venv/bin/python benchmarks/bench_jobs.py
"""
from __future__ import annotations

import tempfile
import threading
from pathlib import Path

import numpy as np
from common import best_of, data_root


def main() -> None:
    import multiprocessing as mp

    from app.data.open import open_path
    from app.jobs import codec
    from app.jobs.cache import ResultCache, input_digest
    from app.jobs.local import LocalRunner
    from app.jobs.remote import RemoteRunner
    from app.jobs.server import make_server, serve
    from backends.base import BackendInput, RunContext, run_pipeline
    from backends.demo_threshold import SPEC
    from backends.registry import Registry

    vol = open_path(data_root() / "dicom" / "dcm_qa_ct_philips_head_140" / "dicom")[0]
    inp = BackendInput.from_volume(vol)
    mb = vol.array.nbytes / 2**20
    print(f"head CT {vol.array.shape} {vol.array.dtype} ({mb:.0f} MiB), threshold backend, best of 3")
    params = SPEC.parse_params(None)

    def inproc():
        run_pipeline(SPEC, SPEC.load(), inp, params, RunContext(SPEC, params))

    t_in = best_of(inproc, 3)
    reg = Registry.from_specs([SPEC])
    with tempfile.TemporaryDirectory() as tmp:
        local = LocalRunner(reg, max_workers=1, cache=False)
        t_local = best_of(lambda: local.run("threshold", inp), 3)
        cached = LocalRunner(reg, max_workers=1, cache=ResultCache(Path(tmp) / "cache"))
        cached.run("threshold", inp)
        t_hit = best_of(lambda: cached.run("threshold", inp), 3)
        t_hash = best_of(lambda: input_digest(inp), 3)
        httpd = make_server(LocalRunner(reg, max_workers=1, cache=False), "bench", port=0, quiet=True)
        th = threading.Thread(target=serve, args=(httpd,), kwargs={"max_seconds": 300}, daemon=True)
        th.start()
        remote = RemoteRunner(f"http://127.0.0.1:{httpd.server_address[1]}", "bench", poll_s=0.02)
        t_remote = best_of(lambda: remote.run("threshold", inp, use_cache=False), 3)
        httpd.shutdown()
        th.join(10)
        for r in (local, cached, remote):
            r.shutdown()

        # input hand-over, data fully read on the other side in both cases
        shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tmp)

        def ours():
            d = Path(tempfile.mkdtemp(dir=shm))
            store = codec.Arrays()
            codec.save_dir(d, codec.encode_input(inp, store), store)
            doc, arrays = codec.load_dir(d, mmap=True)
            float(np.asarray(codec.decode_input(doc, arrays).volume.array).sum(dtype=np.int64))
            import shutil
            shutil.rmtree(d)

        ctx = mp.get_context("spawn")

        def pipe():
            a, b = ctx.Pipe()
            t = threading.Thread(target=a.send, args=(vol.array,))
            t.start()
            float(b.recv().sum(dtype=np.int64))
            t.join()
            a.close()
            b.close()

        t_ours, t_pipe = best_of(ours, 3), best_of(pipe, 3)

    rows = [("in-process pipeline (floor)", t_in, 1.0),
            ("local worker, cache off", t_local, t_local / t_in),
            ("cache hit (hash + load)", t_hit, t_hit / t_local),
            ("  of which input hash", t_hash, t_hash / t_local),
            ("remote, loopback server", t_remote, t_remote / t_local)]
    for name, t, ratio in rows:
        print(f"{name:32s} {t * 1000:8.1f} ms   ratio {ratio:5.2f}")
    print(f"input hand-over: shm .npy + mmap {t_ours * 1000:.1f} ms vs pickle through Pipe "
          f"{t_pipe * 1000:.1f} ms (ratio {t_ours / t_pipe:.2f}; {mb:.0f} MiB)")


if __name__ == "__main__":
    main()

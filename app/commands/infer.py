"""run_app.py infer BACKEND INPUT -o OUTDIR [--param k=v ...] [--server URL --token T]"""
from __future__ import annotations

NAME = "infer"
HELP = ("Run a backend on an image, volume, video or k-space file and write its layers "
        "(NIfTI/PNG/JSON) and result.json")


def add_arguments(p) -> None:
    p.add_argument("backend", help="backend name (see: run_app.py backends)")
    p.add_argument("input", help="input file or folder")
    p.add_argument("-o", "--out", required=True, help="output folder (created)")
    p.add_argument("--param", "-p", action="append", default=[], metavar="K=V",
                   help="backend parameter, repeatable (see: run_app.py backends --params)")
    p.add_argument("--model", help="model version or model folder of a trainable backend (see: run_app.py models)")
    p.add_argument("--kind", choices=("image2d", "volume", "video", "kspace", "ultrasound"),
                   help="input kind, when it cannot be inferred")
    p.add_argument("--server", help="run on a Loupe server (run_app.py serve) at this URL")
    p.add_argument("--token", help="server token (default: $LOUPE_SERVER_TOKEN)")
    p.add_argument("--ca", help="CA certificate that signed the server's (https)")
    p.add_argument("--fingerprint", help="pin the server's certificate by its SHA-256 (https)")
    p.add_argument("--allow-plain-http", action="store_true",
                   help="allow http:// to another machine (only on a network you trust)")
    p.add_argument("--timeout", type=float, default=None, help="give up after this many seconds")
    p.add_argument("--no-cache", action="store_true", help="recompute even if a cached result exists")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")


def run(args) -> int:
    import time
    from pathlib import Path

    from app.jobs.inputs import open_input
    from app.jobs.remote import make_runner
    from app.jobs.result_folder import write_result

    inp = open_input(args.input, args.kind or _only_kind(args.backend))
    runner = make_runner(args.server, args.token, timeout_s=args.timeout, ca_file=args.ca,
                         fingerprint=args.fingerprint, allow_plain_http=args.allow_plain_http) \
        if args.server else \
        make_runner(timeout_s=args.timeout, max_workers=1)
    try:
        t0 = time.perf_counter()
        params = list(args.param) + ([f"model={args.model}"] if args.model else [])
        job = runner.submit(args.backend, inp, params, timeout_s=args.timeout, use_cache=not args.no_cache)
        from app.commands._progress import follow
        code = follow(job, args.quiet, label=f"backend {args.backend!r}")
        if code:
            return code
        wall = time.perf_counter() - t0
        path = write_result(job.result, args.out, input_name=Path(inp.path).name if inp.path else "",
                            extra={"job": {"id": job.id, "where": job.where, "wall_s": round(wall, 4),
                                           "cached": job.cached}})
        res = job.result
        print(f"{args.backend} {'(cached) ' if job.cached else ''}-> {path} "
              f"[{len(res.layers)} layers, {len(res.findings)} findings, "
              f"{', '.join(f'{k} {v:.3f}s' for k, v in res.timings.items())}]")
        for f in res.findings:
            print(f"  finding: {f.statement}")
        return 0
    finally:
        runner.shutdown()


def _only_kind(backend: str) -> str | None:
    """The input kind when the backend takes exactly one that files cannot reveal (k-space in
    .npy/.h5 or a BART stem); None otherwise, and for unknown backends (the runner explains)."""
    try:
        from backends.registry import default_registry
        inputs = default_registry().get(backend).inputs
    except Exception:  # noqa: BLE001 - unknown/broken backends are reported by submit
        return None
    return "kspace" if tuple(inputs) == ("kspace",) else None

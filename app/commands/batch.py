"""run_app.py batch BACKEND INPUT -o OUT [--address ADDR] [--param k=v ...] [--workers N] [--query ...]"""
from __future__ import annotations

NAME = "batch"
HELP = ("Run a backend over every file of a folder (recursively) or every series a catalog query finds, "
        "on Ray (a local Ray on loopback, or a cluster with --address); resumable through OUT/manifest.json")


def add_arguments(p) -> None:
    p.add_argument("backend", help="backend name (see: run_app.py backends)")
    p.add_argument("input", nargs="?", default=None,
                   help="folder (searched recursively) or one file; with --query: words the catalog must match")
    p.add_argument("-o", "--out", required=True, help="output folder: manifest.json and results/<item>/")
    p.add_argument("--param", "-p", action="append", default=[], metavar="K=V",
                   help="backend parameter, repeatable (see: run_app.py backends --params)")
    p.add_argument("--address", help="join this Ray cluster (e.g. 10.0.0.5:6379) instead of a local Ray")
    p.add_argument("--workers", type=int, default=None,
                   help="runs at once (local Ray: also its CPU count; default: all cores)")
    p.add_argument("--kind", choices=("image2d", "volume", "video", "kspace", "ultrasound"),
                   help="input kind, when it cannot be inferred")
    q = p.add_argument_group("catalog query (instead of a folder; the same filters as: run_app.py search)")
    q.add_argument("--query", action="store_true", help="take the items from the local catalog")
    q.add_argument("--modality", action="append", help="DICOM modality, e.g. CT (repeatable)")
    q.add_argument("--catalog-kind", dest="catalog_kind", action="append",
                   choices=["dicom", "volume", "image", "video", "kspace"], help="file kind (repeatable)")
    q.add_argument("--from", dest="date_from", default=None, help="earliest date, YYYY-MM-DD")
    q.add_argument("--to", dest="date_to", default=None, help="latest date, YYYY-MM-DD")
    q.add_argument("--db", default=None, help="catalog database (default: <user dir>/catalog.sqlite)")
    p.add_argument("--retry-failed", action="store_true", help="rerun items an earlier run recorded as failed")
    p.add_argument("--no-cache", action="store_true", help="recompute even if a cached result exists")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def run(args) -> int:
    import sys
    from pathlib import Path

    from app.batch.engine import BatchInterrupted, run_batch
    from app.batch.items import items_from_folder, items_from_query
    from app.data.types import LoupeError

    if args.workers is not None and args.workers < 1:
        raise LoupeError("--workers must be at least 1")
    if args.query:
        items = items_from_query(args.input or "", modality=args.modality, kind=args.catalog_kind,
                                 date_from=args.date_from, date_to=args.date_to, db=args.db)
        import os
        root = os.path.commonpath([str(Path(i.key).parent) for i in items])  # short result folder names
        source = f"query: {args.input or ''}".strip()
    else:
        if not args.input:
            raise LoupeError("batch: give an INPUT folder, or --query")
        items = items_from_folder(args.input)
        root = str(Path(args.input).resolve()) if Path(args.input).is_dir() else None
        source = str(Path(args.input).resolve())
    try:
        s = run_batch(args.backend, items, args.out, args.param, address=args.address, workers=args.workers,
                      kind=args.kind, retry_failed=args.retry_failed, use_cache=not args.no_cache,
                      root=root, source=source, progress=not args.quiet)
    except BatchInterrupted as exc:
        print(str(exc), file=sys.stderr)
        return 130
    except KeyboardInterrupt:  # while Ray was starting or stopping: nothing half-written to keep
        print(f"stopped; what finished is in {Path(args.out) / 'manifest.json'}: run the same command "
              f"again to resume", file=sys.stderr)
        return 130
    print(s.line())
    print(f"manifest: {s.manifest}")
    if s.failed:
        from app.batch.manifest import Manifest
        for e in Manifest.load(s.manifest)["items"]:
            if e["status"] == "failed":
                print(f"  failed: {e['error']}")
    return 0 if s.failed == 0 else 2

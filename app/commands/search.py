"""``run_app.py search TEXT``: find series in the local catalog (no patient names are printed)."""
from __future__ import annotations

NAME = "search"
HELP = "search the local catalog by description/path text, modality, kind and date range"


def add_arguments(parser) -> None:
    parser.add_argument("text", nargs="?", default="", help="words that must all match (case-insensitive)")
    parser.add_argument("--modality", action="append", help="DICOM modality, e.g. CT (repeatable)")
    parser.add_argument("--kind", action="append",
                        choices=["dicom", "volume", "image", "video", "kspace"], help="file kind (repeatable)")
    parser.add_argument("--from", dest="date_from", default=None, help="earliest date, YYYY-MM-DD")
    parser.add_argument("--to", dest="date_to", default=None, help="latest date, YYYY-MM-DD")
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--db", default=None, help="catalog database (default: <user dir>/catalog.sqlite)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _describe(s) -> str:
    size = f"{s.cols}x{s.rows}" + (f"x{s.n_frames}" if s.n_frames > 1 else "")
    if s.kind == "video" and s.info:
        size = f"{s.info.get('width')}x{s.info.get('height')} {s.info.get('fps')} fps {s.info.get('duration_s')} s"
    return (f"{s.date or '----------'}  {s.kind:<6} {s.modality or '-':<3} {size:<22} "
            f"{(s.description or '-')[:40]:<40} {s.first_path}")


def run(args) -> int:
    import json
    from dataclasses import asdict

    from app.data.catalog import Catalog
    from app.data.types import LoupeError

    try:
        hits = Catalog(args.db).search(args.text, modality=args.modality, kind=args.kind,
                                       date_from=args.date_from, date_to=args.date_to, limit=args.limit)
    except ValueError as exc:
        raise LoupeError(f"search: {exc}") from exc
    if args.json:
        print(json.dumps([asdict(h) for h in hits], indent=1))
    else:
        for h in hits:
            print(_describe(h))
        print(f"{len(hits)} series" + (" (limit reached)" if len(hits) == args.limit else ""))
    return 0 if hits else 1

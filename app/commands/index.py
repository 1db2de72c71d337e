"""``run_app.py index FOLDER``: add a folder tree to the local catalog and print what it holds."""
from __future__ import annotations

NAME = "index"
HELP = "index a folder (DICOM, NIfTI/NRRD/MHA, images, videos, k-space) into the local catalog"


def add_arguments(parser) -> None:
    parser.add_argument("folder", nargs="+", help="folder(s) or file(s) to index; re-running only reads changed files")
    parser.add_argument("--db", default=None, help="catalog database (default: <user dir>/catalog.sqlite)")
    parser.add_argument("--quiet", action="store_true", help="print only the counts")


def run(args) -> int:
    import sys

    from app.data.catalog import Catalog

    catalog = Catalog(args.db)
    status = 0
    for folder in args.folder:
        stats = catalog.index_folder(folder)
        print(stats.summary())
        if stats.warnings and not args.quiet:
            for w in stats.warnings[:20]:
                print(f"  warning: {w}", file=sys.stderr)
            if len(stats.warnings) > 20:
                print(f"  ... and {len(stats.warnings) - 20} more warnings", file=sys.stderr)
        if stats.files_seen == 0:
            status = 1
    return status

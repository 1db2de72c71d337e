"""``catalog merge DIR [DIR ...] -o manifest.json``: one training manifest over several local
datasets (app/manifest). ``index`` and ``search`` remain the commands of the local study catalog."""
from __future__ import annotations

NAME = "catalog"
HELP = "dataset catalog tools: merge dataset folders into one training manifest"


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="catalog_command", metavar="ACTION", required=True)
    m = sub.add_parser("merge", help="merge DIR ... into one manifest (JSON + CSV beside it)",
                       description="One item per image or DICOM series with dataset, modality, anatomy, task, "
                                   "label schema mapping, a patient-level split and near-duplicates. Folders "
                                   "without DICOM declare what they are in a loupe-dataset.json sidecar.")
    m.add_argument("folders", nargs="+", metavar="DIR")
    m.add_argument("-o", "--out", required=True, help="manifest JSON path (the CSV is written beside it)")
    m.add_argument("--split", default="80,10,10", help="train,val,test percentages (default 80,10,10)")
    m.add_argument("--seed", default="loupe", help="split seed (same seed, same split)")
    m.add_argument("--sidecar", action="append", default=[], metavar="DIR=JSON",
                   help="the loupe-dataset.json of DIR kept elsewhere (read-only dataset folders); repeatable")


def run(args) -> int:
    from app.data.types import LoupeError
    from app.manifest.merge import merge, write_manifest

    try:
        fractions = tuple(float(x) for x in args.split.split(","))
        if len(fractions) != 3 or any(f < 0 for f in fractions) or sum(fractions) <= 0:
            raise ValueError
    except ValueError:
        raise LoupeError(f"--split wants three non-negative numbers like 80,10,10, got {args.split!r}") from None
    sidecars = {}
    for spec in args.sidecar:
        folder, sep, path = spec.partition("=")
        if not sep or not folder or not path:
            raise LoupeError(f"--sidecar wants DIR=JSON, got {spec!r}")
        sidecars[folder] = path
    man = merge(args.folders, fractions, args.seed, sidecars)
    js, cs = write_manifest(man, args.out)
    cross = sum(d["cross_dataset"] for d in man["duplicate_details"])
    print(f"wrote {js} and {cs}: {len(man['items'])} items from {len(man['datasets'])} datasets, "
          f"splits {man['splits']}, {len(man['duplicates'])} near-duplicate pairs ({cross} across datasets)")
    return 0

"""run_app.py adapt BACKEND --images DIR -o MODELDIR [--source DRIVE_DIR]"""
from __future__ import annotations

import argparse

NAME = "adapt"
HELP = ("Adapt a trainable backend to a new site's unlabelled images (source-free: normalisation "
        "statistics), checked not to lower quality on the source site; registers a new model version")


def add_arguments(p) -> None:
    p.add_argument("backend", help="trainable backend (see: run_app.py models)")
    p.add_argument("--images", required=True, help="folder of the new site's images (no labels needed)")
    p.add_argument("-o", "--out", required=True, help="folder for the adapted model (created, must be empty)")
    p.add_argument("--base", help="model version or folder to start from (default: the active one)")
    p.add_argument("--source", help="source-site data for the do-no-harm check (default: $LOUPE_DATA/retina/DRIVE)")
    p.add_argument("--bn-mix", type=float, action="append", default=None, metavar="W",
                   help="also re-estimate BatchNorm statistics on the site, blended at weight W (0..1, "
                        "repeatable: the largest that keeps the source site wins); default 0 (off)")
    p.add_argument("--threshold-clamp", action="store_true",
                   help="vessels2d: the version also moves each photo's threshold until its vessel share is within the "
                        "source photos' range (label-free; default off; recorded on the card as threshold_clamp)")
    p.add_argument("--signal-rule", action=argparse.BooleanOptionalAction, default=None,
                   help="vessels2d: choose the input normalisation by a label-free rule on the site's photos (field of "
                        "view width, noise, JPEG blockiness) instead of the plausibility of the vessel maps (default: "
                        "the product's; recorded on the card as normalisation_rule)")
    p.add_argument("--styled-source", action=argparse.BooleanOptionalAction, default=None,
                   help="vessels2d: NOT source-free - fine-tune on Loupe's bundled labelled training photos (DRIVE "
                        "training 21-36 from --source or $LOUPE_DATA) restyled to look like the site's photos "
                        "(unsupervised domain adaptation; default: training.ADAPT_STYLED_SOURCE; card: styled_source)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--promote", action="store_true", help="promote the new version if it passed the check")
    p.add_argument("--user", default="", help="name recorded with a promotion")
    p.add_argument("--quiet", "-q", action="store_true")


def run(args) -> int:
    import sys
    from pathlib import Path

    import torch

    from app.data.types import LoupeError
    from app.models import training
    from app.models.examples import IMAGE_SUFFIXES, read_rgb
    from app.models.registry import ModelRegistry, require_adaptable
    from app.models.training import adapt_model, run_as_job, source_site_examples

    from ._progress import follow
    from .train import report

    require_adaptable(args.backend)
    torch.set_num_threads(max(1, args.threads))
    folder = Path(args.images)
    if not folder.is_dir():
        raise LoupeError(f"{folder}: not a folder")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(IMAGE_SUFFIXES))
    if not files:
        raise LoupeError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
    images = [read_rgb(p) for p in files]
    source = source_site_examples(Path(args.source) if args.source else None)
    # the bundled photos a styled-source adaptation trains on: there before anything is computed
    styled = (training.rehearsal_examples(Path(args.source) if args.source else None)
              if (training.ADAPT_STYLED_SOURCE if args.styled_source is None else args.styled_source) else None)
    reg = ModelRegistry(args.backend)
    command = "run_app.py " + " ".join(sys.argv[1:])
    job = run_as_job(f"adapt {args.backend}", {"images": len(images)},
                     lambda prog, cancelled: adapt_model(args.backend, images, [p.name for p in files],
                                                         Path(args.out), source, base=args.base, registry=reg,
                                                         bn_mixes=tuple(args.bn_mix or (0.0,)),
                                                         progress=prog, cancelled=cancelled, command=command,
                                                         signal_rule=args.signal_rule,
                                                         **({} if args.styled_source is None else
                                                            {"styled_source": args.styled_source}),
                                                         **({} if styled is None else {"styled_photos": styled}),
                                                         **({"threshold_clamp": True} if args.threshold_clamp else {})))
    rc = follow(job, args.quiet)
    if rc:
        return rc
    card = job.result
    report(card)
    if args.promote and card["promotion"]["ok"]:
        print(f"promoted: {reg.promote(card['version'], user=args.user)} is now active")
    return 0 if card["promotion"]["ok"] else 3

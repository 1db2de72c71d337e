"""run_app.py train BACKEND (--store STORE [--since DATE] | --images DIR --labels DIR) -o MODELDIR"""
from __future__ import annotations

NAME = "train"
HELP = ("Fine-tune a trainable backend from reviewed (accepted or corrected) human versions in a review "
        "store, or from labelled files; registers a new model version (not promoted)")


def add_arguments(p) -> None:
    import argparse

    p.add_argument("backend", help="trainable backend (see: run_app.py models)")
    p.add_argument("--store", help="review store file (loupe_review.sqlite) or its workspace folder")
    p.add_argument("--since", help="only decisions made on or after this date (YYYY-MM-DD or ISO time)")
    p.add_argument("--images", help="folder of images: with --labels, labelled files to bootstrap from; with "
                                    "--store, where to find photos whose recorded path moved")
    p.add_argument("--labels", help="folder of labels (PNG or NIfTI) named like their images; quality: a CSV or "
                                    "JSON table image -> types (or a folder holding labels.csv / labels.json)")
    p.add_argument("-o", "--out", required=True, help="folder for the new model (created, must be empty)")
    p.add_argument("--base", help="model version or folder to start from (default: the active one)")
    p.add_argument("--iters", type=int, help="training steps (default: the backend's)")
    p.add_argument("--source", help="vessels2d: source-site data for the do-no-harm check (default: "
                                    "$LOUPE_DATA/retina/DRIVE; a version that lowers it is not promotable)")
    p.add_argument("--choose-threshold", action=argparse.BooleanOptionalAction, default=None,
                   help="vessels2d: the new model chooses its decision threshold on the reviewed items (default "
                        "on since session 14; --no-choose-threshold keeps the base's; recorded on the card as "
                        "threshold_choice)")
    p.add_argument("--rehearsal", action=argparse.BooleanOptionalAction, default=None,
                   help="vessels2d: also train on clean labelled source photos (DRIVE training 21-36 from --source "
                        "or $LOUPE_DATA) so the model keeps the source site (default: training.FINETUNE_REHEARSAL; "
                        "recorded on the card as rehearsal)")
    p.add_argument("--styled-rehearsal", action=argparse.BooleanOptionalAction, default=None,
                   help="vessels2d: also train on labelled source photos (DRIVE training 21-36) restyled to look like "
                        "the site, as measured on the reviewed photos without their labels (default: "
                        "training.FINETUNE_STYLED_REHEARSAL; recorded on the card as styled_rehearsal)")
    p.add_argument("--keep-source", action=argparse.BooleanOptionalAction, default=None,
                   help="vessels2d, with --styled-rehearsal: also keep the clean copies of the rehearsal photos, each "
                        "drawn instead of its styled copy with probability 0.5 (default: training.FINETUNE_KEEP_SOURCE; "
                        "recorded on the card as styled_rehearsal.keep_source)")
    p.add_argument("--long-schedule", action=argparse.BooleanOptionalAction, default=None,
                   help="vessels2d: fine-tune longer and faster (training.LONG_SCHEDULE_ITERS steps at LONG_SCHEDULE_LR; "
                        "--iters still sets the steps; default: training.FINETUNE_LONG_SCHEDULE, off; recorded on the "
                        "card as long_schedule)")
    p.add_argument("--choose-normalisation", action=argparse.BooleanOptionalAction, default=None,
                   help="vessels2d: the reviewed photos choose the input normalisation the new model trains and "
                        "infers under (none, rescale, rescale + sharpen, denoised variants for a noisy site; scored "
                        "by the base model's Dice on the trained items); off by default; recorded on the card as "
                        "normalisation_choice")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--promote", action="store_true", help="promote the new version if it beat the current one")
    p.add_argument("--user", default="", help="name recorded with a promotion")
    p.add_argument("--quiet", "-q", action="store_true")


def collect(args):
    from pathlib import Path

    from app.data.types import LoupeError
    from app.models import examples as E
    from app.models.trainers import collect as collect_for

    items = []
    if args.store:
        from app.review.store import STORE_FILENAME, ReviewStore

        sp = Path(args.store)
        sp = sp / STORE_FILENAME if sp.is_dir() else sp
        with ReviewStore(sp, create=False) as st:
            items += collect_for(args.backend, store=st, since=E.parse_since(args.since),
                                 images=Path(args.images) if args.images else None)
            if not items and not args.labels:
                raise LoupeError(f"{sp}: {E.nothing_to_train(st, args.backend)}")
    if args.labels:
        if not args.images:
            raise LoupeError("--labels needs --images (the folder of images they label)")
        items += collect_for(args.backend, images=Path(args.images), labels=Path(args.labels))
    if not args.store and not args.labels:
        raise LoupeError("give --store STORE (reviewed versions) or --images DIR --labels DIR")
    return items


def report(card: dict) -> None:
    p = card["promotion"]
    print(f"{card['backend']} {card['version']} ({card['kind']} of {card['base_model']}): "
          f"{'promotable' if p['ok'] else 'NOT promotable'} - {p['reason']}")


def run(args) -> int:
    import sys
    from pathlib import Path

    import torch

    from app.commands._progress import follow
    from app.models import training
    from app.models.registry import ModelRegistry, require_trainable
    from app.models.training import run_as_job, source_site_examples, train_model

    info = require_trainable(args.backend)
    if info.get("driver") and args.source:   # never handed on, so train_model could not refuse it
        from app.data.types import LoupeError

        raise LoupeError(f"{args.backend} fine-tunes with its own recipe: --source applies to vessels2d only")
    torch.set_num_threads(max(1, args.threads))
    # the source-site check of a vessels2d fine-tune: its data must be there before training starts
    source = None if info.get("driver") else source_site_examples(Path(args.source) if args.source else None)
    rehearse = training.FINETUNE_REHEARSAL if args.rehearsal is None else args.rehearsal
    rehearse = rehearse or (training.FINETUNE_STYLED_REHEARSAL if args.styled_rehearsal is None
                            else args.styled_rehearsal)
    # so are the clean source photos a rehearsing fine-tune replays
    reh = (training.rehearsal_examples(Path(args.source) if args.source else None)
           if rehearse and not info.get("driver") else None)
    items = collect(args)
    reg = ModelRegistry(args.backend)
    command = "run_app.py " + " ".join(sys.argv[1:])
    job = run_as_job(f"train {args.backend}", {"items": len(items)},
                     lambda prog, cancelled: train_model(args.backend, items, Path(args.out), base=args.base,
                                                         iters=args.iters, registry=reg, progress=prog,
                                                         cancelled=cancelled, command=command, source=source,
                                                         **({} if args.choose_threshold is None else
                                                            {"choose_threshold": args.choose_threshold}),
                                                         **({} if args.rehearsal is None else
                                                            {"rehearsal": args.rehearsal}),
                                                         **({} if reh is None else {"rehearsal_source": reh}),
                                                         **({} if args.styled_rehearsal is None else
                                                            {"styled_rehearsal": args.styled_rehearsal}),
                                                         **({} if args.keep_source is None else
                                                            {"keep_source": args.keep_source}),
                                                         **({} if args.choose_normalisation is None else
                                                            {"choose_normalisation": args.choose_normalisation}),
                                                         **({} if args.long_schedule is None else
                                                            {"long_schedule": args.long_schedule})))
    rc = follow(job, args.quiet)
    if rc:
        return rc
    card = job.result
    report(card)
    if args.promote:
        if card["promotion"]["ok"]:
            print(f"promoted: {reg.promote(card['version'], user=args.user)} is now active")
        else:
            print("not promoted (it failed its check, see above)")
    return 0

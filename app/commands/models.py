"""run_app.py models BACKEND [--promote VERSION | --rollback] [--card VERSION] [--json]"""
from __future__ import annotations

NAME = "models"
HELP = "List model versions of a trainable backend (metrics, active one); promote or roll back"


def add_arguments(p) -> None:
    p.add_argument("backend", nargs="?", default="vessels2d", help="trainable backend (default vessels2d)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--promote", metavar="VERSION", help="make this version the one runs use")
    g.add_argument("--rollback", action="store_true", help="back to the previously active version")
    g.add_argument("--card", metavar="VERSION", help="print a version's model card (JSON)")
    p.add_argument("--force", action="store_true", help="promote even if the version failed its check")
    p.add_argument("--user", default="", help="name recorded with a promotion or rollback")
    p.add_argument("--json", action="store_true", help="the list as JSON")


def _f(v) -> str:
    return f"{v:.3f}" if isinstance(v, (int, float)) else "-"


def run(args) -> int:
    import json

    from app.models.registry import ModelRegistry

    reg = ModelRegistry(args.backend)
    if args.promote:
        from app.data.types import LoupeError

        try:
            active = reg.promote(args.promote, user=args.user, force=args.force)
        except LoupeError as e:
            raise LoupeError(f"{e} (--force to promote anyway)" if "not promotable" in str(e) else str(e)) from e
        print(f"{args.backend}: {active} is now active")
        return 0
    if args.rollback:
        print(f"{args.backend}: rolled back, {reg.rollback(user=args.user)} is now active")
        return 0
    if args.card:
        print(json.dumps(reg.get(args.card).card, indent=2))
        return 0
    rows = reg.rows()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'':2}{'version':9}{'kind':10}{'base':10}{'train':>6}  {'held-back Dice new/base':>24}  "
          f"{'source Dice':>11}  {'promotable':10} created")
    for r in rows:
        if "error" in r:
            print(f"  {r['version']:9} error: {r['error']}")
            continue
        hb = (f"F1 {_f(r['heldback_f1'])}/{_f(r['heldback_f1_base'])}" if r.get("heldback_f1") is not None
              else f"{_f(r['heldback_dice'])}/{_f(r['heldback_dice_base'])}")   # quality: macro-F1
        print(f"{'*' if r['active'] else ' '} {r['version']:9}{r['kind']:10}{r['base']!s:10}{r['examples']!s:>6}  "
              f"{hb:>24}  {_f(r['source_dice']):>11}  {'yes' if r['promotable'] else 'no':10} {r['created']}")
    print("* = active (used when a run names no model)")
    return 0

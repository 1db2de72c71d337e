"""One entry point. Each sub-command is a module in app/commands/ exposing NAME, HELP,
``add_arguments(parser)`` and ``run(args) -> int``; modules are found automatically so features
add commands without touching this file. Heavy imports happen inside ``run`` only."""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

import app.commands as commands_pkg

DEFAULT_COMMAND = "gui"


def _command_modules():
    mods = {}
    for info in sorted(pkgutil.iter_modules(commands_pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"app.commands.{info.name}")
        mods[mod.NAME] = mod
    return mods


def build_parser(mods) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="run_app.py", description="Loupe medical viewer")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, mod in mods.items():
        p = sub.add_parser(name, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    mods = _command_modules()
    if not argv or (argv[0] not in mods and argv[0] not in ("-h", "--help")):
        if DEFAULT_COMMAND in mods:
            argv = [DEFAULT_COMMAND, *argv]
    args = build_parser(mods).parse_args(argv)
    if not args.command:
        build_parser(mods).print_help()
        return 2
    from app.data.types import LoupeError
    try:
        return int(mods[args.command].run(args) or 0)
    except LoupeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

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
    from app.errors import guarded, safe_streams
    safe_streams()
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    return guarded(lambda: _main(argv), argv, debug=debug)


def _main(argv: list[str]) -> int:
    mods = _command_modules()
    if not argv or (argv[0] not in mods and argv[0] not in ("-h", "--help")):
        if DEFAULT_COMMAND in mods:
            argv = [DEFAULT_COMMAND, *argv]
    args = build_parser(mods).parse_args(argv)
    if not args.command:
        build_parser(mods).print_help()
        return 2
    return int(mods[args.command].run(args) or 0)

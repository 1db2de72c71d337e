"""Print the desktop viewer's keyboard map, one table per context (reading, editing, video,
review), from app/shell/keymap.py - the table the window itself is built from."""
from __future__ import annotations

NAME = "keys"
HELP = "print the keyboard map of the desktop viewer per context (Markdown)"


def add_arguments(parser) -> None:
    parser.add_argument("--context", default=None, help="only this context (global, reading, editing, video, review)")


def run(args) -> int:
    from app.data.types import LoupeError
    from app.shell import keymap  # plain data: no Qt is imported

    if args.context is not None and args.context not in keymap.CONTEXTS:
        raise LoupeError(f"no keyboard context {args.context!r}; expected one of {', '.join(keymap.CONTEXTS)}")
    text = keymap.markdown()
    if args.context is not None:
        title = f"### {keymap.TITLES[args.context]}"
        part = text[text.index(title):]
        nxt = part.find("\n### ", 1)
        text = part if nxt < 0 else part[:nxt]
    print(text.rstrip())
    return 0

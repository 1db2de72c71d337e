"""One error boundary for every command: whatever goes wrong becomes one line naming the file and
the problem. The full traceback goes to a log file (``~/.loupe/logs/errors.log``) with the user's
folders replaced by their last part, so no patient-named path lands there; ``--debug`` (or
LOUPE_DEBUG=1) prints it instead. Non-UTF-8 file names are shown with backslash escapes, never
as a UnicodeEncodeError."""
from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from app.data.types import LoupeError


def safe_streams() -> None:
    """Undecodable file names (surrogate escapes) print as \\udcxx instead of raising."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
        except (AttributeError, ValueError):
            pass


def _paths_in(argv: Sequence[str]) -> list[str]:
    out = []
    for a in argv:
        if a.startswith("-") or os.sep not in a and not os.path.exists(a):
            continue
        out.append(a)
    return out


def _scrub(text: str, argv: Sequence[str]) -> str:
    """The user's folders (which often carry patient names) reduced to their last part."""
    for a in sorted(_paths_in(argv), key=len, reverse=True):
        for form in {a, os.path.abspath(a)}:
            parent = os.path.dirname(form.rstrip(os.sep))
            if parent and parent not in (os.sep, "."):
                text = text.replace(parent + os.sep, "<dir>" + os.sep)
    return text


def _subject(argv: Sequence[str]) -> str:
    paths = [Path(a).name for a in _paths_in(argv)]
    return f"{paths[0]}: " if paths else ""


def _log(exc: BaseException, argv: Sequence[str]) -> Path | None:
    try:
        from app.paths import user_dir
        folder = user_dir() / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / "errors.log"
        tb = "".join(traceback.format_exception(exc))
        with open(log, "a", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} run_app.py {_scrub(' '.join(argv[:1]), argv)}\n")
            fh.write(_scrub(tb, argv))
        return log
    except OSError:
        return None


def guarded(fn: Callable[[], int], argv: Sequence[str], *, debug: bool = False) -> int:
    """Run a command; exit status 1 with one clear line on any failure, 130 on Ctrl-C."""
    debug = debug or os.environ.get("LOUPE_DEBUG") == "1"
    try:
        return fn()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except LoupeError as exc:
        if debug:
            traceback.print_exc()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except MemoryError:
        print(f"error: {_subject(argv)}out of memory (the file declares more data than this machine "
              "can hold, or it is damaged)", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - the boundary: one line, never a traceback
        if debug:
            traceback.print_exc()
        log = _log(exc, argv)
        detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        where = f" (details in {log})" if log and not debug else ""
        print(f"error: {_subject(argv)}{type(exc).__name__}{': ' + _scrub(detail, argv) if detail else ''}"
              f"{where}", file=sys.stderr)
        return 1

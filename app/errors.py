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
    tb = "".join(traceback.format_exception(exc))
    return _append_log(f"run_app.py {_scrub(' '.join(argv[:1]), argv)}", _scrub(tb, argv))


def _append_log(context: str, text: str) -> Path | None:
    """Append one entry to ``~/.loupe/logs/errors.log``; None when it cannot be written."""
    try:
        from app.paths import user_dir
        folder = user_dir() / "logs"
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / "errors.log"
        with open(log, "a", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {context}\n{text}")
        return log
    except OSError:
        return None


_CODE_ROOTS = tuple({sys.prefix, sys.base_prefix, str(Path(__file__).resolve().parent.parent), "/usr/"})


def scrub_paths_in(text: str) -> str:
    """Every absolute path that is not code (the interpreter, the project) cut to its last part:
    for tracebacks where no argv says which paths are the user's (the desktop's actions)."""
    import re

    def cut(m: re.Match) -> str:
        path = m.group(0)
        if path.startswith(_CODE_ROOTS):
            return path
        return "<dir>/" + path.rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"/(?:[^\s'\"/:,()]+/)+[^\s'\"/:,()]*", cut, text)


def one_line(exc: BaseException) -> str:
    """What a person reads: a LoupeError's own sentence, else the type and the first line of the
    message with user paths cut (the details go to the log)."""
    if isinstance(exc, LoupeError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory (the file declares more data than this machine can hold, or it is damaged)"
    detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return f"{type(exc).__name__}{': ' + scrub_paths_in(detail) if detail else ''}"


def log_exception(exc: BaseException, context: str) -> Path | None:
    """The full traceback, user paths cut, appended to ``~/.loupe/logs/errors.log``."""
    return _append_log(context, scrub_paths_in("".join(traceback.format_exception(exc))))


def failure_line(exc: BaseException, context: str) -> str:
    """For every place that catches a failure to show it: one line; an unexpected exception's
    traceback is logged (a LoupeError already says all there is to say)."""
    if not isinstance(exc, LoupeError):
        log_exception(exc, context)
    return one_line(exc)


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

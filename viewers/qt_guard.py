"""Keep PySide6 6.12 from crashing the interpreter on Python 3.11.

Seen here (PySide6-Essentials 6.12.0 abi3 wheel, CPython 3.11.7): every call of a void Qt method
(``painter.fillRect``, ``widget.update``, ``QTimer.start``, ``QCoreApplication.processEvents`` ...)
returns ``None`` without taking a reference to it, and some bool arguments lose one too. On 3.12+
these singletons are immortal so nothing happens; on 3.11 their reference count falls by one per
call and after a few thousand calls Python aborts with "none_dealloc: deallocating None".

The guard does what 3.12 does: it raises the reference counts of None, True and False far out of
reach (2**40), once per process. These objects are static and never freed, so this changes
nothing else. Import this module before Qt work starts (``viewers`` does it on import)."""
from __future__ import annotations

import ctypes
import sys

_BUMP = 1 << 40
_done = False


def make_singletons_immortal() -> bool:
    """Apply once on CPython < 3.12; returns True when it changed anything."""
    global _done
    if _done or sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += _BUMP  # ob_refcnt is the first field
    _done = True
    return True


make_singletons_immortal()

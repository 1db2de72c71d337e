"""Qt/VTK views. Importing any of them first applies the PySide6-on-3.11 refcount guard."""
from . import qt_guard  # noqa: F401  (see qt_guard.py: PySide6 6.12 drops None refs on Python 3.11)

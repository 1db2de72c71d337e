"""Per-user settings: a QSettings ini file in ``app.paths.user_dir()`` (so tests, which point
LOUPE_HOME at a temporary folder, never touch the real user's file). Only the shell reads it."""
from __future__ import annotations

from PySide6.QtCore import QSettings

from app.paths import user_dir

DEFAULTS = {"layout": "1x1", "tool": "navigate", "cine_fps": 10, "last_dir": "", "crosshair": True,
            "user": ""}


class Settings:
    def __init__(self) -> None:
        self.path = user_dir() / "settings.ini"
        self.q = QSettings(str(self.path), QSettings.IniFormat)

    def get(self, key: str, default=None):
        d = DEFAULTS.get(key, default) if default is None else default
        v = self.q.value(key, d)
        if isinstance(d, bool):
            return v in (True, "true", "1", 1)
        if isinstance(d, int) and not isinstance(d, bool):
            try:
                return int(v)
            except (TypeError, ValueError):
                return d
        return v

    def set(self, key: str, value) -> None:
        self.q.setValue(key, value)

    def sync(self) -> None:
        self.q.sync()

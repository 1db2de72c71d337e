"""A word-wrapped label whose long paths, UIDs and URLs also break. Qt wraps a label only between
words, so one long token (a retrieve folder named by two 60-character UIDs, a path in an error)
sets the label's minimum width: the PACS dock scrolled sideways at ~880 px and the message bar made
the whole window wider than a 1280-px screen, squeezing both dock sides to ~120 px (session-17
walk). Tokens longer than ``LONG`` characters get zero-width break points after / _ . - : ; the
plain text is the tooltip and ``plain()``."""
from __future__ import annotations

import re

from PySide6.QtWidgets import QLabel

LONG = 28
_TOKEN = re.compile(rf"\S{{{LONG + 1},}}")
ZWSP = "\u200b"


def breakable(text: str) -> str:
    """``text`` with break points inside its long tokens (nothing else changes)."""
    return _TOKEN.sub(lambda m: re.sub(r"([/_.:-])", rf"\1{ZWSP}", m.group(0)), text)


class WrappingLabel(QLabel):
    def __init__(self, text: str = "", parent=None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        shown = breakable(text)
        super().setText(shown)
        self.setToolTip(text if shown != text else "")

    def plain(self) -> str:
        return super().text().replace(ZWSP, "")

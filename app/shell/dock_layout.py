"""Where the docks go: three tab groups with short titles, so every tab title reads in full at
1400x900 (ten docks tabbed in one strip showed "Me... P... B... R..."), and docks that never make
the window grow when their contents fill (a panel's minimum size is not allowed to push the window
wider than the screen the reader set it to).

- left, under the studies: ``library`` (Studies, PACS, K-space);
- right, top: ``image`` - what is on the image (Layers, Measurements, Properties, Evidence);
- right, bottom: ``analysis`` - what runs on it and its review (Backends, Vessels, Quality,
  Ultrasound, Review, Report, Audit, Trust).

Docks not listed stay where their builder put them."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QSizePolicy, QTabBar

L, R = Qt.LeftDockWidgetArea, Qt.RightDockWidgetArea
# key -> (area, group, tab title); the first of a group is its anchor, order = tab order
GROUPS: dict[str, tuple] = {
    "studies": (L, "library", "Studies"),
    "pacs": (L, "library", "PACS"),
    "kspace": (L, "library", "K-space"),
    "layers": (R, "image", "Layers"),
    "measurements": (R, "image", "Measure"),
    "properties": (R, "image", "Info"),
    "evidence": (R, "image", "Evidence"),
    "jobs": (R, "analysis", "Backends"),
    "vessels": (R, "analysis", "Vessels"),
    "quality": (R, "analysis", "Quality"),
    "ultrasound": (R, "analysis", "US"),
    "review": (R, "analysis", "Review"),
    "report": (R, "analysis", "Report"),
    "audit": (R, "analysis", "Audit"),
    "trust": (R, "analysis", "Trust"),
}
FRONT = {"library": "studies", "image": "layers", "analysis": "jobs"}   # the tab shown first
WIDTHS = {L: 250, R: 430}


class _NoGrow(QObject):
    """Gives each widget a dock receives an Ignored size policy: its minimum size no longer
    propagates to the window (which otherwise grows when a table fills)."""

    def eventFilter(self, obj, ev) -> bool:
        if ev.type() in (QEvent.ChildAdded, QEvent.ChildPolished):
            w = obj.widget()
            if w is not None and w.sizePolicy().horizontalPolicy() != QSizePolicy.Ignored:
                w.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Ignored)
        return False


def keep_window_size(dock) -> None:
    f = dock.findChild(_NoGrow)
    if f is None:
        f = _NoGrow(dock)
        dock.installEventFilter(f)
    if dock.widget() is not None:
        dock.widget().setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Ignored)


def arrange(win) -> None:
    """Put ``win.docks`` into their groups (tabbed, in order), set the short titles, show the front
    tab of each group and give the side areas readable widths."""
    anchors: dict[str, object] = {}
    for key, (area, group, title) in GROUPS.items():
        d = win.docks.get(key)
        if d is None:
            continue
        d.setWindowTitle(title)
        d.toggleViewAction().setText(title)
        keep_window_size(d)
        if d.isFloating():
            continue
        anchor = anchors.get(group)
        if anchor is None:
            win.removeDockWidget(d)
            win.addDockWidget(area, d)
            first_of_side = next((a for g, a in anchors.items() if win.dockWidgetArea(a) == area), None)
            if first_of_side is not None:
                win.splitDockWidget(first_of_side, d, Qt.Vertical)
            anchors[group] = d
            d.show()
        else:
            win.tabifyDockWidget(anchor, d)
    for group, key in FRONT.items():
        if key in win.docks and group in anchors:
            win.docks[key].raise_()
    docks = [win.docks[k] for k in ("studies", "layers") if k in win.docks]
    win.resizeDocks(docks, [WIDTHS[win.dockWidgetArea(d)] for d in docks], Qt.Horizontal)
    for d in win.docks.values():
        keep_window_size(d)


def elided_tabs(win) -> list[str]:
    """Titles of dock tabs drawn shorter than their text (empty when every title reads in full)."""
    out = []
    for bar in win.findChildren(QTabBar):
        if not bar.isVisible():
            continue
        fm = bar.fontMetrics()
        for i in range(bar.count()):
            need = fm.horizontalAdvance(bar.tabText(i))
            rect = bar.tabRect(i)
            if rect.width() < need + 8 or rect.right() > bar.width():
                out.append(bar.tabText(i))
    return out

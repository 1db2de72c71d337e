"""Where the docks go: three tab groups with short titles, so every tab title reads in full at
1400x900 (ten docks tabbed in one strip showed "Me... P... B... R..."), and dock contents in scroll
areas, so a panel that fills never makes the window grow.

- left, top: ``library`` (Studies, PACS, K-space);
- left, bottom: ``review`` - decisions and their record (Review, Report, Audit, Trust);
- right, top: ``image`` - what is on the image (Layers, Measurements, Properties, Evidence);
- right, bottom: ``analysis`` - what runs on it (Backends, Vessels, Quality, Ultrasound).

Docks not listed stay where their builder put them."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QTabBar

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
    "review": (L, "review", "Review"),
    "report": (L, "review", "Report"),
    "audit": (L, "review", "Audit"),
    "trust": (L, "review", "Trust"),
}
#: saved with the reader's dock arrangement; a saved arrangement of another version is not restored
#: (bump it when GROUPS change, so an old arrangement cannot hide a new dock)
LAYOUT_VERSION = 2
FRONT = {"library": "studies", "review": "review", "image": "layers", "analysis": "jobs"}   # shown first
WIDTHS = {L: 320, R: 400}


def scrolled(widget):
    """``widget`` in a scroll area for its dock: its minimum size stays its own (forms are not
    squashed) but no longer pushes the window larger; scroll bars appear instead."""
    from PySide6.QtWidgets import QFrame, QScrollArea

    area = QScrollArea()
    area.setObjectName("dock_scroll")
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.NoFrame)
    area.setWidget(widget)
    return area


def content(dock):
    """The panel inside ``dock`` (through its scroll area)."""
    w = dock.widget()
    return w.widget() if w is not None and w.objectName() == "dock_scroll" else w


def arrange(win) -> None:
    """Put ``win.docks`` into their groups (tabbed, in order), set the short titles, show the front
    tab of each group and give the side areas readable widths."""
    placed = []
    for key, (area, group, title) in GROUPS.items():
        d = win.docks.get(key)
        if d is None:
            continue
        d.setWindowTitle(title)
        d.toggleViewAction().setText(title)
        if not d.isFloating():
            placed.append((d, area, group))
    anchors: dict[str, object] = {}
    for d, area, group in placed:
        anchor = anchors.get(group)
        if anchor is None:   # a group's first dock: a new section of its side, below the ones before
            win.addDockWidget(area, d, Qt.Vertical)
            anchors[group] = d
        else:
            win.tabifyDockWidget(anchor, d)
        d.show()
    for group, key in FRONT.items():
        if key in win.docks and group in anchors:
            win.docks[key].raise_()
    sizes(win)
    QTimer.singleShot(100, win, lambda: sizes(win))   # again once the new sections are laid out


def restore_or_arrange(win, state) -> bool:
    """The reader's own arrangement from the last session when one of this version was saved
    (True), else the default groups. The default is applied first either way, so docks the saved
    arrangement does not know (new in this version) still land in their groups."""
    arrange(win)
    return bool(state) and bool(win.restoreState(state, LAYOUT_VERSION))


def join_group(win, key: str) -> None:
    """A dock made after start-up (the Evidence dock, on the first video): back where the reader
    had it last session, else tabbed into its group - without re-arranging the others."""
    d = win.docks[key]
    if win.restoreDockWidget(d):
        return
    area, group, title = GROUPS[key]
    d.setWindowTitle(title)
    d.toggleViewAction().setText(title)
    mates = [win.docks[k] for k, (_a, g, _t) in GROUPS.items()
             if g == group and k != key and k in win.docks and not win.docks[k].isFloating()
             and win.dockWidgetArea(win.docks[k]) == area]
    if mates:
        win.tabifyDockWidget(mates[0], d)
    else:
        win.addDockWidget(area, d)


def sizes(win) -> None:
    """Readable widths for the sides, and the top / bottom groups of each side split about 60 / 40."""
    docks = [win.docks[k] for k in ("studies", "layers") if k in win.docks]
    win.resizeDocks(docks, [WIDTHS[win.dockWidgetArea(d)] for d in docks], Qt.Horizontal)
    for top, bottom, split in (("studies", "review", (420, 420)), ("layers", "jobs", (420, 420))):
        if top in win.docks and bottom in win.docks:
            win.resizeDocks([win.docks[top], win.docks[bottom]], list(split), Qt.Vertical)


def keep_readable(win) -> None:
    """Widen a side that another view squeezed below its readable width (the video workspace takes
    width from the docks); a side the reader made wider is left as it is."""
    narrow = []
    for area, width in WIDTHS.items():   # a tab on screen in each side stands for the side
        shown = [d for d in win.docks.values() if win.dockWidgetArea(d) == area and d.isVisible()
                 and not d.isFloating()]
        low = [d for d in shown if not d.visibleRegion().isEmpty() and d.width() < width - 4]
        if low:
            narrow.append(low[0])
    if narrow:
        win.resizeDocks(narrow, [WIDTHS[win.dockWidgetArea(d)] for d in narrow], Qt.Horizontal)


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

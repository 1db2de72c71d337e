"""Default command: open the desktop window on the bundled sample study (or PATH)."""
from __future__ import annotations

NAME = "gui"
HELP = "open the desktop viewer (default command) on PATH or the bundled sample study"


def add_arguments(parser) -> None:
    parser.add_argument("path", nargs="?", help="file or folder to open (default: bundled sample)")
    parser.add_argument("--layout", choices=["1x1", "mpr", "2x2", "3d"],
                        help="initial layout (default: MPR for the bundled sample, else the saved one)")
    parser.add_argument("--quit-after", type=float, default=None, metavar="S",
                        help="close the window after S seconds (smoke tests, start-up timing)")
    parser.add_argument("--exit-when-opened", action="store_true",
                        help="close as soon as the image is fully shown (smoke tests)")
    parser.add_argument("--server", metavar="URL", default=None,
                        help="run backends on a remote Loupe server (token in LOUPE_SERVER_TOKEN)")
    parser.add_argument("--quit-after-paint", action="store_true",
                        help=f"exit with code 0 right after the first slice is painted (smoke tests; "
                             f"also set by the environment variable {QUIT_ENV}=1)")


QUIT_ENV = "LOUPE_QUIT_AFTER_PAINT"


def run(args) -> int:
    import os
    import sys
    import time

    t0 = time.perf_counter()
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from app.paths import SAMPLE_STUDY
    from app.shell.main_window import MainWindow

    if args.server:
        os.environ["LOUPE_SERVER"] = args.server
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Loupe")
    win = MainWindow()
    from app.shell.error_boundary import ErrorBoundary
    ErrorBoundary(win).install()   # any failing action: one line in the window, traceback to the log
    target = args.path or (str(SAMPLE_STUDY) if SAMPLE_STUDY.exists() else None)
    layout = args.layout or (None if args.path else "mpr")   # no arguments: the sample in MPR
    if layout:
        win.settings.set("layout", layout)
    win.show()
    if args.quit_after_paint or os.environ.get(QUIT_ENV, "") not in ("", "0"):
        win.first_painted.connect(lambda dt: (print(f"first paint {dt:.3f} s after open", file=sys.stderr),
                                              QTimer.singleShot(0, win.close)))
    if target:
        win.open_path(target)
    else:
        win.message.show_message(f"bundled sample study not found at {SAMPLE_STUDY}; open a file or folder",
                                 error=False)
    if args.exit_when_opened:
        win.opened.connect(lambda _m: QTimer.singleShot(200, win.close))
    if args.quit_after is not None or args.exit_when_opened:
        if args.quit_after is not None:
            QTimer.singleShot(int(args.quit_after * 1000), win.close)
        win.opened.connect(lambda m: print(f"opened: {m.volume.meta.get('modality', '')} "
                                           f"{'x'.join(map(str, m.volume.spatial_shape))} {m.units}",
                                           file=sys.stderr))
    QTimer.singleShot(0, lambda: print(f"window up in {time.perf_counter() - t0:.3f} s", file=sys.stderr)
                      if args.quit_after is not None or args.exit_when_opened else None)
    return int(app.exec())

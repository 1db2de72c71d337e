"""Render the viewer offscreen to a PNG: the same SliceView widgets the window uses (letters, scale
bar, overlays, measurements), so scripted checks see what a reader sees."""
from __future__ import annotations

NAME = "screenshot"
HELP = "render PATH in the slice viewer (1x1, MPR or 3D), or several files as a case board, to a PNG"


def add_arguments(parser) -> None:
    parser.add_argument("path", nargs="+", help="image file or folder (DICOM series, NIfTI, PNG, ...); "
                        "several with --layout board")
    parser.add_argument("--out", required=True, help="output PNG")
    parser.add_argument("--layout", choices=["1x1", "mpr", "3d", "board"], default="1x1",
                        help="board: every PATH whole in its own cell with a caption (case board)")
    parser.add_argument("--view", choices=["axial", "coronal", "sagittal"], default=None,
                        help="plane for the 1x1 layout (default: the acquisition plane)")
    parser.add_argument("--slice", type=int, default=None, metavar="K",
                        help="0-based slice of the (first) view; default the middle")
    parser.add_argument("--at", default=None, metavar="X,Y,Z",
                        help="crosshair position, world LPS mm (which planes the views cut)")
    parser.add_argument("--frame", type=int, default=0, help="0-based frame of a time series / multi-frame image")
    parser.add_argument("--window", type=float, default=None, help="window width (with --level)")
    parser.add_argument("--level", type=float, default=None, help="window centre (with --window)")
    parser.add_argument("--preset", default=None,
                        help="window preset key (ct_brain, ct_bone, ..., auto); with --layout 3d the volume "
                             "rendering preset (ct_bone, ct_angio, mr_default, mip, ...; default auto)")
    parser.add_argument("--invert", action="store_true", help="invert the grey scale")
    parser.add_argument("--overlay", action="append", default=[], metavar="MASK",
                        help="label map (NIfTI / PNG) to overlay; repeatable")
    parser.add_argument("--size", type=int, default=512, help="pixel size of one view (square)")
    parser.add_argument("--volume-preset", default=None,
                        help="3D preset (assets/presets/volume); same as --preset in the 3d layout")


def volume_preset_name(args) -> str:
    """The 3D preset: --volume-preset, else --preset (the issue's ``--layout 3d --preset NAME``),
    else "auto" (CT bone for CT, MR default otherwise)."""
    return args.volume_preset or args.preset or "auto"


def render(args):
    """Build the views for ``args`` and return the QImage (kept separate for tests)."""
    import os

    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from app.data.open import ReadOptions, best_volume, examine, load
    from app.data.types import LoupeError
    from app.scene.render2d import WindowLevel, preset
    from app.shell.label_io import label_layer_from_file
    from app.shell.viewer_area import ViewerArea
    from viewers.slice.model import ViewerModel

    _app = QApplication.instance() or QApplication([])  # kept alive while the views paint
    paths = args.path if isinstance(args.path, list) else [args.path]
    if args.layout == "board":
        from app.shell.case_board import render_board

        return render_board(paths, size=args.size)
    if len(paths) > 1:
        raise LoupeError(f"{len(paths)} paths given: only --layout board shows several images")
    args.path = paths[0]
    opts = ReadOptions(equidistant=True)
    cand = examine(args.path, opts)[0]
    vol = best_volume(load(cand, opts))
    model = ViewerModel(vol, name=cand.label, source_file=cand.files[0] if cand.files else None)
    if (args.window is None) != (args.level is None):
        raise LoupeError("--window and --level go together")
    if args.window is not None:
        model.set_window(WindowLevel(args.window, args.level, model.wl.invert))
    elif args.preset and args.layout != "3d":  # in 3D, --preset names the volume preset
        model.set_window(preset(args.preset, vol.array, model.wl.invert))
    if args.invert:
        model.set_window(WindowLevel(model.wl.width, model.wl.level, not model.wl.invert))
    if args.frame:
        if not 0 <= args.frame < model.n_frames:
            raise LoupeError(f"{args.path}: --frame {args.frame} outside 0..{model.n_frames - 1}")
        model.set_frame(args.frame)
    if args.at:
        try:
            xyz = [float(v) for v in args.at.split(",")]
            assert len(xyz) == 3
        except (ValueError, AssertionError):
            raise LoupeError(f"--at wants three numbers X,Y,Z in mm, got {args.at!r}") from None
        model.set_cursor(xyz)
    for mask in args.overlay:
        model.add_layer(label_layer_from_file(mask, vol))
    if args.layout == "3d":
        from viewers.volume import render_offscreen

        name = volume_preset_name(args)
        rgb = render_offscreen(vol, model.layers[1:], size=(args.size, args.size), preset=name)
        import numpy as np
        from PySide6.QtGui import QImage

        rgb = np.ascontiguousarray(rgb)
        return QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0], QImage.Format_RGB888).copy()
    area = ViewerArea(model, args.layout, single_view=args.view)
    n = len(area.views)
    area.resize(args.size * n + 2 * (n - 1), args.size)
    if args.slice is not None:
        from app.scene import mpr

        first = area.views[0]
        idx, count = mpr.slice_position(vol.affine, vol.spatial_shape, model.plane(first.view_name))
        if not 0 <= args.slice < count:
            raise LoupeError(f"{args.path}: --slice {args.slice} outside 0..{count - 1} of the {first.view_name} view")
        model.step(first.view_name, args.slice - idx)
    area.show()
    from PySide6.QtCore import QEventLoop

    QEventLoop().processEvents()  # (QCoreApplication.processEvents leaks None refs in PySide6 6.12)
    img = area.grab().toImage()
    area.close()
    return img


def run(args) -> int:
    from pathlib import Path

    img = render(args)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not img.save(str(out)):
        from app.data.types import LoupeError

        raise LoupeError(f"{out}: could not write the PNG")
    print(f"wrote {out} ({img.width()}x{img.height()})")
    return 0

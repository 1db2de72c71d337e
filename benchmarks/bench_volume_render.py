"""Frames per second re-rendering the 512x512x140 head CT at a 512x512 viewport while rotating
(camera azimuth per frame), CT-bone preset, shaded, in the same process:

  gpu        vtkSmartVolumeMapper, GPU ray casting (the default where OpenGL is hardware)
  smart_cpu  vtkSmartVolumeMapper.SetRequestedRenderModeToRayCast() (the usual software fallback)
  cpu        Loupe's still quality: fixed-point CPU ray caster, full resolution, 1-voxel samples
  adaptive   Loupe's interactive quality (what a mouse drag gets): every 2nd pixel, VTK adapting
             1.5-4 to the window's desired update rate (10 fps), 2-voxel samples

Usage: python benchmarks/bench_volume_render.py [--frames N] [--size 512] [--modes gpu,cpu,...]
Prints the GL renderer string, fps per mode and each mode's speed-up over GPU mode."""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from common import data_root  # noqa: E402  (puts the project on sys.path)

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkOSOpenGLRenderWindow")


def run_mode(off, mode: str, frames: int, degrees: float) -> tuple[float, float]:
    from vtkmodules.vtkRenderingVolumeOpenGL2 import vtkSmartVolumeMapper
    scene = off.scene
    actor = scene.actor
    actor.set_interactive(False)
    off.window.SetDesiredUpdateRate(0.0001)
    if mode == "smart_cpu":
        m = vtkSmartVolumeMapper()
        m.SetRequestedRenderModeToRayCast()
        m.SetInputData(actor.grid.image)
        m.SetBlendModeToComposite()
        actor.volume.SetMapper(m)
    else:
        actor.set_mode("gpu" if mode == "gpu" else "cpu")
        actor.volume.SetMapper(actor.mapper)
        actor.apply(scene.tf)
        if mode == "adaptive":
            actor.set_interactive(True)
            off.window.SetDesiredUpdateRate(10.0)  # what vtkRenderWindowInteractor sets while dragging
    scene.set_camera("A")
    cam = scene.renderer.GetActiveCamera()
    off.window.Render()  # warm-up: texture upload / gradient tables
    times = []
    for _ in range(frames):
        cam.Azimuth(degrees)
        t0 = time.perf_counter()
        off.window.Render()
        times.append(time.perf_counter() - t0)
    total = sum(times)
    return frames / total, statistics.median(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--gpu-frames", type=int, default=3, help="frames for GPU mode (slow in software GL)")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--degrees", type=float, default=3.0)
    ap.add_argument("--modes", default="gpu,smart_cpu,cpu,adaptive")
    ap.add_argument("--save", default=None, metavar="DIR", help="write each mode's last frame as PNG")
    args = ap.parse_args(argv)

    from app.data.open import open_path
    from viewers.volume import OffscreenScene
    from viewers.volume.volume_actor import gl_renderer_string

    t0 = time.perf_counter()
    vol = open_path(data_root() / "dicom" / "dcm_qa_ct_philips_head_140")[0]
    print(f"head CT {vol.array.shape} {vol.array.dtype} loaded in {time.perf_counter() - t0:.2f} s")
    off = OffscreenScene((args.size, args.size))
    t0 = time.perf_counter()
    off.scene.set_volume(vol, preset="ct_bone")
    off.scene.set_camera("A")
    off.render()
    print(f"scene build + first frame: {time.perf_counter() - t0:.2f} s; auto mode chose '{off.scene.mode}'")
    print(f"GL renderer: {gl_renderer_string(off.window)}; viewport {args.size}x{args.size}; "
          f"{os.cpu_count()} CPU threads")
    results = {}
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        n = args.gpu_frames if mode == "gpu" else args.frames
        fps, med = run_mode(off, mode, n, args.degrees)
        results[mode] = fps
        if args.save:
            from PIL import Image

            from viewers.volume.offscreen import grab
            os.makedirs(args.save, exist_ok=True)
            Image.fromarray(grab(off.window)).save(os.path.join(args.save, f"{mode}.png"))
        print(f"{mode:>10}: {fps:6.2f} fps  (median frame {med * 1000:7.1f} ms, {n} frames)")
    if "gpu" in results:
        for mode, fps in results.items():
            if mode != "gpu":
                print(f"{mode:>10} / gpu: {fps / results['gpu']:.1f}x")
    if "adaptive" in results:
        print(f"adaptive goal >= 5 fps in software: {'met' if results['adaptive'] >= 5 else 'NOT met'}")
    off.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

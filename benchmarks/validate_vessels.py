"""Validate the vessel backends on real data and print the README table.

DRIVE test 01-10 (inside the FOV mask): Dice, clDice, Betti-0/Betti-1 errors of Loupe against the
first observer, with the second observer's figures against the first beside them. VMTK aorta:
centreline inside the VMTK lumen, VMTK centreline coverage within one radius, radius MAE, time.
Usage: python benchmarks/validate_vessels.py [--method auto|unet|frangi]
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from common import data_root


def drive(method: str) -> None:
    from PIL import Image

    from backends.vessels.fundus import segment_fundus
    from backends.vessels.metrics import betti_errors, cldice, dice

    d = data_root() / "retina" / "DRIVE" / "test"
    rows, times = [], []
    for idx in range(1, 11):
        rgb = np.asarray(Image.open(d / "images" / f"{idx:02d}_test.tif").convert("RGB"))
        fov = np.asarray(Image.open(d / "mask" / f"{idx:02d}_test_mask.gif")) > 127
        ref = np.asarray(Image.open(d / "1st_manual" / f"{idx:02d}_manual1.gif")) > 127
        obs2 = np.asarray(Image.open(d / "2nd_manual" / f"{idx:02d}_manual2.gif").convert("L")) > 127
        t0 = time.perf_counter()
        res = segment_fundus(rgb, method=method)  # FOV estimated from the photo, as in use
        times.append(time.perf_counter() - t0)
        b0, b1 = betti_errors(res.mask, ref, fov)
        o0, o1 = betti_errors(obs2, ref, fov)
        rows.append([dice(res.mask, ref, fov), cldice(res.mask, ref, fov), b0, b1,
                     dice(obs2, ref, fov), cldice(obs2, ref, fov), o0, o1])
        print(f"  {idx:02d}: Dice {rows[-1][0]:.3f} clDice {rows[-1][1]:.3f} B0err {b0} B1err {b1} "
              f"| obs2 Dice {rows[-1][4]:.3f} clDice {rows[-1][5]:.3f} B0err {o0} B1err {o1} | {times[-1]:.2f} s")
    m = np.mean(rows, 0)
    print(f"DRIVE test 01-10 ({res.method}) | Loupe: Dice {m[0]:.3f}, clDice {m[1]:.3f}, Betti-0 err {m[2]:.1f}, "
          f"Betti-1 err {m[3]:.1f} | 2nd observer: Dice {m[4]:.3f}, clDice {m[5]:.3f}, Betti-0 err {m[6]:.1f}, "
          f"Betti-1 err {m[7]:.1f} | {np.median(times):.2f} s/image (median)")


def aorta() -> None:
    import SimpleITK as sitk

    from app.data.readers.itk import read_itk
    from backends.vessels.angio import segment_angio
    from backends.vessels.evaluate import centerline_agreement, reference_centerline

    d = data_root() / "vessel3d" / "vmtk_aorta"
    vol = read_itk(d / "aorta.mha")
    t0 = time.perf_counter()
    res = segment_angio(vol)
    dt = time.perf_counter() - t0
    lumen = sitk.GetArrayFromImage(sitk.ReadImage(str(d / "aorta-final-levelset.mha"))) < 0
    ref, ref_r, ends = reference_centerline(d / "aorta-centerline.vtp")
    g = res.graph
    s = centerline_agreement(g.pos, g.radius, g.edges, g.branch_of_edge, ref, ref_r, ends, lumen, vol)
    print(f"VMTK aorta | inside lumen {s['inside']:.1%} of {s['points_on_reference']} points on the VMTK vessels "
          f"({s['inside_all_points']:.1%} of all {len(res.graph.pos)} points, most others are vessels VMTK did not "
          f"segment) | coverage {s['coverage']:.1%} | radius MAE {s['radius_mae_mm']:.2f} mm | {dt:.1f} s")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--method", default="auto", choices=["auto", "unet", "frangi"])
    ap.add_argument("--only", choices=["drive", "aorta"])
    a = ap.parse_args()
    if a.only != "aorta":
        drive(a.method)
    if a.only != "drive":
        aorta()

"""Vessel backend speed against a peer in the same run.

2D: Loupe's full fundus pipeline (U-Net + skeleton graph + clean-up) per DRIVE test image, against
scikit-image's Frangi filter alone on the same green channel (a common classical baseline).
3D: Loupe's vessels3d on the VMTK aorta MRA (vesselness + lumen + graph), against scikit-image's
3D Frangi alone at the same number of scales. Goals: 2D < 1 s per image, 3D < 10 s."""
from __future__ import annotations

import time

import numpy as np
from common import best_of, data_root


def main() -> None:
    from PIL import Image
    from skimage.filters import frangi

    from app.data.readers.itk import read_itk
    from backends.vessels.angio import segment_angio
    from backends.vessels.fundus import segment_fundus

    d = data_root() / "retina" / "DRIVE" / "test" / "images"
    imgs = [np.asarray(Image.open(d / f"{i:02d}_test.tif").convert("RGB")) for i in (1, 4, 7)]
    segment_fundus(imgs[0])  # load weights once, as a running backend does
    t_l = np.median([best_of(lambda im=im: segment_fundus(im), 2) for im in imgs])
    t_f = np.median([best_of(lambda im=im: frangi(im[..., 1] / 255.0, sigmas=(1, 1.5, 2, 3, 4),
                                                   black_ridges=True), 2) for im in imgs])
    print(f"2D fundus (584x565): Loupe full pipeline {t_l:.2f} s/image | skimage Frangi alone {t_f:.2f} s "
          f"| ratio {t_l / t_f:.2f}x | goal < 1 s: {'met' if t_l < 1 else 'NOT met'}")
    vol = read_itk(data_root() / "vessel3d" / "vmtk_aorta" / "aorta.mha")
    t0 = time.perf_counter()
    segment_angio(vol)
    t_l3 = time.perf_counter() - t0
    arr = np.asarray(vol.array, np.float32)
    t0 = time.perf_counter()
    frangi(arr / arr.max(), sigmas=(1, 2, 3, 4.5, 6), black_ridges=False)
    t_f3 = time.perf_counter() - t0
    print(f"3D aorta (34x393x157): Loupe vessels3d {t_l3:.1f} s | skimage 3D Frangi alone {t_f3:.1f} s "
          f"| ratio {t_l3 / t_f3:.2f}x | goal < 10 s: {'met' if t_l3 < 10 else 'NOT met'}")


if __name__ == "__main__":
    main()

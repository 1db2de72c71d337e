"""Declaration of the ``mri-recon`` backend (cheap to import: no numpy work, no solver code)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from backends.base import BackendSpec
from backends.params import Help, Params, Range


@dataclass(frozen=True)
class MriReconParams(Params):
    method: Annotated[Literal["cs-wavelet-tv", "cs-wavelet", "cs-tv", "sense", "zero-filled"],
                      Help("compressed sensing (wavelet l1 plus total variation, wavelet l1 alone or "
                           "total variation alone; FISTA), CG-SENSE, or zero-filled "
                           "root-sum-of-squares")] = "cs-wavelet-tv"
    weight: Annotated[float, Range(0.0, 10.0),
                      Help("regularisation weight; 0 = choose per case by k-space cross-validation")] = 0.0
    iterations: Annotated[int, Range(1, 1000), Help("iterations of the final solve")] = 60
    cv_iterations: Annotated[int, Range(1, 500), Help("iterations per candidate weight in cross-validation")] = 20
    cv_folds: Annotated[int, Range(1, 10),
                        Help("disjoint held-back sets averaged by the cross-validation")] = 4
    output: Annotated[Literal["rss", "image"],
                      Help("rss: root-sum-of-squares of the coil images with the acquired samples "
                           "kept (missing ones predicted); image: the regularised SENSE image")] = "rss"
    calib: Annotated[int, Range(8, 64), Help("largest calibration centre used for ESPIRiT (samples)")] = 24
    readout: Annotated[Literal["auto", "kspace", "image"],
                       Help("3D data: is the readout still k-space, or already inverse-transformed "
                            "(BART's hybrid convention)?")] = "auto"
    axes: Annotated[str, Help(".npy/.npz without declared axes: comma list, e.g. coil,phase1,read")] = ""


SPEC = BackendSpec(
    name="mri-recon", version="1.1.0", inputs=("kspace",), params=MriReconParams,
    outputs=("image", "file", "findings"), impl="backends.mri.model:MriRecon", devices=("cpu",),
    requires_modules=("scipy", "pywt", "h5py"),
    description="MRI reconstruction from multi-coil Cartesian k-space: ESPIRiT coil maps, CG-SENSE "
                "or compressed sensing (wavelet + TV, FISTA) with the weight chosen per case by "
                "k-space cross-validation over disjoint held-back folds")

"""Expected results per real DICOM dataset in ../shared/data/dicom (STYLE.md section 3).

Every value here was taken from dcm2niix output, never from Loupe: the repository's own ``ref/``
NIfTIs (dcm2niix regression references) and, for the CTs that ship none, dcm2niix v1.0.20260724
(the pinned pip package, flags ``-b y -z n -i y -f %p_%s``) run on the same files. The tests
re-run dcm2niix where there is no ``ref/``, so a change in either program fails loudly.

``canonical_sha``: first 16 hex digits of sha256 over the stored (unscaled) voxel bytes after
a lossless flip/permutation to the closest RAS axes (``canonical_raw``), so it identifies the image
independently of the voxel layout a converter picked. ``loupe_*``: the Loupe Volume for the same
series (array shape (t, k, j, i) and LPS orientation letters of i, j, k).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Ref:
    dataset: str  # folder under data/dicom
    name: str  # 'ref/<file>' or 'dcm2niix:<file>'
    shape: tuple[int, ...]  # NIfTI shape (x, y, z[, t])
    dtype: str
    slope_inter: tuple[float, float]
    codes: str  # nibabel RAS axis codes
    canonical_sha: str
    affine_ras: list
    loupe_shape: tuple[int, ...] = ()
    loupe_letters: str = ""
    # True where dcm2niix reoriented a single-volume 3D acquisition to the grid nearest RAS
    # (nii_setOrtho) instead of flipping rows: the Loupe Volume keeps DICOM order, so its affine
    # equals the reference only after both are brought to the closest RAS axes
    ortho_3d: bool = False
    # False where slices are unevenly spaced: one NIfTI affine cannot hold the stack (dcm2niix says
    # so itself, "incompatible with NIfTI"); dcm2niix then writes k = (0, 0, first gap along the
    # normal), Loupe the mean step. Voxels, i, j and origin are still compared; the _Tilt_Eq
    # resampled volume carries the exact geometry.
    k_column_defined: bool = True


REFS = [
    Ref('dcm_qa_enh_philips_enhanced', 'ref/Philips_WIP_B0_NS_801_e1.nii', shape=(64, 64, 32), dtype='int16',
        slope_inter=(118362.2421875, 0.0), codes='RAS',
        canonical_sha='9d514f2eba1d7410',
        affine_ras=[[4.0, 0.0, 0.00011, -124.75702], [0.0, 4.0, 0.0, -132.22339], [-0.00011, 0.0, 4.0, -38.34768], [0.0, 0.0, 0.0, 1.0]],
        loupe_shape=(32, 64, 64), loupe_letters='LPS', ortho_3d=True),
    Ref('dcm_qa_enh_philips_enhanced', 'ref/Philips_WIP_B0_NS_801_e2_fieldmaphz.nii', shape=(64, 64, 32), dtype='int16',
        slope_inter=(0.24420166015625, -499.99993896484375), codes='RAS',
        canonical_sha='4bba617aec16def1',
        affine_ras=[[4.0, 0.0, 0.00011, -124.75702], [0.0, 4.0, 0.0, -132.22339], [-0.00011, 0.0, 4.0, -38.34768], [0.0, 0.0, 0.0, 1.0]],
        loupe_shape=(32, 64, 64), loupe_letters='LPS', ortho_3d=True),
    Ref('dcm_qa_enh_siemens_xa10_enhanced', 'ref/Siemens_REST1_w_SMS_PF7-8_6.nii', shape=(64, 64, 6, 4), dtype='int16',
        slope_inter=(1.0, 0.0), codes='LAS',
        canonical_sha='0a77029d7e4e5744',
        affine_ras=[[-3.375, -0.0, 0.0, 109.79], [0.0, 3.375, 0.0, -154.14771], [0.0, -0.0, 2.4, -5.40335], [0.0, 0.0, 0.0, 1.0]],
        loupe_shape=(4, 6, 64, 64), loupe_letters='LPS'),
    Ref('dcm_qa_nih_GE_axial_epi', 'ref/DCM2NIIX_regression_test_4.nii', shape=(64, 64, 15, 10), dtype='int16',
        slope_inter=(1.0, 0.0), codes='LAS',
        canonical_sha='aa88ff80036c0d0e',
        affine_ras=[[-3.75, 0.0, -0.0, 118.125], [-0.0, 3.75, -0.0, -92.90601], [0.0, 0.0, 5.0, -17.6875], [0.0, 0.0, 0.0, 1.0]],
        loupe_shape=(10, 15, 64, 64), loupe_letters='LPS'),
    Ref('dcm_qa_philips_oblique_epi', 'ref/EPI_asc_CLEAR_201.nii', shape=(64, 64, 9, 3), dtype='int16',
        slope_inter=(233.4245147705078, 0.0), codes='LAS',
        canonical_sha='84bb4765d0f615cd',
        affine_ras=[[-3.64995, 0.0, 1.8356, 123.66315], [-0.0, 3.75, -0.0, -120.63336], [0.86044, 0.0, 7.78656, -27.9109], [0.0, 0.0, 0.0, 1.0]],
        loupe_shape=(3, 9, 64, 64), loupe_letters='LPS'),
    Ref('dcm_qa_siemens_mosaic_jpeglossless', 'ref/fMRI_MB_asc_25.nii', shape=(86, 86, 36, 2), dtype='int16',
        slope_inter=(1.0, 0.0), codes='LAS',
        canonical_sha='54529366c56bd834',
        affine_ras=[[-2.69767, -0.0, 0.0, 115.99998], [-0.0, 2.6542, -0.64369, -58.80757], [0.0, 0.48235, 3.54199, -93.13934], [0.0, 0.0, 0.0, 1.0]],
        loupe_shape=(2, 36, 86, 86), loupe_letters='LPS'),
    Ref('dcm_qa_siemens_mosaic_sagittal', 'ref/sag_asc_35sl_22.nii', shape=(64, 64, 35, 2), dtype='int16',
        slope_inter=(1.0, 0.0), codes='PSL',
        canonical_sha='da12e9d1c5a99b8f',
        affine_ras=[[0.0, 0.0, -3.6, 61.2], [-3.25, 0.0, 0.0, 140.31964], [0.0, 3.25, 0.0, -126.17371], [0.0, 0.0, 0.0, 1.0]],
        loupe_shape=(2, 35, 64, 64), loupe_letters='PIR'),
    Ref('dcm_qa_ct_GE_gantry_tilt', 'dcm2niix:_2.nii', shape=(512, 512, 28), dtype='int16',
        slope_inter=(1.0, 0.0), codes='LAS',
        canonical_sha='72f79b240cf1a027',
        affine_ras=[[-0.48828, 0.0, -0.0, 125.0], [-0.0, 0.46305, 0.0, -113.07737], [0.0, 0.15493, 4.00193, -73.33517], [0.0, 0.0, 0.0, 1.0]],
        loupe_shape=(28, 512, 512), loupe_letters='LPS', k_column_defined=False),
    Ref('dcm_qa_ct_GE_gantry_tilt', 'dcm2niix:_2_Tilt_Eq_1.nii', shape=(512, 611, 56), dtype='int16',
        slope_inter=(1.0, 0.0), codes='LAS',
        canonical_sha='a6ec4c3d9dea789c',
        affine_ras=[[-0.48828, 0.0, -0.0, 125.0], [0.0, 0.46305, -0.83127, -113.07737], [0.0, 0.15493, 2.48441, -73.33517], [0.0, 0.0, 0.0, 1.0]],
        loupe_shape=(56, 611, 512), loupe_letters='LPS'),
    Ref('dcm_qa_ct_philips_head_140', 'dcm2niix:1A_TRAUMA_PLAIN_HEAD_DM_Head_202.nii', shape=(512, 512, 140), dtype='int16',
        slope_inter=(1.0, -1024.0), codes='LAS',
        canonical_sha='121c0894b74ccccd',
        affine_ras=[[-0.45117, 0.0, -0.0, 115.5], [-0.0, 0.45117, -0.0, -228.69882], [0.0, 0.0, 1.0, 694.21002], [0.0, 0.0, 0.0, 1.0]],
        loupe_shape=(140, 512, 512), loupe_letters='LPS'),
    Ref('dcm_qa_ct_philips_phantom', 'dcm2niix:1A_TRAUMA_PLAIN_HEAD_DM_Head_201.nii', shape=(512, 512, 28), dtype='int16',
        slope_inter=(1.0, -1024.0), codes='LAS',
        canonical_sha='9b4a035e0538a2de',
        affine_ras=[[-0.45117, 0.0, -0.0, 115.5], [-0.0, 0.45117, -0.0, -228.69882], [0.0, 0.0, 5.0, 696.21002], [0.0, 0.0, 0.0, 1.0]],
        loupe_shape=(28, 512, 512), loupe_letters='LPS'),
]


def refs_for(dataset: str) -> list[Ref]:
    return [r for r in REFS if r.dataset == dataset]


def canonical_raw(img) -> tuple[np.ndarray, np.ndarray]:
    """Stored (unscaled) voxels and affine flipped/permuted to the closest RAS axes, losslessly."""
    import nibabel as nib
    from nibabel.orientations import apply_orientation, inv_ornt_aff, io_orientation

    raw = np.asanyarray(img.dataobj.get_unscaled())
    ornt = io_orientation(img.affine)
    data = np.ascontiguousarray(apply_orientation(raw, ornt))
    aff = img.affine @ inv_ornt_aff(ornt, img.shape[:3])
    del nib
    return data, aff


def canonical_sha(img) -> str:
    import hashlib

    return hashlib.sha256(canonical_raw(img)[0].tobytes()).hexdigest()[:16]

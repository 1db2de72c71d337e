"""The training and held-out source lists of the calibrated assessor (issue 25): the catalogue's
split (``dataset.sources``) plus extra CLEAN slices of the same training series (more clean CT and
MR to learn that zero padding, round fields of view and smooth MR are not degradations). The extra
slices share their series' source id, so the split by source is unchanged."""
from __future__ import annotations

from pathlib import Path

from .dataset import Source, _dicom_series, _mha_slices, sources


def train_sources(root) -> list[Source]:
    return [s for s in sources(root) if s.split == "train"]


def held_out_sources(root) -> list[Source]:
    return [s for s in sources(root) if s.split == "val"]


def extra_clean_sources(root) -> list[Source]:
    d = Path(root) / "dicom"
    return [Source("ct/philips_head_140", "CT", "train", _dicom_series(d / "dcm_qa_ct_philips_head_140", 40, 256)),
            Source("mr/vmtk_aorta", "MR", "train", _mha_slices(Path(root) / "vessel3d" / "vmtk_aorta" / "aorta.mha", 20, 256)),
            Source("mr/siemens_mosaic_sag", "MR", "train", _dicom_series(d / "dcm_qa_siemens_mosaic_sagittal", 6, 256))]

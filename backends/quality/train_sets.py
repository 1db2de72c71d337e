"""The training and held-out source lists of the calibrated assessor (issue 25): the catalogue's
split (``dataset.sources``) plus extra CLEAN slices of the same training series (more clean CT and
MR to learn that zero padding, round fields of view and smooth MR are not degradations). The extra
slices share their series' source id, so the split by source is unchanged."""
from __future__ import annotations

from pathlib import Path

from .dataset import Source, _dicom_series, _mha_slices, _png, sources


def train_sources(root) -> list[Source]:
    return [s for s in sources(root) if s.split == "train"]


def held_out_sources(root) -> list[Source]:
    return [s for s in sources(root) if s.split == "val"]


def extra_clean_sources(root) -> list[Source]:
    d = Path(root) / "dicom"
    return [Source("ct/philips_head_140", "CT", "train", _dicom_series(d / "dcm_qa_ct_philips_head_140", 40, 256)),
            Source("mr/vmtk_aorta", "MR", "train", _mha_slices(Path(root) / "vessel3d" / "vmtk_aorta" / "aorta.mha", 20, 256)),
            Source("mr/siemens_mosaic_sag", "MR", "train", _dicom_series(d / "dcm_qa_siemens_mosaic_sagittal", 6, 256))]


def grey_feed_sources(root) -> list[Source]:
    """The colour training photographs (DRIVE fundus, colour-saved chest X-rays) as a grey
    luminance feed delivers them (8-bit luminance / 255, not stretched; ``dataset._png``), under
    their own source ids so the split is unchanged (session 7). A dim fundus on a black background is
    a clean image in this feed; the assessor had seen it only stretched and called it exposure.
    Grey photographs, DICOM and volumes feed the same either way and give no rows here."""
    root = Path(root)
    where = {"cxr": root / "xray_iqa" / "cxr", "drive": root / "retina" / "DRIVE" / "training" / "images",
             "psfhs": root / "ultrasound" / "PSFHS_png" / "images"}
    out = []
    for s in train_sources(root):
        kind, _, name = s.id.partition("/")
        path = where.get(kind, Path()) / name
        if kind in where and path.suffix.lower() in (".png", ".tif", ".tiff", ".jpg") and path.is_file():
            out.append(Source(s.id, s.modality, "train", _png(path, grey_feed=True)))
    return out

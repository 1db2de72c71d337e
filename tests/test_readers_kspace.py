"""BART .cfl/.hdr k-space reader on the real 8-coil brain data."""
from __future__ import annotations

import numpy as np
import pytest

from app.data.kspace import read_bart_dims, read_cfl, rss_image
from app.data.types import ReadError


@pytest.fixture(scope="module")
def bart_dir(data_dir):
    return data_dir / "kspace" / "bart_pics_brain"


def test_ksp_dims_coils_and_undersampling(bart_dir):
    ksp = read_cfl(bart_dir / "ksp.cfl")
    assert ksp.dims[:4] == (1, 180, 230, 8)
    assert ksp.data.shape == (1, 180, 230, 8) and ksp.data.dtype == np.complex64
    assert ksp.n_coils == 8
    assert ksp.sampled_fraction() == pytest.approx(0.127, abs=0.002)  # SOURCES.md: 12.7 % non-zero
    img = read_cfl(bart_dir / "img")
    assert img.data.shape == (1, 180, 230, 1, 2)


def test_rss_recon_resembles_bart_pics(bart_dir):
    ksp = read_cfl(bart_dir / "ksp.hdr", mmap=True)
    rss = rss_image(ksp)[0]
    assert rss.shape == (180, 230)
    pics = np.abs(read_cfl(bart_dir / "img.cfl").data[0, :, :, 0, 0])
    assert np.corrcoef(rss.ravel(), pics.ravel())[0, 1] > 0.9
    energy = np.sum(np.abs(ksp.data[0]) ** 2, axis=-1)
    cy, cx = energy.shape[0] // 2, energy.shape[1] // 2
    centre = energy[cy - 20:cy + 20, cx - 20:cx + 20].sum() / energy.sum()
    assert centre > 0.8  # k-space energy concentrates at low spatial frequencies
    # the object sits in the middle of the image, the corners are background
    assert rss[60:120, 75:155].mean() > 5 * rss[:20, :20].mean()


def test_cfl_size_disagrees_with_hdr(bart_dir, tmp_path):
    (tmp_path / "k.hdr").write_text((bart_dir / "ksp.hdr").read_text())
    (tmp_path / "k.cfl").write_bytes((bart_dir / "ksp.cfl").read_bytes()[:-8])
    with pytest.raises(ReadError, match=r"k\.cfl: size 2649592 bytes does not match k\.hdr dims 1x180x230x8"):
        read_cfl(tmp_path / "k.cfl")


def test_missing_or_bad_header(tmp_path):
    (tmp_path / "a.cfl").write_bytes(b"\0" * 16)
    with pytest.raises(ReadError, match=r"a\.hdr: BART header missing"):
        read_cfl(tmp_path / "a.cfl")
    (tmp_path / "a.hdr").write_text("# Dimensions\n2 x 1\n")
    with pytest.raises(ReadError, match=r"a\.hdr: BART dimensions line is not a list of integers"):
        read_bart_dims(tmp_path / "a.hdr")

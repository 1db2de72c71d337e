"""k-space readers: BART, fastMRI and ISMRMRD HDF5, .npy/.npz with declared axes, and bad input
(size vs dims, NaN/Inf, no coil axis, undeclared axes) as one error line naming the file."""
from __future__ import annotations

import json

import numpy as np
import pytest

from app.data.kspace_io import open_kspace
from app.data.types import ReadError
from backends.mri.bart_io import write_cfl
from backends.mri.fft import fft2c
from backends.mri.layout import readout_is_kspace, to_problems


def _k(c=4, n1=16, n2=12, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(c, n1, n2)) + 1j * rng.normal(size=(c, n1, n2))).astype(np.complex64)


def test_npz_axes_and_npy_sidecar(tmp_path):
    k = _k()
    np.savez(tmp_path / "a.npz", kspace=k, axes=np.array(["coil", "read", "phase1"]))
    ks = open_kspace(tmp_path / "a.npz")
    assert ks.data.shape == (16, 12, 1, 4) and ks.n_coils == 4
    assert np.array_equal(ks.data[:, :, 0, 2], k[2])
    np.save(tmp_path / "b.npy", k.transpose(1, 2, 0))
    (tmp_path / "b.json").write_text(json.dumps({"axes": ["read", "phase1", "coil"]}))
    assert np.array_equal(open_kspace(tmp_path / "b.npy").data, ks.data)


def test_npy_problems_name_the_file(tmp_path):
    np.save(tmp_path / "c.npy", _k())
    with pytest.raises(ReadError, match=r"c\.npy: axes not declared"):
        open_kspace(tmp_path / "c.npy")
    with pytest.raises(ReadError, match=r"c\.npy: no coil axis"):
        open_kspace(tmp_path / "c.npy", axes="slice,read,phase1")
    with pytest.raises(ReadError, match=r"c\.npy: 2 axes declared"):
        open_kspace(tmp_path / "c.npy", axes="read,phase1")
    bad = _k()
    bad[1, 3, 4] = np.nan
    bad[0, 0, 0] = np.inf
    np.save(tmp_path / "d.npy", bad)
    with pytest.raises(ReadError, match=r"d\.npy: k-space holds 2 NaN/Inf samples"):
        open_kspace(tmp_path / "d.npy", axes="coil,read,phase1")


def test_bart_truncated_and_nan(tmp_path, data_dir):
    write_cfl(tmp_path / "k", _k().transpose(1, 2, 0)[:, :, None, :])
    assert open_kspace(tmp_path / "k").data.shape == (16, 12, 1, 4)
    raw = (tmp_path / "k.cfl").read_bytes()
    (tmp_path / "k.cfl").write_bytes(raw[:-100])
    with pytest.raises(ReadError, match=r"k\.cfl: size .* does not match k\.hdr dims 16x12x1x4"):
        open_kspace(tmp_path / "k.hdr")
    arr = _k().transpose(1, 2, 0)[:, :, None, :].copy()
    arr[2, 2, 0, 1] = np.nan
    write_cfl(tmp_path / "n", arr)
    with pytest.raises(ReadError, match=r"n\.cfl: k-space holds 1 NaN/Inf"):
        open_kspace(tmp_path / "n.cfl")
    brain = open_kspace(data_dir / "kspace" / "bart_pics_brain" / "ksp")
    assert brain.data.shape == (1, 180, 230, 8)


def test_fastmri_h5_with_reference(tmp_path):
    import h5py
    k = np.stack([_k(6, 20, 14, s) for s in range(3)])       # (slices, coils, kx, ky)
    with h5py.File(tmp_path / "f.h5", "w") as f:
        f["kspace"] = k
        f["reconstruction_rss"] = np.ones((3, 8, 8), np.float32)
    ks = open_kspace(tmp_path / "f.h5")
    assert ks.data.shape[:4] == (20, 14, 1, 6) and ks.data.shape[-1] == 3 and ks.data.ndim == 14
    assert np.array_equal(ks.data[:, :, 0, 5, ..., 2].reshape(20, 14), k[2, 5])
    assert ks.meta["reference"].shape == (3, 8, 8)
    pr = to_problems(ks.data)
    assert pr.kspace.shape == (3, 6, 20, 14) and pr.plane == "read-phase1"
    with h5py.File(tmp_path / "s.h5", "w") as f:
        f["kspace"] = k[:, 0]
    with pytest.raises(ReadError, match=r"s\.h5: no coil axis"):
        open_kspace(tmp_path / "s.h5")
    with h5py.File(tmp_path / "e.h5", "w") as f:
        f["other"] = np.zeros(3)
    with pytest.raises(ReadError, match=r"e\.h5: HDF5 without k-space"):
        open_kspace(tmp_path / "e.h5")
    (tmp_path / "t.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 10)
    with pytest.raises(ReadError, match=r"t\.h5: not a readable HDF5 file"):
        open_kspace(tmp_path / "t.h5")


def test_ismrmrd_roundtrip(tmp_path):
    ismrmrd = pytest.importorskip("ismrmrd")
    nc, nx, ny = 4, 16, 10
    k = _k(nc, nx, ny, 3)
    hdr = ismrmrd.xsd.ismrmrdHeader()
    enc = ismrmrd.xsd.encodingType()
    enc.trajectory = ismrmrd.xsd.trajectoryType("cartesian")
    es = ismrmrd.xsd.encodingSpaceType()
    es.matrixSize = ismrmrd.xsd.matrixSizeType(x=nx, y=ny, z=1)
    es.fieldOfView_mm = ismrmrd.xsd.fieldOfViewMm(x=160.0, y=100.0, z=5.0)
    enc.encodedSpace = es
    enc.reconSpace = es
    enc.encodingLimits = ismrmrd.xsd.encodingLimitsType()
    hdr.encoding.append(enc)
    ds = ismrmrd.Dataset(str(tmp_path / "m.h5"), "dataset", create_if_needed=True)
    ds.write_xml_header(ismrmrd.xsd.ToXML(hdr))
    for line in range(0, ny, 2):                        # every other line acquired
        acq = ismrmrd.Acquisition.from_array(np.ascontiguousarray(k[:, :, line]))
        acq.idx.kspace_encode_step_1 = line
        ds.append_acquisition(acq)
    ds.close()
    ks = open_kspace(tmp_path / "m.h5")
    assert ks.data.shape == (nx, ny, 1, nc) and ks.meta["format"] == "ismrmrd"
    assert np.allclose(ks.data[:, 4, 0, :], k[:, :, 4].T) and not ks.data[:, 3].any()
    assert ks.meta["fov_mm"] == [160.0, 100.0, 5.0]


def test_3d_readout_convention_detected():
    rng = np.random.default_rng(1)
    img = np.zeros((24, 20, 18), np.complex64)
    img[6:18, 5:15, 4:14] = rng.random((12, 10, 10)) + 1
    coils = np.stack([img * (1 + 0.1 * c) for c in range(3)], -1)       # (x, y, z, C)
    k3 = np.fft.fftshift(np.fft.fftn(np.fft.ifftshift(coils, axes=(0, 1, 2)), axes=(0, 1, 2), norm="ortho"),
                         axes=(0, 1, 2))
    hybrid = np.moveaxis(fft2c(np.moveaxis(coils, (1, 2), (-2, -1))), (-2, -1), (1, 2))   # x, ky, kz
    assert readout_is_kspace(k3) and not readout_is_kspace(hybrid)
    a, b = to_problems(k3), to_problems(hybrid)
    assert a.readout == "kspace" and b.readout == "image"
    assert np.allclose(a.kspace, b.kspace, atol=1e-4)   # both give the same x-slices of (ky, kz)

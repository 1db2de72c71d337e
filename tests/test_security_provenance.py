"""Backend provenance only the job runner can write (issue 21): a layer that merely claims to be
a backend's output is refused by the review store; a real job's output is stored as the backend's;
a signature cannot be moved to other content, another backend or other parameters; a result
folder or SEG read back keeps the claim only as a named import."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from app.data.types import LoupeError, Volume
from app.jobs.attest import attest_layer, checked_claim, content_digest, verify
from app.layers import LabelLayer, Provenance
from app.review.store import ReviewStore


def _mask(value: int = 1) -> LabelLayer:
    lab = np.zeros((2, 6, 6), np.uint8)
    lab[:, 1:4, 1:4] = value
    return LabelLayer(lab, np.eye(4), "AI mask", Provenance.backend("seg", "1.0", {"t": 0.5}))


def test_a_claimed_backend_layer_is_refused_by_the_store(tmp_path):
    store = ReviewStore(tmp_path / "s.sqlite")
    with pytest.raises(LoupeError, match="job runner did not make it"):
        store.save_layer(_mask())
    assert store.layer_ids() == []


def test_a_job_output_is_stored_as_the_backends(tmp_path):
    from app.jobs.local import LocalRunner
    from backends.base import BackendInput

    runner = LocalRunner()
    try:
        vol = Volume(np.arange(64, dtype=np.int16).reshape(1, 8, 8), np.eye(4))
        res = runner.run("threshold", BackendInput.from_volume(vol))
    finally:
        runner.shutdown()
    lay = res.layers[0]
    assert lay.provenance.kind == "backend" and verify(lay)
    store = ReviewStore(tmp_path / "s.sqlite")
    assert store.save_layer(lay).source_kind == "backend"


@pytest.mark.parametrize("forgery", ["content", "backend", "params", "moved"])
def test_a_signature_does_not_carry_over(tmp_path, forgery):
    signed = attest_layer(_mask())
    assert verify(signed)
    if forgery == "content":
        signed.labels[0, 0, 0] = 1                       # one voxel painted after the job
    elif forgery == "backend":
        signed.provenance = dataclasses.replace(signed.provenance, author="other")
    elif forgery == "params":
        signed.provenance = dataclasses.replace(signed.provenance, params={"t": 0.9})
    else:                                                # the signature pasted onto another mask
        other = _mask(2)
        other.provenance = signed.provenance
        signed = other
    assert not verify(signed)
    with pytest.raises(LoupeError, match="job runner did not make it"):
        ReviewStore(tmp_path / "s.sqlite").save_layer(signed)


def test_presentation_changes_keep_the_signature():
    signed = attest_layer(_mask())
    before = content_digest(signed)
    signed.name, signed.opacity, signed.visible = "renamed", 0.3, False
    assert content_digest(signed) == before and verify(signed)


def test_another_installations_signature_is_not_accepted(tmp_path, monkeypatch):
    signed = attest_layer(_mask())
    monkeypatch.setenv("LOUPE_HOME", str(tmp_path / "another_install"))
    assert not verify(signed)
    read_back = checked_claim(signed, "result_folder")
    assert read_back.provenance.kind == "file" and read_back.provenance.author == "result_folder"
    assert read_back.provenance.algorithm().author == "seg"       # the claim is named, not trusted
    v = ReviewStore(tmp_path / "s.sqlite").save_layer(read_back)
    assert v.source_kind == "file"


def test_a_result_folder_edited_on_disk_comes_back_as_an_import(tmp_path):
    from PIL import Image

    from app.jobs.attest import attest_result
    from app.jobs.result_folder import read_result, write_result
    from backends.base import BackendResult

    lab = np.zeros((1, 16, 16), np.uint8)
    lab[0, 4:9, 4:9] = 1
    res = attest_result(BackendResult(layers=[LabelLayer(lab, np.eye(4), "mask", Provenance.backend("seg", "1.0"))],
                                      record={"backend": "seg", "version": "1.0"}))
    out = tmp_path / "out"
    write_result(res, out)
    assert read_result(out).layers[0].provenance.kind == "backend"
    png = next(out.glob("*.png"))
    arr = np.array(Image.open(png))
    arr[0, 0] = 1                                          # someone painted the file
    Image.fromarray(arr).save(png)
    back = read_result(out).layers[0]
    assert back.provenance.kind == "file" and back.provenance.params["claimed_backend"] == "seg"

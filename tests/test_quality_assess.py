"""Assessor with the shipped model: strong noise, blur and JPEG on a real HELD-OUT image are
named (as their reported family, with calibrated probabilities) with a high severity, and
quality.json has the v2 schema (status, families, sub-types, calibration)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from backends.quality.assess import Assessment, assess, assess_many
from backends.quality.dataset import sources
from backends.quality.degrade import NAMES, degrade
from backends.quality.families import FAMILIES, FAMILY_OF


@pytest.fixture(scope="module")
def held_out(data_dir):
    by_id = {s.id: s for s in sources(data_dir)}
    assert by_id["drive/03_test.tif"].split == "val" and by_id["cxr/00027426_000.png"].split == "val"
    return by_id["cxr/00027426_000.png"].load()[0], by_id["drive/03_test.tif"].load()[0]


@pytest.mark.parametrize("kind", ["gaussian_noise", "gaussian_blur", "jpeg"])
def test_detects_strong_degradation(held_out, kind):
    for img in held_out:
        a = assess(degrade(img, kind, 3, seed=11), "other")
        fam = FAMILY_OF[kind]
        assert a.status == "degraded" and a.top is not None and a.top.family == fam, (kind, a.description)
        assert a.top.severity >= 2 and a.top.score >= 0.5
        assert fam in a.evidence and a.evidence[fam]


def test_batch_gives_the_answers_of_one_by_one(held_out):
    """Evaluations and queues assess in batches; a batch must not mix up rows, modalities or scales."""
    cxr, fundus = held_out
    imgs = [degrade(cxr, "jpeg", 3, seed=1), fundus, degrade(fundus, "gaussian_blur", 2, seed=2),
            np.kron(cxr, np.ones((3, 3), np.float32))]
    mods = ["CT", "other", "MR", "CR"]
    batch = assess_many(imgs, mods)
    assert [a.to_json() for a in batch] == [assess(i, m).to_json() for i, m in zip(imgs, mods)]
    assert len({a.analysis_scale for a in batch}) > 1 and len({a.modality for a in batch}) > 1
    assert assess_many([], []) == []
    with pytest.raises(ValueError):
        assess_many(imgs, mods[:2])


def test_ct_types_only_on_ct(held_out):
    a = assess(held_out[0], "MR")
    assert not any(k.startswith("ct_") and v > 0 for k, v in a.probabilities.items())


def test_quality_json_schema(held_out, tmp_path):
    a = assess(degrade(held_out[0], "gaussian_noise", 2, seed=3), "other")
    assert isinstance(a, Assessment)
    doc = json.loads(a.write(tmp_path / "quality.json").read_text())
    assert set(doc) >= {"degradations", "description", "evidence"}
    assert doc["degradations"], doc
    assert doc["status"] == "degraded"
    for d in doc["degradations"]:
        assert set(d) >= {"type", "severity", "score", "family"}
        assert d["type"] in NAMES and d["severity"] in (1, 2, 3) and 0.5 <= d["score"] <= 1.0
        assert d["family"] == FAMILY_OF[d["type"]]
    assert isinstance(doc["description"], str) and "noise" in doc["description"].lower()
    assert all(isinstance(v, float) for ev in doc["evidence"].values() for v in ev.values())
    # per-family calibrated probabilities (multi-label: they need not sum to 1)
    assert set(doc["probabilities"]) == set(FAMILIES) | {"none"}
    assert all(0.0 <= v <= 1.0 for v in doc["probabilities"].values())
    assert set(doc["subtypes"]["blur"]) == {"defocus", "low resolution"}
    assert doc["calibration"]["report_threshold"] == 0.5


def test_noise_sigma_evidence_tracks_truth(held_out):
    for sigma_level, sev in ((0.02, 1), (0.05, 2), (0.10, 3)):
        a = assess(degrade(held_out[0], "gaussian_noise", sev, seed=5), "other")
        assert a.features["noise_sigma"] == pytest.approx(sigma_level, rel=0.25)


def test_cli_writes_quality_json(data_dir, tmp_path):
    import subprocess
    import sys
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    img = data_dir / "xray_iqa" / "cxr" / "00027426_000.png"
    out = tmp_path / "q"
    r = subprocess.run([sys.executable, str(root / "run_app.py"), "infer", "quality", str(img), "-o", str(out),
                        "--no-cache", "-q"], capture_output=True, text=True, timeout=240, cwd=root)
    assert r.returncode == 0, r.stderr + r.stdout
    doc = json.loads((out / "quality.json").read_text())
    assert isinstance(doc["degradations"], list) and doc["description"]
    assert json.loads((out / "result.json").read_text())["backend"] == "quality"

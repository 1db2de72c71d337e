"""Claim reading and checking: NegEx-style negation on the 8 real IU X-ray reports (hand-labelled
polarities), numbers with units and written precision, laterality from LPS points."""
from __future__ import annotations

import json
import re

import pytest

from app.report.claims import number_claims, presence_claims
from app.report.model import Evidence, Sentence
from app.report.verify import verify_sentence

# (sentence from the real reports, {concept: present}) read and labelled by hand
LABELLED = [
    ("There is no effusion or pneumothorax.", {"effusion": False, "pneumothorax": False}),
    ("The lungs are clear of focal airspace disease, pneumothorax, or pleural effusion.",
     {"pneumothorax": False, "effusion": False}),
    ("Atherosclerotic calcifications identified within the aortic XXXX.", {"calcification": True}),
    ("No focal consolidation, visible pneumothorax or large pleural effusion.",
     {"consolidation": False, "pneumothorax": False, "effusion": False}),
    ("XXXX opacities in the right lower lung representing atelectasis versus scarring.", {"atelectasis": True}),
    ("Cardiomegaly is present.", {"cardiomegaly": True}),
    ("There is no pneumothorax.", {"pneumothorax": False}),
    ("Cardiomegaly with mild interstitial edema and XXXX posterior pleural effusion.",
     {"cardiomegaly": True, "edema": True, "effusion": True}),
    ("The lungs are grossly clear with no focal airspace opacity, pleural effusion, or pneumothorax.",
     {"opacity": False, "effusion": False, "pneumothorax": False}),
    ("Cardiomegaly, however no acute cardiopulmonary findings.", {"cardiomegaly": True}),
]


def test_the_labelled_sentences_come_from_the_real_reports(data_dir):
    doc = json.loads((data_dir / "xray_iqa/reports/iu_xray_reports_subset.json").read_text())
    real = {s.strip() for e in doc["entries"] for s in re.split(r"(?<=[.!?])\s+", e["report"])}
    assert all(text in real for text, _ in LABELLED)


@pytest.mark.parametrize("text,expected", LABELLED)
def test_negation_on_real_report_sentences(text, expected):
    got = {c.concept: c.present for c in presence_claims(text, [])}
    assert got == expected


def _s(text, *ev):
    return verify_sentence(Sentence("t", text, list(ev)))


def test_numbers_are_checked_at_their_written_precision_and_unit():
    ev = Evidence("measurement", "x.json", {}, 18.74, "mm", "length")
    assert _s("It is 18.7 mm long.", ev).status == "supported"
    assert _s("It is 1.87 cm long.", ev).status == "supported"      # converted within a dimension
    assert _s("It is 19 mm long.", ev).status == "supported"        # coarser writing, still the value
    assert _s("It is 18.8 mm long.", ev).status == "unsupported"
    assert _s("It is 18.7 cm long.", ev).status == "unsupported"    # unit swapped
    assert _s("It is 18.7 px long.", ev).status == "unsupported"    # pixels are not millimetres
    assert _s("It is not 18.7 mm long.", ev).status == "unsupported"  # denies what was measured
    assert _s("It is 18.7 mm long.").status == "unverifiable"       # no evidence at all


def test_numbers_in_identifiers_are_not_claims():
    assert number_claims("In 01_test.tif and log10 values, a 3D view.") == []
    c = number_claims("at LPS (-189.8, −27.2, 46.5) mm, frames 240-247, 15.8% of it")
    assert [(x.value, x.unit) for x in c] == [(-189.8, "mm"), (-27.2, "mm"), (46.5, "mm"), (240, ""),
                                             (247, ""), (15.8, "%")]


def test_laterality_follows_lps():
    # +x is the patient's left in LPS: a point right of the volume centre in x is on the left
    ev = Evidence("measurement", "s.json", {"point_lps": [30.0, 0.0, 0.0], "volume_center_lps": [0.0, 0.0, 0.0]},
                  1.0, "mm", "radius")
    assert _s("Radius 1.0 mm in the left half.", ev).status == "supported"
    assert _s("Radius 1.0 mm in the right half.", ev).status == "unsupported"
    assert _s("Radius 1.0 mm on the left.", Evidence("measurement", "s", {}, 1.0, "mm")).status == "unverifiable"


def test_presence_needs_a_matching_finding():
    ev = Evidence("finding", "q.json", {}, False, "", "image degradation")
    assert _s("No image degradation was detected.", ev).status == "supported"
    assert _s("Image degradation was detected.", ev).status == "unsupported"
    assert _s("A polyp is seen.", ev).status == "unverifiable"

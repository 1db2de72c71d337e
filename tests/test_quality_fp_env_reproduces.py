"""Session 20b (issue 25): the shipped weights (v2.3.0 rows, 2026-12-02) were fitted on rows computed under an AVX2
floating-point dispatch; ``train_rows.FP_ENVS["avx2"]`` brings it back on any x86-64 machine. A row built under it
must carry the very values the shipped trees were binned on (three of one training image's variety rows sit exactly on
bin thresholds of the shipped model). The full rebuild under it (233 shards, ~12 min) refits v2.6.0 bit for bit
(docs/figures/quality_session20b_rule.md). One subprocess, ~10 s."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import json, numpy as np
from backends.quality import mlsamples
from backends.quality.features import FEATURE_NAMES as F
from backends.quality.train_sets import train_sources
src = [s for s in train_sources({data!r}) if s.id == "cxr/00000001_000.png"][0]
X = mlsamples.build_variety([src], log=None).X
print(json.dumps({{n: float(X[i, F.index(n)]) for n, i in (("psf_cep_neg", 7), ("tone_lc_corr", 28),
                                                             ("psf_notch_radial_share", 19))}}))
"""


def test_rows_under_the_avx2_dispatch_carry_the_shipped_models_values(data_dir):
    from backends.quality import train_rows
    from backends.quality.assess import MODEL_PATH, QualityModel
    from backends.quality.features import FEATURE_NAMES
    env = {**os.environ, **train_rows.FP_ENVS["avx2"], "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", PROBE.format(data=str(data_dir))], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=300, check=True).stdout
    vals = json.loads(out.strip().splitlines()[-1])
    th = next(iter(QualityModel.load(MODEL_PATH).binary.values()))._bin_mapper.bin_thresholds_
    for name, v in vals.items():
        assert v in th[FEATURE_NAMES.index(name)], (name, v)   # the training row's value, to the bit

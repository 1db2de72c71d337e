"""The result cache keeps only a path's last part (it is keyed by content and shared between
sessions), yet the result handed back for an input must name that input's file: training from
reviews finds a corrected mask's photo through it (found walking an annotator's task: the shell's
"Train from reviews" failed on every correction with "its image 02_test.tif is not found")."""
from __future__ import annotations

import json
import shutil
import time

import numpy as np
import pytest

from app.jobs.attest import verify
from app.jobs.cache import ResultCache
from app.jobs.local import LocalRunner
from backends.base import BackendInput


def _done(job, timeout=120):
    t = time.time()
    while not job.state.finished and time.time() - t < timeout:
        time.sleep(0.1)
    assert job.state.value == "done", job.error
    return job.result


@pytest.fixture
def photo(tmp_path, data_dir):
    """A DRIVE photo (cut to 160 px rows, to keep the run short) under two folders and names."""
    from PIL import Image

    rgb = np.asarray(Image.open(data_dir / "retina" / "DRIVE" / "test" / "images" / "02_test.tif").convert("RGB"))
    a = tmp_path / "site_a" / "02_test.png"
    a.parent.mkdir()
    Image.fromarray(rgb[200:360]).save(a)
    b = tmp_path / "site_b" / "copy.png"
    b.parent.mkdir()
    shutil.copy(a, b)
    return a, b


def _volume(path):
    from app.data.open import ReadOptions, examine, load

    return load(examine(path, ReadOptions())[0], ReadOptions())[0]


def test_results_name_their_own_input_file_while_the_cache_keeps_only_names(tmp_path, photo):
    a, b = photo
    runner = LocalRunner(max_workers=1, cache=ResultCache(tmp_path / "cache"))
    try:
        first = _done(runner.submit("vessels2d", BackendInput.from_volume(_volume(a)), {"method": "frangi"}))
        hit = _done(runner.submit("vessels2d", BackendInput.from_volume(_volume(b)), {"method": "frangi"}))
    finally:
        runner.shutdown()
    assert not first.cached and hit.cached
    for res, path in ((first, a), (hit, b)):
        assert res.layers
        for layer in res.layers:
            assert layer.provenance.params["source"] == str(path), layer.name
            assert verify(layer), layer.name   # signed again by this runner, with the path in it
    # on disk the cache still names no folder
    docs = [p.read_text() for p in (tmp_path / "cache").rglob("bundle.json")]
    assert docs and not any(str(a.parent) in d or str(b.parent) in d for d in docs)
    assert any(json.dumps("02_test.png") in d for d in docs)

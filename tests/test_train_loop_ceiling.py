"""Where five corrections stop on a mild new site (issue 27, session 7; development material only:
the seed-60613 draw, whose REPORT run is spent). The shipped model is not the ceiling: on the
site's own grid it scores ~0.82 on the unshifted photos. The site's camera is what costs: a 0.64x
downscale and JPEG q65 each cost ~0.025 alone and ~0.07 together, and that loss is in the photos
(16 corrected photos recover no more than 5 do: docs/train-loop.md, session 7)."""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

#: four DRIVE test photos (the benchmark uses 01-10)
PHOTOS = (1, 3, 5, 7)


@pytest.mark.slow
@pytest.mark.timeout(900)   # 12 photo inferences: ~30 s at low load, 140 s at load 11
def test_a_jpeg_downscaled_site_loses_its_dice_to_the_camera_not_to_the_grid_or_the_model(data_dir,
                                                                                             monkeypatch):
    """Seed-60613 site 0 (0.64x, JPEG q65, gamma 0.74, blur 0.4, cast): the shipped model on the
    site's photos vs on the same photos unshifted, scored on the site's (0.64x) grid; and the site
    with its JPEG step left out."""
    monkeypatch.setenv("LOUPE_DATA", str(data_dir))
    from dev_finetune_ceiling import all_dev_sites, site_and_clean_dice

    site = all_dev_sites()[9]
    assert "0.64x" in site.name and site.jpeg_quality == 65
    on_site, clean = site_and_clean_dice(site, PHOTOS)
    no_jpeg, _ = site_and_clean_dice(replace(site, jpeg_quality=0), PHOTOS)
    print(f"0.64x JPEG'd site, DRIVE test {PHOTOS}: site photos {on_site:.4f}, without JPEG {no_jpeg:.4f}, "
          f"unshifted photos on the site grid {clean:.4f}")
    # measured (photos 1, 3, 5, 7), base v1: site 0.7463, without JPEG 0.7932, unshifted on the site grid
    # 0.8146; base v2 (trained under degraded cameras, session 10): 0.7460, 0.7735, 0.8054 - JPEG costs
    # v2 about half what it cost v1, the camera as a whole still ~0.06
    assert clean >= 0.80, clean                 # the site's grid and the model leave room above 0.78
    assert clean - on_site >= 0.05, (clean, on_site)   # the camera costs it
    assert no_jpeg - on_site >= 0.02, (no_jpeg, on_site)   # JPEG on the downscaled photo is a large part of it

"""The site-camera fit of site-styled rehearsal (issue 27, session 19, T27f): ``finetune.site_style(..., fit="bands")``
measures a site's blur apart from its sensor noise (session 18's ``fit="signals"`` read noise as detail and chose blur 0
on noisy sites of true blur 0.3-2.3). An estimator test, no training and no Dice: known cameras (colour cast, gamma,
Gaussian blur in source px, resampling, sensor noise, JPEG, as ``benchmarks/site_shifts.py`` builds them) on 4 DRIVE
training photos that are not style probes, estimated without labels. The full grid (60 cameras, both fits):
``benchmarks/dev_camera_fit_s19.py``, docs/train-loop.md "Session 19"."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


@pytest.fixture(scope="module")
def probes_and_photos(data_dir):
    from app.models.examples import read_rgb
    from app.models.training import _examples, rehearsal_examples
    from backends.vessels import finetune as F

    drive = data_dir / "retina" / "DRIVE"
    photos = [read_rgb(drive / "training" / "images" / f"{i}_training.tif") for i in (22, 26, 29, 33)]
    return _examples(F, rehearsal_examples(drive)), photos


@pytest.mark.parametrize("blur,noise,scale", [(1.8, 6.0, 1.0), (0.6, 8.0, 0.8), (1.2, 3.0, 0.6)])
def test_the_band_fit_measures_a_noisy_cameras_blur_apart_from_its_noise(probes_and_photos, blur, noise, scale):
    """No JPEG, sensor noise 3-8: blur within 0.4 px (source px), noise within 1.0, no JPEG found."""
    from site_shifts import SiteShift

    from backends.vessels import finetune as F

    probes, photos = probes_and_photos
    cam = SiteShift("test", gains=(1.0, 0.9, 0.8), gamma=1.2, blur_sigma=blur, scale=scale, noise_sigma=noise)
    st = F.site_style([cam.image(p) for p in photos], probes)
    assert abs(st["blur"] - blur) <= 0.4 + 1e-9, st
    assert abs(st["noise"] - noise) <= 1.0, st
    assert st["jpeg_quality"] == 0, st
    assert F.STYLE_FIT == "bands" and st["fit"] == "bands"


def test_the_band_fit_measures_a_jpeg_cameras_quality_and_colours_like_the_median_photo(probes_and_photos):
    """JPEG q75 with noise 3, 1.3x: quality within 10, noise within 1.5, blur within 0.6 px; the colour quantiles are
    the site's median photo's (not pooled: pooling stretches one photo's contrast by the spread of illumination), shrunk
    by the photo's noise."""
    from site_shifts import SiteShift

    from backends.vessels import finetune as F

    probes, photos = probes_and_photos
    cam = SiteShift("test", gains=(0.85, 1.1, 1.15), gamma=0.8, blur_sigma=0.6, scale=1.0, noise_sigma=3.0,
                    jpeg_quality=75)
    site = [cam.image(p) for p in photos]
    st = F.site_style(site, probes)
    assert abs(st["jpeg_quality"] - 75) <= 10 and abs(st["noise"] - 3.0) <= 1.5 and abs(st["blur"] - 0.6) <= 0.6, st
    fovs = [F.estimate_fov(im) for im in site]
    per_photo = [F._denoised_quantiles(im, f) for im, f in zip(site, fovs)]
    assert np.allclose(st["colour_quantiles"], np.median(per_photo, axis=0), atol=0.01)
    # noise 3 narrows the green histogram a little, never widens it
    raw = np.median([np.quantile(im[..., 1][f], F.STYLE_QUANTILES) for im, f in zip(site, fovs)], axis=0)
    assert np.ptp(st["colour_quantiles"][1][5:96]) < np.ptp(raw[5:96])


def test_an_unknown_fit_is_refused(probes_and_photos):
    from backends.vessels import finetune as F

    probes, photos = probes_and_photos
    with pytest.raises(ValueError, match="unknown camera fit"):
        F.site_style(photos[:1], probes, fit="guess")

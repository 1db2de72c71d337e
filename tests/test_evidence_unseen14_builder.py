"""The fifteenth evidence report construction (benchmarks/evidence_appearances_unseen14.py, issue 20 B),
at a small size: the truth is exactly the frames the events draw into (against the events-off twin on
a lossless stream: the filler world, the negative-control stretches and the noise are the same draws in
both), region events change only their region, the needle advances and the contrast washes in, event
pictures never come from the clip's own filler source, the worlds look as declared (gray, mostly
dark), a rebuild is byte-identical (its hash too) on each of the set's own encoders, every stream
decodes at its size, rate and frame count (PyAV, OpenCV and the product's reader after seeks), and the
frozen plan keeps what the brief asked (about 30 events, under an hour, region events the majority,
one-frame and long events, a negative control per rate family, capsule rates 0.5-4 fps and surgical
25-30 fps that no earlier set used, encoders no earlier set used). The evidence method is never run
here."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from evidence_builder_checks import (
    assert_decodes_also_in_the_products_reader,
    assert_rebuild_identical,
    assert_region_plan,
    twin_truth,
)

from benchmarks.evidence_appearances_unseen14 import (
    _OWN_SOURCE,
    CI_SUBSET14,
    FAMILIES14,
    KINDS14,
    MIXED_KINDS14,
    NEGATIVES14,
    VARIATION14_BY_NAME,
    VARIATIONS14,
    WORLDS14,
    Encoding14,
    Filler14,
    Writer14,
    build_unseen14_clip,
    clip_frames14,
    meta_path,
    plan_unseen14,
    schedule14,
)

LOSSLESS = Encoding14("utvideo", "avi", "yuv444p")
# rates every earlier set used (unseen .. unseen13): this set's rates must be none of them
EARLIER_RATES = {0.2, 0.25, 1 / 3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 1, 1.2, 1.5, 2, 2.2, 2.5, 2.7, 3, 10 / 3, 3.5, 4, 4.5,
                 5, 5.5, 6, 8, 10, 12, 12.5, 15000 / 1001, 15, 20, 24000 / 1001, 24, 25, 26, 27, 28, 28.5, 29,
                 30000 / 1001, 30, 36, 40, 45, 48, 50, 55, 60000 / 1001, 60, 100}
# encoders every earlier set used (unseen13's sgi, tiff, amv, flashsv included)
EARLIER_CODECS = {"libvpx", "libvpx-vp9", "libx264", "libx265", "mjpeg", "mpeg2video", "mpeg4", "ffv1", "libsvtav1",
                  "mpeg1video", "wmv1", "wmv2", "flv", "h263", "h263p", "huffyuv", "msmpeg4v2", "msmpeg4",
                  "prores_ks", "dnxhd", "rv10", "rv20", "snow", "utvideo", "asv2", "cinepak", "h261", "msvideo1",
                  "rpza", "speedhq", "cfhd", "gif", "jpegls", "jpeg2000", "flashsv2", "ljpeg", "magicyuv",
                  "zmbv", "asv1", "ffvhuff", "png", "svq1", "cljr", "qtrle", "zlib", "sgi", "tiff", "amv", "flashsv"}
# every earlier set's kinds, filler worlds and negative stretches (unseen .. unseen13, as their modules name them)
EARLIER_NAMES = {"anaglyph", "annotated", "bleed_spread", "blinds_wipe", "block_dissolve", "blocky", "blocky_inset",
                 "blur_slide", "bright_focus", "bubble_covered", "bubbles", "chroma_bleed", "clock_wipe",
                 "colour_glow", "colour_lut", "combed", "compression_burst", "corner_iris", "corner_lesion",
                 "cr_crop", "cross_dissolve", "ct_scroll", "ct_windows", "cxr_review", "depth_step", "dim_tinted",
                 "dither_print", "doppler_box", "dot_grow", "drop_in", "dropout", "duotone", "echo_loop",
                 "edge_peek", "edge_relief", "fade", "fade_from_black", "false_colour_inv", "fisheye_disc",
                 "fixed_mask", "flicker", "fluo_angio", "fluorescence", "fluoro_pan", "focus_pull", "freeze",
                 "fundus_redfree", "gain_ramp", "ghost_overlay", "glint_cluster", "graticule", "haze", "hue_rotated",
                 "inset_on_texture", "inset_swap", "interleaved", "invert_toggle", "iris_close", "iris_open",
                 "isophote_map", "jolt", "kaleido", "keystone", "lesion_fade_in", "lightbox_film", "low_contrast",
                 "low_light", "luma_key", "mip_oblique", "modality_switch", "mr_cine_false", "mr_offcentre",
                 "negative_gray", "occluded", "osd_scroll", "overexposed", "picture_in_picture", "pip_grow",
                 "pixel_mosaic", "polar_unwrap", "polyp_dye", "polyp_nbi", "posterized", "reformat", "repeat",
                 "ring_light", "roaming_window", "roi_cine", "scope_disc", "scroll_through", "seg_overlay",
                 "shake_blur", "slide_push", "slow_fade_region", "slow_pan_in", "soft_wipe", "solarized",
                 "sparkle_dissolve", "spinning", "split_screen", "stain_tint", "texture_patch", "texture_shift",
                 "thumbnail_grid", "ticker_strip", "tile_flip", "tool_occluded", "us_cine", "us_screen", "us_sweep",
                 "vessel_label", "vignette_bloom", "vignette_endo", "whip_pan", "wipe_reveal", "xray_display",
                 "zoom_breath", "zoom_emerge", "zoom_from_far"}
# region share of the view each region kind may touch at most
MAX_SHARE = {"needle_advance": 0.04, "vessel_wash_in": 0.16, "dark_mass": 0.2, "blink_spot": 0.03}


def _check_events(on, diff, v, world):
    area = v.wh[0] * v.wh[1]
    for t in on.events:
        s, e = t.start_frame, t.end_frame
        assert not t.source.split(":", 1)[1].startswith(_OWN_SOURCE[world]), t.source
        touched = (diff[s:e + 1].max(axis=-1) > 0).reshape(e - s + 1, -1).sum(axis=1) / area
        if t.kind in MIXED_KINDS14:      # a region of the view only
            assert touched.max() < MAX_SHARE[t.kind] and touched.min() > 0, (t.kind, touched)
        else:                            # the whole scene replaced (against black: a dark picture's black stays)
            assert touched.min() > 0.05, (t.kind, touched)
        if e - s >= 6 and t.kind == "needle_advance":      # the tip advances: the touched area grows
            assert touched[-1] > 2.5 * touched[0], touched
        if e - s >= 6 and t.kind == "vessel_wash_in":      # the contrast washes in: the change grows in place
            strength = diff[s:e + 1].reshape(e - s + 1, -1).mean(axis=1)
            assert strength[-1] > 2.5 * strength[0], strength


def test_capsule_truth_is_exactly_the_frames_the_events_draw(tmp_path, data_dir):
    v = dataclasses.replace(VARIATION14_BY_NAME["cap_0.9fps_256_y41p_avi_mrstation"], wh=(128, 128))
    plan = [(k, "normal") for k in KINDS14] + [("blink_spot", "one_frame"), ("needle_advance", "long")]
    on, meta, fon, diff = twin_truth(build_unseen14_clip, meta_path, tmp_path, data_dir, v, plan, 0.25, LOSSLESS,
                                     MIXED_KINDS14, filler_between=3)
    _check_events(on, diff, v, "mr_station")
    m = json.loads(meta_path(tmp_path / "on.avi").read_text())
    assert m["negatives"], "the gaps carry negative-control stretches"
    for n in m["negatives"]:
        assert n["kind"] in NEGATIVES14
        assert all(n["end_frame"] + 3 <= t.start_frame or n["start_frame"] >= t.end_frame + 3 for t in on.events)


def test_surgical_truth_on_the_ultrasound_screen(tmp_path, data_dir):
    v = dataclasses.replace(VARIATION14_BY_NAME["surg_29.5fps_320x240_dxv_mov_usconsole"], wh=(160, 120))
    plan = [("dark_mass", "normal"), ("vessel_wash_in", "normal"), ("blink_spot", "short"),
            ("photon_starved", "one_frame"), ("param_map", "short")]
    on, _, fon, diff = twin_truth(build_unseen14_clip, meta_path, tmp_path, data_dir, v, plan, 0.25, LOSSLESS,
                                  MIXED_KINDS14, filler_between=3)
    _check_events(on, diff, v, "us_console")


def test_the_worlds_look_as_declared(data_dir):
    for name, dark in (("cap_0.9fps_256_y41p_avi_mrstation", 0.4), ("cap_1.6fps_288_targa_mov_kspace", 0.15),
                       ("surg_25.5fps_320x240_v210_mov_ctfluoro", 0.5), ("surg_29.5fps_320x240_dxv_mov_usconsole", 0.5)):
        v = VARIATION14_BY_NAME[name]
        f = Filler14(v, str(data_dir), np.random.default_rng(1))
        frames = np.stack([f.next() for _ in range(100)][::4]).astype(np.int16)     # 100 frames, every 4th
        assert frames.shape[1:] == (v.wh[1], v.wh[0], 3)
        assert np.abs(frames[..., 0] - frames[..., 2]).max() == 0, name      # every world is grayscale
        assert (frames.max(axis=-1) < 25).mean() > dark, name                 # mostly dark
        assert np.median(frames.reshape(25, -1).std(axis=1)) > 20, name      # with clear structure in the rest
        assert np.abs(frames[1:] - frames[:-1]).mean() > 0.2, name            # a continuing, moving stream
    assert {v.world for v in VARIATIONS14} == set(WORLDS14)


@pytest.mark.parametrize("name", sorted({v.enc.codec: v.name for v in VARIATIONS14 if v.events}.values()))
def test_rebuild_is_identical_and_hashed_on_the_sets_own_encoder(tmp_path, data_dir, name):
    v = dataclasses.replace(VARIATION14_BY_NAME[name], wh=(96, 96))
    plan = [("dark_mass", "short"), ("param_map", "one_frame")]
    assert_rebuild_identical(build_unseen14_clip, meta_path, tmp_path, data_dir, v, plan)


@pytest.mark.parametrize("name", sorted({v.enc.codec: v.name for v in VARIATIONS14 if v.events}.values()))
def test_every_stream_decodes_at_its_size_rate_and_count_also_in_the_products_reader(tmp_path, name):
    assert_decodes_also_in_the_products_reader(Writer14, VARIATION14_BY_NAME[name], tmp_path)


def test_frozen_plan_keeps_the_brief():
    assert_region_plan(VARIATIONS14, schedule14, plan_unseen14(), clip_frames14, KINDS14, MIXED_KINDS14, FAMILIES14,
                       EARLIER_RATES, EARLIER_CODECS, CI_SUBSET14, VARIATION14_BY_NAME)
    assert not (set(KINDS14) - {"polyp"} | set(WORLDS14) | set(NEGATIVES14)) & EARLIER_NAMES

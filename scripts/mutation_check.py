"""Break the code on purpose and check that a test notices.

Each mutation replaces one exact piece of source text in a temporary copy of the checkout (the
tracked and untracked-but-not-ignored files, copied to a folder under /tmp) and runs only the tests
that guard that claim. A mutation *survives* when every one of those tests still passes: then the
claim has no test that can fail, and this script exits 1.

    python scripts/mutation_check.py [--only NAME ...] [--list] [--keep]

Expensive fixtures (the constructed evidence videos) are cached in ``$LOUPE_TEST_CACHE``
(default /tmp/loupe_test_cache), shared by all mutants: the video builder is never mutated.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutation:
    name: str
    what: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]


MUTATIONS = [
    Mutation("finetune-rehearsal-not-replayed", "train --rehearsal records its source photos on the card but the "
             "fine-tune never sees them (session 15's option)",
             "app/models/training.py",
             '        kw["replay"] = _examples(trainer, reh)\n',
             '        pass\n',
             ("tests/test_train_loop_rehearsal.py::"
              "test_a_rehearsing_fine_tune_trains_on_the_source_photos_and_its_card_names_them",)),
    Mutation("thumbnail-photo-none", "a photo's study-browser thumbnail is missing again (grey tile in the web face)",
             "app/scene/thumbnail.py", '    elif cands and cands[0].kind == "image2d":',
             '    elif cands and cands[0].kind == "never":',
             ("tests/test_web_parts.py::test_the_study_browser_opens_the_series_clicked",)),
    Mutation("web-photo-three-planes-black", "the web face's three-planes row draws a photo's coronal / sagittal as black pictures",
             "app/web/ui.py", '        one_plane = st.session.scene.volume.spatial_shape[0] == 1\n',
             "        one_plane = False\n",
             ("tests/test_web_parts.py::test_opening_another_study_clears_what_spoke_of_the_previous_one",)),
    Mutation("web-photo-planes-offered", "the web face offers coronal / sagittal for a one-slice image (black pictures)",
             "app/web/ui.py", "gr.update(value=view, interactive=scene.volume.spatial_shape[0] > 1)",
             "gr.update(value=view, interactive=True)",
             ("tests/test_web_parts.py::test_opening_another_study_clears_what_spoke_of_the_previous_one",)),
    Mutation("quality-ct-window-guard-off", "a clean CT view at a clinical window is called over-exposed again (v2.4.0)",
             "backends/quality/assess.py",
             "    if CT_WINDOW_GUARD:\n        clipped &= ~ct_window_like(X, names)\n",
             "    if False and CT_WINDOW_GUARD:\n        clipped &= ~ct_window_like(X, names)\n",
             ("tests/test_quality_ct_window_guard.py",)),
    Mutation("quality-ct-window-too-wide", "the window test forgets the mid-grey band: any CT with black air counts as a "
             "window, so an over-exposed windowed view loses its exposure evidence",
             "backends/quality/assess.py",
             "            & (X[:, names.index(\"p75\")] <= CT_WINDOW_MAX_P75))",
             "            & (X[:, names.index(\"p75\")] <= 1.0))",
             ("tests/test_quality_ct_window_guard.py",)),
    Mutation("quality-ct-window-guard-default-off", "the CT window refinement ships switched off",
             "backends/quality/assess.py", "CT_WINDOW_GUARD = True ", "CT_WINDOW_GUARD = False ",
             ("tests/test_quality_ct_window_guard.py",)),
    Mutation("web-window-level-float-noise", "the web face's Window/Level boxes show the computed floats (236.3249999999971)",
             "app/web/ui.py", '    return float(f"{float(x):.4g}")', "    return float(x)",
             ("tests/test_web_parts.py::test_opening_another_study_clears_what_spoke_of_the_previous_one",)),
    Mutation("web-one-slice-slider-refused", "web slice slider of a one-slice image has maximum 0 (Gradio refuses it)",
             "app/web/ui.py", '    return {"maximum": max(count - 1, 1),', '    return {"maximum": count - 1,',
             ("tests/test_web_parts.py::test_opening_another_study_clears_what_spoke_of_the_previous_one",)),
    Mutation("web-browser-row-opens-folder", "web study browser fills a photo's or video's folder, not the file",
             "app/web/service.py",
             '                where = s.first_path if s.kind != "dicom" and s.n_files == 1 and s.first_path else folder\n',
             "                where = folder\n", ("tests/test_web_parts.py::test_the_study_browser_opens_the_series_clicked",)),
    Mutation("web-thumbs-skip-pictureless", "web study browser drops rows without a thumbnail from the pictures",
             "app/web/ui.py", "            picture = pngs.write(data if data is not None else no_thumb_png())\n",
             "            if data is None:\n                continue\n            picture = pngs.write(data)\n",
             ("tests/test_web_parts.py::test_the_study_browser_opens_the_series_clicked",)),
    Mutation("web-open-keeps-coronal-on-a-photo", "web Open shows a one-slice image in the reader's coronal plane",
             "app/web/ui.py", '    return "axial" if scene.volume.spatial_shape[0] == 1 else view\n',
             "    return view\n", ("tests/test_web_parts.py::test_opening_another_study_clears_what_spoke_of_the_previous_one",)),
    Mutation("web-open-keeps-stale-panels", "web Open leaves the previous study's run line, decision and snapshot",
             "app/web/ui.py", "                view, *STUDY_CLEARED)\n", "                view, *(gr.update(),) * 5)\n",
             ("tests/test_web_parts.py::test_opening_another_study_clears_what_spoke_of_the_previous_one",)),
    Mutation("web-study-line-mm-always", "web study line says mm for an image with no spacing",
             "app/web/ui.py", '    if cal.kind == "mm":\n        unit = f"spacing', '    if True:\n        unit = f"spacing',
             ("tests/test_web_parts.py::test_opening_another_study_clears_what_spoke_of_the_previous_one",)),
    Mutation("web-study-line-kji-order", "web study line gives sizes in k, j, i order beside spacing in i, j, k",
             "app/web/ui.py", "    ijk = list(reversed(vol.spatial_shape))\n", "    ijk = list(vol.spatial_shape)\n",
             ("tests/test_web_parts.py::test_opening_another_study_clears_what_spoke_of_the_previous_one",)),
    Mutation("shell-preview-keeps-last-study", "while a series loads, the docks keep acting on the previous study",
             "app/shell/main_window.py",
             "            self.current_view.set(loading_context(model, vol.source or src or \"\", getattr(cand, \"label\", \"\")))",
             "            pass",
             ("tests/test_shell_window.py::test_while_a_series_loads_no_dock_shows_the_previous_study_and_a_layout_waits",)),
    Mutation("web-cancel-overwrites-stop", "web Cancel writes 'cancel requested' over the run's closing line",
             "app/web/ui.py", "    if job.wait(wait_s):\n        return None\n",
             "    if job.wait(wait_s):\n        return \"cancel requested\"\n",
             ("tests/test_web_parts.py",)),
    Mutation("quality-batch-one-modality", "batched quality assessment masks every row with the first row's modality",
             "backends/quality/assess.py", "    pred = model.predict(X, mods, dark)\n",
             "    pred = model.predict(X, [mods[0]] * len(mods), dark)\n",
             ("tests/test_quality_assess.py",)),
    Mutation("quality-family-weights-off", "quality trainer fits without the motion/contrast/MR-ghosting row factors",
             "backends/quality/train_assessor.py",
             'FAMILY_WEIGHTS = {"motion_blur": 2.0, "contrast": 2.0, "mri_ghosting": 3.0}',
             "FAMILY_WEIGHTS: dict[str, float] = {}",
             ("tests/test_quality_train_weights.py",)),
    Mutation("quality-exposure-rows-dropped", "quality trainer builds its rows without the exposure roll-off rows",
             "backends/quality/train_assessor.py",
             "    return mlsamples.concat(sim, var, exposure_rows.build(train_sources(data), log=log))\n",
             "    return mlsamples.concat(sim, var)\n",
             ("tests/test_quality_train_weights.py",)),
    Mutation("quality-exposure-lift-on", "exposure roll-off rows lift the black level again (a contrast cut)",
             "backends/quality/exposure_rows.py", "           lift: bool = False)", "           lift: bool = True)",
             ("tests/test_quality_exposure_rows.py",)),
    Mutation("evidence-weakest-first", "evidence budget filled with the weakest events first",
             "backends/evidence/pipeline.py",
             "allot_budget(sorted(events, key=lambda e: -e.z),", "allot_budget(sorted(events, key=lambda e: e.z),",
             ("tests/test_floor_evidence.py", "tests/test_evidence_brief_events.py")),
    Mutation("evidence-whole-events", "evidence budget: whole events best first, no core of every event first",
             "backends/evidence/pipeline.py",
             "        a, b = core_of(e, core, good)", "        a, b = e.start, e.end",
             ("tests/test_floor_evidence.py", "tests/test_evidence_budget.py")),
    Mutation("evidence-blur-any-scene", "evidence blur rule judged against other content too",
             "backends/evidence/screen.py",
             "        soft &= colour_change(f, gate.context) < gate.max_colour_z", "        pass",
             ("tests/test_evidence_gate.py",)),
    Mutation("evidence-no-shots", "evidence shot detector switched off",
             "backends/evidence/pipeline.py",
             "             if sh.z >= s.threshold]", "             if sh.z >= s.threshold and False]",
             ("tests/test_floor_evidence.py", "tests/test_evidence_dark_clip.py")),
    Mutation("evidence-budget-x5", "evidence reader budget ignored (5x the frames kept)",
             "backends/evidence/pipeline.py",
             "    share = int(np.floor(s.max_kept_fraction * n))",
             "    share = int(np.floor(5 * s.max_kept_fraction * n))",
             ("tests/test_floor_evidence.py",)),
    Mutation("evidence-unseen6-budget-x5", "evidence reader budget ignored (the unseen6 clips' floor must notice)",
             "backends/evidence/pipeline.py",
             "    share = int(np.floor(s.max_kept_fraction * n))",
             "    share = int(np.floor(5 * s.max_kept_fraction * n))",
             ("tests/test_floor_evidence_unseen6.py",)),
    Mutation("evidence-unseen7-budget-x5", "evidence reader budget ignored (the unseen7 streams' floor must notice)",
             "backends/evidence/pipeline.py",
             "    share = int(np.floor(s.max_kept_fraction * n))",
             "    share = int(np.floor(5 * s.max_kept_fraction * n))",
             ("tests/test_floor_evidence_unseen7.py",)),
    Mutation("evidence-unseen8-budget-x5", "evidence reader budget ignored (the unseen8 streams' floor must notice)",
             "backends/evidence/pipeline.py",
             "    share = int(np.floor(s.max_kept_fraction * n))",
             "    share = int(np.floor(5 * s.max_kept_fraction * n))",
             ("tests/test_floor_evidence_unseen8.py",)),
    Mutation("evidence-unseen9-budget-x5", "evidence reader budget ignored (the unseen9 streams' floor must notice)",
             "backends/evidence/pipeline.py",
             "    share = int(np.floor(s.max_kept_fraction * n))",
             "    share = int(np.floor(5 * s.max_kept_fraction * n))",
             ("tests/test_floor_evidence_unseen9.py",)),
    Mutation("evidence-unseen10-budget-x5", "evidence reader budget ignored (the unseen10 0.6-fps capsule clip's floor must notice)",
             "backends/evidence/pipeline.py",
             "    share = int(np.floor(s.max_kept_fraction * n))",
             "    share = int(np.floor(5 * s.max_kept_fraction * n))",
             ("tests/test_floor_evidence_unseen10.py",)),
    Mutation("evidence-unseen11-budget-x5", "evidence reader budget ignored (the unseen11 28-fps surgical clip's floor must notice)",
             "backends/evidence/pipeline.py",
             "    share = int(np.floor(s.max_kept_fraction * n))",
             "    share = int(np.floor(5 * s.max_kept_fraction * n))",
             ("tests/test_floor_evidence_unseen11.py",)),
    Mutation("evidence-rarity-no-guard", "evidence rarity: the nearest reference may be the frame's own neighbours",
             "backends/evidence/rarity.py",
             "        d2[(cols >= lo[:, None]) & (cols < hi[:, None])] = np.inf", "        pass",
             ("tests/test_evidence_rarity.py",)),
    Mutation("evidence-rarity-off", "evidence rarity channel not added to the frame score",
             "backends/evidence/pipeline.py",
             "        comb = np.maximum(comb, rarity_z(rho, s.threshold, s.rarity_full))", "        pass",
             ("tests/test_evidence_rarity.py",)),
    Mutation("evidence-region-switch-dead", "evidence regional channel (off switch) not added to the frame score when on",
             "backends/evidence/pipeline.py",
             "        comb = np.maximum(comb, s.region_weight * rz)", "        pass",
             ("tests/test_evidence_region.py",)),
    Mutation("evidence-no-detail-on-black", "evidence gate: dim detail on black no longer keeps a frame out of 'dark'",
             "backends/evidence/screen.py",
             '    code[(f["info"] < gate.min_info) & (f["detail"] < gate.min_detail)] = 1',
             '    code[f["info"] < gate.min_info] = 1',
             ("tests/test_evidence_gate.py",)),
    Mutation("evidence-black-not-flat", "evidence gate: a view on black no longer needs flat black",
             "backends/evidence/screen.py",
             " & (sd < BLACK_SD)).mean(axis=(1, 2)) >= ON_BLACK", ").mean(axis=(1, 2)) >= ON_BLACK",
             ("tests/test_evidence_gate.py",)),
    Mutation("evidence-dark-clip-no-glimpses", "evidence shots amid dark stretches not compared with nearby glimpses",
             "backends/evidence/shots.py",
             "        if len(before) == 0 and len(after) == 0:", "        if False:",
             ("tests/test_evidence_dark_clip.py",)),
    Mutation("evidence-weave-jitter-split", "evidence weave: pieces of one jittery excursion no longer joined",
             "backends/evidence/weave.py",
             "            if d < same_dist or d < SAME_EXCURSION", "            if d < same_dist or False and d < SAME_EXCURSION",
             ("tests/test_evidence_units.py",)),
    Mutation("evidence-short-clip-budget", "evidence budget of a short clip: no minimum length",
             "backends/evidence/pipeline.py",
             "        share = max(share, int(round(s.min_kept_s * fps)))", "        pass",
             ("tests/test_evidence_dark_clip.py",)),
    Mutation("evidence-2s-floor-under-200s", "evidence budget: the 2-s minimum again for every clip under 200 s (> 1% kept)",
             "backends/evidence/pipeline.py",
             "    if n / max(fps, 1e-6) * s.max_kept_fraction < s.core_s:",
             "    if n / max(fps, 1e-6) * s.max_kept_fraction < s.min_kept_s:",
             ("tests/test_evidence_budget.py",)),
    Mutation("evidence-min-event-0.3s", "evidence: events need 0.3 s and two frames again (no one-frame glimpse)",
             "backends/evidence/pipeline.py",
             "    min_frames: int = 1 ", "    min_frames: int = 2 ",
             ("tests/test_evidence_brief_events.py",)),
    Mutation("evidence-max-event-6s", "evidence: excursions looked for up to 6 s only",
             "backends/evidence/pipeline.py",
             "    max_event_s: float = 12.0 ", "    max_event_s: float = 6.0 ",
             ("tests/test_evidence_brief_events.py",)),
    Mutation("evidence-flash-is-event", "evidence: a one-frame event keeping its neighbour's layout is kept",
             "backends/evidence/pipeline.py",
             "layout_order_kept(f.desc, e.key_frames[0], good, gap, LAYOUT * LAYOUT) < SAME_VIEW_RHO]",
             "True]",
             ("tests/test_evidence_brief_events.py",)),
    Mutation("evidence-single-frame-first", "evidence budget: one-frame events ranked with events that last",
             "backends/evidence/pipeline.py",
             "(later if seen_nearby(e) else single if e.good_frames < 2 and not at_cut(e) else fresh)",
             "(later if seen_nearby(e) else fresh)",
             ("tests/test_evidence_brief_events.py", "tests/test_evidence_budget.py")),
    Mutation("evidence-one-frame-cut-ignored", "evidence budget: a one-frame view at a cut still ranks after lasting events",
             "backends/evidence/pipeline.py",
             "(later if seen_nearby(e) else single if e.good_frames < 2 and not at_cut(e) else fresh)",
             "(later if seen_nearby(e) else single if e.good_frames < 2 else fresh)",
             ("tests/test_evidence_budget.py",)),
    Mutation("evidence-one-frame-cut-any-neighbours", "evidence budget: a one-frame flash between alike neighbours counts as 'at a cut'",
             "backends/evidence/pipeline.py",
             "    return float(np.linalg.norm(desc[a] - desc[b])) > apart * same and near > new * same",
             "    return near > new * same",
             ("tests/test_evidence_budget.py",)),
    Mutation("evidence-strong-single-ignored", "evidence budget: a very strong one-frame view between alike neighbours ranks last",
             "backends/evidence/pipeline.py",
             "    return e.z >= s.single_strong_z or one_frame_at_a_cut(desc, e, same, s.single_apart, s.single_new)",
             "    return one_frame_at_a_cut(desc, e, same, s.single_apart, s.single_new)",
             ("tests/test_evidence_budget.py",)),
    Mutation("evidence-no-low-rate-floor", "evidence budget: no floor of one frame per floor_s of video below 0.5 fps",
             "backends/evidence/pipeline.py",
             "        share = max(share, int(n / max(fps, 1e-6) / s.floor_s))",
             "        pass",
             ("tests/test_evidence_budget.py", "tests/test_floor_evidence_unseen6.py")),
    Mutation("evidence-grid-stride-rounded-up", "evidence reduced grid: stride rounded (240x240 gives one-pixel blocks, all frames 'dark')",
             "backends/evidence/reader.py",
             "return max(2, 2 * int(min(width, height) // (2 * target)))",
             "return max(2, 2 * int(round(min(width, height) / (2.0 * target))))",
             ("tests/test_evidence_units.py",)),
    Mutation("evidence-join-all-or-nothing", "evidence shots: a joined stretch that fails drops all its parts",
             "backends/evidence/verify.py",
             "        elif len(parts) > 1:", "        elif False:",
             ("tests/test_evidence_verify.py",)),
    Mutation("quality-four-types", "quality assessor knows only none, noise, blur and JPEG",
             "backends/quality/assess.py",
             "mask = np.array([f in ok for f in fams])",
             "mask = np.array([f in ok and f in ('noise', 'blur', 'jpeg') for f in fams])",
             ("tests/test_floor_quality.py",)),
    Mutation("quality-indep4-exposure-blind", "quality assessor never reports exposure (the family-4 floor must notice)",
             "backends/quality/assess.py",
             "mask = np.array([f in ok for f in fams])",
             "mask = np.array([f in ok and f != 'exposure' for f in fams])",
             ("tests/test_floor_quality_independent4.py",)),
    Mutation("quality-indep5-jpeg-blind", "quality assessor never reports JPEG (the family-5 floor must notice)",
             "backends/quality/assess.py",
             "mask = np.array([f in ok for f in fams])",
             "mask = np.array([f in ok and f != 'jpeg' for f in fams])",
             ("tests/test_floor_quality_independent5.py",)),
    Mutation("quality-indep6-motion-blind", "quality assessor never reports motion blur (the family-6 floor must notice)",
             "backends/quality/assess.py",
             "mask = np.array([f in ok for f in fams])",
             "mask = np.array([f in ok and f != 'motion_blur' for f in fams])",
             ("tests/test_floor_quality_independent6.py",)),
    Mutation("quality-indep7-noise-blind", "quality assessor never reports noise (the family-7 floor must notice)",
             "backends/quality/assess.py",
             "mask = np.array([f in ok for f in fams])",
             "mask = np.array([f in ok and f != 'noise' for f in fams])",
             ("tests/test_floor_quality_independent7.py",)),
    Mutation("quality-indep8-exposure-blind", "quality assessor never reports exposure (the family-8 floor must notice)",
             "backends/quality/assess.py",
             "mask = np.array([f in ok for f in fams])",
             "mask = np.array([f in ok and f != 'exposure' for f in fams])",
             ("tests/test_floor_quality_independent8.py",)),
    Mutation("quality-indep9-exposure-biased", "quality assessor's exposure probability inflated 1.5x "
             "(the family-9 floor must notice)",
             "backends/quality/assess.py",
             "    p = pred.P[i]\n    probs = {",
             "    p = np.minimum(pred.P[i] * np.where(np.array(pred.families) == 'exposure', 1.5, 1.0), 1.0)\n"
             "    probs = {",
             ("tests/test_floor_quality_independent9.py",)),
    Mutation("quality-ct-tone-guard-off", "exposure is reportable on a clean CT crop without tone evidence again (v2.3.0)",
             "backends/quality/assess.py",
             "        if CT_TONE_GUARD and calibrated and \"exposure\" in fams:",
             "        if False and CT_TONE_GUARD and calibrated and \"exposure\" in fams:",
             ("tests/test_quality_ct_tone_guard.py",)),
    Mutation("quality-ct-tone-guard-default-off", "the CT tone guard ships switched off",
             "backends/quality/assess.py", "CT_TONE_GUARD = True\n", "CT_TONE_GUARD = False\n",
             ("tests/test_quality_ct_tone_guard.py",)),
    Mutation("quality-never-clean", "quality assessor calls every image degraded",
             "backends/quality/assess.py",
             "REPORT_THRESHOLD = 0.5 ", "REPORT_THRESHOLD = 0.0 ",
             ("tests/test_floor_quality.py",)),
    Mutation("quality-flat-severity", "quality severity regressors replaced by a constant 2",
             "backends/quality/assess.py",
             "S[:, j] = np.clip(self.regressors[f].predict(X), 1.0, 3.0)", "S[:, j] = 2.0",
             ("tests/test_floor_quality.py",)),
    Mutation("quality-uncalibrated", "quality probabilities used without their calibration",
             "backends/quality/assess.py",
             "border_dark=None, calibrated: bool = True)", "border_dark=None, calibrated: bool = False)",
             ("tests/test_floor_quality.py",)),
    Mutation("quality-psf-cepstrum-sign", "kernel-shape features read positive cepstral peaks as zeros",
             "backends/quality/psf_features.py",
             "neg = np.clip(-cv, 0, None)", "neg = np.clip(cv, 0, None)",
             ("tests/test_quality_psf_features.py",)),
    Mutation("quality-no-kernel-shape", "quality features without the blur-kernel shape block",
             "backends/quality/features.py",
             "f.update(psf_features.extract(x))", "f.update(dict.fromkeys(psf_features.extract(x), 0.0))",
             ("tests/test_floor_quality.py", "tests/test_floor_quality_independent2.py")),
    Mutation("quality-clip-spike-wrong-end", "range features read the top clipping spike at the bottom end",
             "backends/quality/range_roll_features.py",
             'out["rng_end_spike_hi"] = _end_spike(h[::-1])', 'out["rng_end_spike_hi"] = _end_spike(h)',
             ("tests/test_quality_range_roll_features.py",)),
    Mutation("quality-roll-no-global", "roll features: local tile anisotropy no longer compared with the global one",
             "backends/quality/range_roll_features.py",
             'out["roll_local_vs_global"] = float(np.median(aniso) - (glob.max() - glob.min()))',
             'out["roll_local_vs_global"] = float(np.median(aniso))',
             ("tests/test_quality_range_roll_features.py",)),
    Mutation("quality-grid-phase-fixed", "JPEG grid features look at one column phase only (a shifted grid is missed)",
             "backends/quality/jpeg_grid_features.py",
             "    for dx in range(8):  # separable", "    for dx in range(1):  # separable",
             ("tests/test_quality_resave_mottle_grey.py",)),
    Mutation("quality-noise-octave-same", "the coarse noise octave measured at the previous octave",
             "backends/quality/features.py",
             "s3 = _sigma(_haar_hh(_half(x2)))", "s3 = _sigma(_haar_hh(x2))",
             ("tests/test_quality_resave_mottle_grey.py",)),
    Mutation("quality-resave-no-crop", "re-saved JPEG training rows never shift the grid",
             "backends/quality/jpeg_resave.py",
             "return np.ascontiguousarray(a[dy:, dx:])", "return np.ascontiguousarray(a)",
             ("tests/test_quality_resave_mottle_grey.py",)),
    Mutation("quality-mottle-white", "mottle training noise no longer coloured by the detector MTF",
             "backends/quality/variety_wide.py",
             "n = np.fft.irfft2(np.fft.rfft2(z) * mtf, s=(h, w))", "n = z",
             ("tests/test_quality_resave_mottle_grey.py",)),
    Mutation("quality-grey-feed-stretched", "the grey luminance feed stretched like the display feed",
             "backends/quality/dataset.py",
             "return [_cap((luminance(a) / 255.0).astype(np.float32), max_side)]", "return [_cap(to_unit(a), max_side)]",
             ("tests/test_quality_resave_mottle_grey.py",)),
    Mutation("quality-indep3-held-out-off", "independent set 3: training files no longer refused",
             "benchmarks/build_quality_independent3_set.py",
             "            if p == t or t in p.parents:", "            if False:",
             ("tests/test_quality_independent3_builder.py",)),
    Mutation("quality-indep3-noise-severity", "independent set 3: noise at twice the middle severity",
             "benchmarks/quality_independent3.py",
             "    target = _jit(NOISE_STD, rng, NOISE_JIT)", "    target = 2 * _jit(NOISE_STD, rng, NOISE_JIT)",
             ("tests/test_quality_independent3_builder.py",)),
    Mutation("quality-indep4-labels-shuffled", "independent set 4: each group labelled with the next group's family",
             "benchmarks/build_quality_independent4_set.py",
             "            yield Sample(sid, modality, mgroup, y, q4.FAMILY[g],",
             "            yield Sample(sid, modality, mgroup, y, q4.FAMILY[q4.GROUPS[(q4.GROUPS.index(g) + 1) % 7]],",
             ("tests/test_quality_independent4_builder.py::test_labels_agree_with_what_was_done_to_the_image",)),
    Mutation("quality-indep4-held-out-off", "independent set 4: training files no longer refused",
             "benchmarks/build_quality_independent4_set.py",
             "            if p == t or t in p.parents:", "            if False:",
             ("tests/test_quality_independent4_builder.py",)),
    Mutation("quality-indep4-noise-severity", "independent set 4: noise at twice the middle severity",
             "benchmarks/quality_independent4.py",
             "    t = _jit(NOISE_STD, rng, NOISE_JIT)", "    t = 2 * _jit(NOISE_STD, rng, NOISE_JIT)",
             ("tests/test_quality_independent4_builder.py",)),
    Mutation("vessels3d-shift", "3D centreline shifted by (3, 3, 0) mm",
             "backends/vessels/angio.py",
             "to_world=lambda kji: vol.index_to_world(kji[:, ::-1]), step=graph_step)",
             "to_world=lambda kji: vol.index_to_world(kji[:, ::-1]) + np.array([3.0, 3.0, 0.0]), "
             "step=graph_step)",
             ("tests/test_vessels.py::test_aorta_centreline_in_vmtk_lumen_with_radii",)),
    Mutation("vessels2d-flipped", "fundus U-Net input flipped upside down (an orientation bug)",
             "backends/vessels/finetune.py", "x = fundus_input(rgb, fov)",
             "x = np.ascontiguousarray(fundus_input(rgb, fov)[:, ::-1])",
             ("tests/test_vessels.py::test_fundus_unet_floors_on_more_held_out_images",)),
    Mutation("vessels2d-degrade-noop", "the base model's degraded-camera augmenter returns the clean photo",
             "backends/vessels/degrade.py", "    return Degraded(np.ascontiguousarray(u8), m, fv, ops)",
             "    return Degraded(rgb.copy(), mask.astype(bool), fov.astype(bool), ops)",
             ("tests/test_vessel_degrade.py",)),
    Mutation("adapt-no-denoise", "adaptation never denoises a noisy site's photos (session 5's behaviour)",
             "backends/vessels/finetune.py",
             'if norm.get("input_denoise_above") and (sigma := noise_sigma(rgb, fov)) > norm["input_denoise_above"]:',
             'if False and (sigma := noise_sigma(rgb, fov)) > norm["input_denoise_above"]:',
             ("tests/test_adapt_noise.py::test_adaptation_denoises_a_noisy_downscaled_site_and_raises_its_dice",)),
    Mutation("adapt-no-plausibility-refusal", "an adaptation whose vessel maps are less plausible is kept",
             "app/models/training.py",
             'if gain - PLAUSIBILITY_NOISE * se <= PLAUSIBILITY_GAIN_MIN:',
             'if gain - PLAUSIBILITY_NOISE * se <= -1e9:',
             ("tests/test_adapt_noise.py::test_adaptation_that_would_harm_the_site_is_refused_and_nothing_is_written",
              "tests/test_adapt_noise.py::test_adaptation_that_cannot_show_a_gain_on_a_jpeg_downscaled_site_is_refused")),
    Mutation("adapt-plausibility-gain-noise-ignored", "an adaptation whose plausibility gain is within its own "
             "noise over the site's photos is kept (any gain > 0 passes)",
             "app/models/training.py",
             'if gain - PLAUSIBILITY_NOISE * se <= PLAUSIBILITY_GAIN_MIN:',
             'if gain - 0.0 * se <= PLAUSIBILITY_GAIN_MIN:',
             ("tests/test_adapt_noise.py::test_adaptation_that_cannot_show_a_gain_on_a_jpeg_downscaled_site_is_refused",)),
    Mutation("train-source-guard-ignored", "a fine-tuned version that lowers the source site is still promotable "
             "(train checks only the held-back site photos)",
             "app/models/training.py",
             "    held_ok, ok = ok, ok and source_ok",
             "    held_ok, ok = ok, ok",
             ("tests/test_train_loop_source_guard.py::"
              "test_a_version_that_lowers_the_source_site_is_recorded_but_not_promotable",)),
    Mutation("finetune-fixed-stats-drift", "the fixed-statistics fine-tune (development option) lets the "
             "BatchNorm statistics follow the site's batches",
             "backends/vessels/finetune.py",
             "            if isinstance(m, torch.nn.BatchNorm2d):\n                m.eval()",
             "            if isinstance(m, torch.nn.BatchNorm2d) and False:\n                m.eval()",
             ("tests/test_train_loop.py::"
              "test_fixed_statistics_finetune_keeps_the_source_batchnorm_statistics_and_rehearses",)),
    Mutation("finetune-threshold-kept", "the train --choose-threshold option (fine-tune chooses its threshold on "
             "the reviewed items) keeps the base's threshold instead",
             "app/models/training.py",
             "    thr = trainer.pick_threshold(rows, thr_base)\n",
             "    thr = thr_base\n",
             ("tests/test_train_loop_threshold.py::"
              "test_finetune_card_threshold_is_chosen_on_the_reviewed_items_and_the_heldback_check_does_not_see_them",)),
    Mutation("adapt-clamp-ignored-at-inference", "inference of an adapted vessels2d version ignores its card's "
             "per-photo threshold clamp (session 12) and uses the card threshold on every photo",
             "backends/vessels/fundus.py",
             "    return p, clamped_threshold(p, fov, thr, card.get(\"threshold_clamp\"))\n",
             "    return p, thr\n",
             ("tests/test_adapt_threshold_clamp.py::"
              "test_inference_of_an_adapted_version_uses_its_clamp_and_the_shipped_model_does_not",)),
    Mutation("site-jpeg-skipped", "simulated site cameras never JPEG-compress their photos",
             "benchmarks/site_shifts.py",
             "        if self.jpeg_quality:\n            ok, buf",
             "        if False:\n            ok, buf",
             ("tests/test_train_loop_ceiling.py::"
              "test_a_jpeg_downscaled_site_loses_its_dice_to_the_camera_not_to_the_grid_or_the_model",)),
    Mutation("replay-blur-ignored", "replayed source photos are not blurred to the site's camera",
             "backends/vessels/finetune.py",
             "    if blur > 0:\n        x = cv2.GaussianBlur(x, (0, 0), blur)",
             "    if blur > 1e9:\n        x = cv2.GaussianBlur(x, (0, 0), blur)",
             ("tests/test_adapt_noise.py::test_site_degradation_recovers_a_known_camera",)),
    Mutation("store-save-no-transaction", "review store: no transaction around save_layer",
             "app/review/store.py",
             "        with self._tx():\n            head = self._head_id(layer.id)",
             "        with open(os.devnull):\n            head = self._head_id(layer.id)",
             ("tests/test_review_store.py",)),
    Mutation("store-decide-no-transaction", "review store: no transaction around decide",
             "app/review/store.py",
             "        with self._tx():\n            vid = version_id or self._head_id(layer_id)",
             "        with open(os.devnull):\n            vid = version_id or self._head_id(layer_id)",
             ("tests/test_review_store.py",)),
    Mutation("quality-train-rejected", "quality training learns from verdicts that a reviewer rejected",
             "app/models/trainers/quality.py",
             "        if vid in rejected:\n            continue", "        if vid in rejected and False:\n            continue",
             ("tests/test_quality_train_loop.py::test_only_reviewed_verdicts_are_examples_never_unreviewed_ai_output",)),
    Mutation("quality-train-no-holdback", "quality training holds nothing back (trains on every reviewed image)",
             "app/models/trainers/quality.py",
             "train, held = split_holdback(items, seed=seed)", "train, held = list(items), split_holdback(items, seed=seed)[1]",
             ("tests/test_quality_train_loop.py::test_holds_back_and_the_gate_refuses_a_worse_model",)),
    Mutation("quality-gate-open", "the quality promotion gate passes every model",
             "backends/quality/site_fit.py",
             "ok = new.macro_f1 >= base.macro_f1 and new.clean_false_alarms <= base.clean_false_alarms",
             "ok = True or (new.macro_f1 >= base.macro_f1 and new.clean_false_alarms <= base.clean_false_alarms)",
             ("tests/test_quality_train_loop.py::test_holds_back_and_the_gate_refuses_a_worse_model",)),
    Mutation("quality-model-param-ignored", "quality runs ignore --model (always the active version)",
             "backends/quality/backend.py",
             'ref = ModelRegistry("quality").get(getattr(params, "model", ""))', 'ref = ModelRegistry("quality").get("")',
             ("tests/test_quality_train_loop.py::test_train_cli_models_infer_promote_and_rerank",)),
    Mutation("quality-site-vote-off", "the site-adapted assessor ignores its reviewed images",
             "backends/quality/site_fit.py",
             "P = np.clip(pred.P + (W @ (self.Y - self.P0))", "P = np.clip(pred.P + 0 * (W @ (self.Y - self.P0))",
             ("tests/test_quality_train_loop.py::test_site_reviews_raise_macro_f1_without_forgetting",)),
    Mutation("unseen3-truth-off-by-one", "unseen3 report construction: events annotated one frame late",
             "benchmarks/evidence_appearances_unseen3.py",
             "            truth.append(EventTruth(wr.n, wr.n + length - 1, spec.name, kind))",
             "            truth.append(EventTruth(wr.n + 1, wr.n + length, spec.name, kind))",
             ("tests/test_evidence_unseen3_builder.py",)),
    Mutation("unseen4-truth-off-by-one", "unseen4 report construction: events annotated one frame late",
             "benchmarks/evidence_appearances_unseen4.py",
             "        truth.append(EventTruth(start, start + length - 1, source, kind))",
             "        truth.append(EventTruth(start + 1, start + length, source, kind))",
             ("tests/test_evidence_unseen4_builder.py::test_capsule_truth_is_exactly_the_frames_the_events_change",)),
    Mutation("unseen5-truth-off-by-one", "unseen5 report construction: events annotated one frame late",
             "benchmarks/evidence_appearances_unseen5.py",
             '        truth.append(EventTruth(start, start + n - 1, f"{kind}:{source}", kind))',
             '        truth.append(EventTruth(start + 1, start + n, f"{kind}:{source}", kind))',
             ("tests/test_evidence_unseen5_builder.py::test_capsule_truth_is_exactly_the_frames_the_events_draw",)),
    Mutation("quality-indep5-labels-shuffled", "independent set 5: each group labelled with the next group's family",
             "benchmarks/build_quality_independent5_set.py",
             "            yield Sample(sid, modality, mgroup, y, q5.FAMILY[g],",
             "            yield Sample(sid, modality, mgroup, y, q5.FAMILY[q5.GROUPS[(q5.GROUPS.index(g) + 1) % 7]],",
             ("tests/test_quality_independent5_builder.py::test_builder_is_deterministic_and_labels_what_it_did",)),
    Mutation("quality-indep5-noise-severity", "independent set 5: noise at twice the middle severity",
             "benchmarks/quality_independent5.py",
             "    t = q4._jit(q4.NOISE_STD, rng, q4.NOISE_JIT)", "    t = 2 * q4._jit(q4.NOISE_STD, rng, q4.NOISE_JIT)",
             ("tests/test_quality_independent5_builder.py::test_every_implementation_at_the_middle_severity_and_of_its_type",)),
    Mutation("unseen6-truth-off-by-one", "unseen6 report construction: events annotated one frame late",
             "benchmarks/evidence_appearances_unseen6.py",
             '        truth.append(EventTruth(start, start + n - 1, f"{kind}:{source}", kind))',
             '        truth.append(EventTruth(start + 1, start + n, f"{kind}:{source}", kind))',
             ("tests/test_evidence_unseen6_builder.py::test_capsule_truth_is_exactly_the_frames_the_events_draw",)),
    Mutation("unseen7-truth-off-by-one", "unseen7 report construction: events annotated one frame late",
             "benchmarks/evidence_appearances_unseen7.py",
             '        truth.append(EventTruth(start, start + n - 1, f"{kind}:{source}", kind))',
             '        truth.append(EventTruth(start + 1, start + n, f"{kind}:{source}", kind))',
             ("tests/test_evidence_unseen7_builder.py::test_capsule_truth_is_exactly_the_frames_the_events_draw",)),
    Mutation("unseen8-truth-off-by-one", "unseen8 report construction: events annotated one frame late",
             "benchmarks/evidence_appearances_unseen8.py",
             '        truth.append(EventTruth(start, start + n - 1, f"{kind}:{source}", kind))',
             '        truth.append(EventTruth(start + 1, start + n, f"{kind}:{source}", kind))',
             ("tests/test_evidence_unseen8_builder.py::test_capsule_truth_is_exactly_the_frames_the_events_draw",)),
    Mutation("unseen9-truth-off-by-one", "unseen9 report construction: events annotated one frame late",
             "benchmarks/evidence_appearances_unseen9.py",
             '        truth.append(EventTruth(start, start + n - 1, f"{kind}:{source}", kind))',
             '        truth.append(EventTruth(start + 1, start + n, f"{kind}:{source}", kind))',
             ("tests/test_evidence_unseen9_builder.py::test_capsule_truth_is_exactly_the_frames_the_events_draw",)),
    Mutation("unseen10-truth-off-by-one", "unseen10 report construction: events annotated one frame late",
             "benchmarks/evidence_appearances_unseen10.py",
             '        truth.append(EventTruth(start, start + n - 1, f"{kind}:{source}", kind))',
             '        truth.append(EventTruth(start + 1, start + n, f"{kind}:{source}", kind))',
             ("tests/test_evidence_unseen10_builder.py::test_inset_clip_truth_is_exactly_the_frames_the_events_draw",)),
    Mutation("unseen11-truth-off-by-one", "unseen11 report construction: events annotated one frame late",
             "benchmarks/evidence_appearances_unseen11.py",
             '        truth.append(EventTruth(start, start + n - 1, f"{kind}:{source}", kind))',
             '        truth.append(EventTruth(start + 1, start + n, f"{kind}:{source}", kind))',
             ("tests/test_evidence_unseen11_builder.py::test_capsule_truth_is_exactly_the_frames_the_events_draw",)),
    Mutation("quality-indep6-labels-shuffled", "independent set 6: each group labelled with the next group's family",
             "benchmarks/build_quality_independent6_set.py",
             "            yield Sample(sid, modality, mgroup, y, q6.FAMILY[g],",
             "            yield Sample(sid, modality, mgroup, y, q6.FAMILY[q6.GROUPS[(q6.GROUPS.index(g) + 1) % 7]],",
             ("tests/test_quality_independent6_builder.py::test_builder_is_deterministic_and_labels_what_it_did",)),
    Mutation("quality-indep7-labels-shuffled", "independent set 7: each group labelled with the next group's family",
             "benchmarks/build_quality_independent7_set.py",
             "y, q7.FAMILY[g], q7.SUBTYPE",
             "y, q7.FAMILY[q7.GROUPS[(q7.GROUPS.index(g) + 1) % 7]], q7.SUBTYPE",
             ("tests/test_quality_independent7_builder.py::test_builder_is_deterministic_and_labels_what_it_did",)),
    Mutation("quality-indep7-jpeg-untouched", "independent set 7: the compression group returns the image unchanged",
             "benchmarks/quality_independent7.py",
             "    y = run(settings[i])\n    return y, f\"{how}-q{settings[i]}\"",
             "    y = x8\n    return y, f\"{how}-q{settings[i]}\"",
             ("tests/test_quality_independent7_builder.py::test_every_implementation_in_band_and_of_its_type",)),
    Mutation("quality-indep8-labels-shuffled", "independent set 8: each group labelled with the next group's family",
             "benchmarks/build_quality_independent8_set.py",
             "y, q8.FAMILY[g], q8.SUBTYPE",
             "y, q8.FAMILY[q8.GROUPS[(q8.GROUPS.index(g) + 1) % 7]], q8.SUBTYPE",
             ("tests/test_quality_independent8_builder.py::test_builder_is_deterministic_and_labels_what_it_did",)),
    Mutation("quality-indep8-jpeg-untouched", "independent set 8: the compression group returns the image unchanged",
             "benchmarks/quality_independent8.py",
             "    y = run(settings[i])\n    return y, f\"{how}-{tag}q{settings[i]}\"",
             "    y = x8\n    return y, f\"{how}-{tag}q{settings[i]}\"",
             ("tests/test_quality_independent8_builder.py::test_every_implementation_in_band_and_of_its_type",)),
    Mutation("quality-indep8-training-view-allowed", "independent sets 5-8: the shared held-out check never refuses a source",
             "benchmarks/quality_family_build.py",
             "    if bad:\n        raise LoupeError",
             "    if False:\n        raise LoupeError",
             ("tests/test_quality_independent8_builder.py::test_sources_are_new_views_balanced_and_held_out",
              "tests/test_quality_independent7_builder.py::test_sources_are_new_views_balanced_and_held_out")),
    Mutation("quality-family-crop-unclamped", "independent sets 7-8: a crop square past the image edge is cut short, not moved inside",
             "benchmarks/quality_family_build.py",
             "    return native[min(r, max(h - s, 0)): min(r, max(h - s, 0)) + s, min(c, max(w - s, 0)): min(c, max(w - s, 0)) + s]",
             "    return native[r: r + s, c: c + s]",
             ("tests/test_quality_independent7_builder.py::test_crop_view",
              "tests/test_quality_independent8_builder.py::test_crop_view")),
    Mutation("quality-family-implementation-not-in-turn", "independent sets 7-8: every source gets a group's first implementation",
             "benchmarks/quality_family_build.py",
             "    return imps[(n + q.GROUPS.index(group)) % len(imps)]",
             "    return imps[0]",
             ("tests/test_quality_independent7_builder.py::test_sources_are_new_views_balanced_and_held_out",)),
    Mutation("quality-indep7-apply-unseeded", "independent set 7: a degradation draws from a fresh generator, not the seeded one",
             "benchmarks/quality_independent7.py",
             "    y, tag, measured = IMPL[group](np.asarray(x, np.float64), rng, how)",
             "    y, tag, measured = IMPL[group](np.asarray(x, np.float64), np.random.default_rng(), how)",
             ("tests/test_quality_independent7_builder.py::test_deterministic_by_seed_and_different_across_seeds",)),
    Mutation("quality-indep8-eval-bound-to-7", "independent set 8: its evaluator reports itself as family 7",
             "benchmarks/eval_quality_independent8.py",
             "FAMILY = 8\n", "FAMILY = 7\n",
             ("tests/test_quality_independent8_builder.py::test_eval_binding_and_nothing_in_the_product_imports_it",
              "tests/test_quality_independent8_builder.py::test_runner_plumbing_with_a_stand_in_assessor")),
    Mutation("quality-family-cache-measure-lost", "independent sets 5-8: a sample read back from the cache loses its severity measure",
             "benchmarks/quality_family_build.py",
             "int(m[4]), float(m[6]))",
             "int(m[4]), 0.0)",
             ("tests/test_quality_independent8_builder.py::test_builder_is_deterministic_and_labels_what_it_did",)),
    Mutation("quality-indep9-labels-shuffled", "independent set 9: each group labelled with the next group's family",
             "benchmarks/build_quality_independent9_set.py",
             "y, q9.FAMILY[g], q9.SUBTYPE",
             "y, q9.FAMILY[q9.GROUPS[(q9.GROUPS.index(g) + 1) % 7]], q9.SUBTYPE",
             ("tests/test_quality_independent9_builder.py::test_builder_is_deterministic_and_labels_what_it_did",)),
    Mutation("quality-indep9-jpeg-untouched", "independent set 9: the compression group returns the image unchanged",
             "benchmarks/quality_independent9.py",
             "    y = run(settings[i])\n    return y, f\"{how}-q{settings[i]}\"",
             "    y = x8\n    return y, f\"{how}-q{settings[i]}\"",
             ("tests/test_quality_independent9_builder.py::test_every_implementation_in_band_visible_and_of_its_type",)),
    Mutation("quality-indep9-training-view-allowed", "independent set 9: the held-out check never refuses a source",
             "benchmarks/build_quality_independent9_set.py",
             "    if bad:\n        raise LoupeError",
             "    if False:\n        raise LoupeError",
             ("tests/test_quality_independent9_builder.py::test_sources_are_new_views_balanced_and_held_out",)),
    Mutation("video-keyframe-claims-trusted", "video seek: a claimed keyframe is not checked against the decoder "
             "(H.261 AVI shows P pictures on a blank reference)",
             "app/data/video/av_source.py",
             "            if i == self._check_key and not is_intra(f):",
             "            if False:",
             ("tests/test_video_keyframe_claims.py", "tests/test_floor_evidence_unseen7_h261.py")),
    Mutation("video-thumbnail-labelled-as-asked", "video thumbnails: labelled with the flagged frame asked for, "
             "not the picture's own frame",
             "app/data/video/av_source.py",
             "                i = idx.frame_of_pts(found[0]) if found[0] is not None else -1",
             "                i = -1",
             ("tests/test_video_keyframe_claims.py",)),
    Mutation("video-export-copies-from-flag", "video export: clips stream-copied from any flagged keyframe, real intra picture or not",
             "app/data/video/export.py",
             "               and source.is_real_keyframe(start))",
             "               )",
             ("tests/test_video_keyframe_claims.py",)),
    Mutation("video-false-start-pictures-shown", "video seek: pictures decoded from a false keyframe are shown "
             "before a real intra picture came",
             "app/data/video/av_source.py",
             "            if self._stale:  # decoded from a false keyframe, before any real intra picture\n"
             "                if i >= n:\n                    raise _FalseStart\n                continue\n",
             "",
             ("tests/test_video_keyframe_claims.py",)),
    Mutation("video-unmarked-intra-continue-off", "video seek: where claims are distrusted the decoder does not go on "
             "forward (n's claimed keyframe decides, as on honest files): every seek decodes from frame 0",
             "app/data/video/av_source.py",
             "                                            and start - 1 - CONTINUE_SLACK <= self._pos < n)",
             "                                            and kf - 1 - CONTINUE_SLACK <= self._pos < n)",
             ("tests/test_video_unmarked_intra.py",)),
    Mutation("video-unmarked-intra-never-distrusted", "video seek: claims never distrusted, each untested claim tried "
             "and walked back from (cfhd, msvideo1: back to frame 0 at every seek)",
             "app/data/video/av_source.py",
             "        return self._false_decoded_max >= DISTRUST_AFTER and not self._true_past_zero",
             "        return False",
             ("tests/test_video_unmarked_intra.py",)),
    Mutation("finetune-choose-threshold-default-off", "a vessels2d fine-tune keeps its base's threshold by default "
             "again (session 14 made the threshold chosen on the reviewed items the default)",
             "app/models/training.py",
             "FINETUNE_CHOOSE_THRESHOLD = True\n",
             "FINETUNE_CHOOSE_THRESHOLD = False\n",
             ("tests/test_train_loop_threshold.py::"
              "test_finetune_card_threshold_is_chosen_on_the_reviewed_items_and_the_heldback_check_does_not_see_them",)),
    Mutation("quality-indep10-motion-blind", "quality assessor never reports motion blur (the family-10 floor "
             "must notice; a 1.5x exposure inflation survives it on v2.4.0)",
             "backends/quality/assess.py",
             "mask = np.array([f in ok for f in fams])",
             "mask = np.array([f in ok and f != 'motion_blur' for f in fams])",
             ("tests/test_floor_quality_independent10.py",)),
    Mutation("quality-indep10-labels-shuffled", "independent set 10: each group labelled with the next group's family",
             "benchmarks/build_quality_independent10_set.py",
             "out.append(Sample(sid, modality, mgroup, y, q10.FAMILY[g],",
             "out.append(Sample(sid, modality, mgroup, y, q10.FAMILY[q10.GROUPS[(q10.GROUPS.index(g) + 1) % 7]],",
             ("tests/test_floor_quality_independent10.py",)),
    Mutation("quality-clean-view-no-twin", "session-14 clean-view rows: a windowed CT view loses its degraded twin "
             "(the rows the rule judged pair every clean view with one)",
             "backends/quality/clean_view_rows.py",
             "        rows.append((*mlsamples._row(y, \"CT\"), fam, kind, sev, f\"{tag}+{how}\", sid, \"CT\"))",
             "        pass",
             ("tests/test_quality_clean_views.py",)),
    Mutation("quality-clean-views-default-on", "the clean-view rows that FAILED the session-14 rule switched on in the trainer",
             "backends/quality/train_assessor.py", "CLEAN_VIEWS = False\n", "CLEAN_VIEWS = True\n",
             ("tests/test_quality_clean_views.py",)),
]


def copy_tree(dest: Path) -> None:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for f in files:
        if not f or not (ROOT / f).is_file():
            continue
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / f, dest / f)


def apply(tree: Path, m: Mutation) -> None:
    p = tree / m.file
    text = p.read_text()
    old, new = m.old, m.new
    if text.count(old) != 1:
        raise SystemExit(f"{m.name}: the text to break occurs {text.count(old)} times in {m.file}; "
                         "update the mutation")
    p.write_text(text.replace(old, new))


def run_tests(tree: Path, tests: tuple[str, ...], env: dict, timeout: int) -> tuple[int, str, float]:
    t0 = time.perf_counter()
    try:
        r = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-q",
                            "-x", *tests], cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
        code, out = r.returncode, r.stdout + r.stderr
    except subprocess.TimeoutExpired:
        code, out = -1, "timed out"
    return code, out, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", help="mutation names to run")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the temporary trees")
    ap.add_argument("--baseline", action="store_true", help="also run the tests on the unbroken copy")
    ap.add_argument("--timeout", type=int, default=900)
    a = ap.parse_args()
    chosen = [m for m in MUTATIONS if not a.only or m.name in a.only]
    if a.list:
        for m in MUTATIONS:
            print(f"{m.name}: {m.what} ({m.file}) -> {' '.join(m.tests)}")
        return 0
    env = dict(os.environ)
    env.setdefault("LOUPE_TEST_CACHE", "/tmp/loupe_test_cache")
    env.setdefault("LOUPE_DATA", str((ROOT.parent / "shared" / "data").resolve()))
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.setdefault("HF_HUB_OFFLINE", "1")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    rows = []
    if a.baseline:
        chosen = [Mutation("baseline", "no change", "", "", "", tuple(sorted({t for m in chosen for t in m.tests})))] \
            + chosen
    for m in chosen:
        tree = Path(tempfile.mkdtemp(prefix=f"loupe_mut_{m.name}_"))
        try:
            copy_tree(tree)
            if m.file:
                apply(tree, m)
            code, out, dt = run_tests(tree, m.tests, env, a.timeout)
        finally:
            if not a.keep:
                shutil.rmtree(tree, ignore_errors=True)
        failed = code not in (0, 5) if m.name != "baseline" else code != 0
        last = [ln for ln in out.strip().splitlines() if ln.strip()][-1:] or ["?"]
        first_fail = next((ln for ln in out.splitlines() if ln.startswith("FAILED")), "")
        if m.name == "baseline":
            verdict = "tests FAIL on the unbroken code" if failed else "pass (as they should)"
        else:
            verdict = "caught" if failed else "SURVIVED"
        rows.append((m, verdict, last[0], first_fail, dt))
        print(f"{m.name}: {verdict} ({dt:.0f} s) | {last[0]} | {first_fail}", flush=True)
    print("\n| break | file | tests run | result | s |\n|---|---|---|---|---:|")
    for m, verdict, last, first_fail, dt in rows:
        print(f"| {m.what} | `{m.file}` | {', '.join('`' + t.split('/')[-1] + '`' for t in m.tests)} | "
              f"{verdict}: {last}{' (' + first_fail.split(' - ')[0].split('::')[-1] + ')' if first_fail else ''} | "
              f"{dt:.0f} |")
    survived = [m.name for m, v, *_ in rows if v in ("SURVIVED", "tests FAIL on the unbroken code")]
    if survived:
        print(f"\nnot caught / not clean: {', '.join(survived)}")
    return 1 if survived else 0


if __name__ == "__main__":
    raise SystemExit(main())

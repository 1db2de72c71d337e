"""The reader's budget goes to distinct events first (issue 20): every event above the threshold
gets a short core around its sharpest frame, best first, before any event gets its full length.
On the first report construction two true events were lost because fewer, longer false events
with higher scores had taken the whole budget."""
from __future__ import annotations

import numpy as np

from backends.evidence.converge import ScoredEvent
from backends.evidence.pipeline import allot_budget, core_of


def _event(start: int, length: int, z: float, key: int | None = None) -> ScoredEvent:
    key = start + length // 2 if key is None else key
    return ScoredEvent(start, start + length - 1, z, 0.5, 0.0, 0.0, length, [key])


def test_short_events_are_not_crowded_out_by_long_stronger_ones():
    good = np.ones(10_000, bool)
    long_false = [_event(1000 * i, 40, 20.0 - i) for i in range(5)]      # 200 frames, strongest
    short_true = [_event(6000 + 100 * i, 4, 5.0) for i in range(10)]     # 40 frames, weaker
    events = sorted(long_false + short_true, key=lambda e: -e.z)
    kept, used = allot_budget(events, 100, 2, lambda e: False, good)
    assert used <= 100
    assert sum(1 for e in kept if e.start >= 6000) == 10      # every short event shown
    assert len(kept) == 15                                     # and a core of every long one
    # what was left went to the strongest events, grown back to their full length
    strongest = max(kept, key=lambda e: e.z)
    assert strongest.end - strongest.start + 1 == 40
    assert used == sum(e.end - e.start + 1 for e in kept)


def test_core_is_centred_on_the_key_frame_and_inside_the_event():
    e = _event(100, 30, 9.0, key=128)
    a, b = core_of(e, 6, np.ones(200, bool))
    assert (a, b) == (124, 129)
    assert core_of(_event(100, 4, 9.0), 6, np.ones(200, bool)) == (100, 103)


def test_events_seen_nearby_come_after_all_others():
    good = np.ones(5000, bool)
    seen = _event(0, 4, 30.0)
    others = [_event(500 * (i + 1), 4, 10.0) for i in range(5)]
    kept, used = allot_budget([seen] + others, 10, 2, lambda e: e is seen, good)
    assert seen not in kept and used == 10


def test_one_frame_events_come_after_events_that_last():
    """Issue 20: a one-frame event cannot be told from a one-frame glitch of other content, so it
    takes what the cores of lasting events leave (before they grow back, after them in rank)."""
    good = np.ones(5000, bool)
    single = ScoredEvent(100, 100, 80.0, 0.9, 0.0, 0.0, 1, [100])
    lasting = [_event(500 * (i + 1), 6, 6.0 - 0.1 * i) for i in range(5)]
    kept, used = allot_budget([single] + lasting, 10, 2, lambda e: False, good)
    assert single not in kept and used == 10
    kept, used = allot_budget([single] + lasting, 11, 2, lambda e: False, good)
    assert single in kept and used == 11 and all(e.end - e.start + 1 == 2 for e in kept if e is not single)


def test_the_budget_is_one_percent_on_any_clip_that_can_hold_an_event_core():
    """Issue 20 session 7: the 2-s minimum budget applied to every clip under 200 s, so the unseen3
    surgical clips (136 s at 25 fps, 104 s at 60 fps) kept 1.5-1.9% of their frames. Now 1% holds
    whenever 1% is at least one event core (0.5 s: clips of 50 s and more)."""
    from backends.evidence.pipeline import Settings, reader_budget

    s = Settings()
    assert reader_budget(3400, 25.0, s) == 34            # 136 s at 25 fps: 1%, not 2 s (50 frames)
    assert reader_budget(6250, 60.0, s) == 62            # 104 s at 60 fps: 1%, not 120 frames
    assert reader_budget(1250, 25.0, s) == 12            # exactly 50 s: 1% is one core
    assert reader_budget(72_000, 25.0, s) == 720         # long videos as before
    # a 30-s clip's 1% (3 frames at 10 fps) is less than one view: it keeps 2 s
    assert reader_budget(300, 10.0, s) == 20
    assert reader_budget(5, 10.0, s) == 5                # never more than the clip


def _scenes_with_one_frame_events(seed: int = 0) -> tuple[np.ndarray, float]:
    """Descriptors of a stream: scene A (frames 0-199), a new view seen in frame 200 exactly where the
    stream cuts to scene B (201-399), and a flash of other content at frame 300 inside scene B.
    Returns (descriptors, the 'same content' distance as the pipeline computes it)."""
    rng = np.random.default_rng(seed)
    a, b, new, flash = (rng.normal(0, 1, 64) * 3 for _ in range(4))
    desc = np.concatenate([a + rng.normal(0, 0.05, (200, 64)), new[None], b + rng.normal(0, 0.05, (199, 64))])
    desc[300] = flash
    d1 = np.linalg.norm(np.diff(desc, axis=0), axis=1)
    return desc.astype(np.float32), 4.0 * float(np.median(d1))


def test_a_one_frame_view_at_a_cut_is_told_from_a_flash_inside_a_view():
    """Issue 20 session 10 (dev sets unseen2-5): every false one-frame event with alike neighbours,
    no true one; true one-frame views sit where the stream changes and differ from both sides."""
    from backends.evidence.pipeline import Settings, one_frame_at_a_cut

    desc, same = _scenes_with_one_frame_events()
    s = Settings()
    at_cut = ScoredEvent(200, 200, 9.0, 0.5, 0.0, 0.0, 1, [200])
    flash = ScoredEvent(300, 300, 90.0, 0.9, 0.0, 0.0, 1, [300])
    assert one_frame_at_a_cut(desc, at_cut, same, s.single_apart, s.single_new)
    assert not one_frame_at_a_cut(desc, flash, same, s.single_apart, s.single_new)
    # the last frame of scene A is not new: it is like its left neighbour
    assert not one_frame_at_a_cut(desc, ScoredEvent(199, 199, 9.0, 0.5, 0.0, 0.0, 1, [199]), same,
                                  s.single_apart, s.single_new)
    # a clip's first and last frames have one neighbour: never at a cut
    assert not one_frame_at_a_cut(desc, ScoredEvent(0, 0, 9.0, 0.5, 0.0, 0.0, 1, [0]), same,
                                  s.single_apart, s.single_new)


def test_a_one_frame_view_at_a_cut_ranks_with_events_that_last():
    """The unseen6 misses E20e found lost to the budget were one-frame views ranked after every
    lasting event's core; one at a cut now competes by score, a glitch still comes last."""
    good = np.ones(5000, bool)
    at_cut = ScoredEvent(100, 100, 30.0, 0.8, 0.0, 0.0, 1, [100])
    glitch = ScoredEvent(200, 200, 80.0, 0.9, 0.0, 0.0, 1, [200])
    lasting = [_event(500 * (i + 1), 6, 6.0 - 0.1 * i) for i in range(5)]
    events = sorted([at_cut, glitch] + lasting, key=lambda e: -e.z)
    kept, used = allot_budget(events, 9, 2, lambda e: False, good, lambda e: e is at_cut)
    assert at_cut in kept and glitch not in kept and used == 9
    assert sum(1 for e in kept if e in lasting) == 4          # the weakest lasting core made room
    kept, used = allot_budget(sorted([at_cut, glitch] + lasting, key=lambda e: -e.z), 10, 2,
                              lambda e: e is at_cut, good, lambda e: e is at_cut)
    assert at_cut not in kept                                 # seen nearby still goes last


def test_a_very_low_rate_clip_keeps_one_frame_per_floor_s_of_video():
    """Issue 20 session 10 (DEV): the unseen6 0.2-fps capsule clip (420 frames, 35 min) held 7 events
    and 1% of it is 4 frames; what a stretch of gut holds does not shrink with the capture rate.
    Below 0.5 fps a clip keeps one frame per ``floor_s`` (200 s) of video; at 0.5 fps and faster
    the 1% budget is unchanged."""
    from backends.evidence.pipeline import Settings, reader_budget

    s = Settings()
    assert s.floor_s == 200.0
    assert reader_budget(420, 0.2, s) == 10              # 2100 s: 10 frames (2.4%), not 4
    assert reader_budget(180, 0.2, s) == 4               # 900 s: 4 frames, not 1
    assert reader_budget(2625, 1 / 3, s) == 39           # 0.33 fps: 39, not 26
    assert reader_budget(4609, 0.5, s) == 46             # 0.5 fps: 1% and the floor agree
    assert reader_budget(5043, 1.0, s) == 50             # 1 fps and faster: 1%, as before
    assert reader_budget(72_000, 25.0, s) == 720
    assert reader_budget(420, 0.2, Settings(floor_s=0)) == 4   # off: 1% of frames per clip


def test_a_very_strong_one_frame_view_ranks_with_events_that_last():
    """Issue 20 session 12 (DEV, unseen2-8): a one-frame view inserted into a continuing view has
    alike neighbours, like a glitch, so it used to rank after every lasting core (unseen8: views of
    z 103-192 not kept while lasting events of z 5-40 were). One this strong (``single_strong_z``,
    10 x threshold) now competes by score; a weaker flash between alike neighbours still comes last."""
    from backends.evidence.pipeline import Settings, one_frame_ranks_with_lasting

    desc, same = _scenes_with_one_frame_events()
    s = Settings()
    strong = ScoredEvent(300, 300, 50.0, 0.9, 0.0, 0.0, 1, [300])   # frame 300: a flash inside scene B
    weak = ScoredEvent(300, 300, 30.0, 0.9, 0.0, 0.0, 1, [300])
    assert one_frame_ranks_with_lasting(desc, strong, same, s)
    assert not one_frame_ranks_with_lasting(desc, weak, same, s)
    assert one_frame_ranks_with_lasting(desc, ScoredEvent(200, 200, 9.0, 0.5, 0.0, 0.0, 1, [200]), same, s)
    good = np.ones(5000, bool)
    lasting = [_event(500 * (i + 1), 6, 20.0 - 0.1 * i) for i in range(5)]
    for single, shown in ((strong, True), (weak, False)):
        events = sorted([single] + lasting, key=lambda e: -e.z)
        kept, used = allot_budget(events, 10, 2, lambda e: False, good,
                                  lambda e: one_frame_ranks_with_lasting(desc, e, same, s))
        assert (single in kept) is shown
        assert sum(1 for e in kept if e in lasting) == (4 if shown else 5)   # the weakest core made room


def test_core_s_product_setting_and_what_a_quarter_second_core_would_do():
    """Issue 20 session 21 (docs/figures/evidence_session21_rule.md): the first-round core decides how many
    distinct events a surgical-rate clip's 1% can show (3 minutes at 30 fps: 54 frames, three 15-frame cores
    at 0.5 s, six 8-frame cores at 0.25 s). The rule decided the product value; the shorter core stays a
    setting (the switch)."""
    from backends.evidence.pipeline import Settings, reader_budget

    assert Settings().core_s == 0.5
    n, fps = 5400, 30.0
    good = np.ones(n, bool)
    for core_s, shown in ((0.5, 3), (0.25, 6)):
        s = Settings(core_s=core_s)
        budget = reader_budget(n, fps, s)
        core = min(budget, max(s.min_frames, int(round(s.min_event_s * fps)), int(round(s.core_s * fps))))
        events = [_event(600 * (i + 1), 40, 30.0 - i) for i in range(7)]
        kept, used = allot_budget(events, budget, core, lambda e: False, good)
        assert budget == 54 and len(kept) == shown and used <= budget


def _repeat_case():
    """A continuing picture (a fixed luma layout and chroma, a little noise) with, in this order: an overlay
    stretch, a cut-in, the same overlay again, a second cut-in of other content, a region change of its own."""
    from backends.evidence.screen import DESC_DIM

    rng = np.random.default_rng(7)
    n = 600
    base = rng.normal(0.0, 1.0, DESC_DIM)
    desc = np.tile(base, (n, 1)) + rng.normal(0.0, 0.01, (n, DESC_DIM))
    overlay = np.zeros(DESC_DIM)
    overlay[:8] = 0.8            # a box over the top row of the layout...
    overlay[64:68] = 0.5         # ...that tints the chroma there
    region = np.zeros(DESC_DIM)
    region[36:40] = -0.8         # a change of its own elsewhere
    spans = {"overlay1": (100, 110), "cut1": (200, 210), "overlay2": (300, 310), "cut2": (400, 410),
             "region": (500, 510)}
    for name, (a, b) in spans.items():
        if name.startswith("overlay"):
            desc[a: b + 1] += overlay
        elif name == "region":
            desc[a: b + 1] += region
        else:
            desc[a: b + 1] = rng.normal(0.0, 0.5, DESC_DIM)   # a new picture over the same background
    events = {name: _event(a, b - a + 1, 20.0) for name, (a, b) in spans.items()}
    return desc.astype(np.float32), events


def test_nuisance_repeat_product_setting_and_what_the_signature_flags():
    """Issue 20 session 21c (docs/figures/evidence_session21c_rule.md): a change over a continuing picture that
    repeats another one's (a menu box, a rolling band, a colour cast coming back) may rank after the fresh
    events; a cut-in (the picture replaced) or a change of its own never does. The rule decided the product
    value (off); the signature stays a setting (the switch)."""
    from backends.evidence.pipeline import Settings, reader_budget, repeated_changes

    assert Settings().nuisance_repeat == 0.0
    # the short-clip rule does not read it: the dark-clip test's 30-s, 10-fps budget is the product's
    assert reader_budget(300, 10.0, Settings(nuisance_repeat=0.7)) == reader_budget(300, 10.0, Settings()) == 20
    desc, ev = _repeat_case()
    good = np.ones(len(desc), bool)
    flagged = repeated_changes(desc, list(ev.values()), good, 0.7)
    assert flagged == {id(ev["overlay1"]), id(ev["overlay2"])}
    assert repeated_changes(desc, [ev["overlay1"], ev["cut1"], ev["region"]], good, 0.7) == set()   # once only


def test_repeated_changes_rank_after_fresh_events_and_are_never_dropped():
    good = np.ones(10_000, bool)
    nuisance = [_event(1000 * i, 40, 30.0 - i) for i in range(3)]       # strongest, repeated
    fresh = [_event(5000 + 1000 * i, 40, 8.0) for i in range(3)]        # weaker, fresh
    events = sorted(nuisance + fresh, key=lambda e: -e.z)
    ids = {id(e) for e in nuisance}
    kept, _ = allot_budget(events, 15, 5, lambda e: False, good, repeated=lambda e: id(e) in ids)
    assert {e.start for e in kept} == {e.start for e in fresh}           # the three fresh cores first
    kept, _ = allot_budget(sorted(nuisance + fresh, key=lambda e: -e.z), 30, 5, lambda e: False, good,
                           repeated=lambda e: id(e) in ids)
    assert len(kept) == 6                                                # demoted, never dropped

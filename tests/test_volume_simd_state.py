"""P17: the CPU ray caster's gradient pass must start with a clean AVX upper state. Qt's painter
leaves it dirty, and VTK's SSE code then ran ~4x slower (shell's first shaded 3D render of the
head CT: 13 s instead of 2.6 s of CPU). These tests dirty the state on purpose (as Qt does), render,
and read the thread's XINUSE bits at the gradient pass's start event; no timing is asserted."""
from __future__ import annotations

import numpy as np
import pytest
from volume_data import blob_volume

from viewers.volume import OffscreenScene
from viewers.volume import simd_state as ss

# vcmptrueps ymm0, ymm0, ymm0; ret  -- a 256-bit write without vzeroupper, like Qt's fill code
_DIRTY = ss._exec_function(b"\xc5\xfc\xc2\xc0\x0f\xc3", None) if ss._avx_usable() else None
needs_xinuse = pytest.mark.skipif(_DIRTY is None or ss.avx_upper_dirty() is None,
                                  reason="needs x86-64 AVX, XGETBV(1) and an executable page")


@needs_xinuse
def test_clear_avx_upper_cleans_a_dirty_upper_state(monkeypatch):
    monkeypatch.delenv("LOUPE_AVX_CLEAR", raising=False)
    _DIRTY()
    assert ss.avx_upper_dirty() is True
    assert ss.clear_avx_upper() is True
    assert ss.avx_upper_dirty() is False
    monkeypatch.setenv("LOUPE_AVX_CLEAR", "0")     # the off switch really switches it off
    _DIRTY()
    assert ss.clear_avx_upper() is False
    assert ss.avx_upper_dirty() is True
    monkeypatch.delenv("LOUPE_AVX_CLEAR")
    ss.clear_avx_upper()


@needs_xinuse
def test_gradient_pass_starts_clean_after_a_dirty_caller(monkeypatch):
    monkeypatch.delenv("LOUPE_AVX_CLEAR", raising=False)
    vol = blob_volume(np.diag([1.0, 1.0, 2.0, 1.0]), shape=(16, 24, 24), centre_ijk=(12, 12, 8), radius=5.0)
    off = OffscreenScene((48, 48), orientation_marker=False)
    try:
        off.scene.set_volume(vol, preset="ct_bone")
        off.scene.set_camera("A")
        if off.scene.actor.mode != "cpu":
            pytest.skip("GPU ray casting: no CPU gradient pass")
        seen: list = []
        off.scene.actor.mapper.AddObserver("VolumeMapperComputeGradientsStartEvent",
                                           lambda *_: seen.append(ss.avx_upper_dirty()))
        _DIRTY()                                   # what Qt's painter leaves behind
        assert ss.avx_upper_dirty() is True
        img = off.render()
        assert seen == [False], f"AVX upper state at the gradient pass: {seen} (True = dirty, ~4x slower)"
        assert img.max() > 100                     # the blob was rendered
    finally:
        off.close()
        ss.clear_avx_upper()


def test_clear_is_a_harmless_no_op_where_unsupported(monkeypatch):
    monkeypatch.setattr(ss, "_cache", {})
    monkeypatch.setattr(ss, "_avx_usable", lambda: False)
    assert ss.clear_avx_upper() is False
    assert ss.avx_upper_dirty() is None
    assert ss.install(object()) is None

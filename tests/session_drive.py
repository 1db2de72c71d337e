"""Drives a Session through open, run (blocking and async with progress and cancel), decide,
edit and export on a real CT series. Run by tests/test_session.py in a subprocess where PySide6
and VTK cannot be imported (a meta-path blocker in sitecustomize, so worker processes are
blocked too). Every check is an assert; the last line printed is 'SESSION OK'."""
from __future__ import annotations

import sys
import threading
from pathlib import Path

import numpy as np


def main(data: Path, work: Path) -> None:
    from session_backends import SLOW

    from app.data.types import LoupeError
    from app.export.coco import read_coco
    from app.export.csv_segments import read_csv_segments
    from app.export.nifti import read_nifti
    from app.export.seg import read_seg
    from app.export.sr import read_sr
    from app.jobs.cache import ResultCache
    from app.jobs.local import LocalRunner
    from app.layers import EventsLayer, LabelLayer, Provenance, Shape, TemporalEvent
    from app.review.editing import LabelEditor
    from app.session import Session
    from backends.demo_threshold import SPEC as THRESHOLD
    from backends.registry import Registry

    runner = LocalRunner(Registry.from_specs([THRESHOLD, SLOW]), max_workers=1,
                         cache=ResultCache(work / "cache"))
    s = Session(store=work / "ws", user="ana", runner=runner)
    events: list[str] = []
    s.changed.connect(lambda _s: events.append("changed"))

    # open: a real DICOM CT series -> a scene with LPS geometry
    scene = s.open(data / "dicom" / "dcm_qa_ct_philips_phantom" / "dicom")
    assert scene is not None and scene.volume.spatial_shape[0] > 1, "CT series opens as a volume"
    moved: list[int] = []
    scene.cursor_changed.connect(lambda: moved.append(1))
    scene.step("axial", 2)
    assert moved, "the scene notifies through plain callbacks"

    # run (blocking): layers in the scene and stored as the AI version; findings kept
    res = s.run("threshold", smooth_mm=1.0)
    assert len(res.layers) == 1 and isinstance(res.layers[0], LabelLayer), res.layers
    assert res.findings, "threshold reports a finding"
    ai = res.layers[0]
    assert ai in scene.layers and s.findings == res.findings
    head = s.store.head(ai.id)
    assert head is not None and head.source_kind == "backend" and head.backend == "threshold"
    ai_before = ai.labels.copy()
    assert ai_before.any()

    # run_async: progress reported, cancel stops it, nothing recorded
    progress: list[float] = []
    done = threading.Event()
    outcome: list[tuple] = []

    def finished(r, err):
        outcome.append((r, err))
        done.set()

    job = s.run_async("slow", steps=400, step_s=0.05, on_progress=lambda f, m: progress.append(f),
                      on_done=finished)
    for _ in range(1200):   # up to 60 s for the worker process to start and report (10 s was short under load)
        if progress and progress[-1] > 0.0:
            break
        threading.Event().wait(0.05)
    job.cancel()
    assert done.wait(60), "a cancelled job still reports its end"
    assert outcome[0][0] is None and "cancel" in outcome[0][1], outcome
    assert progress and max(progress) < 1.0
    n_layers = len(scene.layers)
    done.clear()
    outcome.clear()
    s.run_async("slow", steps=3, step_s=0.01, on_done=finished)
    assert done.wait(120) and outcome[0][1] == "", outcome
    assert len(scene.layers) == n_layers + 1
    s.decide(outcome[0][0].layers[0], "reject", comment="not a structure")

    # decide: accept the AI layer, recorded with its version and audited
    d = s.decide(ai, "accept", comment="looks right")
    assert d.version_id == head.version_id and d.user == "ana"
    assert any(a.action == "accept" for a in s.store.audit(ai.id))

    # edit: copy-on-edit, the AI array is never touched
    k = ai.labels.shape[0] // 2

    def carve(layer):
        ed = LabelEditor.for_layer(layer)
        ed.begin_stroke("carve")
        ed.paint((k, 20, 20), 6.0, 2, axis=0)
        ed.end_stroke()

    human = s.edit(ai, carve, comment="marked an insert")
    assert human is not ai and human.id == ai.id
    assert np.array_equal(ai.labels, ai_before), "the AI array was written in place"
    assert (human.labels == 2).any() and not (ai.labels == 2).any()
    assert human in scene.layers and ai not in scene.layers
    hv = s.store.head(ai.id)
    assert hv.source_kind == "human" and hv.author == "ana" and hv.parent_version == head.version_id
    assert np.array_equal(s.store.load_layer(ai.id, head.version_id).labels, ai_before)
    assert s.decided_version(ai).version_id == hv.version_id

    # export: the decided (edited) version, from the store
    (work / "out").mkdir()
    seg = s.export("seg", work / "out" / "mask")
    back = read_seg(seg)
    assert (back.labels == 2).sum() == (human.labels == 2).sum() > 0
    nii = s.export("nifti", work / "out" / "mask.nii.gz")
    assert np.array_equal(read_nifti(nii).labels, human.labels)
    coco = s.export("coco", work / "out" / "mask.json")
    assert read_coco(coco)["labels"] is not None

    # measurements -> SR
    vol = scene.volume
    w = lambda i, j, kk: (np.array([i, j, kk, 1.0]) @ vol.affine.T)[:3]  # noqa: E731
    scene.add_measurement(Shape("polyline", [w(100, 100, 5), w(300, 100, 5)], "diameter"),
                          scene.plane("axial"))
    s.decide(scene.measurements, "accept")
    sr = s.export("sr", work / "out" / "sr.dcm")
    rec = read_sr(sr)
    spacing = float(vol.spacing[0])
    assert len(rec) == 1 and abs(rec[0].value - 200 * spacing) < 1e-3, rec

    # segments -> CSV (a human layer added to the session, then accepted)
    seg_layer = s.add_layer(EventsLayer([TemporalEvent(0, 3, 1.0, "insert")], "segments",
                                        Provenance.human("ana")))
    s.decide(seg_layer, "accept")
    csv = s.export("csv", work / "out" / "segments")
    assert read_csv_segments(csv).events[0].label == "insert"

    # rejected or undecided layers are not exported
    s.decide(seg_layer, "reject")
    try:
        s.export("csv", work / "out" / "again.csv", seg_layer)
        raise AssertionError("a rejected layer was exported")
    except LoupeError as e:
        assert "rejected" in str(e)
    assert "changed" in events
    s.close()
    assert "PySide6" not in sys.modules and "vtkmodules" not in sys.modules
    print("SESSION OK")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))

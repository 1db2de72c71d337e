"""The Qt-free core: a Session driven end to end, and every core module imported, with PySide6
and VTK made unimportable (a meta-path blocker installed by sitecustomize, so the job runner's
worker processes are blocked as well)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from runner_made import runner_made

ROOT = Path(__file__).resolve().parent.parent
BLOCKED = ("PySide6", "shiboken6", "vtk", "vtkmodules")
# The desktop, by design: the shell and the command that starts it.
QT_SIDE = ("app.shell", "app.commands.gui")

BLOCKER = f'''
import sys

class _QtVtkBlocker:
    """Refuses {BLOCKED}: the core must work where they are not installed."""
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {BLOCKED!r}:
            raise ModuleNotFoundError(f"{{name}} is blocked (core without Qt/VTK)", name=name)
        return None

sys.meta_path.insert(0, _QtVtkBlocker())
'''


def _run_blocked(tmp_path: Path, args: list[str], timeout: float) -> subprocess.CompletedProcess:
    site = tmp_path / "blocker"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(BLOCKER)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT), str(ROOT / "tests")])
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_blocker_really_blocks(tmp_path):
    p = _run_blocked(tmp_path, ["-c", "import PySide6"], 60)
    assert p.returncode != 0 and "blocked" in p.stderr
    p = _run_blocked(tmp_path, ["-c", "from vtkmodules.vtkCommonCore import vtkObject"], 60)
    assert p.returncode != 0 and "blocked" in p.stderr
    p = _run_blocked(tmp_path, ["-c", "import viewers.slice.model"], 60)
    assert p.returncode != 0, "the Qt adapter must need Qt (else the blocker tests nothing)"


def _core_modules() -> list[str]:
    mods = []
    for top in ("app", "backends"):
        for f in sorted((ROOT / top).rglob("*.py")):
            rel = f.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join(parts)
            if any(name == q or name.startswith(q + ".") for q in QT_SIDE):
                continue
            mods.append(name)
    return mods


@pytest.mark.slow
def test_every_core_module_imports_without_qt_or_vtk(tmp_path):
    mods = _core_modules()
    assert len(mods) > 100 and "app.session.session" in mods and "backends.base" in mods
    code = ("import importlib, sys\nbad = []\n"
            f"for m in {mods!r}:\n"
            "    try:\n        importlib.import_module(m)\n"
            "    except Exception as e:\n        bad.append(f'{m}: {type(e).__name__}: {e}')\n"
            "print('\\n'.join(bad) or 'ALL IMPORTED')\n"
            f"assert not [k for k in sys.modules if k.split('.')[0] in {BLOCKED!r}]\n")
    p = _run_blocked(tmp_path, ["-c", code], 280)
    assert p.returncode == 0 and p.stdout.strip().endswith("ALL IMPORTED"), p.stdout[-3000:] + p.stderr[-3000:]


@pytest.mark.slow
def test_session_open_run_decide_edit_export_without_qt(tmp_path, data_dir):
    p = _run_blocked(tmp_path, [str(ROOT / "tests" / "session_drive.py"), str(data_dir), str(tmp_path)], 280)
    assert p.returncode == 0 and p.stdout.strip().endswith("SESSION OK"), p.stdout[-3000:] + p.stderr[-4000:]


def test_a_result_with_findings_and_no_layer_is_kept(tmp_path):
    """Image quality answers with findings only: they reach the session, the scene and the store
    as a findings layer with the run's provenance (the shell used to drop them)."""
    import numpy as np

    from app.data.types import Volume
    from app.layers import Finding
    from app.session import Session
    from backends.base import BackendResult

    s = Session(store=tmp_path / "ws", user="ana", runner=object())
    s.open_volume(Volume(np.zeros((1, 8, 8), np.uint8), np.eye(4)), "photo")
    res = BackendResult(findings=[Finding("motion blur, moderate", 0.8)],
                        record={"backend": "quality", "version": "1.0.0", "params": {"top": 2}})
    from app.jobs.attest import attest_result
    out = s._accept("quality", attest_result(res), s.scene, s.study)  # as a finished job hands it over
    assert out.layers == [] and [f.statement for f in out.findings] == ["motion blur, moderate"]
    fl = out.findings_layer
    assert fl is not None and fl in s.scene.layers
    assert fl.provenance.kind == "backend" and fl.provenance.author == "quality" and fl.provenance.params == {"top": 2}
    assert s.store.head(fl.id).backend == "quality"
    assert s.findings == out.findings
    s.decide(fl, "accept")
    s.close()


def test_session_opens_video_and_names_bad_input(tmp_path, data_dir):
    """A video opens as a path for backends (they decode it in their worker); a missing path, a
    run before anything is open, an unknown decision and a wrong-shaped edit each give one line."""
    import numpy as np

    from app.data.types import LoupeError, ReadError, Volume
    from app.layers import LabelLayer, Provenance
    from app.session import Session

    s = Session(store=tmp_path / "ws", user="ana", runner=object())
    with pytest.raises(LoupeError, match="open an image or a video"):
        s.backend_input()
    with pytest.raises(ReadError, match="no such file"):
        s.open(tmp_path / "nothing.mp4")
    clip = next((data_dir / "endoscopy" / "endovis2017_clip").glob("*.mp4"))
    assert s.open(clip) is None and s.video_path == clip and s.scene is None
    assert s.backend_input().kind == "video" and s.backend_input().path == str(clip)

    scene = s.open_volume(Volume(np.zeros((1, 8, 8), np.int16), np.eye(4)), "img")
    lab = s.add_layer(runner_made(LabelLayer(np.zeros((1, 8, 8), np.uint8), np.eye(4), "m", Provenance.backend("t", "1"))))
    assert lab in scene.layers and s.store.head(lab.id).source_kind == "backend"
    with pytest.raises(LoupeError, match="accept' or 'reject"):
        s.decide(lab, "maybe")
    with pytest.raises(LoupeError, match="shape"):
        s.edit(lab, labels=np.ones((2, 8, 8), np.uint8))
    new = np.zeros((8, 8), np.uint8)
    new[2:4, 2:4] = 1
    human = s.edit(lab, labels=new)
    assert human.labels.sum() == 4 and lab.labels.sum() == 0
    assert s.store.head(lab.id).source_kind == "human"
    other = s.add_layer(runner_made(LabelLayer(np.zeros((1, 8, 8), np.uint8), np.eye(4), "o", Provenance.backend("t", "1"))))
    with pytest.raises(LoupeError, match="no decision yet"):
        s.export("nifti", tmp_path / "o.nii.gz", other)
    out = s.export("nifti", tmp_path / "m.nii.gz", lab)   # the edit decided it: its human version
    from app.export.nifti import read_nifti

    assert read_nifti(out).labels.sum() == 4
    s.close()


def test_review_core_keeps_the_ai_version_from_a_stroke_during_its_save(tmp_path, monkeypatch):
    """app.session.review.Review (the rules the desktop's Workflow wraps), without Qt: the AI
    version is written from a snapshot, so a change made while the background save runs is not
    in it; a decision needs a reviewer name, asked once and kept."""
    import threading

    import numpy as np

    from app.data.types import LoupeError
    from app.layers import LabelLayer, Provenance
    from app.review.store import ReviewStore
    from app.session.review import Review

    real_save = ReviewStore.save_layer
    painted = threading.Event()

    def save_after_the_stroke(self, layer, **kw):
        if threading.current_thread() is not threading.main_thread():
            painted.wait(60)   # released by the test right after the stroke; only a hang guard
        return real_save(self, layer, **kw)

    monkeypatch.setattr(ReviewStore, "save_layer", save_after_the_stroke)
    names: list[str] = []
    asked: list[int] = []
    review = Review(lambda: tmp_path / "ws", lambda: names[-1] if names else "",
                    ask_user=lambda: asked.append(1) or "ana", remember_user=names.append)
    changes: list[int] = []
    review.changed.connect(lambda: changes.append(1))
    ai = runner_made(LabelLayer(np.ones((2, 4, 4), np.uint8), np.eye(4), "ai", Provenance.backend("t", "1")))
    review.record_result([ai])
    assert review.is_saving(ai.id)
    ai.labels[0] = 0                       # a stroke while the AI version is being written
    painted.set()
    review.wait_saved()
    assert not review.is_saving(ai.id) and changes
    assert review.store.load_layer(ai.id).labels.sum() == 32, "the stroke reached the AI version"
    d = review.decide(ai, "accept")
    assert d.user == "ana" and asked == [1]
    review.decide(ai, "reject")
    assert asked == [1], "the name is asked once"
    info = review.save_edit(ai)
    assert info.source_kind == "human" and review.store.load_layer(ai.id).labels.sum() == 16
    names.clear()
    review._ask_user = lambda: ""
    with pytest.raises(LoupeError, match="reviewer name"):
        review.decide(ai, "accept")
    review.close()


def test_measurements_are_kept_with_the_study_across_sessions(tmp_path):
    """A measurement made in one session is back when the same image opens in the next (found by
    content for a file, so a moved file keeps it); deleting it is a new version, not a loss."""
    import numpy as np

    from app.data.types import Volume
    from app.layers import Shape
    from app.session import Session

    arr = np.arange(64, dtype=np.int16).reshape(1, 8, 8)
    s = Session(store=tmp_path / "ws", user="ana", runner=object())
    scene = s.open_volume(Volume(arr.copy(), np.eye(4)), "img", "a/x.png")
    layer = scene.measurement_layer()
    layer.shapes.append(Shape("polyline", [[0, 0, 0], [3, 4, 0]], "d", attrs={"measure": "distance"}))
    layer.notify_data_changed()
    s2 = Session(store=tmp_path / "ws", user="bo", runner=object())
    back = s2.open_volume(Volume(arr.copy(), np.eye(4)), "img", "elsewhere/x.png")
    assert back.measurements is not None and len(back.measurements.shapes) == 1
    assert back.measurements.shapes[0].vertices.tolist()[1] == [3, 4, 0]
    back.measurements.shapes.clear()
    back.measurements.notify_data_changed()
    other = Session(store=tmp_path / "ws", user="cy", runner=object()).open_volume(Volume(arr + 1, np.eye(4)), "o")
    assert other.measurements is None                     # another image: not its measurements
    rid = [lid for lid in s2.store.layer_ids() if lid.startswith("measurements:")]
    assert len(rid) == 1 and len(s2.store.versions(rid[0])) == 2   # the deletion is a version

"""Review store: versions are immutable, edits chain to their parent, decisions and audit are kept
per user, kill -9 during writes loses nothing committed, a bad file is never overwritten."""
from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from runner_made import runner_made

from app.data.types import LoupeError, Volume
from app.layers import (
    EventsLayer,
    Finding,
    FindingsLayer,
    GraphLayer,
    ImageLayer,
    LabelLayer,
    PointsLayer,
    Provenance,
    Shape,
    ShapesLayer,
    TemporalEvent,
)
from app.review.store import ReviewStore

ROOT = Path(__file__).resolve().parent.parent
AFFINE = np.array([[0.45, 0, 0, -115.5], [0, 0.45, 0, -1.85], [0, 0, 5.0, 696.2], [0, 0, 0, 1]])


def _ai_mask(seed=0):
    rng = np.random.default_rng(seed)
    lab = np.zeros((6, 40, 50), np.uint8)
    lab[2:5, 10:30, 5:40] = 1
    lab[rng.random(lab.shape) > 0.97] = 2
    prov = Provenance.backend("segmenter", "1.2.0", {"threshold": 0.5})
    return runner_made(LabelLayer(lab, AFFINE, "AI mask", prov))


def test_layer_round_trip_and_ai_never_overwritten(tmp_path):
    store = ReviewStore.for_workspace(tmp_path / "ws")
    ai = _ai_mask()
    v1 = store.save_layer(ai)
    assert v1.source_kind == "backend" and v1.backend == "segmenter" and v1.backend_version == "1.2.0"
    assert v1.params == {"threshold": 0.5} and v1.parent_version is None

    edited = store.load_layer(ai.id)
    edited.labels[3, 12:20, 5:10] = 0
    v2 = store.save_edit(edited, "ana", comment="trimmed left edge")
    assert v2.parent_version == v1.version_id and v2.source_kind == "human" and v2.author == "ana"

    # the AI version is still exactly as the backend made it
    orig = store.load_layer(ai.id, v1.version_id)
    assert np.array_equal(orig.labels, ai.labels) and orig.provenance.kind == "backend"
    head = store.load_layer(ai.id)
    assert np.array_equal(head.labels, edited.labels)
    assert head.provenance.parent == v1.version_id
    assert np.array_equal(head.affine, AFFINE) and head.labels.dtype == np.uint8
    # immutability enforced by the database itself
    with pytest.raises(sqlite3.DatabaseError, match="immutable"):
        store._db.execute("UPDATE versions SET author='mallory'")
    with pytest.raises(sqlite3.DatabaseError, match="immutable"):
        store._db.execute("DELETE FROM versions")
    assert [v.version_id for v in store.versions(ai.id)] == [v1.version_id, v2.version_id]
    store.close()


def test_every_layer_kind_round_trips(tmp_path):
    prov = Provenance.backend("b", "1")
    vol = Volume(np.arange(24, dtype=np.int16).reshape(2, 3, 4), AFFINE)
    layers = [
        ImageLayer(vol, "img", prov),
        GraphLayer([[0, 0, 0], [1, 2, 3]], [1.0, 2.0], [[0, 1]], "g", prov, branch_ids=[7],
                   node_attrs={"curv": np.array([0.1, 0.2])}),
        PointsLayer([[1, 2, 3]], "p", prov, labels=["tip"], frames=[4]),
        ShapesLayer([Shape("box", [[0, 0, 0], [5, 5, 0]], "tool", frame=3),
                     Shape("polygon", [[0, 0, 0], [5, 0, 0], [5, 5, 0]], "roi")], "s", prov),
        EventsLayer([TemporalEvent(3, 9, 0.8, "bleed", "dark red", [5])], "e", prov),
        FindingsLayer([Finding("stenosis 50%", 0.7, "", [])], "f", prov),
    ]
    with ReviewStore(tmp_path / "s.sqlite") as store:
        for lay in layers:
            store.save_layer(runner_made(lay))
        for lay in layers:
            back = store.load_layer(lay.id)
            assert back.kind == lay.kind and back.name == lay.name and back.id == lay.id
        assert np.array_equal(store.load_layer(layers[0].id).volume.array, vol.array)
        g = store.load_layer(layers[1].id)
        assert np.array_equal(g.node_attrs["curv"], [0.1, 0.2]) and g.branch_ids.tolist() == [7]
        s = store.load_layer(layers[3].id)
        assert [sh.frame for sh in s.shapes] == [3, None] and len(s.shapes[1].vertices) == 3
        e = store.load_layer(layers[4].id)
        assert e.events[0].to_dict() == layers[4].events[0].to_dict()


def test_decisions_audit_users_and_disagreements(tmp_path):
    store = ReviewStore(tmp_path / "s.sqlite")
    ai = _ai_mask()
    events = EventsLayer([TemporalEvent(0, 10, 0.9, "bleed"), TemporalEvent(20, 30, 0.4, "bleed")],
                         "evidence", Provenance.backend("evidence", "0.1"))
    runner_made(events)
    store.save_layer(ai)
    store.save_layer(events)
    store.decide("ana", "accept", ai.id, comment="looks right")
    store.decide("ben", "reject", ai.id, comment="misses the rim")
    store.decide("ana", "accept", events.id, target_kind="event", target_ref="0")
    store.decide("ben", "accept", events.id, target_kind="event", target_ref="0")
    store.decide("ana", "reject", events.id, target_kind="event", target_ref="1")
    store.decide("ben", "accept", events.id, target_kind="event", target_ref="1")
    store.decide("ben", "reject", events.id, target_kind="event", target_ref="1")  # changed mind

    assert store.users() == ["ana", "ben"]
    assert [d.decision for d in store.decisions(user="ana")] == ["accept", "accept", "reject"]
    dis = store.disagreements()
    assert len(dis) == 1 and dis[0].layer_id == ai.id and dis[0].by_user == {"ana": "accept", "ben": "reject"}
    hist = store.audit(ai.id)
    assert [h.action for h in hist] == ["save_version", "accept", "reject"]
    assert hist[1].user == "ana" and hist[1].details["comment"] == "looks right"
    with pytest.raises(LoupeError, match="unknown decision"):
        store.decide("ana", "maybe", ai.id)
    with pytest.raises(LoupeError, match="user name"):
        store.decide("", "accept", ai.id)
    with pytest.raises(LoupeError, match="save it before"):
        store.decide("ana", "accept", "nope")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store._db.execute("DELETE FROM audit")


def test_store_survives_reopen(tmp_path):
    p = tmp_path / "s.sqlite"
    ai = _ai_mask()
    with ReviewStore(p) as s:
        vid = s.save_layer(ai).version_id
    with ReviewStore(p, create=False) as s:
        assert s.head(ai.id).version_id == vid
        assert s.integrity_check() == ["ok"]


@pytest.mark.parametrize("content, match", [
    (b"", "empty"),
    (b"this is my thesis, not a database" * 100, "not an SQLite database"),
])
def test_bad_file_is_named_and_left_untouched(tmp_path, content, match):
    p = tmp_path / "loupe_review.sqlite"
    p.write_bytes(content)
    with pytest.raises(LoupeError, match=match) as ei:
        ReviewStore(p)
    assert str(p) in str(ei.value)
    assert p.read_bytes() == content


def _other_program(path: Path, code: str) -> str:
    """``code`` run in another Python process with ``s``, a ReviewStore on ``path`` (closed after);
    what it prints."""
    script = (f"import sys; sys.path.insert(0, {str(Path(__file__).resolve().parent.parent)!r})\n"
              f"from app.review.store import ReviewStore\ns = ReviewStore({str(path)!r})\n{code}\ns.close()\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_second_store_in_one_process_keeps_the_store_shared_with_other_programs(tmp_path):
    """Session 21: the web server (one store per tab and thread) stopped answering Open after
    seven browser tests. Opening a second ReviewStore read the file's header with open()/close(),
    which dropped the process's POSIX locks on the database, so another program closing the store
    (the desktop on the same workspace, the test itself) took itself for the last user, deleted
    the WAL and its index: the server's next store failed with "disk I/O error" and what its open
    store wrote after that went into the deleted WAL, seen by no other program."""
    p = tmp_path / "loupe_review.sqlite"
    first = ReviewStore(p)                       # a tab's store in the server
    try:
        layer = _ai_mask(0)
        v0 = first.save_layer(layer).version_id
        second = ReviewStore(p)                  # the next tab, in the same process
        assert second.head(layer.id).version_id == v0
        assert _other_program(p, "print(len(s.layer_ids()))").split() == ["1"]   # opened and closed
        v1 = first.save_layer(_ai_mask(1)).version_id           # a decision after that
        assert _other_program(p, "print(*sorted(v.version_id for lid in s.layer_ids() "
                                 "for v in [s.head(lid)]))").split() == sorted([v0, v1]), "a write was lost"
        third = ReviewStore(p)                   # a third tab opens the store ("disk I/O error" before)
        assert sorted(third.layer_ids()) == sorted(first.layer_ids())
        third.close()
        second.close()
    finally:
        first.close()


def test_corrupt_store_is_named_and_left_untouched(tmp_path):
    p = tmp_path / "s.sqlite"
    with ReviewStore(p) as s:
        for i in range(20):
            s.save_layer(_ai_mask(i))
        s._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = bytearray(p.read_bytes())
    raw[4096 * 3:4096 * 3 + 2000] = os.urandom(2000)  # smash a b-tree page, keep the header
    p.write_bytes(bytes(raw))
    with pytest.raises(LoupeError) as ei:
        s2 = ReviewStore(p)
        s2.load_layer(s2.layer_ids()[0])
    assert str(p) in str(ei.value)
    assert p.read_bytes() == bytes(raw)


def test_foreign_sqlite_is_refused(tmp_path):
    p = tmp_path / "other.sqlite"
    db = sqlite3.connect(p)
    db.execute("CREATE TABLE t(x)")
    db.commit()
    db.close()
    before = p.read_bytes()
    with pytest.raises(LoupeError, match="not a Loupe review store"):
        ReviewStore(p)
    assert p.read_bytes() == before


WRITER = textwrap.dedent("""
    import sys, numpy as np
    sys.path.insert(0, {root!r})
    from app.layers import LabelLayer, Provenance
    from app.jobs.attest import attest_layer
    from app.review.store import ReviewStore
    store = ReviewStore({path!r})
    rng = np.random.default_rng(int(sys.argv[1]))
    i = 0
    while True:
        lab = (rng.random((8, 64, 64)) > 0.5).astype(np.uint8)   # incompressible: real page writes
        layer = attest_layer(LabelLayer(lab, np.eye(4), f"w{{i}}", Provenance.backend("writer", "1", {{"i": i}})))
        print("B", flush=True)  # a write starts
        v = store.save_layer(layer)
        store.decide("writer", "accept", layer.id, comment=str(int(lab.sum())))
        print(layer.id, v.version_id, int(lab.sum()), flush=True)
        i += 1
""")


def test_kill_9_during_writes_keeps_every_committed_record(tmp_path):
    path = tmp_path / "crash.sqlite"
    script = tmp_path / "writer.py"
    script.write_text(WRITER.format(root=str(ROOT), path=str(path)))
    rnd = random.Random(1234)
    committed: list[tuple[str, str, int]] = []
    mid_write = 0
    for round_ in range(8):
        proc = subprocess.Popen([sys.executable, str(script), str(round_)], stdout=subprocess.PIPE,
                                text=True, bufsize=1)
        # wait until it is writing, then kill it at a random moment mid-stream
        first = proc.stdout.readline()
        assert first, "writer produced nothing"
        lines = [first]
        time.sleep(rnd.uniform(0.05, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate()
        lines += rest.splitlines()
        mid_write += lines[-1].strip() == "B"  # killed after a write began, before its commit
        for ln in lines:
            parts = ln.split()
            if len(parts) == 3:  # a truncated last line was never reported complete
                committed.append((parts[0], parts[1], int(parts[2])))
        assert proc.returncode == -signal.SIGKILL
    assert len(committed) >= 8
    print(f"{len(committed)} committed records, {mid_write} of 8 kills inside a write")
    assert mid_write >= 1, "no kill landed inside a write; the test proved nothing"
    with ReviewStore(path, create=False) as store:
        assert store.integrity_check() == ["ok"]
        for layer_id, vid, total in committed:
            layer = store.load_layer(layer_id, vid)
            assert int(layer.labels.sum()) == total
            decs = store.decisions(layer_id)
            assert decs and decs[0].comment == str(total)
    # every version and every decision in the file (committed or caught mid-write) has its audit row
    assert _unaudited(path) == ([], [])


def _unaudited(path) -> tuple[list, list]:
    """Versions without a 'save_version' audit row, and decisions without an audit row naming the
    same user, decision, layer and version (counted, so two alike decisions need two rows)."""
    from collections import Counter
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        audited = {r[0] for r in db.execute("SELECT version_id FROM audit WHERE action = 'save_version'")}
        versions = [r[0] for r in db.execute("SELECT version_id FROM versions")]
        rows = Counter(db.execute("SELECT user, action, layer_id, version_id FROM audit").fetchall())
        decisions = Counter(db.execute("SELECT user, decision, layer_id, version_id FROM decisions").fetchall())
    finally:
        db.close()
    return [v for v in versions if v not in audited], [k for k, n in decisions.items() if rows[k] < n]


@pytest.mark.parametrize("write", ["save_layer", "decide", "save_edit"])
def test_a_failed_audit_write_leaves_no_unaudited_record(tmp_path, monkeypatch, write):
    """The audit row is written last inside each write; when it fails, the version or decision
    written just before it must be rolled back with it (one transaction), never left unaudited."""
    path = tmp_path / "s.sqlite"
    with ReviewStore(path) as store:
        layer = runner_made(LabelLayer(np.ones((2, 4, 4), np.uint8), np.eye(4), "m", Provenance.backend("b", "1", {})))
        store.save_layer(layer)
        n_versions = len(store.versions(layer.id))

        def broken_audit(*a, **k):
            raise sqlite3.OperationalError("disk I/O error (injected)")

        monkeypatch.setattr(store, "_audit", broken_audit)
        with pytest.raises((LoupeError, sqlite3.Error)):
            if write == "save_layer":
                store.save_layer(layer)
            elif write == "decide":
                store.decide("ann", "accept", layer.id)
            else:
                store.save_edit(layer, "ann")
        monkeypatch.undo()
        assert len(store.versions(layer.id)) == n_versions
        assert store.decisions(layer.id) == []
    assert _unaudited(path) == ([], [])


CONCURRENT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from app.review.store import ReviewStore
    store = ReviewStore({path!r}, create=False)
    user, layer_id = sys.argv[1], sys.argv[2]
    for i in range(40):
        store.decide(user, "accept" if i % 2 else "reject", layer_id, comment=f"{{user}} {{i}}")
""")


def test_two_reviewers_writing_at_once_lose_nothing(tmp_path):
    """Two reviewers' processes on one workspace store: every decision of each is kept."""
    path = tmp_path / "shared.sqlite"
    with ReviewStore(path) as s:
        layer = _ai_mask()
        s.save_layer(layer)
    script = tmp_path / "rev.py"
    script.write_text(CONCURRENT.format(root=str(ROOT), path=str(path)))
    procs = [subprocess.Popen([sys.executable, str(script), user, layer.id]) for user in ("ana", "ben")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    with ReviewStore(path) as s:
        for user in ("ana", "ben"):
            assert [d.comment for d in s.decisions(user=user)] == [f"{user} {i}" for i in range(40)]
        assert len(s.audit(layer.id)) == 81 and s.integrity_check() == ["ok"]

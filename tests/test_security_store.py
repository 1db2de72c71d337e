"""The review store's guarantees hold against direct SQL (issue 21): nothing stored can be
replaced, a removed or altered guard is restored on open (and the repair audited), and an edit's
version and decision commit together."""
from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from runner_made import runner_made

from app.data.types import LoupeError
from app.layers import LabelLayer, Provenance
from app.review.store import ReviewStore


def _mask():
    lab = np.zeros((3, 20, 20), np.uint8)
    lab[1, 5:15, 5:15] = 1
    return runner_made(LabelLayer(lab, np.eye(4), "AI mask", Provenance.backend("seg", "1.0", {"t": 0.5})))


def _raw(path):
    return sqlite3.connect(path, isolation_level=None)


def test_insert_or_replace_cannot_replace_anything(tmp_path):
    store = ReviewStore.for_workspace(tmp_path)
    layer = _mask()
    v1 = store.save_layer(layer)
    store.decide("ana", "accept", layer.id)
    db = store._db
    row = db.execute("SELECT * FROM versions WHERE version_id=?", (v1.version_id,)).fetchone()
    forged = list(row)
    forged[4] = "mallory"
    forged[-2] = b"forged"
    with pytest.raises(sqlite3.DatabaseError, match="cannot be replaced"):
        db.execute(f"INSERT OR REPLACE INTO versions VALUES ({','.join('?' * len(forged))})", forged)
    dec = list(db.execute("SELECT * FROM decisions").fetchone())
    dec[3] = "reject"
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute(f"INSERT OR REPLACE INTO decisions VALUES ({','.join('?' * len(dec))})", dec)
    aud = list(db.execute("SELECT * FROM audit").fetchone())
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute(f"INSERT OR REPLACE INTO audit VALUES ({','.join('?' * len(aud))})", aud)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE decisions SET decision='reject'")
    with pytest.raises(sqlite3.DatabaseError, match="immutable"):
        db.execute("DELETE FROM layers")
    db.execute("INSERT OR REPLACE INTO layers VALUES (?,?,?,?)", (layer.id, "label", "renamed", "now"))
    assert db.execute("SELECT name FROM layers").fetchone()[0] == "AI mask"   # ignored, not replaced
    assert np.array_equal(store.load_layer(layer.id, v1.version_id).labels, layer.labels)
    assert store.version(v1.version_id).author == "seg"


@pytest.mark.parametrize("how", ["drop", "alter"])
def test_missing_or_altered_guard_is_restored_and_audited(tmp_path, how):
    store = ReviewStore.for_workspace(tmp_path)
    layer = _mask()
    store.save_layer(layer)
    path = store.path
    store.close()
    db = _raw(path)
    db.execute("DROP TRIGGER versions_immutable_d")
    if how == "alter":  # a guard that never fires
        db.execute("CREATE TRIGGER versions_immutable_d BEFORE DELETE ON versions WHEN 0 "
                   "BEGIN SELECT RAISE(ABORT, 'x'); END")
    db.close()
    store = ReviewStore(path)
    with pytest.raises(sqlite3.DatabaseError, match="immutable"):
        store._db.execute("DELETE FROM versions")
    last = store.audit()[-1]
    assert last.action == "schema_repaired" and "versions_immutable_d" in last.details["triggers"]
    store.close()


def test_schema_1_store_is_upgraded_with_the_new_guards(tmp_path):
    store = ReviewStore.for_workspace(tmp_path)
    store.save_layer(_mask())
    path = store.path
    store.close()
    db = _raw(path)
    for name in ("versions_no_replace", "decisions_no_replace", "audit_no_replace", "layers_no_replace",
                 "decisions_append_only_u", "decisions_append_only_d", "layers_immutable_u", "layers_immutable_d"):
        db.execute(f"DROP TRIGGER {name}")
    db.execute("PRAGMA user_version=1")
    db.close()
    store = ReviewStore(path)
    assert store._db.execute("PRAGMA user_version").fetchone()[0] == 2
    assert store.audit()[-1].action == "schema_upgraded"


def test_edit_and_its_decision_are_one_transaction(tmp_path, monkeypatch):
    store = ReviewStore.for_workspace(tmp_path)
    layer = _mask()
    v1 = store.save_layer(layer)
    edited = store.load_layer(layer.id)
    edited.labels[1, 5:8, 5:8] = 0
    n_audit = len(store.audit())

    def crash(*a, **k):
        raise LoupeError("simulated crash between the version and its decision")

    monkeypatch.setattr(store, "decide", crash)
    with pytest.raises(LoupeError, match="simulated crash"):
        store.save_edit(edited, "ana", comment="trim")
    assert [v.version_id for v in store.versions(layer.id)] == [v1.version_id]  # no orphan human version
    assert len(store.audit()) == n_audit
    monkeypatch.undo()
    v2 = store.save_edit(edited, "ana", comment="trim")
    decisions = store.decisions(layer.id)
    assert decisions[-1].decision == "edit" and decisions[-1].result_version == v2.version_id

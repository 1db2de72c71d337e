"""The review store: one SQLite file (WAL, synchronous=FULL) per workspace holding every version of
every layer, every review decision and an append-only audit log.

Why it looks like this:
- Versions are immutable (SQL triggers refuse UPDATE/DELETE), so AI output is never overwritten; a
  human correction is a new version whose ``parent_version`` is the one it edits.
- Each write is one transaction; WAL + synchronous=FULL means a process killed mid-save (kill -9)
  leaves every committed record intact and the half-written one absent.
- An existing file that is not a healthy Loupe store raises ``LoupeError`` naming it; the store is
  never recreated over a user's file.
- ``INSERT OR REPLACE`` deletes the old row without firing DELETE triggers (unless recursive
  triggers are on, which another SQLite client need not set), so BEFORE INSERT triggers refuse any
  insert that would collide with an existing row: nothing stored can be replaced. Decisions are
  append-only like the audit.
- The guard triggers are checked against this schema on every open: a missing or altered one is
  recreated and the repair is written to the audit log (the store never runs unguarded).
- An edit (its human version plus its 'edit' decision and their audit rows) is one transaction.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.data.types import LoupeError
from app.layers import Layer, Provenance

from .serialize import layer_to_record, record_to_layer

APPLICATION_ID = 0x4C505245  # "LPRE": marks a file as a Loupe review store
SCHEMA_VERSION = 2
UPGRADABLE_FROM = (1,)
STORE_FILENAME = "loupe_review.sqlite"
DECISIONS = ("accept", "reject", "edit")
TARGET_KINDS = ("layer", "event", "branch", "finding", "shape", "item")
#: Records that are not layers but live in the same immutable ``versions`` table with the same
#: audit (a case board). Same schema, so older stores open unchanged; ``load_layer`` refuses them.
RECORD_KINDS = ("board", "measurements")
#: ``save_record``'s default: save on top of whatever version is newest
ANY_HEAD = object()


class RecordChanged(LoupeError):
    """A compare-and-swap save found a version it had not seen: merge with it and save again."""

_SCHEMA = """
CREATE TABLE layers (
    layer_id TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE versions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    version_id TEXT NOT NULL UNIQUE,
    layer_id TEXT NOT NULL REFERENCES layers(layer_id),
    parent_version TEXT REFERENCES versions(version_id),
    author TEXT NOT NULL,
    source_kind TEXT NOT NULL CHECK (source_kind IN ('human', 'backend', 'file')),
    backend TEXT, backend_version TEXT, params TEXT NOT NULL,
    created TEXT NOT NULL, note TEXT NOT NULL DEFAULT '',
    meta TEXT NOT NULL, blob BLOB NOT NULL, blob_sha256 TEXT NOT NULL);
CREATE INDEX versions_layer ON versions(layer_id, seq);
CREATE TRIGGER versions_immutable_u BEFORE UPDATE ON versions
    BEGIN SELECT RAISE(ABORT, 'layer versions are immutable: save a new version'); END;
CREATE TRIGGER versions_immutable_d BEFORE DELETE ON versions
    BEGIN SELECT RAISE(ABORT, 'layer versions are immutable: they cannot be deleted'); END;
CREATE TABLE decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    decision_id TEXT NOT NULL UNIQUE,
    user TEXT NOT NULL, decision TEXT NOT NULL CHECK (decision IN ('accept', 'reject', 'edit')),
    target_kind TEXT NOT NULL, layer_id TEXT NOT NULL REFERENCES layers(layer_id),
    version_id TEXT REFERENCES versions(version_id), target_ref TEXT NOT NULL DEFAULT '',
    comment TEXT NOT NULL DEFAULT '', query_kind TEXT NOT NULL DEFAULT '',
    result_version TEXT REFERENCES versions(version_id), created TEXT NOT NULL);
CREATE INDEX decisions_layer ON decisions(layer_id, seq);
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, user TEXT NOT NULL,
    action TEXT NOT NULL, layer_id TEXT, version_id TEXT, details TEXT NOT NULL DEFAULT '{}');
CREATE TRIGGER audit_append_only_u BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_append_only_d BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""
#: Guards added in schema 2; also the set re-created when one is found missing or altered.
_GUARDS = """
CREATE TRIGGER versions_immutable_u BEFORE UPDATE ON versions
    BEGIN SELECT RAISE(ABORT, 'layer versions are immutable: save a new version'); END;
CREATE TRIGGER versions_immutable_d BEFORE DELETE ON versions
    BEGIN SELECT RAISE(ABORT, 'layer versions are immutable: they cannot be deleted'); END;
CREATE TRIGGER versions_no_replace BEFORE INSERT ON versions
    WHEN EXISTS (SELECT 1 FROM versions WHERE version_id = NEW.version_id OR seq = NEW.seq)
    BEGIN SELECT RAISE(ABORT, 'layer versions are immutable: a stored version cannot be replaced'); END;
CREATE TRIGGER layers_no_replace BEFORE INSERT ON layers
    WHEN EXISTS (SELECT 1 FROM layers WHERE layer_id = NEW.layer_id)
    BEGIN SELECT RAISE(IGNORE); END;
CREATE TRIGGER layers_immutable_u BEFORE UPDATE ON layers
    BEGIN SELECT RAISE(ABORT, 'layer records are immutable'); END;
CREATE TRIGGER layers_immutable_d BEFORE DELETE ON layers
    BEGIN SELECT RAISE(ABORT, 'layer records are immutable'); END;
CREATE TRIGGER decisions_append_only_u BEFORE UPDATE ON decisions
    BEGIN SELECT RAISE(ABORT, 'review decisions are append-only'); END;
CREATE TRIGGER decisions_append_only_d BEFORE DELETE ON decisions
    BEGIN SELECT RAISE(ABORT, 'review decisions are append-only'); END;
CREATE TRIGGER decisions_no_replace BEFORE INSERT ON decisions
    WHEN EXISTS (SELECT 1 FROM decisions WHERE decision_id = NEW.decision_id OR seq = NEW.seq)
    BEGIN SELECT RAISE(ABORT, 'review decisions are append-only: one cannot be replaced'); END;
CREATE TRIGGER audit_append_only_u BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_append_only_d BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_replace BEFORE INSERT ON audit
    WHEN EXISTS (SELECT 1 FROM audit WHERE seq = NEW.seq)
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: an entry cannot be replaced'); END;
"""


def _statements(script: str) -> dict[str, str]:
    """Trigger name -> its CREATE statement, whitespace-normalised (as compared on open)."""
    out = {}
    for stmt in script.split("END;"):
        words = " ".join(stmt.split())
        if words.startswith("CREATE TRIGGER"):
            out[words.split()[2]] = words + " END"
    return out


_GUARD_SQL = _statements(_GUARDS)

def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class VersionInfo:
    version_id: str
    layer_id: str
    parent_version: str | None
    author: str
    source_kind: str
    backend: str | None
    backend_version: str | None
    params: dict[str, Any]
    created: str
    note: str
    seq: int

    @property
    def source(self) -> str:
        """Human-readable source: 'human: ana' or 'backend: vessels 0.3.1'."""
        if self.source_kind == "backend":
            return f"backend: {self.backend} {self.backend_version}"
        return f"{self.source_kind}: {self.author}"


@dataclass(frozen=True)
class Decision:
    decision_id: str
    user: str
    decision: str
    target_kind: str
    layer_id: str
    version_id: str | None
    target_ref: str
    comment: str
    query_kind: str
    result_version: str | None
    created: str
    seq: int


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    time: str
    user: str
    action: str
    layer_id: str | None
    version_id: str | None
    details: dict[str, Any]


@dataclass(frozen=True)
class Disagreement:
    """Different users' latest decisions differ on the same target."""
    layer_id: str
    target_kind: str
    target_ref: str
    by_user: dict[str, str]
    version_id: str | None = None


class ReviewStore:
    """Open (or create) the review store at ``path``. ``create=False`` refuses a missing file."""

    def __init__(self, path: str | os.PathLike, *, create: bool = True) -> None:
        self.path = Path(path)
        self._tx_depth = 0
        if self.path.exists():
            self._check_file()
        elif create:
            self._create_file()
        else:
            raise LoupeError(f"{self.path}: review store not found")
        try:
            self._db = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, isolation_level=None,
                                       timeout=30.0)
        except sqlite3.DatabaseError as e:
            raise LoupeError(f"{self.path}: cannot open the review store ({e})") from e
        try:
            self._verify_schema()  # before anything that could write to the file
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
        except LoupeError:
            self._db.close()
            raise
        except sqlite3.DatabaseError as e:
            self._db.close()
            if getattr(e, "sqlite_errorname", "") == "SQLITE_NOTADB":   # its header is not SQLite's
                raise self._not_sqlite() from e
            raise LoupeError(f"{self.path}: not a usable Loupe review store ({e}); the file was left "
                             f"untouched - move it aside or restore a backup") from e

    @classmethod
    def for_workspace(cls, workspace: str | os.PathLike, **kw) -> ReviewStore:
        ws = Path(workspace)
        ws.mkdir(parents=True, exist_ok=True)
        return cls(ws / STORE_FILENAME, **kw)

    # ---- opening safely -------------------------------------------------------------------
    def _check_file(self) -> None:
        """Refuse what is not a file or is empty, WITHOUT opening it: closing any descriptor of the
        database file drops every POSIX lock this process holds on it, including the shared lock
        each of its open SQLite connections keeps in WAL mode (SQLite's "how to corrupt", 2.2).
        The web server opens one store per tab and thread while others are open; with its locks
        gone, another program (the desktop on the same workspace, a CLI command) closing the
        store took itself for the last user, checkpointed and deleted the WAL and its index, and
        the server's next store failed with "disk I/O error" (its Open never answered) while its
        open connections went on writing into the deleted WAL (decisions lost). Whether it is an
        SQLite database is asked of SQLite itself (``_not_sqlite``), which never lets go of locks."""
        if not self.path.is_file():
            raise LoupeError(f"{self.path}: is not a file, cannot open it as a review store")
        size = self.path.stat().st_size
        if size == 0:
            raise LoupeError(f"{self.path}: is empty, so it is not a Loupe review store; the file "
                             f"was left untouched")

    def _not_sqlite(self) -> LoupeError:
        return LoupeError(f"{self.path}: is not an SQLite database, so it is not a Loupe review store; "
                          f"the file was left untouched")

    def _create_file(self) -> None:
        """Build the schema in a side file, then rename: a crash never leaves a half-made store."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.creating")
        db = sqlite3.connect(tmp, isolation_level=None)
        try:
            db.execute(f"PRAGMA application_id={APPLICATION_ID}")
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            db.executescript("BEGIN;" + _SCHEMA + "COMMIT;")
            db.executescript("BEGIN;" + "".join(f"DROP TRIGGER IF EXISTS {n};" for n in _GUARD_SQL)
                             + "".join(sql + ";" for sql in _GUARD_SQL.values()) + "COMMIT;")
        finally:
            db.close()
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        try:
            os.link(tmp, self.path)  # atomic and refuses to replace a file created meanwhile
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        self._check_file()

    def _verify_schema(self) -> None:
        app_id = self._db.execute("PRAGMA application_id").fetchone()[0]
        if app_id != APPLICATION_ID:
            raise LoupeError(f"{self.path}: is an SQLite database but not a Loupe review store "
                             f"(application_id {app_id:#x}, expected {APPLICATION_ID:#x}); left untouched")
        ver = self._db.execute("PRAGMA user_version").fetchone()[0]
        if ver != SCHEMA_VERSION and ver not in UPGRADABLE_FROM:
            raise LoupeError(f"{self.path}: review store schema {ver} is not supported "
                             f"(this Loupe reads {SCHEMA_VERSION})")
        res = self._db.execute("PRAGMA quick_check").fetchall()
        if res != [("ok",)]:
            raise LoupeError(f"{self.path}: review store is corrupt ({'; '.join(r[0] for r in res[:3])}); "
                             f"the file was left untouched")
        tables = {r[0] for r in self._db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        missing = {"layers", "versions", "decisions", "audit"} - tables
        if missing:
            raise LoupeError(f"{self.path}: review store lacks its {', '.join(sorted(missing))} table(s); "
                             "the file was left untouched")
        self._ensure_guards(ver)

    def _ensure_guards(self, ver: int) -> None:
        """Re-create any guard trigger that is missing or altered, and say so in the audit log."""
        found = {r[0]: " ".join((r[1] or "").split()) for r in
                 self._db.execute("SELECT name, sql FROM sqlite_master WHERE type='trigger'")}
        broken = sorted(n for n, sql in _GUARD_SQL.items() if found.get(n) != sql)
        if not broken and ver == SCHEMA_VERSION:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for name in broken:
                self._db.execute(f"DROP TRIGGER IF EXISTS {name}")
                self._db.execute(_GUARD_SQL[name])
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            action = "schema_upgraded" if ver != SCHEMA_VERSION else "schema_repaired"
            self._audit("loupe", action, None, None, triggers=broken, from_version=ver)
            self._db.execute("COMMIT")
        except sqlite3.DatabaseError:
            self._db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ReviewStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def integrity_check(self) -> list[str]:
        return [r[0] for r in self._db.execute("PRAGMA integrity_check").fetchall()]

    # ---- writing --------------------------------------------------------------------------
    def _tx(self):
        return _Transaction(self)

    def _audit(self, user: str, action: str, layer_id: str | None, version_id: str | None,
               **details: Any) -> None:
        self._db.execute("INSERT INTO audit(time, user, action, layer_id, version_id, details) "
                         "VALUES (?,?,?,?,?,?)",
                         (_now(), user, action, layer_id, version_id, json.dumps(details, default=str)))

    def save_layer(self, layer: Layer, *, parent_version: str | None = None, note: str = "") -> VersionInfo:
        """Store a new immutable version of ``layer`` with its own provenance as the source.
        The parent defaults to the layer's current head (or ``provenance.parent``)."""
        prov = layer.provenance
        if prov.kind == "backend":
            from app.jobs.attest import verify
            if not verify(layer):
                raise LoupeError(
                    f"layer {layer.name!r} claims to be the output of backend {prov.author!r} "
                    f"{prov.version}, but this installation's job runner did not make it (no valid runner "
                    f"attestation); run the backend, or keep it as an imported file or a human edit")
        meta, blob = layer_to_record(layer)
        with self._tx():
            head = self._head_id(layer.id)
            parent = parent_version or prov.parent or head
            if parent is not None and self._version_row(parent) is None:
                raise LoupeError(f"layer {layer.name!r}: parent version {parent} is not in {self.path}")
            if head is None:
                self._db.execute("INSERT OR IGNORE INTO layers VALUES (?,?,?,?)",
                                 (layer.id, layer.kind, layer.name, _now()))
            vid = uuid.uuid4().hex
            created = _now()
            self._db.execute(
                "INSERT INTO versions(version_id, layer_id, parent_version, author, source_kind, backend,"
                " backend_version, params, created, note, meta, blob, blob_sha256)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (vid, layer.id, parent, prov.author, prov.kind,
                 prov.author if prov.kind == "backend" else None,
                 prov.version if prov.kind == "backend" else None,
                 json.dumps(prov.params, sort_keys=True, default=str), created, note,
                 json.dumps(meta), sqlite3.Binary(blob), hashlib.sha256(blob).hexdigest()))
            self._audit(prov.author, "save_version", layer.id, vid, parent=parent, kind=layer.kind,
                        source=prov.kind, note=note)
        return self.version(vid)

    def save_document(self, doc_id: str, kind: str, name: str, author: str, payload: dict[str, Any], *,
                      note: str = "", action: str = "save_document") -> VersionInfo:
        """A non-layer record (a signed report) as a new immutable human version on top of the
        document's head, with an audit entry; the payload is stored as JSON."""
        if not author:
            raise LoupeError(f"{kind} {name!r}: a stored document needs an author")
        blob = json.dumps(payload, sort_keys=True, default=str).encode()
        with self._tx():
            head = self._head_id(doc_id)
            if head is None:
                self._db.execute("INSERT OR IGNORE INTO layers VALUES (?,?,?,?)", (doc_id, kind, name, _now()))
            vid = uuid.uuid4().hex
            self._db.execute(
                "INSERT INTO versions(version_id, layer_id, parent_version, author, source_kind, backend,"
                " backend_version, params, created, note, meta, blob, blob_sha256)"
                " VALUES (?,?,?,?,'human',NULL,NULL,'{}',?,?,?,?,?)",
                (vid, doc_id, head, author, _now(), note, json.dumps({"kind": kind, "name": name}),
                 sqlite3.Binary(blob), hashlib.sha256(blob).hexdigest()))
            self._audit(author, action, doc_id, vid, parent=head, kind=kind, note=note)
        return self.version(vid)

    def load_document(self, doc_id: str, version_id: str | None = None) -> dict[str, Any]:
        vid = version_id or self._head_id(doc_id)
        r = self._db.execute("SELECT layer_id, blob, blob_sha256 FROM versions WHERE version_id=?",
                             (vid,)).fetchone() if vid else None
        if r is None or r[0] != doc_id:
            raise LoupeError(f"document {doc_id} (version {vid}) is not in {self.path}")
        if hashlib.sha256(r[1]).hexdigest() != r[2]:
            raise LoupeError(f"{self.path}: stored data of version {vid} fails its checksum")
        return json.loads(bytes(r[1]))

    def save_edit(self, layer: Layer, user: str, *, edits_version: str | None = None,
                  comment: str = "", target_kind: str = "layer", target_ref: str = "",
                  query_kind: str = "") -> VersionInfo:
        """A human correction: stored as a new version (source human) on top of ``edits_version``
        (default: the head), plus an 'edit' decision on the version it corrects."""
        if not user:
            raise LoupeError("an edit needs a user name")
        parent = edits_version or self._head_id(layer.id)
        if parent is None:
            raise LoupeError(f"layer {layer.name!r} has no stored version to edit in {self.path}")
        layer.provenance = Provenance.human(user, parent=parent)
        with self._tx():  # version, decision and both audit rows commit together or not at all
            info = self.save_layer(layer, parent_version=parent, note=comment)
            self.decide(user, "edit", layer.id, version_id=parent, comment=comment,
                        result_version=info.version_id, target_kind=target_kind, target_ref=target_ref,
                        query_kind=query_kind)
        return info

    def decide(self, user: str, decision: str, layer_id: str, *, version_id: str | None = None,
               target_kind: str = "layer", target_ref: str = "", comment: str = "",
               query_kind: str = "", result_version: str | None = None) -> Decision:
        """Record accept / reject / edit of a layer version, or of one event / branch / finding in it
        (``target_kind`` + ``target_ref`` such as the event index or branch id)."""
        if not user:
            raise LoupeError("a review decision needs a user name")
        if decision not in DECISIONS:
            raise LoupeError(f"unknown decision {decision!r}; expected one of {', '.join(DECISIONS)}")
        if target_kind not in TARGET_KINDS:
            raise LoupeError(f"unknown review target {target_kind!r}; expected one of {', '.join(TARGET_KINDS)}")
        with self._tx():
            vid = version_id or self._head_id(layer_id)
            if vid is None:
                raise LoupeError(f"layer {layer_id} is not in {self.path}: save it before reviewing it")
            did = uuid.uuid4().hex
            self._db.execute(
                "INSERT INTO decisions(decision_id, user, decision, target_kind, layer_id, version_id,"
                " target_ref, comment, query_kind, result_version, created) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (did, user, decision, target_kind, layer_id, vid, str(target_ref), comment, query_kind,
                 result_version, _now()))
            self._audit(user, decision, layer_id, vid, target_kind=target_kind, target_ref=str(target_ref),
                        comment=comment)
        return self.decision(did)

    # ---- reading --------------------------------------------------------------------------
    def _head_id(self, layer_id: str) -> str | None:
        r = self._db.execute("SELECT version_id FROM versions WHERE layer_id=? ORDER BY seq DESC LIMIT 1",
                             (layer_id,)).fetchone()
        return r[0] if r else None

    def _version_row(self, version_id: str):
        return self._db.execute(
            "SELECT version_id, layer_id, parent_version, author, source_kind, backend, backend_version,"
            " params, created, note, seq FROM versions WHERE version_id=?", (version_id,)).fetchone()

    @staticmethod
    def _info(r) -> VersionInfo:
        return VersionInfo(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7]), r[8], r[9], r[10])

    def version(self, version_id: str) -> VersionInfo:
        r = self._version_row(version_id)
        if r is None:
            raise LoupeError(f"version {version_id} is not in {self.path}")
        return self._info(r)

    def head(self, layer_id: str) -> VersionInfo | None:
        vid = self._head_id(layer_id)
        return self.version(vid) if vid else None

    def lineage(self, version_id: str) -> list[VersionInfo]:
        """This version and its ancestors, newest first (what a correction was built on)."""
        out, vid = [], version_id
        while vid:
            v = self.version(vid)
            out.append(v)
            vid = v.parent_version
        return out

    def origin(self, version_id: str) -> Provenance | None:
        """The backend provenance at the root of a version's lineage (None for purely human work),
        for exports that must say which algorithm a correction started from."""
        for v in reversed(self.lineage(version_id)):
            if v.source_kind == "backend":
                return Provenance("backend", v.backend or v.author, v.backend_version or "", dict(v.params),
                                  v.created)
        return None

    def layer_ids(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT layer_id FROM layers ORDER BY rowid")]

    def layers(self) -> list[dict[str, str]]:
        return [dict(layer_id=r[0], kind=r[1], name=r[2], created=r[3])
                for r in self._db.execute("SELECT layer_id, kind, name, created FROM layers ORDER BY rowid")]

    def link_study(self, layer_ids: list[str], study: str) -> None:
        """Record the study these layers were made on (``app/review/study_links.py``)."""
        from app.review.study_links import link_layers

        link_layers(self._db, list(layer_ids), study)

    def layers_of_study(self, study: str) -> set[str]:
        from app.review.study_links import layers_of_study

        return layers_of_study(self._db, study)

    def study_of(self, layer_id: str) -> str:
        from app.review.study_links import study_of_layer

        return study_of_layer(self._db, layer_id)

    def versions(self, layer_id: str) -> list[VersionInfo]:
        rows = self._db.execute(
            "SELECT version_id, layer_id, parent_version, author, source_kind, backend, backend_version,"
            " params, created, note, seq FROM versions WHERE layer_id=? ORDER BY seq", (layer_id,))
        return [self._info(r) for r in rows]

    def save_record(self, record_id: str, kind: str, name: str, payload: dict[str, Any], author: str,
                    note: str = "", *, expect_head: str | None | object = ANY_HEAD) -> VersionInfo:
        """Store a new immutable version of a non-layer record (``RECORD_KINDS``: a case board) as
        JSON, authored by a human, with a ``save_<kind>`` audit entry. Versions chain by parent.
        ``expect_head`` (a version id, or None for "no version yet") makes the save a compare-and-
        swap in the same transaction: ``RecordChanged`` when another writer saved in between."""
        if kind not in RECORD_KINDS:
            raise LoupeError(f"unknown record kind {kind!r}; expected one of {', '.join(RECORD_KINDS)}")
        if not author:
            raise LoupeError(f"saving a {kind} needs a user name")
        blob = json.dumps(payload, sort_keys=True).encode("utf-8")
        meta = {"format": 1, "kind": kind, "id": record_id, "name": name}
        with self._tx():
            row = self._db.execute("SELECT kind FROM layers WHERE layer_id=?", (record_id,)).fetchone()
            if row is not None and row[0] != kind:
                raise LoupeError(f"{self.path}: {record_id} is a {row[0]}, not a {kind}")
            parent = self._head_id(record_id)
            if expect_head is not ANY_HEAD and parent != expect_head:
                raise RecordChanged(f"{self.path}: {kind} {record_id} was saved by another writer meanwhile "
                                    f"(newest version {parent}, expected {expect_head})")
            if row is None:
                self._db.execute("INSERT INTO layers VALUES (?,?,?,?)", (record_id, kind, name, _now()))
            vid = uuid.uuid4().hex
            self._db.execute(
                "INSERT INTO versions(version_id, layer_id, parent_version, author, source_kind, backend,"
                " backend_version, params, created, note, meta, blob, blob_sha256)"
                " VALUES (?,?,?,?,'human',NULL,NULL,'{}',?,?,?,?,?)",
                (vid, record_id, parent, author, _now(), note, json.dumps(meta), sqlite3.Binary(blob),
                 hashlib.sha256(blob).hexdigest()))
            self._audit(author, f"save_{kind}", record_id, vid, parent=parent, kind=kind, note=note)
        return self.version(vid)

    def load_record(self, record_id: str, kind: str, version_id: str | None = None) -> dict[str, Any]:
        """The JSON payload of a record version (default: the newest), checksum verified."""
        vid = version_id or self._head_id(record_id)
        r = self._db.execute("SELECT v.layer_id, l.kind, v.blob, v.blob_sha256 FROM versions v JOIN layers l"
                             " USING(layer_id) WHERE v.version_id=?", (vid,)).fetchone() if vid else None
        if r is None or r[0] != record_id or r[1] != kind:
            raise LoupeError(f"{kind} {record_id} (version {vid}) is not in {self.path}")
        if hashlib.sha256(r[2]).hexdigest() != r[3]:
            raise LoupeError(f"{self.path}: stored data of version {vid} fails its checksum")
        return json.loads(bytes(r[2]).decode("utf-8"))

    def load_layer(self, layer_id: str, version_id: str | None = None) -> Layer:
        kind = self._db.execute("SELECT kind FROM layers WHERE layer_id=?", (layer_id,)).fetchone()
        if kind is not None and kind[0] in RECORD_KINDS:
            raise LoupeError(f"{layer_id} in {self.path} is a {kind[0]}, not a layer")
        vid = version_id or self._head_id(layer_id)
        if vid is None:
            raise LoupeError(f"layer {layer_id} is not in {self.path}")
        r = self._db.execute("SELECT layer_id, meta, blob, blob_sha256 FROM versions WHERE version_id=?",
                             (vid,)).fetchone()
        if r is None or r[0] != layer_id:
            raise LoupeError(f"version {vid} of layer {layer_id} is not in {self.path}")
        if hashlib.sha256(r[2]).hexdigest() != r[3]:
            raise LoupeError(f"{self.path}: stored data of version {vid} fails its checksum")
        return record_to_layer(json.loads(r[1]), bytes(r[2]))

    @staticmethod
    def _decision(r) -> Decision:
        return Decision(*r[1:], seq=r[0])

    _DEC_COLS = ("seq, decision_id, user, decision, target_kind, layer_id, version_id, target_ref, comment,"
                 " query_kind, result_version, created")

    def decision(self, decision_id: str) -> Decision:
        r = self._db.execute(f"SELECT {self._DEC_COLS} FROM decisions WHERE decision_id=?",
                             (decision_id,)).fetchone()
        if r is None:
            raise LoupeError(f"decision {decision_id} is not in {self.path}")
        return self._decision(r)

    def decisions(self, layer_id: str | None = None, user: str | None = None) -> list[Decision]:
        q, args = f"SELECT {self._DEC_COLS} FROM decisions WHERE 1=1", []
        if layer_id:
            q, args = q + " AND layer_id=?", args + [layer_id]
        if user:
            q, args = q + " AND user=?", args + [user]
        return [self._decision(r) for r in self._db.execute(q + " ORDER BY seq", args)]

    def users(self) -> list[str]:
        return [r[0] for r in self._db.execute("SELECT DISTINCT user FROM decisions ORDER BY user")]

    def audit(self, layer_id: str | None = None) -> list[AuditEntry]:
        q, args = "SELECT seq, time, user, action, layer_id, version_id, details FROM audit", ()
        if layer_id:
            q, args = q + " WHERE layer_id=?", (layer_id,)
        return [AuditEntry(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]))
                for r in self._db.execute(q + " ORDER BY seq", args)]

    def latest_decisions(self, layer_id: str | None = None) -> dict[tuple[str, str, str, str], Decision]:
        """Latest decision per (layer, target kind, target ref, user)."""
        out: dict[tuple[str, str, str, str], Decision] = {}
        for d in self.decisions(layer_id):
            out[(d.layer_id, d.target_kind, d.target_ref, d.user)] = d
        return out

    def disagreements(self, layer_id: str | None = None) -> list[Disagreement]:
        """Targets where users' latest decisions on the *same version* differ (one accepted the AI
        mask, another rejected it). Accepting a corrected version after someone edited the
        original is agreement, not a dispute."""
        latest: dict[tuple[str, str, str, str | None, str], str] = {}
        for d in self.decisions(layer_id):
            latest[(d.layer_id, d.target_kind, d.target_ref, d.version_id, d.user)] = d.decision
        by_target: dict[tuple[str, str, str, str | None], dict[str, str]] = {}
        for (lid, tk, tr, vid, user), dec in latest.items():
            by_target.setdefault((lid, tk, tr, vid), {})[user] = dec
        return [Disagreement(lid, tk, tr, users, vid) for (lid, tk, tr, vid), users in by_target.items()
                if len(set(users.values())) > 1]


class _Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error; errors become LoupeError. Nested
    uses join the outermost one, so a compound write (an edit and its decision) is atomic."""

    def __init__(self, store: ReviewStore) -> None:
        self.store = store
        self.db, self.path = store._db, store.path

    def __enter__(self):
        if self.store._tx_depth == 0:
            self.db.execute("BEGIN IMMEDIATE")
        self.store._tx_depth += 1
        return self

    def __exit__(self, et, ev, tb) -> bool:
        self.store._tx_depth -= 1
        if self.store._tx_depth > 0:
            return False  # the outermost transaction commits or rolls back
        if et is None:
            self.db.execute("COMMIT")
            return False
        self.db.execute("ROLLBACK")
        if isinstance(ev, sqlite3.DatabaseError):
            raise LoupeError(f"{self.path}: could not save ({ev})") from ev
        return False


def iter_store_files(folder: str | os.PathLike) -> Iterator[Path]:
    """Review stores found in a folder tree (for a workspace browser)."""
    yield from Path(folder).rglob(STORE_FILENAME)

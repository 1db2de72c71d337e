"""A case board kept in the workspace's review store, next to the layers it was read with: every
save is a new immutable version (source human, the saving user as author) with an audit entry, so
a board can be reopened as it was at any save and nobody's earlier board is overwritten."""
from __future__ import annotations

from app.review.store import ReviewStore, VersionInfo

from .model import CaseBoard

RECORD_KIND = "board"


def board_record_id(case_id: str) -> str:
    return f"board:{case_id}"


def save_board(store: ReviewStore, board: CaseBoard, user: str, note: str = "") -> VersionInfo:
    return store.save_record(board_record_id(board.case_id), RECORD_KIND, board.title, board.to_dict(),
                             user, note=note)


def load_board(store: ReviewStore, case_id: str, version_id: str | None = None) -> CaseBoard | None:
    """The case's board as last saved (or at ``version_id``); None when the case has none."""
    rid = board_record_id(case_id)
    if store.head(rid) is None:
        return None
    return CaseBoard.from_dict(store.load_record(rid, RECORD_KIND, version_id))


def saved_boards(store: ReviewStore) -> list[dict[str, str]]:
    return [r for r in store.layers() if r["kind"] == RECORD_KIND]

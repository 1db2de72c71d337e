"""An annotator who accepted a model's mask and pressed Train is told why nothing was trained:
an accepted model mask teaches nothing new, a correction does (the dock, the CLI and the shell's
status line say so, not "no accepted masks" and not "Could not open")."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from runner_made import runner_made

from app.data.types import LoupeError


def _store(tmp_path, decide):
    from app.layers import LabelLayer, Provenance
    from app.review.store import STORE_FILENAME, ReviewStore

    path = tmp_path / STORE_FILENAME
    with ReviewStore(path) as st:
        prov = Provenance.backend("vessels2d", "0.2.0", {"source": str(tmp_path / "x.png")})
        layer = LabelLayer(np.zeros((1, 8, 8), np.uint8), np.eye(4), "Vessel mask", prov)
        vid = st.save_layer(runner_made(layer)).version_id
        for d in decide:
            st.decide("ana", d, layer.id, version_id=vid)
    return path


@pytest.mark.parametrize("decide, says", [(["accept"], "1 accepted vessels2d result(s) teach it nothing new"),
                                          (["reject", "reject"], "2 rejected one(s) have no corrected mask"),
                                          ([], "no vessels2d result here was corrected yet")])
def test_the_reason_names_what_the_store_holds(tmp_path, decide, says):
    from app.commands.train import collect
    from app.models.examples import nothing_to_train
    from app.review.store import ReviewStore

    path = _store(tmp_path, decide)
    with ReviewStore(path, create=False) as st:
        why = nothing_to_train(st, "vessels2d")
    assert why.startswith("nothing to train on: ") and says in why and "Edit" in why
    assert ("accepted" in why) == ("accept" in decide)
    args = SimpleNamespace(store=str(tmp_path), backend="vessels2d", since=None, images=None, labels=None)
    with pytest.raises(LoupeError, match="teach it nothing new" if "accept" in decide else "corrected"):
        collect(args)


def test_a_failed_job_is_not_reported_as_a_file_that_could_not_be_opened(qtbot):
    from app.shell.main_window import OPEN_FAILED, MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.show_error("train vessels2d: failed - nothing to train on")
    assert w.statusBar().currentMessage() == "See the message above"
    w._on_failed("x.dcm: not a DICOM file")
    assert w.statusBar().currentMessage() == OPEN_FAILED

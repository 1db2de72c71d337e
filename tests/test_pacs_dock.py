"""The PACS dock in the real main window (pytest-qt, offscreen) against a real Orthanc: a node kept
in settings, query, retrieve with progress into the catalog and opened like a local study, a
cancelled and a failed retrieve that leave nothing behind plus retry, and "Send to PACS" of a SEG
drawn on the retrieved series, de-identified, found on the PACS and audited."""
from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from orthanc_server import Orthanc, free_port
from PySide6.QtCore import Qt

from app.pacs import service
from app.pacs.audit import read_all
from app.pacs.model import Filters
from app.shell.main_window import MainWindow

pytestmark = [pytest.mark.gui, pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.timeout(300)]
PHANTOM = "dcm_qa_ct_philips_phantom"


@pytest.fixture(scope="module")
def orthanc(dicom_dir, tmp_path_factory):
    o = Orthanc(tmp_path_factory.mktemp("orthanc_dock"), check_called_aet=True)
    try:
        assert o.upload(dicom_dir / PHANTOM / "dicom") == 28
        yield o
    finally:
        o.stop()


@pytest.fixture
def win(qtbot):
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    yield w
    dock = w.panels.get("pacs")
    if dock is not None:
        dock.wait()
    w.close()


def _idle(qtbot, dock, timeout=120000):
    qtbot.waitUntil(lambda: not dock.busy(), timeout=timeout)


def test_query_retrieve_open_and_send_seg(qtbot, win, orthanc, dicom_dir, tmp_path, monkeypatch):
    dock = win.panel("pacs")
    dock.add_node("", "not a url")
    assert "expected dicom://AET@host:port" in dock.status.text()
    dock.add_node("test orthanc", orthanc.dicom_url)
    assert dock.current_url() == orthanc.dicom_url
    assert orthanc.dicom_url in win.settings.get("pacs_nodes", "")   # kept in settings

    dock.modality.setText("CT")
    dock.query()
    _idle(qtbot, dock)
    assert dock.tree.topLevelItemCount() == 1
    study_item = dock.tree.topLevelItem(0)
    ref = pydicom.dcmread(next((dicom_dir / PHANTOM / "dicom").iterdir()), stop_before_pixels=True)
    assert study_item.text(5) == ref.StudyInstanceUID and study_item.childCount() == 1
    assert study_item.child(0).text(5) == ref.SeriesInstanceUID and study_item.child(0).text(4) == "28"

    # a cancelled retrieve keeps nothing; retry then completes, is catalogued and opened
    dock.tree.setCurrentItem(study_item.child(0))
    from app.shell import pacs_dock

    real_task = pacs_dock._Task

    class CancelAtThree(real_task):
        """Cancels from the worker's own progress report, at instance 3; connected before the thread
        starts (connected after retrieve_selected(), a worker that ran ahead could finish first)."""

        def __init__(self, fn) -> None:
            super().__init__(fn)
            self.progress.connect(lambda done, total: done >= 3 and self.prog.cancel.set(), Qt.DirectConnection)

    monkeypatch.setattr(pacs_dock, "_Task", CancelAtThree)
    dock.retrieve_selected()
    assert isinstance(dock._task, CancelAtThree)
    monkeypatch.setattr(pacs_dock, "_Task", real_task)   # the retry below is not cancelled
    _idle(qtbot, dock)
    dest = dock.destination(ref.StudyInstanceUID, ref.SeriesInstanceUID)
    assert "cancelled" in dock.status.text() and not dest.exists()
    assert not [p for p in dest.parent.iterdir() if ".partial-" in p.name]
    assert dock.b_retry.isEnabled()
    with qtbot.waitSignal(win.opened, timeout=120000):
        dock.retry()
    _idle(qtbot, dock)
    assert len(list(dest.rglob("*.dcm"))) == 28
    assert dock.bar.value() == 28 and "28 instances retrieved" in dock.status.text()
    assert win.model.volume.spatial_shape == (28, 512, 512)
    from app.data.catalog import Catalog

    assert any(s.study_uid == ref.StudyInstanceUID for s in Catalog().studies())

    # a SEG drawn on the retrieved series goes back de-identified, is found and audited
    layer = win.edit_bar.new_label_layer()
    layer.labels[10:14, 200:260, 200:260] = 1
    dock.send_format.setCurrentIndex(dock.send_format.findData("seg"))
    assert dock.deid.isChecked()
    made = []
    mkdtemp = pacs_dock.tempfile.mkdtemp
    def recording_mkdtemp(**kw):
        made.append(mkdtemp(**kw))
        return made[-1]

    monkeypatch.setattr(pacs_dock.tempfile, "mkdtemp", recording_mkdtemp)
    with qtbot.waitSignal(dock.sent, timeout=120000) as sig:
        dock.send_result("seg")
    rec = sig.args[0]
    qtbot.waitUntil(lambda: not dock.busy(), timeout=30000)
    # the identified SEG written for the send does not outlive it
    sends = [d for d in made if Path(d).name.startswith("loupe_send_")]
    assert len(sends) == 1 and not Path(sends[0]).exists()
    assert rec["deidentified"] and rec["outcome"] == "ok" and rec["sop_classes"] == ["1.2.840.10008.5.1.4.1.1.66.4"]
    assert read_all()[-1]["sop_instance_uids"] == rec["sop_instance_uids"]
    segs = service.find(orthanc.web_url, Filters(modality="SEG"))
    assert [h.study_uid for h in segs] == rec["studies"] and segs[0].patient_id.startswith("LOUPE-")
    win.grab().save(str(tmp_path.parent / "pacs_dock.png"))

    # File > Export with "De-identify DICOM exports" checked: the SEG file is de-identified (once),
    # points at the same de-identified images as the one sent, and the export is audited
    dock.wait()
    qtbot.waitUntil(lambda: not dock.busy(), timeout=30000)
    win.export_menu.deid_action.setChecked(True)
    assert win.settings.get("export_deidentify", False) is True
    out = win.export_menu.export_to("seg", str(tmp_path / "exported.dcm"))
    ds = pydicom.dcmread(out)
    assert ds.PatientIdentityRemoved == "YES" and str(ds.StudyInstanceUID) == rec["studies"][0]
    assert read_all()[-1]["event"] == "export" and read_all()[-1]["destination"] == out
    win.export_menu.deid_action.setChecked(False)
    plain = pydicom.dcmread(win.export_menu.export_to("seg", str(tmp_path / "plain.dcm")))
    assert str(plain.StudyInstanceUID) == ref.StudyInstanceUID and "PatientIdentityRemoved" not in plain


def test_unreachable_node_shows_one_line_and_keeps_nothing(qtbot, win):
    dock = win.panel("pacs")
    dock.add_node("gone", f"dicom://ORTHANC@127.0.0.1:{free_port()}")
    dock.retrieve("1.2.3.4")
    _idle(qtbot, dock)
    assert dock.status.text().startswith("Error: PACS ORTHANC@127.0.0.1")
    assert "unreachable" in dock.status.text()
    assert win.message.isVisible() and "unreachable" in win.message.label.text()
    assert not dock.destination("1.2.3.4").exists()
    assert dock.b_retry.isEnabled() and not dock.b_cancel.isEnabled()


def test_switching_node_drops_the_other_nodes_studies_and_one_pacs_prefix(qtbot, win):
    """Session-17 walk: after switching to another node the tree still listed the first node's
    studies (Retrieve would ask the new node for them), and errors read "PACS: PACS host ...".
    """
    from types import SimpleNamespace

    dock = win.panel("pacs")
    dock.add_node("a", "http://127.0.0.1:9/dicom-web")
    hit = SimpleNamespace(patient_id="P1", patient_name="N", date="20150206", modalities=["CT"], description="d",
                          instances=1, study_uid="1.2.3", series=[])
    dock._show_hits([hit])
    assert dock.tree.topLevelItemCount() == 1
    dock.add_node("b", f"dicom://ORTHANC@127.0.0.1:{free_port()}")   # becomes the current node
    assert dock.tree.topLevelItemCount() == 0 and "press Query" in dock.status.text()
    dock.echo()
    _idle(qtbot, dock)
    assert win.message.label.text().startswith("PACS ORTHANC@127.0.0.1") and "unreachable" in win.message.label.text()

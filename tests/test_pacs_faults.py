"""PACS faults, each one clear `error:` line with bounded retries and nothing half-written:
unreachable node, wrong called AE title (Orthanc with DicomCheckCalledAet), a node that accepts the
connection and never answers (time-out), a partial retrieve (an instance whose file vanished from
Orthanc's storage), a cancelled retrieve, a bad URL and an occupied destination."""
from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pydicom
import pytest
from orthanc_server import Orthanc, free_port

from app.cli import main as cli_main
from app.data.types import LoupeError
from app.pacs import service
from app.pacs.model import Cancelled, Progress

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.timeout(300)]
MR = "dcm_qa_philips_oblique_epi"


@pytest.fixture(scope="module")
def orthanc(dicom_dir, tmp_path_factory):
    o = Orthanc(tmp_path_factory.mktemp("orthanc_faults"), check_called_aet=True)
    try:
        assert o.upload(dicom_dir / MR / "dicom") == 27
        yield o
    finally:
        o.stop()


@pytest.fixture(scope="module")
def mr_study(dicom_dir):
    f = next(p for p in sorted((dicom_dir / MR / "dicom").rglob("*"))
             if p.is_file() and p.read_bytes()[128:132] == b"DICM")
    return str(pydicom.dcmread(f, stop_before_pixels=True).StudyInstanceUID)


@pytest.fixture
def backoffs(monkeypatch) -> list[float]:
    """The waits between attempts (``with_retries``' back-off sleeps, still slept): retries are counted
    from these, not from wall-clock time, which a loaded CI stretches."""
    from types import SimpleNamespace

    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        time.sleep(s)

    monkeypatch.setattr(service, "time", SimpleNamespace(sleep=sleep))
    return waits


def _one_error_line(capsys) -> str:
    """Exactly one `error:` line; anything else on stderr is a `retry N:` notice or an `n/N instances`
    progress line, never a traceback."""
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    err = [line for line in lines if line.startswith("error: ")]
    assert len(err) == 1, lines
    assert all(line.startswith("retry ") or line.endswith(" instances") for line in lines if line not in err), lines
    return err[0]


def _no_leftovers(folder: Path) -> None:
    assert not [p for p in folder.iterdir() if ".partial-" in p.name]


@pytest.mark.parametrize("proto", ["dicom", "web"])
def test_unreachable_node(proto, tmp_path, capsys, backoffs):
    port = free_port()          # nothing listens there
    url = f"dicom://ORTHANC@127.0.0.1:{port}" if proto == "dicom" else f"http://127.0.0.1:{port}/dicom-web"
    t0 = time.monotonic()
    assert cli_main(["pacs", "get", url, "--study", "1.2.3", "-o", str(tmp_path / "out"),
                     "--retries", "2", "--timeout", "2"]) == 1
    line = _one_error_line(capsys)
    assert "unreachable" in line and "gave up after 3 attempts" in line
    assert len(backoffs) == 2 and sum(backoffs) < 5        # two retries, with a bounded back-off
    assert time.monotonic() - t0 < 60                      # only a hang guard (~2 s alone; CI load)
    assert not (tmp_path / "out").exists()
    _no_leftovers(tmp_path)


def test_wrong_called_ae_title_is_rejected_once(orthanc, capsys, backoffs):
    url = f"dicom://NOTORTHANC@127.0.0.1:{orthanc.dicom_port}"
    assert cli_main(["pacs", "find", url, "--retries", "2"]) == 1
    line = _one_error_line(capsys)
    assert "rejected the association" in line and "called AE title not recognized" in line
    assert "attempts" not in line and backoffs == []         # a rejection is not retried
    assert cli_main(["pacs", "echo", orthanc.dicom_url]) == 0       # the right title works


class SilentServer:
    """Accepts TCP connections and never answers: a hung PACS."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.conns = []
        self.stop = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
                self.accepted += 1
                self.conns.append(c)
            except OSError:
                pass

    def close(self):
        self.stop = True
        for c in self.conns:
            c.close()
        self.sock.close()


@pytest.mark.parametrize("proto", ["dicom", "web"])
def test_time_out_is_bounded(proto, tmp_path, capsys, backoffs):
    srv = SilentServer()
    try:
        url = f"dicom://ORTHANC@127.0.0.1:{srv.port}" if proto == "dicom" else \
            f"http://127.0.0.1:{srv.port}/dicom-web"
        t0 = time.monotonic()
        assert cli_main(["pacs", "find", url, "--timeout", "1", "--retries", "1"]) == 1
        took = time.monotonic() - t0
        line = _one_error_line(capsys)
        assert "no" in line and "answer within 1 s" in line and "gave up after 2 attempts" in line
        assert len(backoffs) == 1
        # two attempts at the 1-s time-out take ~3 s; the product's default is 30 s, so a --timeout that
        # is not applied takes >= 60 s: a 30-s bound still catches that and leaves room for a loaded CI
        assert took < 30
        per_attempt = 2 if proto == "dicom" else 1     # DIMSE probes TCP before associating
        assert srv.accepted == 2 * per_attempt
    finally:
        srv.close()


def _break_one_instance(orthanc: Orthanc, study_uid: str) -> None:
    """Delete the stored file of one instance behind Orthanc's back: its index still lists it."""
    sid = next(s for s in orthanc.get_json("/studies")
               if orthanc.get_json(f"/studies/{s}")["MainDicomTags"]["StudyInstanceUID"] == study_uid)
    inst = orthanc.get_json(f"/studies/{sid}/instances")[0]["ID"]
    info = orthanc.get_json(f"/instances/{inst}/attachments/dicom/info")
    uuid = info["Uuid"]
    path = orthanc.storage / uuid[:2] / uuid[2:4] / uuid
    assert path.is_file()
    path.unlink()


@pytest.fixture(scope="module")
def broken(orthanc, mr_study):
    _break_one_instance(orthanc, mr_study)
    return mr_study


@pytest.mark.parametrize("proto", ["dicom", "web"])
def test_partial_retrieve_leaves_nothing(orthanc, broken, proto, tmp_path, capsys):
    url = orthanc.dicom_url if proto == "dicom" else orthanc.web_url
    assert cli_main(["pacs", "get", url, "--study", broken, "-o", str(tmp_path / "out"),
                     "--retries", "1"]) == 1
    line = _one_error_line(capsys)
    assert ("partial retrieve" in line and "gave up after 2 attempts" in line) or "HTTP 5" in line, line
    assert not (tmp_path / "out").exists()
    _no_leftovers(tmp_path)


def test_short_wado_stream_is_a_partial_retrieve(orthanc, healthy, tmp_path, monkeypatch):
    """WADO-RS delivering fewer instances than QIDO-RS counted (a cut stream) is refused."""
    from app.pacs.web import WebClient

    real_find = WebClient.find

    def find_one_more(self, filters, with_series=True):
        hits = real_find(self, filters, with_series)
        for h in hits:
            for s in h.series:
                s.instances += 1
        return hits
    monkeypatch.setattr(WebClient, "find", find_one_more)
    with pytest.raises(LoupeError, match="partial retrieve: series .* gave 28 of 29 instances"):
        service.retrieve(orthanc.web_url, healthy, tmp_path / "out", retries=1)
    assert not (tmp_path / "out").exists()
    _no_leftovers(tmp_path)


@pytest.fixture(scope="module")
def healthy(orthanc, dicom_dir, tmp_path_factory):
    """A second Orthanc study that is intact (the phantom CT), for the cancel test."""
    d = dicom_dir / "dcm_qa_ct_philips_phantom" / "dicom"
    orthanc.upload(d)
    return str(pydicom.dcmread(next(d.iterdir()), stop_before_pixels=True).StudyInstanceUID)


@pytest.mark.parametrize("proto", ["dicom", "web"])
def test_cancel_keeps_nothing(orthanc, healthy, proto, tmp_path):
    url = orthanc.dicom_url if proto == "dicom" else orthanc.web_url
    prog = Progress()

    def on_instance(done, total):
        if done == 5:
            prog.cancel.set()
    prog.on_instance = on_instance
    with pytest.raises(Cancelled):
        service.retrieve(url, healthy, tmp_path / "out", progress=prog)
    assert not (tmp_path / "out").exists()
    _no_leftovers(tmp_path)
    # and the same retrieve, not cancelled, completes
    dest, n = service.retrieve(url, healthy, tmp_path / "out")
    assert n == 28 and len(list(dest.rglob("*.dcm"))) == 28


def test_bad_input_lines(orthanc, tmp_path, capsys):
    assert cli_main(["pacs", "echo", "ftp://x"]) == 1
    assert "expected dicom://AET@host:port" in _one_error_line(capsys)
    assert cli_main(["pacs", "echo", orthanc.dicom_url, "--aet", "A" * 17]) == 1
    assert "calling AE title" in _one_error_line(capsys)
    assert cli_main(["pacs", "get", orthanc.dicom_url, "--study", "not-a-uid", "-o", str(tmp_path / "o")]) == 1
    assert "not a valid DICOM UID" in _one_error_line(capsys)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("keep me")
    assert cli_main(["pacs", "get", orthanc.dicom_url, "--study", "1.2.3", "-o", str(tmp_path / "busy")]) == 1
    assert "not an empty folder" in _one_error_line(capsys)
    assert (tmp_path / "busy" / "x").read_text() == "keep me"
    assert cli_main(["pacs", "find", orthanc.dicom_url, "--date", "2015-02-06"]) == 1
    assert "--date" in _one_error_line(capsys)
    assert cli_main(["pacs", "send", orthanc.dicom_url, str(tmp_path / "busy")]) == 1
    assert "no DICOM instances to send" in _one_error_line(capsys)


def test_failed_send_is_audited(tmp_path, dicom_dir, capsys):
    from app.pacs.audit import read_all

    url = f"dicom://ORTHANC@127.0.0.1:{free_port()}"
    f = next(p for p in sorted((dicom_dir / MR / "dicom").rglob("*"))
             if p.is_file() and p.read_bytes()[128:132] == b"DICM")
    assert cli_main(["pacs", "send", url, str(f), "--retries", "0"]) == 1
    assert "unreachable" in _one_error_line(capsys)
    rec = read_all()[-1]
    assert rec["outcome"] == "failed" and "unreachable" in rec["error"] and rec["deidentified"] is False
    assert rec["instances"] == 1 and rec["node"] == url

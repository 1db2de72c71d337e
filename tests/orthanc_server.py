"""A real Orthanc (Debian's `Orthanc` + the `orthanc-dicomweb` plugin) on free loopback ports, for the
PACS tests and benchmarks/bench_pacs.py. Started with its own config and storage in a temp folder,
stopped with SIGTERM. Needs the Debian packages `scripts/setup.sh --test` installs."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dicomweb_plugin() -> str:
    out = subprocess.run(["dpkg", "-L", "orthanc-dicomweb"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "/plugins/" in line and line.endswith(".so"):
            return line
    raise RuntimeError("orthanc-dicomweb is not installed: run scripts/setup.sh --test")


class Orthanc:
    """One Orthanc process. ``dicom_url``/``web_url`` are what Loupe's `pacs` commands take."""

    def __init__(self, workdir: Path, aet: str = "ORTHANC", check_called_aet: bool = True,
                 known_modalities: dict | None = None, extra: dict | None = None):
        if shutil.which("Orthanc") is None:
            raise RuntimeError("Orthanc is not installed: run scripts/setup.sh --test")
        self.workdir = Path(workdir)
        self.aet = aet
        self.http_port = free_port()
        self.dicom_port = free_port()
        self.storage = self.workdir / "db"
        cfg = {
            "Name": "loupe-test-orthanc", "StorageDirectory": str(self.storage),
            "IndexDirectory": str(self.storage), "HttpPort": self.http_port,
            "DicomPort": self.dicom_port, "DicomAet": aet, "RemoteAccessAllowed": False,
            "AuthenticationEnabled": False, "DicomCheckCalledAet": check_called_aet,
            "DicomAlwaysAllowEcho": True, "DicomAlwaysAllowStore": True,
            "DicomAlwaysAllowFind": True, "DicomAlwaysAllowGet": True,
            "DicomCheckModalityHost": False, "StorageCompression": False,
            "MaximumStorageCacheSize": 0,   # read every file from disk (the partial-retrieve test removes one)
            "DicomModalities": known_modalities or {},
            "Plugins": [dicomweb_plugin()], "ConcurrentJobs": 2, "HttpThreadsCount": 8,
            "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": True,
                         "WadoRoot": "/wado", "Host": "127.0.0.1", "Ssl": False},
        }
        cfg.update(extra or {})
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config = self.workdir / "orthanc.json"
        self.config.write_text(json.dumps(cfg, indent=1))
        self.log = open(self.workdir / "orthanc.log", "w")
        self.proc = subprocess.Popen(["Orthanc", str(self.config)], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self._wait_up()

    @property
    def rest(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def web_url(self) -> str:
        return f"{self.rest}/dicom-web"

    @property
    def dicom_url(self) -> str:
        return f"dicom://{self.aet}@127.0.0.1:{self.dicom_port}"

    def _wait_up(self, timeout: float = 30.0) -> None:
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Orthanc exited: see {self.workdir / 'orthanc.log'}")
            try:
                urllib.request.urlopen(f"{self.rest}/system", timeout=1).read()
                with socket.create_connection(("127.0.0.1", self.dicom_port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("Orthanc did not start in time")

    def upload(self, folder: Path) -> int:
        """REST upload of every DICOM file under ``folder`` (others skipped); returns how many
        instances Orthanc took."""
        import urllib.error

        n = 0
        for f in sorted(Path(folder).rglob("*")):
            if not f.is_file():
                continue
            with open(f, "rb") as fh:
                head = fh.read(132)
            if head[128:132] != b"DICM":
                continue
            req = urllib.request.Request(f"{self.rest}/instances", data=f.read_bytes(),
                                         headers={"Content-Type": "application/dicom"})
            json.loads(urllib.request.urlopen(req, timeout=30).read())
            n += 1
        return n

    def get_json(self, path: str):
        return json.loads(urllib.request.urlopen(f"{self.rest}{path}", timeout=30).read())

    def delete(self, path: str) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{self.rest}{path}", method="DELETE"), timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

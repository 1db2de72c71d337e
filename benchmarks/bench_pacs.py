"""Retrieve the 140-slice head CT (74.5 MB) from a real local Orthanc over DIMSE (Loupe's C-GET,
pynetdicom) and DICOMweb (Loupe's WADO-RS, dicomweb-client), against dcmtk's `getscu` C-GET in the
same run. Goal: Loupe within 1.5x of getscu (run with TCP_NODELAY=1, its fastest setting;
the Debian default, Nagle on, is printed too). Best of N runs each, interleaved so machine load hits all
three alike; every run's files are counted (140) so no run can win by retrieving less.

    LOUPE_DATA=../shared/data python benchmarks/bench_pacs.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, data_root

sys.path.insert(0, str(ROOT / "tests"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--orthanc-pdu", type=int, default=0,
                    help="Orthanc's MaximumPduLength (0: its default, 16384, which is what it sends)")
    args = ap.parse_args()
    if shutil.which("getscu") is None:
        sys.exit("dcmtk's getscu is not installed: run scripts/setup.sh --test")
    from orthanc_server import Orthanc

    from app.pacs import service

    src = data_root() / "dicom" / "dcm_qa_ct_philips_head_140" / "dicom"
    work = Path(tempfile.mkdtemp(prefix="bench_pacs_"))
    orthanc = Orthanc(work / "orthanc", check_called_aet=True,
                      extra={"MaximumPduLength": args.orthanc_pdu} if args.orthanc_pdu else None)
    try:
        assert orthanc.upload(src) == 140
        import pydicom

        study = str(pydicom.dcmread(next(src.iterdir()), stop_before_pixels=True).StudyInstanceUID)
        mb = sum(f.stat().st_size for f in src.iterdir()) / 1e6

        def loupe(url):
            def run(out: Path):
                _, n = service.retrieve(url, study, out, retries=0)
                return n
            return run

        def getscu_env(nodelay: bool):
            import os

            env = dict(os.environ)
            env.pop("TCP_NODELAY", None)
            if nodelay:
                env["TCP_NODELAY"] = "1"
            return lambda out: getscu(out, env)

        def getscu(out: Path, env):
            out.mkdir()
            subprocess.run(["getscu", "-aet", "LOUPE", "-aec", orthanc.aet, "-k", "QueryRetrieveLevel=STUDY",
                            "-k", f"StudyInstanceUID={study}", "-od", str(out), "127.0.0.1",
                            str(orthanc.dicom_port)], check=True, capture_output=True, env=env)
            return len(list(out.iterdir()))

        # Debian's dcmtk leaves Nagle's algorithm on unless TCP_NODELAY=1 is set (then ~10x faster on
        # loopback): the goal is judged against dcmtk at its best, the default is shown beside it.
        runners = {"dcmtk getscu TCP_NODELAY=1": getscu_env(True), "dcmtk getscu (default)": getscu_env(False),
                   "Loupe DIMSE (C-GET)": loupe(orthanc.dicom_url),
                   "Loupe DICOMweb (WADO-RS)": loupe(orthanc.web_url)}
        best = {k: float("inf") for k in runners}
        for fn in runners.values():      # warm-up: Orthanc's index and the page cache
            out = work / "warm"
            fn(out)
            shutil.rmtree(out)
        for i in range(args.repeat):
            for name, fn in runners.items():
                out = work / f"run{i}"
                t0 = time.perf_counter()
                n = fn(out)
                dt = time.perf_counter() - t0
                shutil.rmtree(out)
                if n != 140:
                    sys.exit(f"{name}: retrieved {n} of 140 instances")
                best[name] = min(best[name], dt)
        peer = best["dcmtk getscu TCP_NODELAY=1"]
        print(f"140-slice head CT, {mb:.1f} MB, Orthanc {orthanc.rest} on loopback "
              f"(MaximumPduLength {args.orthanc_pdu or 'default'}), best of {args.repeat}")
        print(f"{'retriever':28} {'seconds':>8} {'MB/s':>7} {'x getscu (NODELAY)':>19}")
        for name, t in best.items():
            print(f"{name:28} {t:8.2f} {mb / t:7.1f} {t / peer:19.2f}")
        worst = max(best["Loupe DIMSE (C-GET)"], best["Loupe DICOMweb (WADO-RS)"]) / peer
        print(f"goal: Loupe within 1.5x of getscu: {'met' if worst <= 1.5 else 'NOT met'} (worst {worst:.2f}x)")
    finally:
        orthanc.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

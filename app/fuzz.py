"""Fuzzing the readers and the CLI with damaged copies of real files (issue 21).

``build_cases`` makes broken inputs from real files (truncation, byte flips, removed chunks,
header fields set to extremes, random bytes, wrong extensions, FIFOs, symlink loops, non-UTF-8
names); ``Harness`` runs CLI commands on them in a worker process that is restarted after a
crash (signal) or a hang (time limit), and ``classify`` judges each outcome:

- ``ok``: exit 0, or exit 1 with one ``error:`` line naming the file;
- ``traceback``: Python's traceback reached the user;
- ``crash``: the process died on a signal; ``hang``: it passed the time limit;
- ``unnamed``: an error line that does not name the file;
- ``silent``: ``convert`` or ``export-frame`` succeeded on a damaged file, printed no warning, and
  its pixels differ from what the same command gives for the intact original: a wrong picture
  shown as if it were right. (A damaged header whose pixels still come out right is fine, and a
  byte flip inside uncompressed pixel data is a different but valid picture: no format can tell.)

Used by ``benchmarks/fuzz_cli.py`` (1,000+ cases) and a fast subset in the tests."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: mutations after which the file cannot be complete: success must come with a warning
INCOMPLETE = {"truncate", "chunk"}
WARN_WORDS = ("warning", "damaged", "missing", "skipped", "set aside", "truncated", "incomplete",
              "corrupt", "not all")


@dataclass
class Case:
    path: str                 # the input (str: may hold surrogate escapes for non-UTF-8 names)
    mutation: str
    source: str               # which real file it came from (name only)
    origin: str = ""          # that file's path, for the reference output


@dataclass
class Outcome:
    case: Case
    command: list[str]
    rc: int | None
    stderr: str
    stdout: str
    seconds: float
    verdict: str = ""


# --- making broken files -----------------------------------------------------------------------

_counter = [0]


def _write(folder: Path, name: str, data: bytes) -> Path:
    """Each case in a folder of its own: opening one DICOM file reads its siblings as a series,
    so damaged neighbours would make every case about all the others."""
    _counter[0] += 1
    sub = folder / f"c{_counter[0]:05d}"
    sub.mkdir(parents=True, exist_ok=True)
    p = sub / name
    p.write_bytes(data)
    return p


def _dicom_header_variants(src: Path, folder: Path, rng: random.Random) -> list[tuple[Path, str]]:
    import pydicom
    out = []
    fields = {"Rows": [0, 1, 65535], "Columns": [0, 65535], "NumberOfFrames": ["100000", "0", "-1", "1A"],
              "BitsAllocated": [0, 1, 12, 64], "SamplesPerPixel": [0, 3, 255],
              "PixelSpacing": [["0", "0"], ["-1", "1e308"], ["nan", "1"]],
              "ImageOrientationPatient": [["0"] * 6, ["nan"] * 6], "RescaleSlope": ["0", "1e308", "nan"]}
    for key, values in fields.items():
        for v in values:
            try:
                ds = pydicom.dcmread(src, force=True)
                setattr(ds, key, v)
                p = _write(folder, f"{src.stem}_{key}_{str(v)[:8].replace('/', '_')}.dcm", b"")
                ds.save_as(p, enforce_file_format=False)
                out.append((p, "header"))
            except Exception:  # noqa: BLE001 - pydicom refused to write this value: not a case
                continue
    return out


def _nifti_header_variants(src: Path, folder: Path) -> list[tuple[Path, str]]:
    import gzip

    import nibabel as nib
    raw = bytearray(src.read_bytes())
    if src.suffix == ".gz":
        raw = bytearray(gzip.decompress(bytes(raw)))
    hdr = nib.Nifti1Header.from_fileobj(__import__("io").BytesIO(bytes(raw[:348])))
    out = []
    variants = {"dim_huge": ("dim", [3, 1024, 1024, 1024, 1, 1, 1, 1]), "dim_zero": ("dim", [3, 0, 4, 4, 1, 1, 1, 1]),
                "dim_neg": ("dim", [3, -5, 4, 4, 1, 1, 1, 1]), "dim0_9": ("dim", [9, 4, 4, 4, 1, 1, 1, 1]),
                "vox_offset": ("vox_offset", 1e9), "bitpix": ("bitpix", 0), "datatype": ("datatype", 1234),
                "pixdim_nan": ("pixdim", [1, float("nan"), 1, 1, 1, 1, 1, 1]),
                "scl_inf": ("scl_slope", float("inf"))}
    for name, (key, value) in variants.items():
        h = hdr.copy()
        try:
            h[key] = value
        except Exception:  # noqa: BLE001
            continue
        data = bytearray(raw)
        data[:348] = h.binaryblock
        for gz in (False, True):
            blob = gzip.compress(bytes(data)) if gz else bytes(data)
            out.append((_write(folder, f"{src.name.split('.')[0]}_{name}.nii{'.gz' if gz else ''}", blob), "header"))
    return out


def build_cases(sources: list[Path], folder: Path, *, per_source: int = 40, seed: int = 0) -> list[Case]:
    """Damaged copies of ``sources`` in ``folder``; about ``per_source`` byte-level cases each plus
    header variants for DICOM and NIfTI, and the special files."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    made: list[tuple[Path, str, str]] = []
    for src in sources:
        data = src.read_bytes()
        ext = "".join(src.suffixes[-2:]) if src.name.endswith(".nii.gz") else src.suffix
        base = src.name[: -len(ext)] if ext else src.name
        n = len(data)
        for i in range(per_source):
            kind = ("truncate", "flip", "chunk", "random", "wrongext")[i % 5]
            if kind == "truncate":
                cut = int(n * rng.choice([0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999]))
                blob = data[:max(cut, 1)]
            elif kind == "flip":
                b = bytearray(data)
                for _ in range(rng.choice([1, 4, 64])):
                    j = rng.randrange(n)
                    b[j] ^= 1 << rng.randrange(8)
                blob = bytes(b)
            elif kind == "chunk":
                a = rng.randrange(n)
                blob = data[:a] + data[a + rng.randrange(1, max(2, n // 10)):]
            elif kind == "random":
                blob = rng.randbytes(rng.choice([0, 1, 17, 400, 5000]))
            else:
                blob = data
            name = f"{base}_{kind}{i}{ext}" if kind != "wrongext" else \
                f"{base}_{kind}{i}{rng.choice(['.png', '.nii.gz', '.dcm', '.mp4', '.mha', ''])}"
            made.append((_write(folder, name, blob), kind, src.name))
        if ext in (".dcm", "") and data[128:132] == b"DICM":
            made += [(p, k, src.name) for p, k in _dicom_header_variants(src, folder, rng)]
        if ext in (".nii", ".nii.gz"):
            made += [(p, k, src.name) for p, k in _nifti_header_variants(src, folder)]
    special = folder / "special"
    special.mkdir(exist_ok=True)
    fifo = special / "scan.nii.gz"
    if not fifo.exists():
        os.mkfifo(fifo)
    made.append((fifo, "fifo", "-"))
    loop = special / "loop.dcm"
    if not loop.is_symlink():
        loop.symlink_to(loop.name)
    made.append((loop, "symlink_loop", "-"))
    made.append((Path("/dev/zero"), "device", "-"))
    odd = os.fsdecode(os.fsencode(special) + b"/odd\xff\xfename.dcm")
    if sources:
        with open(os.fsencode(odd), "wb") as fh:
            fh.write(sources[0].read_bytes()[:3000])
        made.append((Path(odd), "non_utf8", sources[0].name))
    # the reference output comes from an intact copy alone in its folder, like every case
    origins = {s.name: str(_write(folder, s.name, s.read_bytes())) for s in sources}
    return [Case(str(p), kind, src, origins.get(src, "")) for p, kind, src in made]


def commands_for(case: Case, out: Path, index: int) -> list[list[str]]:
    """Every CLI command that takes this kind of file."""
    p = case.path
    lower = p.lower()
    cmds = [["info", p], ["convert", p, str(out / f"conv{index}")],
            ["screenshot", p, "--out", str(out / f"shot{index}.png")]]
    if lower.endswith((".mp4", ".avi", ".mov", ".mkv")) or case.source.endswith(".mp4"):
        cmds = [["info", p], ["export-frame", p, "--index", "3", "-o", str(out / f"frame{index}.png")]]
    if case.mutation in ("fifo", "device", "symlink_loop"):
        cmds.append(["export-frame", p, "--index", "0", "-o", str(out / f"frame{index}.png")])
        cmds.append(["infer", "threshold", p, "-o", str(out / f"inf{index}"), "-q"])
    return cmds


# --- running ---------------------------------------------------------------------------------

_WORKER = r"""
import io, json, os, sys, contextlib
sys.path.insert(0, os.environ["LOUPE_ROOT"])
from app.cli import main
for line in sys.stdin:
    argv = json.loads(line)
    argv = [os.fsdecode(bytes.fromhex(a)) for a in argv]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as e:
            rc = e.code if isinstance(e.code, int) else 2
    sys.__stdout__.write(json.dumps({"rc": rc, "out": out.getvalue()[-2000:], "err": err.getvalue()[-4000:]}) + "\n")
    sys.__stdout__.flush()
"""


class Harness:
    """One worker process running CLI commands in-process; restarted after a crash or a hang."""

    def __init__(self, time_limit_s: float = 60.0, memory_limit: int = 6 << 30) -> None:
        self.time_limit_s = time_limit_s
        self.memory_limit = memory_limit
        self.proc: subprocess.Popen | None = None

    def _start(self) -> None:
        env = dict(os.environ, LOUPE_ROOT=str(ROOT), QT_QPA_PLATFORM="offscreen", PYTHONUNBUFFERED="1",
                   VTK_DEFAULT_OPENGL_WINDOW=os.environ.get("VTK_DEFAULT_OPENGL_WINDOW", "vtkOSOpenGLRenderWindow"))
        limit = self.memory_limit

        def limit_memory() -> None:
            import resource
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

        self.proc = subprocess.Popen([sys.executable, "-c", _WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=env, cwd=ROOT, text=True,
                                     preexec_fn=limit_memory)

    def run(self, argv: list[str]) -> tuple[int | None, str, str, float, str]:
        """(rc, stdout, stderr, seconds, failure) where failure is '', 'crash' or 'hang'."""
        import select
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        assert self.proc is not None and self.proc.stdin and self.proc.stdout
        t0 = time.monotonic()
        self.proc.stdin.write(json.dumps([os.fsencode(a).hex() for a in argv]) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], self.time_limit_s)
        if not ready:
            self.close()
            return None, "", "", time.monotonic() - t0, "hang"
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait(10)
            err = self.proc.stderr.read()[-3000:] if self.proc.stderr else ""
            self.proc = None
            return code, "", err, time.monotonic() - t0, "crash"
        doc = json.loads(line)
        return doc["rc"], doc["out"], doc["err"], time.monotonic() - t0, ""

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


PIXEL_COMMANDS = {"convert", "screenshot", "export-frame", "infer"}


def classify(case: Case, command: list[str], rc: int | None, stdout: str, stderr: str, failure: str) -> str:
    if failure:
        return failure
    if "Traceback (most recent call last)" in stderr or "Traceback (most recent call last)" in stdout:
        return "traceback"
    name = os.path.basename(case.path)
    shown = name.encode("utf-8", "backslashreplace").decode("utf-8")
    if rc not in (0, None):
        lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
        errors = [ln for ln in lines if ln.startswith("error:")]
        if not errors:
            return "unnamed"
        stems = {shown.split(".")[0][:20], name.split(".")[0][:20]}
        if not any(st in ln for st in stems for ln in errors):
            return "unnamed"
        return "ok"
    return "ok"


def _pixels(command: list[str]) -> list | None:
    """What a pixel-producing command wrote: NIfTI voxels of convert, the PNG of export-frame."""
    import numpy as np
    if command[0] == "convert":
        import nibabel as nib
        files = sorted(Path(command[2]).rglob("*.nii*"))
        return [np.asarray(nib.load(str(f)).dataobj) for f in files] or None
    if command[0] == "export-frame":
        from PIL import Image
        f = Path(command[-1])
        return [np.asarray(Image.open(f))] if f.is_file() else None
    return None


def _same(a: list | None, b: list | None) -> bool:
    import numpy as np
    return a is not None and b is not None and len(a) == len(b) and all(
        x.shape == y.shape and np.array_equal(x, y) for x, y in zip(a, b))


def run_cases(cases: list[Case], out: Path, harness: Harness, progress=None) -> list[Outcome]:
    outcomes = []
    reference: dict[tuple[str, str], list | None] = {}
    for i, case in enumerate(cases):
        for cmd in commands_for(case, out, i):
            rc, so, se, secs, failure = harness.run(cmd)
            o = Outcome(case, cmd, rc, se, so, secs)
            o.verdict = classify(case, cmd, rc, so, se, failure)
            if o.verdict == "ok" and rc == 0 and cmd[0] in ("convert", "export-frame") and case.origin:
                key = (case.origin, cmd[0])
                if key not in reference:  # the same command on the intact original
                    ref_cmd = commands_for(Case(case.origin, "original", case.source), out / "ref", len(reference))
                    ref_cmd = next(c for c in ref_cmd if c[0] == cmd[0])
                    harness.run(ref_cmd)
                    reference[key] = _pixels(ref_cmd)
                text = (so + se).lower()
                if not _same(_pixels(cmd), reference[key]) and not any(w in text for w in WARN_WORDS) \
                        and case.mutation in INCOMPLETE | {"wrongext"}:
                    o.verdict = "silent"
            outcomes.append(o)
            if progress:
                progress(o)
    return outcomes


def real_sources(data: Path) -> list[Path]:
    """One or two real files of every format the readers take, from the shared data."""
    picks = [
        sorted((data / "dicom" / "dcm_qa_ct_philips_phantom" / "dicom").iterdir())[0],
        sorted((data / "dicom" / "dcm_qa_siemens_mosaic_jpeglossless").rglob("*.dcm"))[:1],
        sorted((data / "dicom" / "pydicom_data_enhanced_ct").rglob("*"))[:1],
        sorted((data / "ultrasound" / "dicom_us").rglob("*.dcm"))[:1],
        data / "dicom" / "dcm_qa_nih_GE_axial_epi" / "ref" / "DCM2NIIX_regression_test_4.nii",
        sorted((data / "ultrasound" / "PSFHS" / "image_mha").glob("*.mha"))[:1],
        sorted((data / "retina" / "DRIVE" / "test" / "images").iterdir())[:1],
        sorted((data / "ultrasound" / "PSFHS_png").rglob("*.png"))[:1],
        sorted((data / "endoscopy" / "Kvasir-SEG").rglob("*.jpg"))[:1],
        data / "endoscopy" / "endovis2017_clip" / "short_source.mp4",
    ]
    out: list[Path] = []
    for p in picks:
        for q in (p if isinstance(p, list) else [p]):
            if isinstance(q, Path) and q.is_file():
                out.append(q)
    return out

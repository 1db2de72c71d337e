"""How often a single flipped bit inside a JPEG-lossless codestream is caught (issue 21).

A flip inside a whole, well-formed codestream leaves nothing a reader can check against (DICOM
carries no pixel checksum); the only signal is the decoder's own report that it concealed data
("Corrupt JPEG data: ..."), which Loupe turns into an error naming the file. This script flips
one random bit in the pixel fragment of a real JPEG-lossless DICOM N times and counts, per
outcome: caught (error), silent with > 1% of pixels changed, silent with <= 1% changed (local
damage the codec cannot see), identical. Usage: fuzz_jpeg_bitflips.py [--n 60] [--seed 11]"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import data_root  # noqa: E402


def main() -> int:
    import pydicom
    from pydicom.encaps import generate_fragments

    from app.data.dicom.pixels import read_with_pydicom
    from app.data.types import LoupeError

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    src = data_root() / "dicom" / "dcm_qa_siemens_mosaic_jpeglossless" / "dicom" / "jpg1.dcm"
    ref = read_with_pydicom(src)
    raw = src.read_bytes()
    frag = max(generate_fragments(pydicom.dcmread(src).PixelData), key=len)
    off = raw.find(frag[:64])
    rng = random.Random(args.seed)
    counts = {"caught": 0, "silent >1% changed": 0, "silent <=1% changed": 0, "identical": 0}
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "flipped.dcm"
        for _ in range(args.n):
            b = bytearray(raw)
            b[off + rng.randrange(16, len(frag) - 16)] ^= 1 << rng.randrange(8)
            p.write_bytes(bytes(b))
            try:
                out = read_with_pydicom(p)
            except LoupeError:
                counts["caught"] += 1
                continue
            diff = float((out != ref).mean()) if out.shape == ref.shape else 1.0
            counts["identical" if diff == 0 else "silent >1% changed" if diff > 0.01 else "silent <=1% changed"] += 1
    print(f"{args.n} single-bit flips in {src.name} (seed {args.seed}):")
    for k, v in counts.items():
        print(f"  {k:22s} {v:4d}  ({v / args.n:.0%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

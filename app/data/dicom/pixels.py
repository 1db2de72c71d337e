"""Stored pixel values of one DICOM file, as a (frames, rows, cols[, samples]) array.

Why two paths: uncompressed little-endian pixel data is read straight from its file offset into
the caller's buffer (the offset was kept by the header scan, which deferred the element), which is
several times faster than a pydicom re-parse; everything else (JPEG, JPEG-LS, JPEG 2000, RLE, big
endian, palette colour, YBR) goes through pydicom's pixel plugins (pylibjpeg, gdcm). No codec is
written here.
"""
from __future__ import annotations

import os
import sys
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from app.data.types import ReadError

PIXEL_DATA = 0x7FE00010
_UNCOMPRESSED_LE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1"}


def stored_dtype(ds: Dataset) -> np.dtype:
    bits = int(ds.get("BitsAllocated", 16))
    signed = int(ds.get("PixelRepresentation", 0)) == 1
    if bits == 1:  # segmentation bit planes: pydicom unpacks them to one byte per pixel
        return np.dtype(np.uint8)
    if bits == 8:
        return np.dtype(np.int8 if signed else np.uint8)
    if bits == 16:
        return np.dtype("<i2" if signed else "<u2")
    if bits == 32:
        return np.dtype("<i4" if signed else "<u4")
    raise ReadError(f"(0028,0100) 'Bits Allocated' is {bits}; Loupe reads 8, 16 or 32-bit pixels")


def frame_shape(ds: Dataset) -> tuple[int, ...]:
    n = int(ds.get("NumberOfFrames", 1) or 1)
    rows, cols = int(ds.Rows), int(ds.Columns)
    spp = int(ds.get("SamplesPerPixel", 1) or 1)
    return (n, rows, cols, spp) if spp > 1 else (n, rows, cols)


def _fast_path_ok(ds: Dataset) -> bool:
    meta = getattr(ds, "file_meta", None)
    ts = str(meta.get("TransferSyntaxUID", "")) if meta is not None else "1.2.840.10008.1.2"
    if ts not in _UNCOMPRESSED_LE:
        return False
    if int(ds.get("SamplesPerPixel", 1) or 1) != 1:
        return False
    if str(ds.get("PhotometricInterpretation", "MONOCHROME2")) not in ("MONOCHROME1", "MONOCHROME2"):
        return False
    return int(ds.get("BitsAllocated", 16)) in (8, 16, 32)


def needs_sign_extension(ds: Dataset) -> bool:
    bits_alloc = int(ds.get("BitsAllocated", 16))
    return int(ds.get("PixelRepresentation", 0)) == 1 and int(ds.get("BitsStored", bits_alloc)) < bits_alloc


def unsigned_max(ds: Dataset) -> int | None:
    """Largest stored value an unsigned image can hold after ``_apply_bits_stored`` (2**BitsStored - 1),
    or None for signed data."""
    if int(ds.get("PixelRepresentation", 0)) == 1:
        return None
    bits_alloc = int(ds.get("BitsAllocated", 16))
    return (1 << min(int(ds.get("BitsStored", bits_alloc) or bits_alloc), bits_alloc)) - 1


def _apply_bits_stored(arr: np.ndarray, ds: Dataset) -> np.ndarray:
    """Only the Bits Stored low bits are the pixel value: signed data is sign-extended from them;
    unsigned data has any higher bits (old overlays, vendor flags) cleared, as dcm2niix does. The
    mask costs one pass, made only when a value is actually out of range."""
    bits_alloc = int(ds.get("BitsAllocated", 16))
    bits_stored = int(ds.get("BitsStored", bits_alloc) or bits_alloc)
    if bits_stored >= bits_alloc or arr.dtype.kind not in "iu":
        return arr
    if int(ds.get("PixelRepresentation", 0)) == 1:
        shift = bits_alloc - bits_stored
        arr <<= shift
        arr >>= shift
    else:
        mask = (1 << bits_stored) - 1
        if arr.size and int(arr.max()) > mask:
            np.bitwise_and(arr, np.array(mask).astype(arr.dtype), out=arr)
    return arr


def _read_at(path: Path, offset: int, target: memoryview) -> int:
    """Fill ``target`` from ``offset``; returns bytes read (short only at end of file). os.preadv
    avoids the buffered reader's seek and extra copy (as fast as reading the bytes at all)."""
    if hasattr(os, "preadv"):
        fd = os.open(path, os.O_RDONLY)
        try:
            got = 0
            while got < len(target):
                n = os.preadv(fd, [target[got:]], offset + got)
                if n <= 0:
                    break
                got += n
            return got
        finally:
            os.close(fd)
    with open(path, "rb", buffering=0) as fh:
        fh.seek(offset)
        got = 0
        while got < len(target):
            n = fh.readinto(target[got:])
            if not n:
                break
            got += n
        return got


def read_uncompressed_into(path: Path, ds: Dataset, out: np.ndarray) -> bool:
    """Fill ``out`` (shape of the file's frames) from the raw pixel bytes; False if not possible."""
    if not _fast_path_ok(ds):
        return False
    elem = ds.get_item(PIXEL_DATA, keep_deferred=True)  # never triggers pydicom's deferred read
    if elem is None:
        return False  # header parsed without pixels: let pydicom read the whole file
    nbytes = out.nbytes
    value = elem.value
    if isinstance(value, (bytes, bytearray)):
        if len(value) < nbytes:
            raise ReadError(f"{path.name}: pixel data holds {len(value)} bytes, expected {nbytes} "
                            f"for {out.shape} {out.dtype}; the file is truncated or damaged")
        out.reshape(-1).view(np.uint8)[:] = np.frombuffer(value, dtype=np.uint8, count=nbytes)
    else:
        offset = getattr(elem, "value_tell", None)
        if value is not None or offset is None:
            return False
        got = _read_at(path, offset, memoryview(out.reshape(-1).view(np.uint8)))
        if got < nbytes:
            raise ReadError(f"{path.name}: pixel data holds {got} bytes, expected {nbytes} for "
                            f"{out.shape} {out.dtype}; the file is truncated or damaged")
    _apply_bits_stored(out, ds)
    return True


#: Measured per 512x512 JPEG-LS CT slice here: pyjpegls 10 ms, gdcm 14 ms, pylibjpeg 33 ms.
_PREFERRED_PLUGIN = {"1.2.840.10008.1.2.4.80": "pyjpegls", "1.2.840.10008.1.2.4.81": "pyjpegls"}


#: JPEG baseline/extended/lossless: decoded by gdcm, whose libjpeg reports data it had to conceal
#: ("Corrupt JPEG data: premature end of data segment") only as a line on the process's stderr.
_JPEG_FAMILY = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57",
                "1.2.840.10008.1.2.4.70"}
_CONCEALED = ("Corrupt JPEG data", "Premature end of JPEG", "premature end of data", "Bogus", "Invalid JPEG")
_CODEC_LOCK = threading.Lock()


@contextmanager
def _codec_stderr(found: list[str]):
    """Collect what a C decoder writes to stderr while it runs (one decode at a time: fd 2 is the
    process's); lines that are not corruption reports go back to the real stderr."""
    with _CODEC_LOCK, tempfile.TemporaryFile() as tmp:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            yield found
        finally:
            _flush_c_stdio()  # libjpeg's fprintf(stderr) may sit in the C library's buffer
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            lines = tmp.read().decode("utf-8", "replace").splitlines()
            found.extend(ln.strip() for ln in lines if any(k in ln for k in _CONCEALED))
            rest = [ln for ln in lines if ln.strip() and not any(k in ln for k in _CONCEALED)]
            if rest:
                os.write(2, ("\n".join(rest) + "\n").encode())


def _flush_c_stdio() -> None:
    try:
        import ctypes
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):
        pass


def _decode(ds: Dataset) -> np.ndarray:
    ts = str(ds.file_meta.get("TransferSyntaxUID", "")) if getattr(ds, "file_meta", None) is not None else ""
    if ts in _JPEG_FAMILY and _has_gdcm():
        found: list[str] = []
        arr = None
        with _codec_stderr(found):
            ds.pixel_array_options(decoding_plugin="gdcm")
            try:
                arr = ds.pixel_array
            except Exception:  # noqa: BLE001 - gdcm cannot (12-bit JPEG Extended): the others try below
                ds.pixel_array_options(decoding_plugin="")
        if found:  # concealed by the decoder: never shown as a clean picture
            raise ReadError(f"compressed pixel data is damaged: the JPEG decoder reported "
                            f"{found[0]!r} and filled the damaged part in")
        if arr is not None:
            return arr
    plugin = _PREFERRED_PLUGIN.get(ts)
    if plugin:
        try:
            ds.pixel_array_options(decoding_plugin=plugin)
            return ds.pixel_array
        except Exception:
            ds.pixel_array_options(decoding_plugin="")  # not installed or failed: let pydicom try all
    return ds.pixel_array


def _has_gdcm() -> bool:
    import importlib.util
    return importlib.util.find_spec("gdcm") is not None


def one_line(exc: BaseException) -> str:
    """An exception as one line (pydicom lists each decoder's complaint on its own line)."""
    text = "; ".join(part.strip() for part in str(exc).splitlines() if part.strip())
    return f"{type(exc).__name__}: {text}"


def check_encapsulated(path: Path, ds: Dataset) -> None:
    """Every fragment of compressed pixel data must be whole: pydicom hands a decoder whatever
    bytes reached the end of a truncated file, and JPEG decoders then fill the rest in silently."""
    if not getattr(ds, "file_meta", None) or ds.file_meta.get("TransferSyntaxUID", "") in _UNCOMPRESSED_LE:
        return
    data = ds.PixelData if "PixelData" in ds else None
    if not isinstance(data, (bytes, bytearray)) or len(data) < 8 or data[:4] != b"\xfe\xff\x00\xe0":
        return
    pos, n = 0, len(data)
    while pos + 8 <= n:
        group, element = int.from_bytes(data[pos:pos + 2], "little"), int.from_bytes(data[pos + 2:pos + 4], "little")
        length = int.from_bytes(data[pos + 4:pos + 8], "little")
        if (group, element) == (0xFFFE, 0xE0DD):
            return
        if (group, element) != (0xFFFE, 0xE000):
            raise ReadError(f"{path.name}: compressed pixel data is damaged (item tag "
                            f"({group:04X},{element:04X}) at byte {pos} of the pixel data)")
        if pos + 8 + length > n:
            raise ReadError(f"{path.name}: compressed pixel data is truncated: a fragment declares "
                            f"{length} bytes but only {n - pos - 8} are present")
        pos += 8 + length
    if pos != n:
        raise ReadError(f"{path.name}: compressed pixel data ends inside a fragment header")


def read_with_pydicom(path: Path) -> np.ndarray:
    """Decode any transfer syntax / photometric through pydicom (colour returned as RGB)."""
    try:
        ds = pydicom.dcmread(str(path), force=True)
        if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
            # a header without its pixels: a file cut short in a copy or transfer, not a codec problem
            raise ReadError(f"{path.name}: the file ends before its pixel data ({path.stat().st_size:,} bytes; "
                            "truncated in a copy or transfer?)")
        check_encapsulated(path, ds)
        photometric = str(ds.get("PhotometricInterpretation", ""))
        try:
            arr = _decode(ds)
        except ReadError as exc:
            raise ReadError(f"{path.name}: {exc}") from exc
        if photometric == "PALETTE COLOR":
            from pydicom.pixels import apply_color_lut
            arr = apply_color_lut(arr, ds)
            if arr.dtype == np.uint16:  # 16-bit LUT entries: keep the displayed 8 bits per channel
                arr = (arr >> 8).astype(np.uint8)
    except ReadError:
        raise
    except Exception as exc:
        ts = getattr(getattr(ds, "file_meta", None), "TransferSyntaxUID", None) if "ds" in locals() else None
        ts_text = f"{ts.name} ({ts})" if ts is not None and hasattr(ts, "name") else "transfer syntax unknown"
        raise ReadError(f"{path.name}: cannot decode pixel data ({ts_text}): {one_line(exc)}") from exc
    n = int(ds.get("NumberOfFrames", 1) or 1)
    colour = arr.ndim == (4 if n > 1 else 3)
    if n == 1:
        arr = arr[None]
    if not colour:
        arr = np.ascontiguousarray(arr)
        if unsigned_max(ds) is not None and arr.flags.writeable:
            _apply_bits_stored(arr, ds)  # pydicom keeps unsigned high bits; signed it extends itself
    return arr


def check_pixel_budget(path: Path, ds: Dataset) -> None:
    """Rows x Columns x frames x samples x bytes checked before anything is allocated: against
    zero sizes, the memory limit and, for uncompressed data, the bytes the file really holds."""
    from app.data.limits import check_allocation
    try:
        shape = frame_shape(ds)
    except (ValueError, TypeError, AttributeError) as exc:
        raise ReadError(f"{path.name}: image size attributes are unreadable ({exc})") from None
    if any(int(x) <= 0 for x in shape):
        raise ReadError(f"{path.name}: Rows {shape[1]} x Columns {shape[2]} x {shape[0]} frame(s): "
                        "an image needs every size > 0")
    bits = int(ds.get("BitsAllocated", 16) or 0)
    meta = getattr(ds, "file_meta", None)
    ts = str(meta.get("TransferSyntaxUID", "")) if meta is not None else "1.2.840.10008.1.2"
    jpeg_family = ts.startswith("1.2.840.10008.1.2.4.")  # JPEG, JPEG-LS, JPEG 2000, HTJ2K
    allowed = (1, 8, 16) if jpeg_family else (1, 8, 16, 32, 64)
    if bits not in allowed:  # a JPEG decoder handed an impossible depth can abort the process
        raise ReadError(f"{path.name}: (0028,0100) 'Bits Allocated' is {bits}, which "
                        f"{'JPEG-family compression' if jpeg_family else 'no image'} cannot hold "
                        f"(expected {', '.join(map(str, allowed))})")
    nbytes = int(np.prod(shape, dtype=object)) * max(bits, 8) // 8
    check_allocation(path, nbytes, f"pixel data {'x'.join(str(int(x)) for x in shape)}")
    if _fast_path_ok(ds) and "PixelData" in ds:
        elem = ds.data_element("PixelData")
        length = getattr(elem, "length", None) or len(getattr(elem, "value", b"") or b"")
        if length and length != 0xFFFFFFFF and length < nbytes:
            raise ReadError(f"{path.name}: pixel data holds {length} bytes but Rows x Columns x frames "
                            f"x bits declare {nbytes}: truncated file or wrong header")


def read_file_frames(path: Path, ds: Dataset) -> np.ndarray:
    """All frames of one file as stored values: (frames, rows, cols) or (frames, rows, cols, 3)."""
    check_pixel_budget(path, ds)
    try:
        return _read_file_frames(path, ds)
    except ReadError as exc:
        if path.name in str(exc):
            raise
        raise ReadError(f"{path.name}: {exc}") from None


def _read_file_frames(path: Path, ds: Dataset) -> np.ndarray:
    if _fast_path_ok(ds):
        out = np.empty(frame_shape(ds), dtype=stored_dtype(ds))
        if read_uncompressed_into(path, ds, out):
            return out
    return read_with_pydicom(path)

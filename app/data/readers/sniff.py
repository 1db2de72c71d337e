"""Recognise a file's format from its first bytes, falling back to the extension.

Why content first: real folders hold extension-less DICOMs, PNGs saved as .jpg and README files
next to images. The catalog and the open dialog both need a cheap answer (one small read, no
decoding) to decide which reader to call and to warn when the name lies about the content.
"""
from __future__ import annotations

import zlib
from pathlib import Path

#: format -> catalog kind
KIND = {
    "png": "image", "jpeg": "image", "gif": "image", "tiff": "image", "bmp": "image",
    "nifti": "volume", "nrrd": "volume", "metaimage": "volume", "mgh": "volume",
    "dicom": "dicom", "video": "video", "bart": "kspace",
}

#: lower-case suffix (incl. double suffixes) -> format the name promises
EXTENSIONS = {
    ".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg", ".gif": "gif",
    ".tif": "tiff", ".tiff": "tiff", ".bmp": "bmp",
    ".nii": "nifti", ".nii.gz": "nifti", ".nrrd": "nrrd", ".nhdr": "nrrd",
    ".mha": "metaimage", ".mhd": "metaimage", ".mgh": "mgh", ".mgz": "mgh",
    ".dcm": "dicom", ".dicom": "dicom", ".ima": "dicom",
    ".mp4": "video", ".m4v": "video", ".mov": "video", ".avi": "video", ".mkv": "video",
    ".webm": "video", ".mpg": "video", ".mpeg": "video", ".ts": "video", ".wmv": "video",
    ".cfl": "bart",
}

_HEAD = 512


def extension_format(path: Path | str) -> str | None:
    """The format the file name promises (``.nii.gz`` counts as one suffix)."""
    name = Path(path).name.lower()
    for ext in sorted(EXTENSIONS, key=len, reverse=True):
        if name.endswith(ext):
            return EXTENSIONS[ext]
    return None


def _nifti_magic(head: bytes) -> bool:
    if len(head) >= 348:
        for order in ("little", "big"):
            if int.from_bytes(head[0:4], order) == 348 and head[344:347] in (b"n+1", b"ni1"):
                return True
    if len(head) >= 8 and head[4:7] == b"n+2":
        return True
    return False


def _gunzip_head(head: bytes) -> bytes:
    try:
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 400)
    except zlib.error:
        return b""


def content_format(path: Path | str, head: bytes | None = None) -> str | None:
    """The format the first bytes reveal, or None when they match nothing we read.

    A BART ``.cfl`` has no header of its own; it is recognised by the ``.hdr`` beside it."""
    p = Path(path)
    if head is None:
        from app.data.limits import check_regular
        check_regular(p)  # opening a FIFO for reading blocks until a writer comes
        with open(p, "rb") as fh:
            head = fh.read(_HEAD)
    if len(head) >= 132 and head[128:132] == b"DICM":
        return "dicom"  # first: the 128-byte preamble may itself hold a TIFF header (dual-personality files)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:2] == b"BM" and len(head) >= 26 and int.from_bytes(head[14:18], "little") in (12, 40, 52, 56, 64, 108, 124):
        return "bmp"
    if head.startswith(b"NRRD000"):
        return "nrrd"
    if _nifti_magic(head):
        return "nifti"
    if head[:2] == b"\x1f\x8b":
        if _nifti_magic(_gunzip_head(head)):
            return "nifti"
        return None
    text = head[:200].lstrip()
    if text.startswith((b"ObjectType", b"NDims")):
        return "metaimage"
    if head[4:8] == b"ftyp" or head[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return "video"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "video"
    if head[:4] == b"\x1a\x45\xdf\xa3":  # Matroska / WebM
        return "video"
    if head[:4] == b"\x00\x00\x01\xba" or (head[:1] == b"\x47" and len(head) > 188 and head[188:189] == b"\x47"):
        return "video"  # MPEG program / transport stream
    if head[:16] == b"0&\xb2u\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00b\xce\x6c":
        return "video"  # ASF / WMV
    if p.suffix.lower() == ".cfl" and p.with_suffix(".hdr").is_file():
        return "bart"
    if p.suffix.lower() == ".hdr" and head.startswith(b"# Dimensions"):
        return "bart_hdr"
    return None


def sniff(path: Path | str) -> tuple[str | None, str | None]:
    """(format from content, format from extension); either may be None."""
    return content_format(path), extension_format(path)


def mismatch_warning(path: Path | str, content: str | None, by_name: str | None) -> str | None:
    """A user-facing warning when the extension promises another format than the bytes hold."""
    if content and by_name and content != by_name and not (content == "bart" and by_name == "bart"):
        return (f"{Path(path).name}: the extension says {by_name.upper()} but the content is "
                f"{content.upper()}; read as {content.upper()}")
    return None

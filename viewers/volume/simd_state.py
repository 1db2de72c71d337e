"""Clear the CPU's AVX upper register state before VTK renders on the CPU.

Why (P17, session 17): Qt's raster painter fills rectangles with 256-bit AVX code that returns
without ``vzeroupper`` (seen with PySide6 6.11.3: ``QImage.fill`` and opaque ``fillRect``, i.e.
every widget background). The thread's "upper halves in use" flag then stays set, and every
legacy-SSE instruction afterwards pays an SSE/AVX transition penalty on Intel CPUs. VTK's CPU ray
caster is SSE code calling glibc's VEX-encoded ``atan2``/``asin`` once per voxel in its gradient
pass, so the shell's first shaded 3D render (drawn right after the "rendering 3D view ..." card
was painted) took ~13 s of CPU instead of ~2.6 s on the 512x512x140 head CT; worker threads
created by the render inherit the dirty state. ``vzeroupper`` clears it; the SysV and Windows x64
ABIs treat the upper halves as clobbered by any call, so executing it in a called function never
changes a value anyone relies on (the rendered picture is bit-identical).

Python cannot issue the instruction itself, so :func:`clear_avx_upper` calls four bytes of machine
code (``vzeroupper; ret``) from an executable page. Only on x86-64 with AVX that the OS enabled
(numpy's CPU feature table, which checks XGETBV); anywhere else, or when the OS refuses an
executable page, it does nothing. ``LOUPE_AVX_CLEAR=0`` switches it off (measurements, support).
"""
from __future__ import annotations

import ctypes
import mmap
import os
import platform
import sys

VZEROUPPER_RET = b"\xc5\xf8\x77\xc3"                       # vzeroupper; ret
# mov ecx, 1; xgetbv; shl rdx, 32; or rax, rdx; ret  -> XINUSE bitmap (needs XGETBV ECX=1)
XGETBV1 = b"\xb9\x01\x00\x00\x00\x0f\x01\xd0\x48\xc1\xe2\x20\x48\x09\xd0\xc3"
# push rbx; mov eax, 0xd; mov ecx, 1; cpuid; pop rbx; ret  -> CPUID.(EAX=0DH,ECX=1):EAX
CPUID_D1 = b"\x53\xb8\x0d\x00\x00\x00\xb9\x01\x00\x00\x00\x0f\xa2\x5b\xc3"
XINUSE_AVX_UPPER = (1 << 2) | (1 << 6)   # YMM_Hi128 and ZMM_Hi256 (upper halves of registers 0-15)

_pages: list = []          # keep executable buffers alive
_cache: dict[str, object] = {}


def _avx_usable() -> bool:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as feats
    except ImportError:  # numpy 1.x
        try:
            from numpy.core._multiarray_umath import __cpu_features__ as feats  # type: ignore[no-redef]
        except ImportError:
            return False
    return bool(feats.get("AVX"))


def _exec_function(code: bytes, restype):
    """A ctypes function running ``code`` (x86-64 machine code ending in ret), or None."""
    try:
        if sys.platform == "win32":
            k32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
            k32.VirtualAlloc.restype = ctypes.c_void_p
            k32.VirtualAlloc.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_ulong, ctypes.c_ulong]
            addr = k32.VirtualAlloc(None, len(code), 0x3000, 0x40)  # MEM_COMMIT|RESERVE, RWX
            if not addr:
                return None
            ctypes.memmove(addr, code, len(code))
        else:
            page = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
            page.write(code)
            _pages.append(page)
            addr = ctypes.addressof(ctypes.c_char.from_buffer(page))
        return ctypes.CFUNCTYPE(restype)(addr)
    except (OSError, ValueError, AttributeError, TypeError):
        return None


def _function(name: str):
    if name not in _cache:
        fn = None
        if _avx_usable():
            if name == "clear":
                fn = _exec_function(VZEROUPPER_RET, None)
            elif name == "xinuse":
                cpuid = _exec_function(CPUID_D1, ctypes.c_uint32)
                if cpuid is not None and cpuid() & (1 << 2):   # XGETBV with ECX=1 supported
                    fn = _exec_function(XGETBV1, ctypes.c_uint64)
        _cache[name] = fn
    return _cache[name]


def enabled() -> bool:
    return os.environ.get("LOUPE_AVX_CLEAR", "1") != "0"


def clear_avx_upper(*_args) -> bool:
    """Execute ``vzeroupper`` in the calling thread (usable as a VTK observer). True if it ran."""
    if not enabled():
        return False
    fn = _function("clear")
    if fn is None:
        return False
    fn()
    return True


def avx_upper_dirty() -> bool | None:
    """Whether the calling thread's AVX upper state is in use (XINUSE); None where unknown."""
    fn = _function("xinuse")
    return None if fn is None else bool(fn() & XINUSE_AVX_UPPER)


def install(render_window) -> int | None:
    """Clear the upper state at the start of every render of ``render_window`` (the renders that
    create the ray caster's worker threads run in this thread); returns the observer tag."""
    if _function("clear") is None:
        return None
    return render_window.AddObserver("StartEvent", clear_avx_upper)

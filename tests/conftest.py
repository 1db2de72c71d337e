"""Shared fixtures. Real data comes from LOUPE_DATA (default ../shared/data beside the project);
a missing data folder is an error, never a silent skip (STYLE.md, Slicer-Liver #480)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkOSOpenGLRenderWindow")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def data_root() -> Path:
    root = Path(os.environ.get("LOUPE_DATA", ROOT.parent / "shared" / "data")).resolve()
    if not (root / "README.md").is_file():
        raise RuntimeError(f"real test data not found at {root}: set LOUPE_DATA to the shared data folder")
    return root


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return data_root()


@pytest.fixture(scope="session")
def dicom_dir(data_dir) -> Path:
    return data_dir / "dicom"


@pytest.fixture(autouse=True)
def _loupe_home(tmp_path, monkeypatch):
    """Each test gets its own settings/catalog folder so nothing leaks between tests or into ~."""
    monkeypatch.setenv("LOUPE_HOME", str(tmp_path / "loupe_home"))

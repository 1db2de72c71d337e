"""One odd file never blocks its folder: the catalog and the study browser list it (name and
reason) beside the series that open. Uses pydicom's installed test files (CT_small.dcm beside
badVR.dcm, whose Number of Frames is '1A')."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pydicom
import pytest

from app.data.catalog import Catalog

PYDICOM_DIR = Path(os.path.dirname(pydicom.__file__)) / "data" / "test_files"


@pytest.fixture
def odd_folder(tmp_path):
    root = tmp_path / "export"
    root.mkdir()
    for n in ("CT_small.dcm", "badVR.dcm", "MR_small.dcm"):
        shutil.copy(PYDICOM_DIR / n, root / n)
    return root


def test_catalog_sets_aside_the_odd_file_and_keeps_the_series(tmp_path, odd_folder):
    cat = Catalog(tmp_path / "c.sqlite")
    cat.index_folder(odd_folder)
    problems = cat.problems(odd_folder)
    assert [Path(p).name for p, _ in problems] == ["badVR.dcm"]
    assert "'NumberOfFrames' is '1A'" in problems[0][1]
    studies = cat.studies()
    series = [s for st in studies for s in cat.series(st.key)]
    assert sorted(s.modality for s in series) == ["CT", "MR"]
    assert all("badVR" not in s.first_path for s in series)


def test_study_browser_shows_set_aside_files(qtbot, tmp_path, odd_folder):
    from app.shell.study_browser import StudyBrowser

    cat = Catalog(tmp_path / "c.sqlite")
    cat.index_folder(odd_folder)
    browser = StudyBrowser(catalog=cat)
    qtbot.addWidget(browser)
    browser.resize(520, 420)
    browser.refresh()
    tops = [browser.tree.topLevelItem(i) for i in range(browser.tree.topLevelItemCount())]
    aside = [t for t in tops if t.text(0).startswith("Set aside")]
    assert len(aside) == 1 and aside[0].childCount() == 1
    child = aside[0].child(0)
    assert child.text(0).startswith("badVR.dcm: (0028,0008) 'NumberOfFrames' is '1A'")
    assert len(tops) == 3  # the CT study, the MR study, the set-aside list
    browser._stop_thumbs()
    if os.environ.get("LOUPE_SAVE_PNG"):
        aside[0].setExpanded(True)
        browser.grab().save(os.environ["LOUPE_SAVE_PNG"])

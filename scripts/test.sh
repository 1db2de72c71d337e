#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite headless. Real data: LOUPE_DATA or ../shared/data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export QT_QPA_PLATFORM=offscreen VTK_DEFAULT_OPENGL_WINDOW=vtkOSOpenGLRenderWindow
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# Boundaries and lint first: a forbidden import, a lint finding or a type error in the core fails
# the run before any test starts (configured in pyproject.toml).
.venv/bin/ruff check .
.venv/bin/lint-imports
.venv/bin/mypy
exec .venv/bin/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=30 "$@"

#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite headless. Real data: LOUPE_DATA or ../shared/data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export QT_QPA_PLATFORM=offscreen VTK_DEFAULT_OPENGL_WINDOW=vtkOSOpenGLRenderWindow
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# One OpenMP/BLAS thread per test process: two xdist workers share two cores, and OpenMP threads
# that spin-wait between parallel regions (scikit-learn's gradient-boosting predict, once per image)
# burned 3.4x the CPU of one thread when the other core was busy (family 8 scored in 148 s wall /
# 76 s CPU with 2 threads, 57 s / 22 s with 1; session 12). Torch-training tests already use 1 thread.
export OMP_NUM_THREADS=1
# Boundaries and lint first: a forbidden import, a lint finding or a type error in the core fails
# the run before any test starts (configured in pyproject.toml).
.venv/bin/ruff check .
.venv/bin/lint-imports
.venv/bin/mypy
exec .venv/bin/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=30 "$@"

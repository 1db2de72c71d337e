#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite headless. Real data: LOUPE_DATA or ../shared/data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
export QT_QPA_PLATFORM=offscreen VTK_DEFAULT_OPENGL_WINDOW=vtkOSOpenGLRenderWindow
export GRADIO_ANALYTICS_ENABLED=False HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"

#!/usr/bin/env bash
# Idempotent set-up: Debian packages for Qt/VTK offscreen, a .venv with torch (CPU) first, then Loupe.
# Usage: bash scripts/setup.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=0; [ "${1:-}" = "--test" ] && want_test=1

apt_pkgs="xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 libxcb-cursor0 libxkbcommon-x11-0 \
libgl1-mesa-dri libglx-mesa0 libegl1 libegl-mesa0 libosmesa6 libgomp1"
# tests only: dciodvfy checks the report SR; a real Orthanc with DICOMweb for the PACS tests and
# dcmtk's getscu as their speed peer; strace shows a local Ray opens nothing beyond loopback;
# openssl makes the test certificate of the HTTPS server test; chromium runs the web tests
if [ "$want_test" = 1 ]; then
  apt_pkgs="$apt_pkgs dicom3tools orthanc orthanc-dicomweb dcmtk strace openssl bart"   # bart: MRI peer (tests/test_mri_vs_bart.py)
  apt_pkgs="$apt_pkgs chromium"   # the web face's browser tests (Playwright with executable_path)
fi
missing=""
for p in $apt_pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq $missing >/dev/null
fi

py=${PYTHON:-python3.11}
command -v "$py" >/dev/null || py=python3
[ -x .venv/bin/python ] || "$py" -m venv .venv
stamp=.venv/.loupe-installed
extras=""; [ $want_test -eq 1 ] && extras="[test]"
key="$(sha256sum pyproject.toml | cut -c1-16)$extras"
if [ ! -f "$stamp" ] || ! grep -qx "$key" "$stamp"; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  # torch first and pinned: the CPU wheel; anything unpinned would pull CUDA wheels.
  .venv/bin/python -m pip install -q "torch==2.13.0"
  .venv/bin/python -m pip install -q -e ".$extras"
  echo "$key" > "$stamp"
fi

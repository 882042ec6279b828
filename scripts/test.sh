#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh Debian machine, then run it.
# Arguments go to pytest (e.g. `bash scripts/test.sh -m slow`, `bash scripts/test.sh -k epic`).
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: Mesa's EGL for MuJoCo's headless rendering.
packages=(libegl1 libopengl0 libegl-mesa0 libgl1-mesa-dri chromium)  # chromium: the labelling app's browser tests
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing system packages: ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -c constraints.txt -e '.[test]'
export MUJOCO_GL="${MUJOCO_GL:-egl}"  # MuJoCo renders headless through EGL (Mesa llvmpipe without a GPU)
exec .venv/bin/python -m pytest --durations=15 "$@"  # the 15 slowest tests are listed at the end

#!/usr/bin/env bash
# Download the Python wheels that a bare GPU machine lacks into .whl/ (repository root),
# for benchmarks/device/gpu_checks.sh to install there without a network.
#
# The GPU machines this project borrows run Python 3.12 with torch, torchvision, timm,
# numpy, pandas, pyarrow, scipy, matplotlib, pillow and pytest already installed; rmeval
# itself travels as source. What is missing: open_clip_torch and its ftfy/wcwidth, and for
# the optional training benchmark gymnasium (+ pygame for CartPole) and stable-baselines3.
#
#   bash benchmarks/device/fetch_wheels.sh          # embedding checks only (~2.5 MB)
#   bash benchmarks/device/fetch_wheels.sh --train  # also the training benchmark (~17 MB)
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON_VERSION:-3.12}"
mkdir -p .whl
# .whl/ must stay out of git but travel with the device tool's carry: ignore it locally.
if exclude="$(git rev-parse --git-path info/exclude 2>/dev/null)"; then
  mkdir -p "$(dirname "$exclude")"
  grep -qx '/.whl/' "$exclude" 2>/dev/null || echo '/.whl/' >> "$exclude"
fi

wheels=(open_clip_torch==3.3.0 ftfy==6.3.1 wcwidth==0.9.4)
if [ "${1:-}" = "--train" ]; then
  wheels+=(gymnasium==1.4.0 farama-notifications==0.0.6 pygame==2.6.1 stable-baselines3==2.9.2)
fi
python3 -m pip download -q --no-deps --only-binary=:all: --python-version "$PY" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl "${wheels[@]}" 2>&1 \
  | grep -v "WARNING: Location" || true
ls -la .whl
du -sh .whl

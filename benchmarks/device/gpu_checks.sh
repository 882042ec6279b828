#!/usr/bin/env bash
# The GPU checks of issue 6 in as few device calls as possible: run on a GPU machine from
# the repository root, with the wheels from benchmarks/device/fetch_wheels.sh in .whl/.
#
#   bash benchmarks/device/gpu_checks.sh tests bench disk   # ~5 min on an H100
#   bash benchmarks/device/gpu_checks.sh compile            # torch.compile variants (~5 min)
#   bash benchmarks/device/gpu_checks.sh train              # needs fetch_wheels.sh --train
#
# Stages:
#   env      versions, the GPU, nvidia-smi (always run first)
#   tests    pytest -m gpu (tests/test_gpu.py)
#   bench    bf16 matmul rate; ViT-L-14 / ViT-bigG-14 (random weights) from frames in memory
#   disk     8,192 distinct 224x224 PNGs -> decode/hash rate alone -> disk to cache (the target)
#   compile  the bench and disk stages with --compile
#   train    benchmarks/bench_train.py with ViT-L-14 in bf16
# Logs go to $OUT (the device tool's output folder) or /tmp/rmeval-gpu-out.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-/tmp/rmeval-gpu-out}"
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 SDL_VIDEODRIVER=dummy
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    || { echo "installing .whl/ failed"; exit 1; }
  export PYTHONPATH="/tmp/site:$PWD"
else
  export PYTHONPATH="$PWD"
fi
MODELS="${MODELS:-ViT-L-14:random,ViT-bigG-14:random}"
FRAMES_DIR="${FRAMES_DIR:-/tmp/rmeval-humanoid-8k}"
rc=0

run() {  # run NAME CMD...: log to $OUT/NAME.log, remember a failure, go on
  local name="$1"; shift
  echo "=== $name: $*"
  "$@" 2>&1 | tee "$OUT/$name.log"
  local s=${PIPESTATUS[0]}
  [ "$s" = 0 ] || { echo "=== $name exited $s"; rc=1; }
}

frames() {
  [ -f "$FRAMES_DIR/metadata.json" ] || run make-frames python3 benchmarks/make_frames.py "$FRAMES_DIR" --frames 8192
}

run env python3 - <<'PY'
import platform, torch, numpy, open_clip
print("python", platform.python_version(), "| torch", torch.__version__, "| open_clip", open_clip.__version__,
      "| numpy", numpy.__version__)
print("cuda", torch.version.cuda, "| gpu", torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
      "| cores", len(__import__("os").sched_getaffinity(0)))
import rmeval.embedding  # noqa: F401  (the package imports with this machine's versions)
PY
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,driver_version --format=csv 2>&1 | tee -a "$OUT/env.log"

for stage in "$@"; do
  case "$stage" in
    tests)
      run tests python3 -m pytest -p no:cacheprovider -m gpu tests/test_gpu.py -v ;;
    bench)
      run bench python3 benchmarks/bench_embedding.py --device cuda --precision bf16 --models "$MODELS" \
        --batch-sizes 128,256 --frames 4096 --naive-frames 0 --matmul ;;
    disk)
      frames
      run io python3 benchmarks/bench_embedding.py --dataset "$FRAMES_DIR" --io-only
      run disk python3 benchmarks/bench_embedding.py --device cuda --precision bf16 --models "$MODELS" \
        --batch-sizes 256 --dataset "$FRAMES_DIR" --matmul ;;
    compile)
      frames
      run bench-compile python3 benchmarks/bench_embedding.py --device cuda --precision bf16 --models "$MODELS" \
        --batch-sizes 256 --frames 4096 --naive-frames 0 --matmul --compile
      run disk-compile python3 benchmarks/bench_embedding.py --device cuda --precision bf16 --models "$MODELS" \
        --batch-sizes 256 --dataset "$FRAMES_DIR" --matmul --compile ;;
    train)
      run train python3 benchmarks/bench_train.py --device cuda --precision bf16 --envs-list cartpole \
        --rewards ground-truth,ViT-B-32:random,ViT-L-14:random --steps 2000 ;;
    *)
      echo "unknown stage $stage (tests, bench, disk, compile, train)"; rc=2 ;;
  esac
done
exit $rc

#!/usr/bin/env bash
# The GPU checks of the learning and training issues as one script (a lent GPU machine is short of time).
#
#   PHOTOS=DIR OUT=DIR [DEVICE=cuda] [STEPS=300] [BENCH_STEPS=20] [TOTAL_S=540] bash benchmarks/gpu_checks.sh
#
# PHOTOS: a folder of about 20 real colour photographs. Each check runs under its own time limit, cut
# to what is left of TOTAL_S (a check with under 20 s left is skipped, and says so), and writes
# NAME.out (stdout; JSON for the benchmarks) and NAME.log (stderr: bench_learning's rows as they
# finish) under OUT/results; at the end OUT/results.tar.gz holds
# them all and a one-line summary per check is printed. Checks, in order of importance:
#   cuda_test      the test suite's CUDA-only tests (checkpoint RNG state on a GPU)
#   cli_defaults   `colorcore prepare --test-fraction 0.5`, `colorcore train --max-steps STEPS
#                  --batch-size 8` at every default (ResNet `auto`: offline there), `colorcore evaluate`
#                  on the training and the held-out photos: the learning issue's bar on the GPU code path
#   learn_b8       bench_learning.py, every model, default and paper settings, batch 8, STEPS steps
#   learn_b64      bench_learning.py, every model's defaults, 50 crops a photo, batch 64, STEPS steps
#   train_amp      bench_train.py (Trainer with mixed precision + channels_last vs a plain fp32 loop)
#   train_fp32     bench_train.py --no-amp (the Trainer in fp32, to see what mixed precision gives)
#   train_compile  bench_train.py --compile for multipath
#   prepare_crops  bench_prepare.py --crops-per-photo 50 on this machine's cores
# `prepare` needs OpenCV's contrib modules (cv2.saliency): where python3 has plain opencv, unpack an
# opencv-contrib-python-headless wheel into a folder and put it first on PYTHONPATH.
# ONLY="name ..." runs only those checks. CHECK_LIMIT_S=N gives every check N seconds instead of its own
# limit (0: none but what is left of TOTAL_S). CPU dry run (checks the script, not the GPU; a busy machine
# needs no limits there): DEVICE=cpu STEPS=3 BENCH_STEPS=1 QUICK=1 PREP_PHOTOS=3 CHECK_LIMIT_S=0 TOTAL_S=86400 ...
set -u
OUT=${OUT:?OUT: folder for the results}
PHOTOS=${PHOTOS:?PHOTOS: folder of real colour photographs}
DEVICE=${DEVICE:-cuda}
STEPS=${STEPS:-300}
BENCH_STEPS=${BENCH_STEPS:-20}
QUICK=${QUICK:-0}
RESULTS="$OUT/results"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DEADLINE=$(( $(date +%s) + ${TOTAL_S:-540} ))
mkdir -p "$RESULTS"
shopt -s nullglob
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}

check() {  # check NAME SECONDS COMMAND...: run under a time limit, keep stdout/stderr, print one line
    local name=$1 limit=${CHECK_LIMIT_S:-$2} start rc left
    shift 2
    case " ${ONLY:-$name} " in *" $name "*) ;; *) return ;; esac
    start=$(date +%s)
    left=$(( DEADLINE - start ))
    if [ "$left" -lt 20 ]; then echo "CHECK $name skipped: TOTAL_S used up"; return; fi
    if [ "$limit" = 0 ] || [ "$left" -lt "$limit" ]; then limit=$left; fi
    timeout "$limit" "$@" >"$RESULTS/$name.out" 2>"$RESULTS/$name.log"
    rc=$?
    echo "CHECK $name rc=$rc seconds=$(( $(date +%s) - start ))"
    [ "$rc" = 0 ] || tail -n 5 "$RESULTS/$name.log"
}

cli_defaults() {
    $PY -m colorcore prepare "$PHOTOS" "$WORK/data" --test-fraction 0.5 &&
    $PY -m colorcore train "$WORK/data" "$WORK/run" --max-steps "$STEPS" --batch-size 8 --device "$DEVICE" &&
    $PY -m colorcore evaluate "$WORK/run" "$WORK/data" --split train --json "$RESULTS/cli_eval_train.json" \
        --device "$DEVICE" >&2 &&
    $PY -m colorcore evaluate "$WORK/run" "$WORK/data" --split test --json "$RESULTS/cli_eval_test.json" \
        --device "$DEVICE" >&2 &&
    cat "$WORK/run/config.json"
}
export -f cli_defaults
export PY PHOTOS WORK STEPS DEVICE RESULTS

{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || true
  $PY -c "import torch, cv2; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'cv2', cv2.__version__, 'saliency', hasattr(cv2, 'saliency'))"
} | tee "$RESULTS/machine.txt"

check cuda_test 90 $PY -m pytest -q -p no:cacheprovider tests/test_checkpoint.py -k cuda
check cli_defaults 150 bash -c cli_defaults
check learn_b8 150 $PY benchmarks/bench_learning.py --photos "$PHOTOS" --device "$DEVICE" --width 64 \
    --steps "$STEPS" --batch-size 8 --models multipath scgan zhang --settings default paper
check learn_b64 150 $PY benchmarks/bench_learning.py --photos "$PHOTOS" --device "$DEVICE" --width 64 \
    --steps "$STEPS" --batch-size 64 --crops-per-photo 50 --models multipath scgan zhang --settings default
if [ "$QUICK" = 1 ]; then SMALL="--width 8 --batch-size 4"; else SMALL="--width 64 --batch-size 64"; fi
check train_amp 120 $PY benchmarks/bench_train.py --device "$DEVICE" $SMALL --steps "$BENCH_STEPS" --warmup 3
check train_fp32 90 $PY benchmarks/bench_train.py --device "$DEVICE" $SMALL --steps "$BENCH_STEPS" --warmup 3 --no-amp
check train_compile 150 $PY benchmarks/bench_train.py --device "$DEVICE" $SMALL --steps "$BENCH_STEPS" --warmup 3 \
    --models multipath --compile --rounds 1
check prepare_crops 90 $PY benchmarks/bench_prepare.py --photos "${PREP_PHOTOS:-40}" --crops-per-photo 50 --rounds 1

for f in "$RESULTS"/learn_b*.out; do
    $PY - "$f" <<'EOF'
import json, sys
try:
    report = json.load(open(sys.argv[1]))
except (OSError, ValueError):  # cut off by its time limit: its finished rows are in the .log
    sys.exit()
gray = report["gray_photo"]
print(sys.argv[1].rsplit("/", 1)[-1], "gray train/test PSNR", round(gray["train"]["psnr"], 2), round(gray["test"]["psnr"], 2))
for row in report["runs"]:
    print(" ", row["model"], row["setting"], row.get("status"), "learns", row.get("learns"),
          "train", row.get("train", {}).get("psnr"), "test", row.get("test", {}).get("psnr"),
          "colourfulness", row.get("test", {}).get("colourfulness"), f"{row['seconds']} s")
EOF
done
for f in "$RESULTS"/cli_eval_*.json; do
    $PY -c "import json,sys; s=json.load(open(sys.argv[1]))['summary']; print(sys.argv[1].rsplit('/',1)[-1], {k: round(v, 3) for k, v in s.items() if isinstance(v, float)})" "$f" 2>/dev/null
done
$PY - "$RESULTS"/train_*.out <<'EOF'
import json, sys
for path in sys.argv[1:]:
    try:
        report = json.load(open(path))
    except (OSError, ValueError):
        continue
    for row in report["models"]:
        print(path.rsplit("/", 1)[-1], report["device"], report["precision"], row["model"], "batch", row["batch_size"],
              "trainer", row["trainer_img_s"], "img/s, plain fp32 loop", row["reference_img_s"], "img/s, speedup",
              row["speedup"], "peak fraction", row["peak_fraction"], "compile x", row.get("compile_speedup"))
EOF
tar czf "$OUT/results.tar.gz" -C "$OUT" results

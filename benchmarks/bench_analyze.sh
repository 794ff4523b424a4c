#!/usr/bin/env bash
# Whole-pipeline timing of `xskan analyze` (process start to outputs written):
#   bash benchmarks/bench_analyze.sh [XSKAN] [REPS]
# XSKAN defaults to build/release/apps/xskan, REPS (repetitions, median reported) to 5.
# Cases: one cold run on the sample image (inf1.tif, 1536x1094 FEI SEM); a batch of 8 copies
# with 1 and 2 threads (per-image throughput); one 4096x4096 image (inf1 mirrored-tiled,
# made once with /usr/bin/python3 + numpy + tifffile) with 1 and 2 threads; and the per-stage
# breakdown printed by --timings. Results: benchmarks/README.d/analyze.md.
set -euo pipefail
cd "$(dirname "$0")/.."
XSKAN=${1:-build/release/apps/xskan}
REPS=${2:-5}
SAMPLE=examples/data/inf1.tif
WORK=${BENCH_WORK:-/tmp/xskan_bench_analyze}
mkdir -p "$WORK"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# "wall cpu" seconds of one command (cpu = user + sys of the process; stdout/stderr discarded)
run_timed() {
  /usr/bin/time -f "%e %U %S" -o "$WORK/time.txt" "$@" > /dev/null 2>&1
  awk '{ printf "%.4f %.4f\n", $1, $2 + $3 }' "$WORK/time.txt"
}
bench() {  # label, images, command...
  local label=$1 div=$2; shift 2
  local walls=() cpus=()
  for _ in $(seq "$REPS"); do
    read -r w c < <(run_timed "$@")
    walls+=("$w"); cpus+=("$c")
  done
  local mw mc
  mw=$(printf '%s\n' "${walls[@]}" | median)
  mc=$(printf '%s\n' "${cpus[@]}" | median)
  printf '| %-46s | %7.3f | %7.3f | %7.3f | %7.3f |\n' "$label" "$mw" "$mc" \
    "$(awk -v m="$mw" -v d="$div" 'BEGIN { print m / d }')" "$(awk -v m="$mc" -v d="$div" 'BEGIN { print m / d }')"
}

# batch of 8 copies of the sample (distinct names -> distinct outputs)
mkdir -p "$WORK/batch"
for i in 1 2 3 4 5 6 7 8; do ln -sf "$(realpath "$SAMPLE")" "$WORK/batch/inf1_$i.tif"; done
# 4096x4096 test image
BIG=$WORK/big4096.tif
if [ ! -e "$BIG" ]; then
  /usr/bin/python3 - "$SAMPLE" "$BIG" <<'PY'
import sys, numpy as np, tifffile
a = tifffile.imread(sys.argv[1])[:1024]          # FEI read: drop the data bar
t = np.concatenate([a, a[::-1]], axis=0)         # mirror-tile (no seams) to 4096x4096
t = np.concatenate([t, t[:, ::-1]], axis=1)
t = np.tile(t, (2, 2))[:4096, :4096]
tifffile.imwrite(sys.argv[2], np.ascontiguousarray(t))
PY
fi

echo "xskan analyze timings, median of $REPS runs ($(nproc) cores, $(date -u +%FT%TZ))"
echo
echo "| case | wall s | CPU s | wall s / image | CPU s / image |"
echo "|---|---:|---:|---:|---:|"
bench "inf1.tif, 1 image, cold process (1 thread)" 1 "$XSKAN" analyze "$SAMPLE" -o "$WORK/o1" -q --threads 1
bench "inf1.tif, 1 image, cold process, 2 threads" 1 "$XSKAN" analyze "$SAMPLE" -o "$WORK/o1" -q --threads 2
bench "8 x inf1.tif batch, 1 thread" 8 "$XSKAN" analyze "$WORK"/batch/*.tif -o "$WORK/o8" -q --threads 1
bench "8 x inf1.tif batch, 2 threads" 8 "$XSKAN" analyze "$WORK"/batch/*.tif -o "$WORK/o8" -q --threads 2
bench "8 x inf1.tif batch, 1 thread, --no-overlay" 8 "$XSKAN" analyze "$WORK"/batch/*.tif -o "$WORK/o8" -q --threads 1 --no-overlay
bench "4096x4096, 1 image, 1 thread" 1 "$XSKAN" analyze "$BIG" -o "$WORK/ob" -q --threads 1 --scale 1.07917e-9
bench "4096x4096, 1 image, 2 threads" 1 "$XSKAN" analyze "$BIG" -o "$WORK/ob" -q --threads 2 --scale 1.07917e-9
echo
echo "Stage breakdown, 8 x inf1.tif, 1 thread (--timings, summed over the images):"
"$XSKAN" analyze "$WORK"/batch/*.tif -o "$WORK/o8" -q --threads 1 --timings 2>&1 | sed 's/^/    /'
echo
echo "Stage breakdown, 4096x4096, 1 thread:"
"$XSKAN" analyze "$BIG" -o "$WORK/ob" -q --threads 1 --scale 1.07917e-9 --timings 2>&1 | sed 's/^/    /'

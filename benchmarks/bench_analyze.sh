#!/usr/bin/env bash
# Whole-pipeline timing of `xskan analyze` (process start to outputs written):
#   bash benchmarks/bench_analyze.sh [XSKAN] [REPS]
# XSKAN defaults to build/release/apps/xskan, REPS (repetitions, median reported) to 5.
# Cases: one cold run on the sample image (inf1.tif, 1536x1094 FEI SEM); a batch of 8 copies
# with 1 and 2 threads (per-image throughput); one 4096x4096 image (inf1 mirrored-tiled,
# made once with /usr/bin/python3 + numpy + tifffile) with 1 and 2 threads; and the per-stage
# breakdown printed by --timings; then the two-thread scaling of 8- and 32-image batches from
# alternating 1- and 2-thread runs, each into a fresh output folder (SCALING_REPS runs each,
# default REPS; the folders are made under BENCH_OUT, default the work folder: put it on the
# file system to measure, e.g. BENCH_OUT=/dev/shm for tmpfs). SCALING_ONLY=1 runs only that part.
# Results: benchmarks/README.md (section "xskan analyze").
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

# batch of 8 copies of the sample (distinct names -> distinct outputs), and of 32
mkdir -p "$WORK/batch" "$WORK/batch32"
for i in 1 2 3 4 5 6 7 8; do ln -sf "$(realpath "$SAMPLE")" "$WORK/batch/inf1_$i.tif"; done
for i in $(seq 32); do ln -sf "$(realpath "$SAMPLE")" "$WORK/batch32/inf1_$i.tif"; done

# 2 threads vs 1: alternating runs, a fresh output folder each run (removed afterwards)
OUTBASE=${BENCH_OUT:-$WORK}
scaling() {  # label, input folder, images
  local label=$1 dir=$2 div=$3 w1=() w2=() w
  for _ in $(seq "${SCALING_REPS:-$REPS}"); do
    for t in 1 2; do
      local o="$OUTBASE/xskan_scaling_out_$t"
      rm -rf "$o"
      local t0=$EPOCHREALTIME  # microseconds (bash 5); /usr/bin/time's %e has 10 ms steps
      "$XSKAN" analyze "$dir"/*.tif -o "$o" -q --threads "$t" > /dev/null 2>&1
      w=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.4f", b - a }')
      rm -rf "$o"
      if [ "$t" = 1 ]; then w1+=("$w"); else w2+=("$w"); fi
    done
  done
  local m1 m2
  m1=$(printf '%s\n' "${w1[@]}" | median)
  m2=$(printf '%s\n' "${w2[@]}" | median)
  printf '| %-34s | %7.3f | %7.3f | %6.1f | %6.1f | %5.2f |\n' "$label" "$m1" "$m2" \
    "$(awk -v m="$m1" -v d="$div" 'BEGIN { print 1000 * m / d }')" "$(awk -v m="$m2" -v d="$div" 'BEGIN { print 1000 * m / d }')" \
    "$(awk -v a="$m1" -v b="$m2" 'BEGIN { print a / b }')"
}
scaling_table() {
  echo "Two threads vs one: alternating runs, fresh output folder under $OUTBASE ($(df --output=fstype "$OUTBASE" | tail -1)), median of ${SCALING_REPS:-$REPS}:"
  echo
  echo "| case | 1 thread wall s | 2 threads wall s | ms / image (1) | ms / image (2) | ratio |"
  echo "|---|---:|---:|---:|---:|---:|"
  scaling "8 x inf1.tif batch" "$WORK/batch" 8
  scaling "32 x inf1.tif batch" "$WORK/batch32" 32
}
if [ "${SCALING_ONLY:-0}" = 1 ]; then
  scaling_table
  exit 0
fi
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
echo
scaling_table

#!/usr/bin/env bash
# README Quick start, command 1: install the dependencies (Debian 12, as root), build the
# xskan tool, and run the full skeleton-analysis pipeline on the bundled sample image.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" = 0 ]; then
  bash scripts/setup.sh
else
  echo "sample: not root, assuming the dependencies are installed (see scripts/setup.sh)" >&2
fi
JOBS=${JOBS:-$(nproc)}
echo "sample: building the xskan tool (build/release/apps/xskan; only this target)" >&2
[ -f build/release/CMakeCache.txt ] || cmake --preset release >/dev/null
cmake --build --preset release --target xskan_cli -j "$JOBS" >/dev/null
out=out/sample
build/release/apps/xskan analyze examples/data/inf1.tif -o "$out"
cat <<MSG

Done. Outputs of 'xskan analyze examples/data/inf1.tif -o $out':
  $out/inf1_branches.csv   one row per skeleton branch (skan's summarize columns + mean_shape_index,
                           squiggle, scale, filename; distances in metres from the FEI pixel size)
  $out/inf1_overlay.png    the image with skeleton pixels coloured by branch type
  $out/branches.csv        all images' branches combined (here: one image)
  $out/image_stats.csv     one row per image: junctions, mesh areas, branch density, ...
See docs/cli.md for every subcommand and option (xskan --help, xskan analyze --help).
MSG

#!/usr/bin/env bash
# Build and run every test: release (-O3 -march=native), AddressSanitizer +
# UBSan (baseline x86-64, and -march=native for the SIMD modules), and the
# downstream find_package(xskan) consumer check.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
JOBS=${JOBS:-$(nproc)}

echo "== release build and tests"
cmake --preset release >/dev/null
cmake --build --preset release -j "$JOBS"
ctest --preset release -j "$JOBS"

echo "== AddressSanitizer + UBSan build and tests"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$JOBS"
ctest --preset asan -j "$JOBS"

echo "== AddressSanitizer + UBSan with -march=native (AVX2/BMI2 paths of correlate, filters, threshold, skeletonize)"
cmake --preset asan-native >/dev/null
cmake --build --preset asan-native -j "$JOBS"
ctest --preset asan-native -j "$JOBS"

echo "== install + downstream consumer (find_package(xskan 0.1 CONFIG REQUIRED))"
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install build/release --prefix "$prefix/usr" >/dev/null
cmake -S examples/consumer -B "$prefix/consumer-build" -DCMAKE_PREFIX_PATH="$prefix/usr" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$prefix/consumer-build" -j "$JOBS"
"$prefix/consumer-build/consumer"
echo "== all tests passed"

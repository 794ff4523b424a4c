#!/usr/bin/env bash
# Install the Debian 12 packages xskan needs to build, test and run (idempotent).
# Run as root on a fresh machine; does nothing when everything is present.
set -euo pipefail
PKGS=(cmake g++ make libxtensor-dev libxsimd-dev xtl-dev catch2 libbenchmark-dev
      libtiff-dev libdeflate-dev libpng-dev libcli11-dev)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi

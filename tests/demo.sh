#!/bin/bash
# Install what is missing, build, and run the main job (make demo).
# Run as root on Debian 12.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
bash tests/deps.sh
autoreconf -fi
mkdir -p _build
cd _build
"$src/configure" >configure.out || { cat configure.out config.log >&2; exit 1; }
make -j"$(nproc)" demo

#!/bin/bash
# Install what is missing, build, and run the main job (make demo): boot a
# guest with dmadirty under QEMU, live-migrate it with and without DMA
# dirtying, and print how many device-written pages survived.
# Run as root on Debian 12.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
bash tests/deps.sh build e2e
autoreconf -fi
mkdir -p _build
cd _build
"$src/configure" >configure.out || { cat configure.out config.log >&2; exit 1; }
make -j"$(nproc)" demo

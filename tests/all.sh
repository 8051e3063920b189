#!/bin/bash
# Install what is missing, build, and run the whole test suite:
#   1. a normal build, make check with every suite (unit, agent, VM, e2e, packaging),
#      then make check-vfio (a real vfio-pci device in nested guests);
#   2. an ASan+UBSan build, make check of the user-space suites;
#   3. the agent's suites under valgrind;
#   4. the fuzz targets for a bounded number of executions;
#   5. make distcheck.
# Every skip in those runs is listed at the end, with its reason, and one
# that tests/skips.allow does not name fails the run: with everything
# installed, a missing prerequisite is a failure.
# Run as root on Debian 12.  Build trees go to _build*/ in the source tree.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
jobs=$(nproc)

step() { printf '\n==== %s\n' "$*"; }

# What make check printed in every step (automake's "SKIP: ..." lines among
# it), for the skip list at the end, also when a step fails.
mkdir -p _build
checks=_build/all-checks.out
: >"$checks"
skips() { reported=yes; bash tests/skips.sh tests/skips.allow "$checks"; }
reported=no
trap 'if [ "$reported" = no ]; then step "skips so far"; skips || true; fi' EXIT

step "dependencies"
bash tests/deps.sh
# The patched QEMU (packaging/qemu, cached once built) compiles, and the
# image test's Debian 12 and 13 base images (tests/packaging/mkimage.sh,
# cached too) are made, while the guest kernel matrix (cached chroots and
# kernel images; the first run on a machine debootstraps three releases)
# comes over the network.  All three are no-ops on a machine that has run
# this before.
mkdir -p _build
bash packaging/qemu/build-qemu.sh >_build/build-qemu.out 2>_build/build-qemu.log &
qemu_build=$!
declare -A image_build
for r in bookworm trixie; do
	bash tests/packaging/mkimage.sh "$r" "${DD_CACHE:-/var/cache/dmadirty}" \
		>"_build/mkimage-$r.out" 2>"_build/mkimage-$r.log" &
	image_build[$r]=$!
done
bash tests/kernels/setup.sh
wait "$qemu_build" || { tail -n 40 _build/build-qemu.log; echo "the patched QEMU did not build" >&2; exit 1; }
for r in bookworm trixie; do
	wait "${image_build[$r]}" ||
		{ tail -n 40 "_build/mkimage-$r.log"; echo "the $r base image was not made" >&2; exit 1; }
done

step "autoreconf"
autoreconf -fi

build() {	# build DIR CONFIGURE-ARGS...
	local dir=$1; shift
	mkdir -p "$dir"
	(cd "$dir" && "$src/configure" --enable-werror "$@" >configure.out) ||
		{ cat "$dir/configure.out" "$dir/config.log" >&2; return 1; }
	make -C "$dir" -j"$jobs"
}

check() {	# check DIR [TARGET]
	make -C "$1" -j"$jobs" "${2:-check}" AM_COLOR_TESTS=no | tee -a "$checks" || {
		find "$1" -name '*.log' -newer "$1/config.status" -exec grep -l -E '^(not ok|FAIL|ERROR)' {} + |
			while read -r log; do echo "---- $log"; tail -n 80 "$log"; done
		return 1
	}
}

step "build + make check (all suites)"
build _build --enable-vm-tests
check _build

step "make check-vfio (a real vfio-pci device, migrated in nested guests)"
check _build check-vfio

step "results over the kernel matrix"
# The module's pages marked per kernel and boot, and the A/B migrations.
sed -n '/^# kernel, boot/,/^[^#]/{/^#/p}' _build/tests/vm/kmod.log
sed -n '/^# configuration /,/^# total/p' _build/tests/e2e/e2e.log
# The nested VFIO migration, with and without dirtying.
sed -n '/^# *with dirtying  *without/,/^# total/p' _build/tests/vfio/vfio.log

step "ASan+UBSan build + make check"
build _build-asan --enable-asan --enable-ubsan --disable-vm-tests CFLAGS="-O1 -g"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	check _build-asan

step "valgrind"
check _build check-valgrind

step "fuzzing"
build _build-fuzz --enable-fuzzing --disable-vm-tests CC=clang
check _build-fuzz fuzz-run

step "distcheck"
check _build distcheck

step "skips"
skips

step "all suites passed"

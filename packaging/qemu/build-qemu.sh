#!/bin/bash
# Build Debian's QEMU 10.0 (Debian 13's, which Debian 12 gets from
# bookworm-backports) with the dmadirty patch series, or reuse the cached
# build of the same series.
#
#   packaging/qemu/build-qemu.sh [--print-hash]
#
# Prints the path of the patched qemu-system-x86_64 on stdout (progress goes
# to stderr).  The result lives in $DMADIRTY_QEMU_CACHE/qemu-<hash>/ (default
# /var/cache/dmadirty): bin/qemu-system-x86_64, and tests/ with the series'
# qtest.  <hash> covers the series file, every patch it names and the
# configure options, so a rerun with the same series costs nothing and an
# edited patch triggers a fresh build.  The binary finds its firmware where
# Debian's own qemu does (the same --firmwarepath: SeaBIOS in
# /usr/share/seabios, the -kernel option ROMs in /usr/share/qemu, from the
# seabios and qemu-system-data packages), and its data directory through the
# share/qemu symlink next to bin/.
#
# Steps: keep an apt configuration of its own under the cache with a
# deb-src entry for the suites that carry the 10.0 source (the host's apt
# sources stay untouched), fetch "apt-get source qemu/<suite>" through it
# from the first suite whose files the
# archive still serves (bookworm-backports, else trixie: the same 10.0
# stable series; dpkg-source applies Debian's own patches, its orig tarball
# lacks the bundled firmware; a suite that fails, as stale lists do once the
# archive drops the version they name, refreshes the lists once and the
# fetch starts over), apply the series and check it with QEMU's
# checkpatch, configure a minimal x86_64 system emulator with the system's
# meson (1.5 or later: meson from bookworm-backports), build
# qemu-system-x86_64 and the series' qtest, and cache the result only when
# the qtest passes.  Needs root for apt, plus the build dependencies in
# tests/deps/qemu.txt (tests/deps.sh qemu).
#
# Env: DMADIRTY_QEMU_CACHE (cache root), JOBS (ninja -j, default 2).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${DMADIRTY_QEMU_CACHE:-/var/cache/dmadirty}
jobs=${JOBS:-2}
# Where the QEMU 10.0 source comes from, in order of preference.
src_suites=(bookworm-backports trixie)
src_series=10.0
# Debian's python3, whose site packages hold Debian's meson (a python
# first in PATH, such as a pyenv one, would not find it).
configure_opts=(--python=/usr/bin/python3
	--target-list=x86_64-softmmu --without-default-features
	--disable-docs --disable-user --enable-slirp --enable-fdt=system
	--disable-install-blobs
	--firmwarepath=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu)

log() { printf 'build-qemu: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

mapfile -t patches < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here/series")
((${#patches[@]})) || die "empty series file $here/series"

series_hash() {
	{
		cat "$here/series"
		for p in "${patches[@]}"; do
			[ -f "$here/$p" ] || die "series names $p, which is missing"
			sha256sum <"$here/$p"
		done
		printf '%s\n' "${configure_opts[@]}" "${src_suites[@]}" "$src_series"
	} | sha256sum | cut -c1-16
}

hash=$(series_hash)
if [ "${1:-}" = --print-hash ]; then
	echo "$hash"
	exit 0
fi
[ $# -eq 0 ] || die "usage: $0 [--print-hash]"

out=$cache/qemu-$hash
reuse() {
	if [ -x "$out/bin/qemu-system-x86_64" ] && [ -e "$out/.complete" ]; then
		log "reusing $out"
		echo "$out/bin/qemu-system-x86_64"
		exit 0
	fi
}
reuse

# Test suites run in parallel: the second caller waits for the first build
# instead of starting its own.
mkdir -p "$cache"
exec 9>"$cache/qemu-$hash.lock"
flock 9
reuse

# The source comes through an apt configuration of our own under the cache
# (sources, lists and caches): the host's apt, its sources and what
# "apt-get source qemu" picks there stay as they are.
aptdir=$cache/apt
apt_opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$aptdir/sources.list.d"
	-o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache=$aptdir/cache"
	-o "DPkg::Lock::Timeout=900" -o "APT::Sandbox::User=root")
src_entry="# Written by dmadirty's packaging/qemu/build-qemu.sh: the QEMU $src_series source.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: ${src_suites[*]}
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
mkdir -p "$aptdir/sources.list.d" "$aptdir/lists/partial" "$aptdir/cache/archives/partial"
refreshed=
refresh_lists() {
	refreshed=1
	log "refreshing the source lists in $aptdir"
	printf '%s\n' "$src_entry" >"$aptdir/sources.list.d/qemu-src.sources"
	apt-get "${apt_opts[@]}" update -q >&2 || die "apt-get update of $aptdir failed"
}
if [ "$(cat "$aptdir/sources.list.d/qemu-src.sources" 2>/dev/null)" != "$src_entry" ] ||
	! apt-get "${apt_opts[@]}" source --print-uris -q "qemu/${src_suites[0]}" >/dev/null 2>&1; then
	refresh_lists
fi

meson_version=$(meson --version 2>/dev/null) ||
	die "no meson: run tests/deps.sh qemu (meson from bookworm-backports)"
dpkg --compare-versions "$meson_version" ge 1.5 ||
	die "meson $meson_version is too old for QEMU $src_series (1.5 needed): run tests/deps.sh qemu"

work=$(mktemp -d "$cache/qemu-$hash.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

# fetch_source: unpack the qemu source of the first suite that serves it,
# in src; its suite in src_suite.  Sets fetch_failed when a suite failed.
fetch_source() {
	local suite
	src= src_suite= fetch_failed=
	rm -rf "${work:?}"/qemu[-_]*
	for suite in "${src_suites[@]}"; do
		log "fetching the qemu source package from $suite"
		if (cd "$work" && apt-get "${apt_opts[@]}" source -q "qemu/$suite" >apt-source.log 2>&1); then
			src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'qemu-*' | head -n1)
			src_suite=$suite
			return
		fi
		fetch_failed=1
		log "$suite: $(grep -m1 '^E:' "$work/apt-source.log" || tail -n1 "$work/apt-source.log")"
		rm -rf "${work:?}"/qemu[-_]*
	done
}
fetch_source
# Lists older than the archive name files it has since dropped (a 404):
# refresh them once and start again from the first suite.
if [ -n "$fetch_failed" ] && [ -z "$refreshed" ]; then
	refresh_lists
	fetch_source
fi
[ -n "$src" ] || die "no suite of ${src_suites[*]} served the qemu source"
version=$(cat "$src/VERSION")
[[ $version == "$src_series".* ]] ||
	die "$src_suite's qemu is $version, not $src_series: the series targets $src_series"

for p in "${patches[@]}"; do
	log "applying $p"
	patch -d "$src" -p1 -N -s --no-backup-if-mismatch <"$here/$p" ||
		die "$p does not apply to $(basename "$src")"
done

# QEMU's coding style is part of the series' contract: any checkpatch
# error or warning fails the build.
for p in "${patches[@]}"; do
	(cd "$src" && perl scripts/checkpatch.pl --color=never "$here/$p") >"$work/checkpatch.log" 2>&1 || true
	if ! grep -q '^total: 0 errors, 0 warnings' "$work/checkpatch.log"; then
		cat "$work/checkpatch.log" >&2
		die "$p is not checkpatch clean"
	fi
done

log "configuring"
mkdir "$src/build"
(cd "$src/build" && ../configure "${configure_opts[@]}" >configure.log 2>&1) ||
	{ tail -n 40 "$src/build/configure.log" >&2; die "configure failed"; }

log "building qemu-system-x86_64 and the series' qtest (ninja -j$jobs)"
ninja -C "$src/build" -j"$jobs" qemu-system-x86_64 tests/qtest/pci-dma-dirty-test \
	>"$work/ninja.log" 2>&1 ||
	{ tail -n 60 "$work/ninja.log" >&2; die "build failed"; }

# Assemble under a temporary name, then rename: a concurrent or interrupted
# run never sees a half-filled cache entry.
stage=$work/stage
mkdir -p "$stage/bin" "$stage/share" "$stage/tests"
install -m 0755 "$src/build/qemu-system-x86_64" "$stage/bin/"
install -m 0755 "$src/build/tests/qtest/pci-dma-dirty-test" "$stage/tests/"
ln -s /usr/share/qemu "$stage/share/qemu"

# A binary that fails the series' own qtest is not cached.
log "running the qtest"
QTEST_QEMU_BINARY=$stage/bin/qemu-system-x86_64 \
	"$stage/tests/pci-dma-dirty-test" --tap >"$work/qtest.log" 2>&1 ||
	{ cat "$work/qtest.log" >&2; die "the qtest failed"; }
cp "$here/series" "$stage/series"
echo "$(basename "$src") from $src_suite" >"$stage/source-version"
touch "$stage/.complete"
rm -rf "$out"
mv "$stage" "$out"
log "built $out"
echo "$out/bin/qemu-system-x86_64"

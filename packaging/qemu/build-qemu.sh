#!/bin/bash
# Build Debian 12's QEMU 7.2 with the dmadirty patch series, or reuse the
# cached build of the same series.
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
# Steps: make sure apt has a deb-src entry for bookworm (adding one next to
# /etc/apt/sources.list.d/debian.sources if not), "apt-get source qemu"
# (dpkg-source applies Debian's own patches; its orig tarball lacks the
# bundled firmware), apply the series and check it with QEMU's checkpatch,
# configure a minimal x86_64 system emulator, build qemu-system-x86_64 and
# the series' qtest, and cache the result only when the qtest passes.
# Needs root for apt, plus the build dependencies in tests/deps/qemu.txt.
#
# Env: DMADIRTY_QEMU_CACHE (cache root), JOBS (ninja -j, default 2).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${DMADIRTY_QEMU_CACHE:-/var/cache/dmadirty}
jobs=${JOBS:-2}
configure_opts=(--target-list=x86_64-softmmu --without-default-features
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
		printf '%s\n' "${configure_opts[@]}"
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

have_deb_src() {
	grep -Eqs '^[[:space:]]*Types:.*deb-src' /etc/apt/sources.list.d/*.sources ||
		grep -Eqs '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list
}

if ! have_deb_src; then
	((EUID == 0)) || die "no deb-src entry in apt's sources and not root to add one"
	log "adding a deb-src entry for bookworm"
	cat >/etc/apt/sources.list.d/dmadirty-deb-src.sources <<'SRC'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	apt-get update -q >&2
elif ! apt-get source --print-uris -q qemu >/dev/null 2>&1; then
	log "refreshing apt's source lists"
	apt-get update -q >&2
fi

work=$(mktemp -d "$cache/qemu-$hash.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

log "fetching the qemu source package"
(cd "$work" && apt-get source -q qemu >apt-source.log 2>&1) ||
	{ cat "$work/apt-source.log" >&2; die "apt-get source qemu failed"; }
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'qemu-*' | head -n1)
[ -n "$src" ] || die "apt-get source produced no source tree"

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
basename "$src" >"$stage/source-version"
touch "$stage/.complete"
rm -rf "$out"
mv "$stage" "$out"
log "built $out"
echo "$out/bin/qemu-system-x86_64"

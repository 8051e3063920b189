#!/bin/bash
# Build Debian packages inside a root of the release they target, so that
# dpkg-shlibdeps takes the dependencies from that release's libraries
# (trixie renamed many in the t64 transition).
#
#   build-in-root.sh RELEASE CACHEDIR SRCDIR [DPKG-BUILDPACKAGE OPTION...]
#
# SRCDIR is an unpacked source tree with debian/ in it.  The build root is a
# debootstrap'ed RELEASE (buildd variant) with the Build-Depends of
# SRCDIR/debian/control installed by apt-get build-dep; it is cached as a
# tarball in CACHEDIR, keyed by the release, the mirror and the
# Build-Depends, and unpacked afresh for every build.  The .debs,
# .changes and .buildinfo land beside SRCDIR, as dpkg-buildpackage puts
# them.  Must run as root.
set -euo pipefail

if (($# < 3)); then
	echo "usage: $0 RELEASE CACHEDIR SRCDIR [DPKG-BUILDPACKAGE OPTION...]" >&2
	exit 2
fi
release=$1 cache=$2 src=$3
shift 3
mirror=${DD_DEBIAN_MIRROR:-http://deb.debian.org/debian}

if ((EUID != 0)); then
	echo "build-in-root: building in a $release root needs root (debootstrap, chroot)" >&2
	exit 1
fi
if [[ ! -f $src/debian/control ]]; then
	echo "build-in-root: $src/debian/control: no such file" >&2
	exit 1
fi
case $release in
bookworm | trixie) ;;
*)
	echo "build-in-root: unknown release '$release' (bookworm or trixie)" >&2
	exit 1
	;;
esac

src=$(cd "$src" && pwd)
mkdir -p "$cache/debs-$release"
builddeps=$(sed -n '/^Build-Depends:/,/^[^ ]/{/^Build-Depends:/p;/^ /p}' "$src/debian/control")
key=$(printf '%s\n' "$release" "$mirror" "$builddeps" | sha256sum | cut -c1-16)
tarball=$cache/build-$release-$key.tar

# One builder of a given root at a time; the others wait and reuse it.
exec 9>"$cache/build-$release.lock"
flock 9
if [[ ! -s $tarball ]]; then
	broot=$(mktemp -d "$cache/build-$release.XXXXXX")
	trap 'rm -rf "$broot"' EXIT
	echo "build-in-root: debootstrap $release (buildd) into $broot/root" >&2
	if ! debootstrap --variant=buildd --cache-dir="$cache/debs-$release" \
		"$release" "$broot/root" "$mirror" >"$broot/debootstrap.log" 2>&1; then
		tail -n 40 "$broot/debootstrap.log" >&2
		echo "build-in-root: debootstrap $release failed" >&2
		exit 1
	fi
	mkdir -p "$broot/root/tmp/control/debian"
	cp "$src/debian/control" "$broot/root/tmp/control/debian/"
	if ! chroot "$broot/root" sh -c 'apt-get update &&
		DEBIAN_FRONTEND=noninteractive apt-get build-dep -y --no-install-recommends /tmp/control &&
		apt-get clean' >"$broot/build-dep.log" 2>&1; then
		tail -n 40 "$broot/build-dep.log" >&2
		echo "build-in-root: apt-get build-dep in the $release root failed" >&2
		exit 1
	fi
	rm -rf "$broot/root/tmp/control" "$broot/root"/var/lib/apt/lists/*_Packages
	tar -C "$broot/root" --numeric-owner -cf "$tarball.tmp" .
	mv "$tarball.tmp" "$tarball"
	rm -rf "$broot"
	trap - EXIT
fi
flock -u 9
exec 9>&-

work=$(mktemp -d /var/tmp/dd-debbuild.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir "$root"
tar -C "$root" --numeric-owner -xf "$tarball"
name=$(basename "$src")
mkdir -p "$root/build"
cp -R "$src" "$root/build/$name"

# No network in the build, /proc of its own, nothing left mounted.
echo "build-in-root: dpkg-buildpackage in the $release root ($(basename "$tarball"))" >&2
unshare --mount --net --propagation private --fork sh -c '
	root=$1; shift
	mount -t proc proc "$root/proc" && exec chroot "$root" "$@"' sh "$root" \
	sh -c 'cd "/build/$1" && shift && exec dpkg-buildpackage "$@"' sh "$name" "$@"

out=$(dirname "$src")
n=0
for f in "$root"/build/*.deb "$root"/build/*.changes "$root"/build/*.buildinfo; do
	[[ -f $f ]] || continue
	cp "$f" "$out/"
	n=$((n + 1))
done
if ((n == 0)); then
	echo "build-in-root: dpkg-buildpackage in the $release root made no packages" >&2
	exit 1
fi

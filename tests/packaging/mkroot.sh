#!/bin/bash
# Make (or reuse) a Debian 12 root for the packaging test and print the path
# of its tarball.
#
#   mkroot.sh CACHEDIR PACKAGE...
#
# The root is a debootstrap'ed bookworm (minbase) with the given packages,
# an fstab for /dev/vda and nothing else of the test's own: the test adds its
# harness to a fresh copy of the root on every run.  The tarball is keyed by
# the sorted package list and the mirror, so a second run on the machine
# reuses it and a changed list makes a new one.  Must run as root.
set -euo pipefail

cache=$1; shift
mirror=${DD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm

mapfile -t pkgs < <(printf '%s\n' "$@" | sort -u)
key=$(printf '%s\n' "$suite" "$mirror" "${pkgs[@]}" | sha256sum | cut -c1-16)
tarball=$cache/root-$suite-$key.tar

if [[ -s $tarball ]]; then
	echo "$tarball"
	exit 0
fi

mkdir -p "$cache/debs"
work=$(mktemp -d "$cache/root-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root

echo "mkroot: debootstrap $suite with ${pkgs[*]}" >&2
include=$(IFS=,; echo "${pkgs[*]}")
if ! debootstrap --variant=minbase --include="$include" --cache-dir="$cache/debs" \
	"$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
	tail -n 40 "$work/debootstrap.log" >&2
	[[ -f $root/debootstrap/debootstrap.log ]] && tail -n 40 "$root/debootstrap/debootstrap.log" >&2
	echo "mkroot: debootstrap failed" >&2
	exit 1
fi

# The image boots from /dev/vda as a single ext4 file system.
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"$root/etc/fstab"
echo dmadirty-guest >"$root/etc/hostname"
# The packages' files and nothing else should differ between runs.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*_Packages

# Every kernel in the root has its initrd; the test boots them from /boot.
ls "$root"/boot/vmlinuz-* "$root"/boot/initrd.img-* >&2

tar -C "$root" --numeric-owner --xattrs -cf "$tarball.tmp" .
mv "$tarball.tmp" "$tarball"
echo "$tarball"

#!/bin/bash
# Make the kernel matrix (tests/kernels/matrix.txt) available on this
# machine, and print one line per kernel:
#
#   NAME KVER ROOT
#
#   setup.sh [--list] [NAME...]     all kernels, or the named ones
#
# ROOT is "/" for a kernel of this Debian 12 machine (installed through
# tests/deps/kmod.txt), else a chroot of the kernel's own release under
# $DD_CACHE/roots/, made by debootstrap, that holds the kernel's headers
# and the toolchain that built it: modules for it are built in there
# (vm_kbuild in tests/lib/vm.sh).  The guest image and modules of a chroot
# kernel are unpacked from its package (dpkg-deb -x) into
# $DD_CACHE/kernels/KVER/ (boot/ and lib/modules/); nothing of another
# release is installed on the host.
#
# Everything is cached: a chroot is made once, and its package lists are
# refreshed at most once a day, so the matrix follows the archive like the
# host's metapackages do.  --list prints what is cached without touching
# the network.  Must run as root.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${DD_CACHE:-/var/cache/dmadirty}
mirror=${DD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# What a chroot needs besides the kernel headers: a compiler, and perl for
# the kernel-doc check of W=1 builds.
base_pkgs=make,gcc,libc6-dev,xz-utils,zstd,perl
matrix=$here/matrix.txt

list_only=0
if [[ ${1:-} == --list ]]; then
	list_only=1
	shift
fi

log() { echo "kernels: $*" >&2; }
die() { log "$*"; exit 1; }

# entries [NAME...]: the matrix lines, filtered by NAME.
entries() {
	local want=" $* "
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$matrix" |
		while read -r name suite target meta; do
			[[ $# -eq 0 || $want == *" $name "* ]] || continue
			echo "$name $suite $target $meta"
		done
}

# host_kver META: the kernel version a host metapackage stands for.
host_kver() {
	local dep
	dep=$(dpkg-query -W -f='${Depends}' "$1" 2>/dev/null) ||
		die "$1 is not installed on the host (bash tests/deps.sh kmod)"
	dep=$(grep -o 'linux-image-[0-9][^ ,]*' <<<"$dep" | head -n 1)
	echo "${dep#linux-image-}"
}

in_root() {	# in_root ROOT CMD...
	local root=$1
	shift
	chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		DEBIAN_FRONTEND=noninteractive LC_ALL=C "$@"
}

# make_root SUITE: debootstrap a minimal root of SUITE with a compiler,
# once; every later call reuses it.
make_root() {
	local suite=$1 root=$cache/roots/$1 work
	[[ -f $root/.dmadirty-root ]] && return 0
	(( list_only == 0 )) || die "no cached root for $suite"
	log "debootstrap $suite (once per machine)"
	rm -rf "$root"
	mkdir -p "$cache/roots" "$cache/debs-$suite"
	work=$(mktemp -d "$cache/roots/.build-$suite.XXXXXX")
	if ! debootstrap --variant=minbase --include="$base_pkgs" \
		--cache-dir="$cache/debs-$suite" "$suite" "$work" "$mirror" \
		>"$cache/roots/debootstrap-$suite.log" 2>&1; then
		tail -n 30 "$cache/roots/debootstrap-$suite.log" >&2
		rm -rf "$work"
		die "debootstrap $suite failed"
	fi
	# A mirror that is a fixed snapshot of the archive serves sid with an
	# InRelease past its Valid-Until; the signatures are still checked.
	printf '%s\n' 'APT::Install-Recommends "false";' 'APT::Sandbox::User "root";' \
		'Acquire::Check-Valid-Until "false";' >"$work/etc/apt/apt.conf.d/90dmadirty"
	echo "$base_pkgs" >"$work/.dmadirty-base"
	touch "$work/.dmadirty-root"
	mv "$work" "$root"
}

# base ROOT: the base packages, in a root made before the list grew.
base() {
	local root=$1 stamp=$1/.dmadirty-base
	[[ -f $stamp && $(cat "$stamp") == "$base_pkgs" ]] && return 0
	(( list_only == 0 )) || die "$root lacks $base_pkgs"
	refresh "$root"
	in_root "$root" apt-get install -y -q ${base_pkgs//,/ } >"$root/.install.log" 2>&1 ||
		{ tail -n 30 "$root/.install.log" >&2; die "cannot install $base_pkgs in $root"; }
	echo "$base_pkgs" >"$stamp"
}

# refresh ROOT: apt-get update, at most once a day.
refresh() {
	local root=$1 stamp=$1/.dmadirty-updated
	(( list_only == 0 )) || return 0
	if [[ -f $stamp ]] && [[ -z $(find "$stamp" -mmin +1440) ]]; then
		return 0
	fi
	in_root "$root" apt-get update -q >/dev/null || die "apt-get update in $root failed"
	touch "$stamp"
}

# chroot_kernel ROOT TARGET META: install the headers of the newest kernel
# META names (from TARGET), unpack its image and modules, print KVER.
chroot_kernel() {
	local root=$1 target=$2 meta=$3 topt=() hmeta dep kver pkg dir tmp rel ver
	if [[ $target != - ]]; then
		topt=(-t "$target")
		# apt takes from an added pocket only what -t asks for.
		if [[ ! -f $root/etc/apt/sources.list.d/$target.list ]]; then
			(( list_only == 0 )) || die "no $target in $root"
			echo "deb $mirror $target main" >"$root/etc/apt/sources.list.d/$target.list"
			rm -f "$root/.dmadirty-updated"
			refresh "$root"
		fi
	fi
	hmeta=${meta/linux-image-/linux-headers-}
	# The metapackage's version in TARGET names the kernel; the headers of
	# kernels from several pockets of one release live side by side.
	rel=$target
	[[ $rel != - ]] || rel=$(basename "$root")
	ver=$(in_root "$root" apt-cache madison "$hmeta" |
		awk -F'[|]' -v r="$rel/main" '$3 ~ (" " r " ") { gsub(/ /, "", $2); print $2; exit }')
	[[ -n $ver ]] || die "no $hmeta in $rel"
	dep=$(in_root "$root" apt-cache show "$hmeta=$ver" | sed -n 's/^Depends: //p' |
		grep -o 'linux-headers-[0-9][^ ,]*' | head -n 1)
	kver=${dep#linux-headers-}
	[[ -n $kver ]] || die "cannot tell the kernel of $hmeta $ver"
	if (( ! list_only )) && [[ ! -d $root/usr/src/linux-headers-$kver ]]; then
		in_root "$root" apt-get install -y -q "${topt[@]}" "$dep" >"$root/.install.log" 2>&1 ||
			{ tail -n 30 "$root/.install.log" >&2; die "cannot install $dep in $root"; }
	fi
	[[ -d $root/usr/src/linux-headers-$kver ]] || die "$dep has no tree in $root"
	dir=$cache/kernels/$kver
	if [[ ! -f $dir/.unpacked ]]; then
		(( list_only == 0 )) || die "kernel $kver not unpacked"
		# The signed image where the archive has one, else the unsigned.
		# Newer releases split it: the image package then depends on
		# linux-binary-KVER (vmlinuz) and linux-modules-KVER, which
		# come along.
		tmp=$(mktemp -d "$root/tmp/image.XXXXXX")
		for pkg in "linux-image-$kver" "linux-image-$kver-unsigned"; do
			in_root "$root" sh -c "cd ${tmp#"$root"} && apt-get download -q ${topt[*]} $pkg" \
				>/dev/null 2>&1 || continue
			for dep in $(in_root "$root" apt-cache "${topt[@]}" show "$pkg" 2>/dev/null |
				sed -n 's/^Depends: //p' | head -n 1 | tr ',|' '\n\n' |
				sed 's/^ *//; s/[ (].*//' | grep -F -- "-$kver" || true); do
				in_root "$root" sh -c "cd ${tmp#"$root"} && apt-get download -q ${topt[*]} $dep" \
					>/dev/null 2>&1 || { rm -rf "$tmp"; die "cannot download $dep"; }
			done
			break
		done
		rm -rf "$dir"
		mkdir -p "$dir"
		for pkg in "$tmp"/*.deb; do
			dpkg-deb -x "$pkg" "$dir"
		done
		rm -rf "$tmp"
		# Releases after the /usr merge ship /usr/lib/modules.
		[[ -e $dir/lib || ! -d $dir/usr/lib ]] || ln -s usr/lib "$dir/lib"
		# The image package ships /lib/modules without the depmod output.
		depmod -b "$dir" "$kver" || die "depmod for $kver failed"
		# ... and keep the image next to the modules.
		if [[ ! -e $dir/boot/vmlinuz-$kver && -f $dir/lib/modules/$kver/vmlinuz ]]; then
			mkdir -p "$dir/boot"
			ln -s "../lib/modules/$kver/vmlinuz" "$dir/boot/vmlinuz-$kver"
		fi
		[[ -f $dir/boot/vmlinuz-$kver ]] || die "no vmlinuz in the package of $kver"
		echo "$root" >"$dir/.root"
		touch "$dir/.unpacked"
	fi
	echo "$kver"
}

(( EUID == 0 )) || die "must run as root"
mkdir -p "$cache"
exec 9>"$cache/kernels.lock"
flock 9

found=0
while read -r name suite target meta; do
	if [[ $suite == host ]]; then
		kver=$(host_kver "$meta")
		[[ -f /boot/vmlinuz-$kver && -f /lib/modules/$kver/build/Makefile ]] ||
			die "$name: $kver lacks its image or headers on the host"
		root=/
	else
		make_root "$suite"
		root=$cache/roots/$suite
		refresh "$root"
		base "$root"
		kver=$(chroot_kernel "$root" "$target" "$meta")
	fi
	echo "$name $kver $root"
	found=$((found + 1))
done < <(entries "$@")
(( found > 0 )) || die "no kernel matches: $*"

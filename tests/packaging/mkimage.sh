#!/bin/bash
# Make (or reuse) a cloud-style Debian base image for the image test and
# print the path of its qcow2.
#
#   mkimage.sh RELEASE CACHEDIR
#
# RELEASE is bookworm (Debian 12) or trixie (Debian 13).  The image is what
# an image build makes before anything of ours goes in: a debootstrap'ed
# (minbase) root with the release's kernel and headers, dkms, systemd-sysv,
# udev, cloud-init and GRUB; on trixie also the newest trixie-backports
# kernel with its headers (so the image has two kernels, and GRUB boots the
# newer).  The root goes onto one ext4 partition (label ddroot) of a qcow2
# disk with guestfish, which then installs GRUB into it, all inside the
# libguestfs appliance: no loop devices or mounts on the host.
#
# The qcow2 is cached in CACHEDIR/images/, keyed by the release, the mirror,
# the package lists and this script, so a second run on the machine reuses
# it and a change to any of them makes a new one.  The test never writes to
# it: it bakes into an overlay.  Must run as root.
set -euo pipefail

if (($# != 2)); then
	echo "usage: $0 RELEASE CACHEDIR" >&2
	exit 2
fi
release=$1 cache=$2/images
mirror=${DD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# libguestfs's appliance runs under TCG here (see tests/packaging/images.sh).
export LIBGUESTFS_BACKEND_SETTINGS=${LIBGUESTFS_BACKEND_SETTINGS:-force_tcg}

# e2fsprogs: fsck and cloud-init's resize of the ext4 root (trixie's minbase
# no longer has it).
pkgs=(linux-image-amd64 linux-headers-amd64 dkms systemd-sysv udev cloud-init
	grub-pc initramfs-tools e2fsprogs)
case $release in
bookworm) backports=() ;;
trixie) backports=(linux-image-amd64 linux-headers-amd64) ;;
*)
	echo "mkimage: unknown release '$release' (bookworm or trixie)" >&2
	exit 2
	;;
esac

key=$({ printf '%s\n' "$release" "$mirror" "${pkgs[@]}" -- ${backports[@]+"${backports[@]}"}; cat "$0"; } |
	sha256sum | cut -c1-16)
image=$cache/base-$release-$key.qcow2

mkdir -p "$cache"
# One builder of a release's image at a time; the others wait and reuse it.
exec 9>"$cache/base-$release.lock"
flock 9
if [[ -s $image ]]; then
	echo "$image"
	exit 0
fi

work=$(mktemp -d "$cache/base-$release.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
log() { echo "mkimage: $*" >&2; }
fail() {	# fail LOG WHAT
	tail -n 40 "$1" >&2
	log "$2 failed"
	exit 1
}
in_root() {	# a command in the root with its own /proc, nothing left mounted
	unshare --mount --propagation private --fork sh -c \
		'mount -t proc proc "$1/proc" && shift && exec chroot "$@"' sh "$root" "$root" \
		env DEBIAN_FRONTEND=noninteractive "$@"
}

# debootstrap makes the base system; apt, which orders the configuration
# of cloud-init's Python stack where debootstrap --include does not, adds
# the rest.
mkdir -p "$cache/debs-$release"
log "debootstrap $release, then ${pkgs[*]}"
debootstrap --variant=minbase --cache-dir="$cache/debs-$release" \
	"$release" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
	fail "$work/debootstrap.log" "debootstrap $release"
in_root sh -c 'apt-get update -q && apt-get install -q -y --no-install-recommends "$@"' sh \
	"${pkgs[@]}" >"$work/install.log" 2>&1 ||
	fail "$work/install.log" "installing ${pkgs[*]}"

if ((${#backports[@]})); then
	log "${backports[*]} from $release-backports"
	echo "deb $mirror $release-backports main" >"$root/etc/apt/sources.list.d/$release-backports.list"
	in_root sh -c 'apt-get update -q && apt-get install -q -y --no-install-recommends -t "$0-backports" "$@"' \
		"$release" "${backports[@]}" >"$work/backports.log" 2>&1 ||
		fail "$work/backports.log" "installing from $release-backports"
fi

# What a cloud image has: the root by label, a serial console, a machine id
# made on first boot, GRUB straight into the newest kernel, no package
# lists or archives of the build.
printf 'LABEL=ddroot / ext4 rw,discard,errors=remount-ro 0 1\n' >"$root/etc/fstab"
echo "debian-$release" >"$root/etc/hostname"
cat >"$root/etc/default/grub" <<'EOF'
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=ttyS0"
GRUB_TERMINAL=console
GRUB_DISABLE_OS_PROBER=true
EOF
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
in_root apt-get clean
rm -rf "$root"/var/lib/apt/lists/*_Packages "$root"/var/lib/apt/lists/*_Translation-*
ls "$root"/boot/vmlinuz-* "$root"/boot/initrd.img-* >&2

tar -C "$root" --numeric-owner --xattrs -cf "$work/root.tar" .
rm -rf "$root"

# One MBR partition with the root, GRUB in the MBR; grub-install and
# update-grub run in the image (guestfish's sh chroots into it with /dev,
# /proc and /sys).
log "qcow2 of the root, with GRUB (libguestfs appliance)"
qemu-img create -q -f qcow2 "$work/image.qcow2" 8G
guestfish --rw -a "$work/image.qcow2" >"$work/guestfish.log" 2>&1 <<EOF || fail "$work/guestfish.log" "guestfish"
run
part-disk /dev/sda mbr
part-set-bootable /dev/sda 1 true
mkfs ext4 /dev/sda1 label:ddroot
mount /dev/sda1 /
tar-in $work/root.tar / xattrs:true
sh "grub-install --target=i386-pc /dev/sda && update-grub"
sh "grep -E '^[[:space:]]*(linux|menuentry)' /boot/grub/grub.cfg | head -n 6"
umount-all
EOF
cat "$work/guestfish.log" >&2
mv "$work/image.qcow2" "$image"
echo "$image"

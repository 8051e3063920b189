# shellcheck shell=bash
# Shared helpers for the suites that boot a real guest kernel under QEMU TCG
# (tests/vm, tests/e2e, tests/qemu...).  Source it from bash:
#
#   . "$top_srcdir/tests/lib/vm.sh"
#
#   vm_kernels
#       Prints the guest kernel versions to test, one a line: $VM_KERNELS if
#       set (space separated), else every /boot/vmlinuz-* that has
#       /lib/modules/<ver>/modules.dep.
#
#   vm_matrix [NAME...]
#       Prints "NAME KVER" for the kernel matrix (tests/kernels/matrix.txt),
#       every kernel or the named ones, setting it up first (cached chroots
#       and unpacked images; see tests/kernels/setup.sh).  Returns non-zero,
#       with the reason on stderr, when a kernel cannot be had.
#
#   vm_kernel_dir KVER
#       Prints the directory that holds boot/vmlinuz-KVER and
#       lib/modules/KVER: "" for a kernel of this machine, else the unpacked
#       package in $DD_CACHE/kernels/KVER.
#
#   vm_kbuild KVER DIR [MAKE-ARG...]
#       Runs "make -C DIR KDIR=<headers of KVER>" (or, for a DIR with only
#       a Kbuild file, "make -C <headers> M=DIR modules") with KVER's own
#       toolchain: here for a kernel of this machine, else in the chroot of
#       its release (DIR is copied in and its results copied back).
#
#   vm_initramfs OUT KVER GUEST_SCRIPT [OPTION]...
#       Builds a gzip'd newc initramfs OUT for kernel KVER around
#       busybox-static.  At boot /init mounts proc, sys, devtmpfs, debugfs
#       and tmpfs /tmp, sources /lib/vmguest.sh (guest helpers below), runs
#       GUEST_SCRIPT (copied to /test.sh) in a subshell, prints
#       "VM: test.sh exit <rc>" and powers off.  Options:
#         --module NAME   a module of KVER from /lib/modules/KVER (its
#                         modules.dep dependencies come along; .ko.xz files
#                         are unpacked so busybox insmod can load them)
#         --ko PATH       an out-of-tree module file, placed in /modules/
#         --bin PATH      an executable, placed in /bin/, with the shared
#                         libraries ldd reports (and the dynamic loader)
#         --file SRC:DST  any file, placed at DST in the guest
#
#   vm_vmlinux KVER OUT
#       Writes KVER's uncompressed vmlinux, unpacked from the bzImage's
#       payload (gzip, xz or zstd), to OUT.  QEMU boots such an ELF with
#       PVH (-kernel OUT, option ROM pvh.bin) without running the
#       decompressor, which a guest of a TCG guest feels.  Fails when the
#       image has no PVH entry note (CONFIG_PVH).
#
#   vm_boot LOG KVER INITRAMFS TIMEOUT [CMDLINE...] [-- QEMU-ARG...]
#       Boots /boot/vmlinuz-KVER with INITRAMFS under qemu-system-x86_64
#       -accel tcg (2 vCPUs, 512 MiB, no network, no display), the serial
#       console going to LOG.  CMDLINE words are appended to the kernel
#       command line; QEMU-ARGs after "--" are passed to QEMU (devices,
#       -machine q35...).  Kills QEMU after TIMEOUT seconds.  Returns 0 when
#       the guest printed "VM: test.sh exit 0" to LOG, 1 otherwise
#       (timeout included); LOG is there either way.
#       Env: QEMU_SYSTEM (default qemu-system-x86_64), VM_MEM, VM_SMP,
#       VM_TCG_OPTS (appended to "-accel tcg"; default ",thread=single":
#       one host thread runs all vCPUs; set it empty for multi-threaded TCG.
#       With QEMU 7.2's multi-threaded TCG, guests that live-patch kernel
#       text (ftrace arming) while another vCPU runs it hung or crashed in
#       our runs; single-threaded they pass, and on a 2-core host one
#       thread is no slower).
#
# Guest side (/lib/vmguest.sh, already sourced when test.sh runs):
#   vm_modprobe NAME [PARAM=VAL...]  load a --module NAME and its
#                                    dependencies in order (once each)
#   vm_insmod NAME [PARAM=VAL...]    insmod /modules/NAME.ko (from --ko)
#   vm_port NAME [SECONDS]           prints the /dev node of the
#                                    virtio-serial port NAME, waiting for
#                                    it at most SECONDS (default 10): ports
#                                    appear one by one as virtio_console
#                                    probes them
#   vm_wait_for TENTHS TEST-EXPR     evaluate TEST-EXPR every 0.1 s until
#                                    it holds (0) or TENTHS tenths of a
#                                    second have passed (1)
#
# Test scripts print their results on the console; the host side greps LOG
# (see vm_tap_from_log for the "VMTAP ok ..." convention).
#
#   vm_tap_from_log LOG
#       Prints the guest's "VMTAP ok|not ok ..." lines with the prefix
#       stripped (TAP without numbers, so several boots can feed one TAP
#       stream whose plan comes last), and returns the number of failures.

vm_kernels() {
	if [ -n "${VM_KERNELS:-}" ]; then
		printf '%s\n' $VM_KERNELS
		return
	fi
	local k v
	for k in /boot/vmlinuz-*; do
		v=${k#/boot/vmlinuz-}
		[ -e "/lib/modules/$v/modules.dep" ] && printf '%s\n' "$v"
	done
}

vm_matrix() {
	local setup
	setup=$(cd "$(dirname "${BASH_SOURCE[0]}")/../kernels" && pwd)/setup.sh
	bash "$setup" "$@" | cut -d' ' -f1,2
	return "${PIPESTATUS[0]}"
}

vm_kernel_dir() {
	local d=${DD_CACHE:-/var/cache/dmadirty}/kernels/$1
	if [ -e "/boot/vmlinuz-$1" ]; then
		echo ""
	elif [ -f "$d/.unpacked" ]; then
		echo "$d"
	else
		echo "vm_kernel_dir: no kernel $1 (tests/kernels/setup.sh)" >&2
		return 1
	fi
}

vm_kbuild() {
	local kver=$1 dir=$2 kd root tmp rc
	shift 2
	kd=$(vm_kernel_dir "$kver") || return 1
	# _vm_make HEADERS PATH: the make command line for $dir, seen as PATH.
	_vm_make() {
		if [ -f "$dir/Makefile" ]; then
			echo make -C "$2" KDIR="$1"
		else
			echo make -C "$1" M="$2" modules
		fi
	}
	if [ -z "$kd" ]; then
		$(_vm_make "/lib/modules/$kver/build" "$dir") "$@"
		return
	fi
	root=$(cat "$kd/.root") || return 1
	tmp=$(mktemp -d "$root/tmp/kbuild.XXXXXX") || return 1
	# objtool reads /proc: a private mount namespace gives the build its
	# own /proc, gone when it exits.
	tar -C "$dir" -cf - . | tar -C "$tmp" -xf - &&
		unshare --mount --propagation private chroot "$root" \
			/usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C \
			sh -c 'mount -t proc proc /proc && exec "$@"' sh \
			$(_vm_make "/usr/src/linux-headers-$kver" "${tmp#"$root"}") "$@" &&
		tar -C "$tmp" -cf - . | tar -C "$dir" -xf -
	rc=$?
	rm -rf "$tmp"
	return $rc
}

# _vm_copy_bin ROOT PATH: copy an executable and its shared libraries.
_vm_copy_bin() {
	local root=$1 bin=$2 lib
	install -D -m 0755 "$bin" "$root/bin/$(basename "$bin")"
	# ldd prints "name => /path (addr)" and "/lib64/ld-linux... (addr)".
	for lib in $(ldd "$bin" 2>/dev/null | grep -o '/[^ ]*'); do
		[ -e "$lib" ] || continue
		[ -e "$root$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
	done
}

# _vm_mod_deps KVER NAME: module file paths (relative to /lib/modules/KVER)
# to load for NAME, dependencies first, from modules.dep.
_vm_mod_deps() {
	local kver=$1 name=$2 dir
	dir=$(vm_kernel_dir "$kver")/lib/modules/$1 || return 1
	awk -v want="$name" '
		function base(p,  b) { b = p; sub(/.*\//, "", b); sub(/\.ko(\.[a-z]+)?$/, "", b); gsub(/-/, "_", b); return b }
		{ sub(/:$/, "", $1); m = $1; sub(/:.*/, "", m); k = base(m); dep[k] = $0; path[k] = m }
		function visit(k,  n, i, a, line) {
			if (k in seen) return; seen[k] = 1
			line = dep[k]; sub(/^[^:]*:[ ]*/, "", line)
			n = split(line, a, " ")
			for (i = n; i >= 1; i--) visit(base(a[i]))
			print path[k]
		}
		END { w = want; gsub(/-/, "_", w); if (!(w in path)) exit 1; visit(w) }
	' "$dir/modules.dep"
}

vm_initramfs() {
	local out=$1 kver=$2 script=$3
	shift 3
	local root
	root=$(mktemp -d "${TMPDIR:-/tmp}/vm-initramfs.XXXXXX") || return 1
	mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,modules,lib,etc,mnt}
	install -m 0755 /bin/busybox "$root/bin/busybox"
	local app
	for app in $(/bin/busybox --list); do
		[ -e "$root/bin/$app" ] || ln -s busybox "$root/bin/$app"
	done
	install -m 0644 "$script" "$root/test.sh"
	cat >"$root/init" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /tmp
echo 1 >/proc/sys/kernel/printk_ratelimit 2>/dev/null
. /lib/vmguest.sh
echo "VM: test.sh start $(uname -r)"
(. /test.sh)
echo "VM: test.sh exit $?"
sync
poweroff -f
EOF
	chmod 0755 "$root/init"
	cat >"$root/lib/vmguest.sh" <<'EOF'
vm_modprobe() {
	_n=$(echo "$1" | tr - _); shift
	for _f in $(cat "/modules/dep/$_n"); do
		_b=$(basename "$_f" .ko | tr - _)
		[ -d "/sys/module/$_b" ] && [ "$_b" != "$_n" ] && continue
		if [ "$_b" = "$_n" ]; then insmod "/modules/$_f" "$@" || return 1
		else insmod "/modules/$_f" 2>/dev/null || [ -d "/sys/module/$_b" ] || return 1; fi
	done
}
vm_insmod() {
	_n=$1; shift
	insmod "/modules/$_n.ko" "$@"
}
# vm_wait_for DEADLINE-TENTHS TEST-EXPR: poll a condition, 0.1 s apart.
vm_wait_for() {
	_n=0
	while ! eval "$2"; do
		[ $_n -ge "$1" ] && return 1
		usleep 100000
		_n=$((_n + 1))
	done
}
# _vm_port_node NAME: the /dev node of port NAME, if it is there yet.
_vm_port_node() {
	for _p in /sys/class/virtio-ports/*; do
		if [ "$(cat "$_p/name" 2>/dev/null)" = "$1" ] && [ -e "/dev/${_p##*/}" ]; then
			echo "/dev/${_p##*/}"
			return 0
		fi
	done
	return 1
}
vm_port() {
	_vm_port_name=$1
	vm_wait_for $((${2:-10} * 10)) '_vm_port_dev=$(_vm_port_node "$_vm_port_name")' || return 1
	echo "$_vm_port_dev"
}
EOF
	mkdir -p "$root/modules/dep"
	local opt arg rel n kd
	kd=$(vm_kernel_dir "$kver") || { rm -rf "$root"; return 1; }
	while [ $# -gt 0 ]; do
		opt=$1 arg=${2:-}
		shift 2 || { echo "vm_initramfs: $opt needs an argument" >&2; rm -rf "$root"; return 1; }
		case $opt in
		--module)
			n=$(echo "$arg" | tr - _)
			: >"$root/modules/dep/$n"
			for rel in $(_vm_mod_deps "$kver" "$arg"); do
				case $rel in
				*.ko.xz) xz -dc "$kd/lib/modules/$kver/$rel" >"$root/modules/$(basename "$rel" .xz)" ;;
				*.ko.zst) zstd -qdc "$kd/lib/modules/$kver/$rel" >"$root/modules/$(basename "$rel" .zst)" ;;
				*.ko) cp "$kd/lib/modules/$kver/$rel" "$root/modules/" ;;
				esac
				rel=$(basename "$rel"); echo "${rel%.ko*}.ko" >>"$root/modules/dep/$n"
			done
			[ -s "$root/modules/dep/$n" ] || { echo "vm_initramfs: no module $arg in $kver" >&2; rm -rf "$root"; return 1; }
			;;
		--ko) cp "$arg" "$root/modules/" || { rm -rf "$root"; return 1; } ;;
		--bin) _vm_copy_bin "$root" "$arg" || { rm -rf "$root"; return 1; } ;;
		--file) install -D "${arg%%:*}" "$root/${arg#*:}" || { rm -rf "$root"; return 1; } ;;
		*) echo "vm_initramfs: unknown option $opt" >&2; rm -rf "$root"; return 1 ;;
		esac
	done
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
	local rc=$?
	rm -rf "$root"
	return $rc
}

vm_vmlinux() {
	local kver=$1 out=$2 kd img off magic unpack=
	kd=$(vm_kernel_dir "$kver") || return 1
	img=$kd/boot/vmlinuz-$kver
	# The first payload magic in the image: the setup code before it has
	# none of them.  The payload ends before the image does, so the
	# decompressor's complaint about trailing data is expected.
	for magic in 'xz:\xfd\x37\x7a\x58\x5a\x00' 'gzip:\x1f\x8b\x08' 'zstd:\x28\xb5\x2f\xfd'; do
		off=$(LC_ALL=C grep -obUaP "${magic#*:}" "$img" | head -n 1 | cut -d: -f1)
		[ -n "$off" ] || continue
		case ${magic%%:*} in
		xz) unpack="xz -dc" ;;
		gzip) unpack="gzip -dc" ;;
		zstd) unpack="zstd -qdc" ;;
		esac
		tail -c +$((off + 1)) "$img" | $unpack >"$out.tmp" 2>/dev/null
		break
	done
	# XEN_ELFNOTE_PHYS32_ENTRY (18): the PVH entry point.
	if [ -s "$out.tmp" ] && readelf -n "$out.tmp" 2>/dev/null | grep -q 'note type: (0x00000012)'; then
		mv "$out.tmp" "$out"
		return 0
	fi
	rm -f "$out.tmp"
	echo "vm_vmlinux: no PVH-bootable vmlinux in $img" >&2
	return 1
}

vm_boot() {
	local log=$1 kver=$2 initrd=$3 tmo=$4
	shift 4
	local cmdline="console=ttyS0 panic=-1 oops=panic quiet loglevel=4 rdinit=/init"
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		cmdline="$cmdline $1"
		shift
	done
	[ "${1:-}" = -- ] && shift
	local kd
	kd=$(vm_kernel_dir "$kver") || return 1
	: >"$log"
	timeout --foreground -k 5 "$tmo" "${QEMU_SYSTEM:-qemu-system-x86_64}" \
		-accel "tcg${VM_TCG_OPTS-,thread=single}" -m "${VM_MEM:-512}" -smp "${VM_SMP:-2}" \
		-nodefaults -display none -no-reboot -net none \
		-serial "file:$log" \
		-kernel "$kd/boot/vmlinuz-$kver" -initrd "$initrd" \
		-append "$cmdline" "$@" </dev/null
	grep -q '^VM: test.sh exit 0' "$log"
}

# vm_result OK DESC: one TAP line of the host's, numbered after $n; OK
# other than 0 prints "not ok" and sets fail=1 (the caller's variables).
vm_result() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi
}

# vm_tap_relay: the guest's "ok - DESC" and "not ok - DESC" lines on
# stdin, numbered after $n; a "not ok" sets fail=1.  Both variables are the
# caller's, so redirect its input: a pipe would run it in a subshell.
vm_tap_relay() {
	local line
	while IFS= read -r line; do
		case $line in
		"not ok "*) n=$((n + 1)) fail=1; echo "not ok $n ${line#not ok }" ;;
		"ok "*) n=$((n + 1)); echo "ok $n ${line#ok }" ;;
		esac
	done
}

vm_tap_from_log() {
	awk '
		/^VMTAP (not ok|ok)/ {
			sub(/^VMTAP /, "")
			if ($0 ~ /^not ok/) fail++
			print
		}
		END { exit fail > 255 ? 255 : fail }
	' "$1"
}

#!/bin/bash
# The image test: dmadirty baked into Debian 12 and Debian 13 disk images the
# way cloud images are built, and booted the way clouds boot them.  For each
# release:
#   - build the .debs in a root of that release (`make deb DEB_RELEASE=`, as
#     packaging.sh does);
#   - take the release's base image (tests/packaging/mkimage.sh: a
#     debootstrap'ed qcow2 with the kernel and its headers, dkms,
#     systemd-sysv, udev, cloud-init and GRUB; on Debian 13 also the newest
#     trixie-backports kernel and headers), cached in $DD_CACHE/images;
#   - bake the packages into an overlay of it with the README's
#     virt-customize command, as written there;
#   - check from the host, with libguestfs and the image's own tools, that
#     DKMS built dmadirty.ko for every kernel of the image and for no other;
#   - boot it under qemu -accel tcg with a NoCloud seed (cloud-localds) and
#     the port org.dmadirty.agent.0 present from the start, once per kernel
#     (GRUB's default, the newest; on Debian 13 also the older one, booted
#     directly from the image's /boot), each boot on its own overlay, and
#     check: the kernel, cloud-init's run of the seed, the module loaded at
#     boot, the agent started by udev for the port, `dmadirtyctl enable`
#     with its ack, hot-unplug and re-plug of the port stopping and
#     restarting the agent, and `dpkg --purge` leaving none of its files.
# The image has no login.  The seed's bootcmd starts the test's root shell
# on the second serial port, which the host drives (guestsh.py); nothing of
# the test is baked into the image.
#
# Needs root.  DD_IMAGE_RELEASES narrows the releases ("bookworm trixie").
# DD_KEEP=1 keeps the work directory.  TAP output.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -uo pipefail

: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/packaging/lib.sh"
# libguestfs's appliance (virt-customize, guestfish) under TCG: the machine
# may have no usable KVM, and the test must not depend on it.
export LIBGUESTFS_BACKEND_SETTINGS=force_tcg
read -r -a releases <<<"${DD_IMAGE_RELEASES:-bookworm trixie}"

# TAP plan: one prerequisite line; per release 4 lines and 9 per boot.
per_boot=9
nboots() { case $1 in trixie) echo 2 ;; *) echo 1 ;; esac; }
ntests=1
for r in "${releases[@]}"; do ntests=$((ntests + 4 + per_boot * $(nboots "$r"))); done
echo "1..$ntests"

suite_start "the image test" images
fail_to() {	# fail_to N REASON: the lines up to N cannot run
	while ((t < $1)); do not_ok "$2"; done
}

tools=(debootstrap qemu-img guestfish virt-customize cloud-localds "$qemu")
prereqs() {
	local p rc=0
	for p in "${tools[@]}"; do command -v "$p" || { echo "missing: $p"; rc=1; }; done
	return $rc
}
check "the host has ${tools[*]} (tests/deps/packaging.txt)" prereqs
if ((failed)); then fail_to "$ntests" "no image test without its tools"; exit 1; fi

version=$(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")
# What an operator runs is the README's virt-customize command under
# "Baking into an image", as written there, with this image for
# guest.qcow2 and this build's version.
readme_bake() {
	awk '/^Baking into an image/ { f = 1 } f && /^```sh$/ { b = 1; s = ""; next }
		b && /^```$/ { if (s ~ /virt-customize/) { printf "%s", s; exit } b = 0; next }
		b { s = s $0 "\n" }' "$top_srcdir/README.md" |
		sed -e "s|guest\.qcow2|$1|g" -e "s|0\.1\.0|$version|g"
}
bake() {	# bake RELEASE IMAGE PKGDIR
	local cmds
	cmds=$(readme_bake "$2")
	grep -q 'virt-customize' <<<"$cmds" || { echo "README.md: no virt-customize command found"; return 1; }
	echo "$cmds"
	(cd "$3" && bash -ex -c "$cmds") >"$work/bake-$1.log" 2>&1 || { tail -n 80 "$work/bake-$1.log"; return 1; }
	grep -iE '^(\[|Building|Installing|Setting up dmadirty|dmadirty)|dkms|depmod' "$work/bake-$1.log" | tail -n 30
}

# The image's kernels (those with a /boot/vmlinuz), DKMS's tree and the
# modules it installed, read from the baked image by libguestfs (read-only,
# with the image's own modinfo); /boot is copied out for direct boots.
inspect() {	# inspect RELEASE IMAGE
	rm -rf "$work/boot-$1" && mkdir -p "$work/boot-$1" || return 1
	guestfish --ro -a "$2" -i >"$work/inspect-$1.log" 2>&1 <<EOF || { cat "$work/inspect-$1.log"; return 1; }
sh "for v in /boot/vmlinuz-*; do echo kernel \${v#/boot/vmlinuz-}; done"
sh "for d in /var/lib/dkms/dmadirty/$version/*/; do d=\${d%/}; echo dkms-tree \${d##*/}; done"
sh "for v in /boot/vmlinuz-*; do k=\${v#/boot/vmlinuz-}; for m in /lib/modules/\$k/updates/dkms/dmadirty.ko*; do [ -e \$m ] && echo module \$k \$(modinfo -F vermagic \$m | cut -d' ' -f1); done; done"
copy-out /boot $work/boot-$1
EOF
	cat "$work/inspect-$1.log"
	local k rc=0 nk=0
	for k in $(awk '$1 == "kernel" { print $2 }' "$work/inspect-$1.log"); do
		nk=$((nk + 1))
		awk -v k="$k" '$1 == "module" && $2 == k && $3 == k { f = 1 } END { exit !f }' "$work/inspect-$1.log" ||
			{ echo "no dmadirty.ko built for $k"; rc=1; }
	done
	((nk == $(nboots "$1"))) || { echo "expected $(nboots "$1") kernels in the image, found $nk"; rc=1; }
	# DKMS built for the image's kernels only: not for the build machine's
	# ($(uname -r)) nor the appliance's.
	for k in $(awk '$1 == "dkms-tree" && $2 != "source" { print $2 }' "$work/inspect-$1.log"); do
		grep -qx "kernel $k" "$work/inspect-$1.log" || { echo "DKMS built for $k, not a kernel of the image"; rc=1; }
	done
	return $rc
}

# start_guest TAG IMAGE SEED [QEMU OPTION...]: boot an overlay of IMAGE with
# the seed, the harness shell on ttyS1 and the agent's port on a
# virtio-serial bus.
start_guest() {
	local tag=$1 image=$2 seed=$3
	shift 3
	shell_sock=$work/shell-$tag.sock agent_sock=$work/agent-$tag.sock
	monitor_sock=$work/monitor-$tag.sock console=$work/console-$tag.log
	qemu-img create -q -f qcow2 -b "$image" -F qcow2 "$work/boot-$tag.qcow2" || return 1
	"$qemu" -accel tcg -machine q35 -m 1024 -smp 2 -display none -no-reboot -nodefaults \
		-drive file="$work/boot-$tag.qcow2",format=qcow2,if=none,id=root,cache=unsafe \
		-device virtio-blk-pci,drive=root,bootindex=1 \
		-drive file="$seed",format=raw,if=virtio,readonly=on \
		-serial file:"$console" \
		-chardev socket,id=shell,path="$shell_sock",server=on,wait=off \
		-serial chardev:shell \
		-device virtio-serial-pci,id=vser0 \
		-chardev socket,id=agent,path="$agent_sock",server=on,wait=off \
		-device virtserialport,bus=vser0.0,chardev=agent,name=org.dmadirty.agent.0,id=agentport \
		-monitor unix:"$monitor_sock",server=on,wait=off \
		"$@" -nic none >"$work/qemu-$tag.log" 2>&1 &
	qemu_pid=$!
	for _ in $(seq 120); do [[ -S $shell_sock ]] && break; kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.5; done
	[[ -S $shell_sock ]] || { echo "# QEMU did not start:"; note <"$work/qemu-$tag.log"; return 1; }
}

# The seed: meta-data names the instance and its host, user-data sets the
# one locale a minimal image has and its bootcmd starts the root shell on
# ttyS1 as a transient unit.  bootcmd runs in
# cloud-init.service, which sysinit.target waits for: the unit must not wait
# for sysinit.target, nor systemd-run for the unit.
make_seed() {	# make_seed TAG: prints the seed image's path
	local d=$work/seed-$1
	mkdir -p "$d"
	printf 'instance-id: dd-%s-%s\nlocal-hostname: dd-%s\n' "$1" "$$" "$1" >"$d/meta-data"
	cat >"$d/user-data" <<'EOF'
#cloud-config
locale: C.UTF-8
bootcmd:
  - [systemd-run, --no-block, --unit=dd-test-shell, -p, DefaultDependencies=no, /bin/sh, -c, "exec </dev/ttyS1 >/dev/ttyS1 2>&1; stty raw -echo; exec env PS1= PS2= /bin/sh"]
EOF
	cloud-localds "$d/seed.img" "$d/user-data" "$d/meta-data" >&2 || return 1
	echo "$d/seed.img"
}

# In the guest: wait_for SECONDS COMMAND, true once COMMAND is.
wait_for='wait_for() { _t=$1; shift; while ! "$@"; do _t=$((_t - 1)); [ $_t -le 0 ] && return 1; sleep 1; done; }'

booted() {	# booted K HOW: the guest answers, boot is over, it runs K
	GUESTSH_RESEND=5 g 900 'true' >/dev/null || return 1
	g 600 'systemctl is-system-running --wait; uname -r; cat /proc/cmdline; systemctl --failed --no-legend' \
		>"$work/boot.log" 2>&1
	cat "$work/boot.log"
	grep -qx "$1" "$work/boot.log" || { echo "not running $1"; return 1; }
	if [[ $2 == grub ]]; then grep -q 'BOOT_IMAGE=' "$work/boot.log" || { echo "not booted by GRUB"; return 1; }; fi
}
cloud_init_ran() {	# the seed was found and applied
	g 300 'cloud-init status --wait --long; hostname; systemctl is-active dd-test-shell.service' >"$work/ci.log" 2>&1
	cat "$work/ci.log"
	grep -q '^status: done' "$work/ci.log" && grep -qx "dd-$1" "$work/ci.log" &&
		grep -qi 'nocloud' "$work/ci.log"
}
module_loaded() {	# K
	g 60 "grep -w '^dmadirty' /proc/modules && modinfo -F filename dmadirty && modinfo -F vermagic dmadirty &&
modinfo -F filename dmadirty | grep -q '^/lib/modules/$1/updates/dkms/' &&
journalctl -b --no-pager | grep \"Inserted module 'dmadirty'\"" || return 1
	module_source
}
agent_by_udev() {
	g 120 "$wait_for"'
wait_for 120 systemctl is-active --quiet dmadirty-agent.service
systemctl is-active dmadirty-agent.service && ls -l /dev/virtio-ports/ &&
! systemctl is-enabled --quiet dmadirty-agent.service && systemctl is-enabled dmadirty-agent.service;
systemctl show -p WantedBy,BindsTo dmadirty-agent.service &&
systemctl show -p WantedBy dmadirty-agent.service | grep -q "vport[0-9]*p[0-9]*\.device" &&
journalctl -b -u dmadirty-agent.service --no-pager | tail -n 3'
}
enable_on() {	# and the unit's sandbox let the agent do it without a warning
	enable_acked || return 1
	g 30 'cat /proc/sys/vm/dma_mark_dirty; test "$(cat /proc/sys/vm/dma_mark_dirty)" = 1 &&
! journalctl -b -u dmadirty-agent.service --no-pager -o cat | grep -E "^dmadirty-agent: (warning|critical|error):"'
}
agent_pid=
unplug_stops() {
	agent_pid=$(g 30 'systemctl show -p MainPID --value dmadirty-agent.service') && [[ $agent_pid != 0 ]] ||
		{ echo "no agent pid"; return 1; }
	echo "agent pid $agent_pid"
	hmp "device_del agentport" >"$work/hmp.log" && ! grep -q Error "$work/hmp.log" || { cat "$work/hmp.log"; return 1; }
	g 120 "$wait_for"'
udevadm wait --removed --timeout=60 /dev/virtio-ports/org.dmadirty.agent.0 && echo "port gone" &&
wait_for 60 eval "! systemctl is-active --quiet dmadirty-agent.service" &&
systemctl is-active dmadirty-agent.service; ! kill -0 '"$agent_pid"' 2>/dev/null &&
journalctl -b -u dmadirty-agent.service --no-pager -o cat | tail -n 3'
}
replug_starts() {
	local pid
	hmp "device_add virtserialport,bus=vser0.0,chardev=agent,name=org.dmadirty.agent.0,id=agentport" \
		>"$work/hmp.log" && ! grep -q Error "$work/hmp.log" || { cat "$work/hmp.log"; return 1; }
	g 120 "$wait_for"'
udevadm wait --timeout=60 /dev/virtio-ports/org.dmadirty.agent.0 && echo "port back" &&
wait_for 60 systemctl is-active --quiet dmadirty-agent.service && systemctl is-active dmadirty-agent.service' ||
		return 1
	pid=$(g 30 'systemctl show -p MainPID --value dmadirty-agent.service') || return 1
	echo "agent pid $agent_pid before, $pid now"
	[[ $pid != 0 && $pid != "$agent_pid" ]] || return 1
	module_source
}

run_boot() {	# run_boot RELEASE K HOW IMAGE [QEMU OPTION...]
	local r=$1 k=$2 how=$3 image=$4 seed tag=$1-$2 last
	shift 4
	last=$((t + per_boot))
	if ! seed=$(make_seed "$r-$how") || ! start_guest "$tag" "$image" "$seed" "$@"; then
		fail_to "$last" "$r/$k: the guest did not start"
		return
	fi
	local desc="boots $k from the image's GRUB (its default)"
	[[ $how == direct ]] && desc="boots $k (its vmlinuz and initrd from the image's /boot)"
	if ! check "$r/$k: $desc under TCG" booted "$k" "$how" && ! g 10 true >/dev/null 2>&1; then
		echo "# ---- guest console (last 100 lines)"; tail -n 100 "$console" | note
		kill "$qemu_pid" 2>/dev/null; wait "$qemu_pid" 2>/dev/null; qemu_pid=
		fail_to "$last" "$r/$k: no boot"
		return
	fi
	elapsed "$r/$k booted"
	check "$r/$k: cloud-init found the NoCloud seed and ran it" cloud_init_ran "$r-$how"
	check "$r/$k: dmadirty.ko built by DKMS for $k was loaded at boot (status: source module)" module_loaded "$k"
	check "$r/$k: udev started dmadirty-agent for its port at boot (the unit is not enabled)" agent_by_udev
	check "$r/$k: dmadirtyctl enable gets the reply with the ack, vm.dma_mark_dirty is 1, the agent logged no warning" enable_on
	check "$r/$k: hot-unplugging the port stops the agent" unplug_stops
	check "$r/$k: plugging the port back starts the agent again" replug_starts
	pkg_files "$work/pkg-files"
	check "$r/$k: systemctl stop + dpkg --purge leave no file of the packages" purged "$work/pkg-files"
	if poweroff_guest; then ok "$r/$k: the guest powers off"; else
		not_ok "$r/$k: the guest powers off"; tail -n 60 "$console" | note
		kill "$qemu_pid" 2>/dev/null; wait "$qemu_pid" 2>/dev/null; qemu_pid=
	fi
	elapsed "$r/$k done"
}

for r in "${releases[@]}"; do
	last=$((t + 4 + per_boot * $(nboots "$r")))
	pkgdir=$work/packages-$r
	check "$r: dpkg-buildpackage in a $r root builds the .debs" build_debs "$r" "$pkgdir"
	elapsed "$r debs built"
	if base=$("$here/mkimage.sh" "$r" "$cache" 2>"$work/mkimage-$r.log"); then
		ok "$r: base image with its kernel, headers, dkms, cloud-init and GRUB ($(basename "$base"))"
	else
		not_ok "$r: base image"; tail -n 60 "$work/mkimage-$r.log" | note
		fail_to "$last" "$r: no base image"; continue
	fi
	elapsed "$r base image ready"
	# The baked image is cached too, keyed by the base image, the README's
	# command and the .debs, which build reproducibly: a second run of the
	# same tree boots what the first baked (and says so), and a change to
	# any of them bakes again.  DD_IMAGE_REBAKE=1 bakes regardless.
	key=$({ basename "$base"; readme_bake guest.qcow2; sha256sum "$pkgdir/dmadirty-dkms_${version}_all.deb" \
		"$pkgdir/dmadirty-agent_${version}_amd64.deb" | cut -d' ' -f1; } | sha256sum | cut -c1-16)
	img=$cache/images/baked-$r-$key.qcow2
	exec 8>"$cache/images/baked-$r.lock"
	flock 8
	if [[ -s $img && ${DD_IMAGE_REBAKE:-} != 1 ]]; then
		ok "$r: the README's virt-customize command bakes dmadirty into the image (baked by an earlier run from the same base image, command and .debs: $(basename "$img"))"
		note <"$img.log"
	elif qemu-img create -q -f qcow2 -b "$base" -F qcow2 "$work/$r.qcow2" &&
		check "$r: the README's virt-customize command bakes dmadirty into the image" \
			bake "$r" "$work/$r.qcow2" "$pkgdir"; then
		rm -f "$cache/images/baked-$r-"*
		cp "$work/bake-$r.log" "$img.log" && mv "$work/$r.qcow2" "$img"
	else
		img=$work/$r.qcow2
	fi
	exec 8>&-
	elapsed "$r baked"
	check "$r: DKMS built dmadirty.ko in the image for each of its kernels, and for no other" inspect "$r" "$img"
	elapsed "$r inspected"
	mapfile -t kernels < <(awk '$1 == "kernel" { print $2 }' "$work/inspect-$r.log" | sort -V)
	if ((${#kernels[@]} != $(nboots "$r"))); then
		fail_to "$last" "$r: the image's kernels are not known"; continue
	fi
	# GRUB's default is the newest kernel; an older one is booted directly.
	run_boot "$r" "${kernels[-1]}" grub "$img"
	for k in "${kernels[@]:0:${#kernels[@]}-1}"; do
		run_boot "$r" "$k" direct "$img" -kernel "$work/boot-$r/boot/vmlinuz-$k" \
			-initrd "$work/boot-$r/boot/initrd.img-$k" -append "root=LABEL=ddroot ro console=ttyS0"
	done
done

exit $((failed > 0))

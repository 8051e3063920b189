#!/bin/bash
# The packaging test: build the Debian packages in a Debian 12 and a Debian
# 13 root (so each depends on its release's libraries) and the RPMs, bake
# the Debian 12 .debs into a fresh Debian 12 root with the README's "Baking
# into an image" chroot commands (dpkg -i, nothing starts, DKMS builds for
# the root's own kernel), install bookworm-backports' kernel after that
# (DKMS builds for it too) and boot the root into it under qemu -accel tcg:
# the module is loaded.  Then bake a copy of the root whose kernel headers
# are removed and check that the install says the module was not built, the
# agent starts at boot anyway, and `status` and `enable` tell the host the
# module is missing; and check the RPMs' file lists with rpm -qlp and the
# spec, the RPMs and their scriptlets with rpmlint.
#
# The agent on a booted guest (udev and hotplug, enable, purge) is checked
# by the image test, images.sh, on Debian 12 and 13 cloud images.
#
# Needs root (debootstrap, chroot).  The debootstrap'ed root is cached as a
# tarball under $DD_CACHE (default /var/cache/dmadirty), keyed by its package
# list.  Set DD_KEEP=1 to keep the work directory.  TAP output.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -uo pipefail

: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/packaging/lib.sh"

ntests=15
echo "1..$ntests"

suite_start "the packaging test" packaging
on_exit() {
	if ((failed)) && [[ -s $console ]]; then
		echo "# ---- guest console (last 150 lines)"
		tail -n 150 "$console" | note
	fi
}

skip_rest() {	# skip_rest REASON: the remaining tests cannot run
	while ((t < ntests)); do t=$((t + 1)); echo "not ok $t - $1 # skipped after failure"; failed=$((failed + 1)); done
	exit 1
}

# ------------------------------------------------------------ 1-6: packages
# Each release's packages are built in a cached debootstrap'ed root of that
# release (tests/packaging/build-in-root.sh).
version=$(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")
pkgdir=$work/packages
check "dpkg-buildpackage in a Debian 12 (bookworm) root builds the .debs" \
	build_debs bookworm "$pkgdir"
elapsed "bookworm debs built"
check "dpkg-buildpackage in a Debian 13 (trixie) root builds the .debs" \
	build_debs trixie "$work/packages-trixie"
elapsed "trixie debs built"

# dpkg-shlibdeps took the dependencies from the build root's libraries:
# trixie's agent needs the t64 GLib, bookworm's the old name.
release_depends() {
	local b t
	b=$(dpkg-deb -f "$pkgdir/dmadirty-agent_${version}_amd64.deb" Depends) || return 1
	t=$(dpkg-deb -f "$work/packages-trixie/dmadirty-agent_${version}_amd64.deb" Depends) || return 1
	echo "bookworm: $b"
	echo "trixie: $t"
	grep -Eq '(^|, )libglib2\.0-0t64( |,|$)' <<<"$t" &&
		grep -Eq '(^|, )libglib2\.0-0( |,|$)' <<<"$b" &&
		! grep -q 't64' <<<"$b"
}
check "dmadirty-agent depends on each release's libraries (trixie: libglib2.0-0t64)" \
	release_depends
debs=()
for p in dmadirty-agent dmadirty-dkms dmadirtyctl; do
	f=$(ls "$pkgdir/${p}_${version}_"*.deb 2>/dev/null)
	[[ -n $f ]] && debs+=("$f")
done
for f in "${debs[@]}"; do dpkg-deb -c "$f" | awk '{print $NF}' | note; done
elapsed "debs built"

check "lintian reports no errors" \
	lintian --fail-on error "${debs[@]}"

if make_locked rpm pkgdir="$pkgdir" >"$work/rpm.log" 2>&1; then
	check_rpms() {
		local arch rc=0 f want got
		arch=$(rpm --eval '%{_arch}')
		while read -r name files; do
			f=$pkgdir/$name-$version-1.$( [[ $name == dmadirty-dkms ]] && echo noarch || echo "$arch").rpm
			[[ -f $f ]] || { echo "missing $f"; ls "$pkgdir"; rc=1; continue; }
			got=$(rpm -qlp "$f")
			echo "$got" | sed "s|^|$name: |"
			for want in $files; do
				grep -qx -- "$want" <<<"$got" || { echo "$name lacks $want"; rc=1; }
			done
		done <<-EOF
		dmadirty-agent /usr/sbin/dmadirty-agent /etc/dmadirty/agent.conf /etc/dmadirty/hooks.d /etc/dmadirty/hooks.d/example.sample /usr/lib/systemd/system/dmadirty-agent.service /usr/lib/udev/rules.d/60-dmadirty-agent.rules
		dmadirty-dkms /usr/src/dmadirty-$version/dkms.conf /usr/src/dmadirty-$version/Kbuild /usr/src/dmadirty-$version/probe.sh /usr/src/dmadirty-$version/main.c /usr/src/dmadirty-$version/proto/dmadirty_uapi.h /usr/lib/modules-load.d/dmadirty.conf
		dmadirtyctl /usr/bin/dmadirtyctl
		EOF
		return $rc
	}
	check "rpmbuild makes three RPMs and rpm -qlp lists their files" check_rpms
	# rpmlint checks the scriptlets (sh -n, dangerous commands) and the
	# rest, with the intended findings filtered in dmadirty.rpmlintrc; the
	# scriptlets must do the DKMS and systemd steps each in its place.
	lint_rpms() {
		local arch rc=0 p tag want got
		arch=$(rpm --eval '%{_arch}')
		rpmlint -r "$top_srcdir/packaging/rpm/dmadirty.rpmlintrc" \
			"$top_srcdir/packaging/rpm/dmadirty.spec" "$pkgdir"/*.rpm || rc=1
		while read -r p tag want; do
			got=$(rpm -qp --qf "%{$tag}" "$pkgdir/$p-$version-1.$( [[ $p == dmadirty-dkms ]] &&
				echo noarch || echo "$arch").rpm")
			grep -qF -- "$want" <<<"$got" || { echo "$p %$tag lacks: $want"; rc=1; }
		done <<-EOF
		dmadirty-agent POSTIN systemctl daemon-reload
		dmadirty-agent POSTIN udevadm control --reload
		dmadirty-agent PREUN systemctl --no-reload disable --now dmadirty-agent.service
		dmadirty-agent POSTUN systemctl try-restart dmadirty-agent.service
		dmadirty-dkms POSTIN dkms add -m dmadirty -v $version
		dmadirty-dkms POSTIN dkms install -m dmadirty -v $version
		dmadirty-dkms PREUN dkms remove -m dmadirty -v $version -q --all
		EOF
		return $rc
	}
	check "rpmlint passes the spec and RPMs, and their scriptlets do the DKMS and systemd steps" \
		lint_rpms
else
	not_ok "rpmbuild makes three RPMs and rpm -qlp lists their files"
	not_ok "rpmlint passes the spec and RPMs # skipped: no RPMs"
	tail -n 60 "$work/rpm.log" | note
fi
elapsed "rpms built"
((${#debs[@]} == 3)) || skip_rest "expected three .debs, got ${#debs[@]}"

# ----------------------------------------------------- 7-11: bake the image
# The cached root has the kernel, DKMS's toolchain and the libraries the
# packages need, so that a plain dpkg -i works offline.  Should the packages
# come to depend on something else, a root with that added is made (and
# cached under its own key).
base_pkgs=(systemd-sysv udev kmod linux-image-amd64 linux-headers-amd64 dkms gcc
	make libc6-dev initramfs-tools libglib2.0-0 libjson-c5 libudev1 libsystemd0)
mapfile -t dep_pkgs < <(for f in "${debs[@]}"; do dpkg-deb -f "$f" Depends; done |
	tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' -e 's/[[:space:]]//g' |
	grep -v -E '^(dmadirty.*|)$' | sort -u)
root=$work/root
make_root() {	# make_root PACKAGE...: unpack a cached root with these packages
	tarball=$("$here/mkroot.sh" "$cache" "$@" 2>"$work/mkroot.log") || return 1
	rm -rf "$root" && mkdir "$root" && tar -C "$root" --numeric-owner -xf "$tarball"
}
missing=()
tarball=
if make_root "${base_pkgs[@]}"; then
	for p in "${dep_pkgs[@]}"; do
		chroot "$root" dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -q '^ii' ||
			missing+=("$p")
	done
fi
if [[ -n $tarball ]] && { ((${#missing[@]} == 0)) || make_root "${base_pkgs[@]}" "${missing[@]}"; }; then
	ok "Debian 12 root with linux-image-amd64 ($(basename "$tarball"))"
else
	not_ok "Debian 12 root with linux-image-amd64"; tail -n 60 "$work/mkroot.log" | note
	skip_rest "no root"
fi
elapsed "root ready"

kver=$(ls "$root/lib/modules" | sort -V | tail -n 1)
echo "# image kernel $kver, build machine kernel $(uname -r)"

# What an operator baking an image runs is the README's "Baking into an
# image" block, run as written there with the image's root for /mnt/img and
# this build's version, in a private mount namespace.  in_root runs the
# test's own look-ups the same way.
in_root() {
	unshare --mount --propagation private --fork sh -c \
		'mount -t proc proc "$1/proc" && shift && exec chroot "$@"' sh "$root" "$root" "$@"
}
readme_bake() {	# the first sh block after "Baking into an image"
	awk '/^Baking into an image/ { f = 1 } f && /^```sh$/ { b = 1; next }
		b && /^```$/ { exit } b' "$top_srcdir/README.md" |
		sed -e "s|/mnt/img|$root|g" -e "s|0\.1\.0|$version|g"
}
bake_as_readme() {
	local cmds
	cmds=$(readme_bake)
	grep -q 'dpkg -i' <<<"$cmds" || { echo "README.md: no baking commands found"; return 1; }
	echo "$cmds"
	(cd "$pkgdir" && unshare --mount --propagation private --fork bash -ex -c "$cmds") 2>&1
}
if bake_as_readme >"$work/dpkg-i.log" 2>&1; then
	ok "the README's baking commands install dmadirty-dkms and dmadirty-agent in the root"
else
	not_ok "the README's baking commands install dmadirty-dkms and dmadirty-agent in the root"
	tail -n 80 "$work/dpkg-i.log" | note
fi
note <"$work/dpkg-i.log"

dkms_built() {
	in_root dkms status -m dmadirty -k "$kver" | tee /dev/stderr | grep -q ": installed" &&
		ls "$root/lib/modules/$kver/updates/dkms/" | grep -E '^dmadirty\.ko'
}
check "DKMS built and installed the module for the image's kernel $kver" dkms_built
elapsed "packages installed"

# A kernel installed later: bookworm-backports' kernel and headers, fetched
# once into the cache (by apt in the root, with the backports suite added
# only for that) and installed offline by dpkg -i.  DKMS's kernel hooks must
# build the module for it.
later=$cache/later-kernel-bookworm-backports
fetch_later() {
	local mirror=${DD_DEBIAN_MIRROR:-http://deb.debian.org/debian} rc=0
	rm -rf "$later.tmp" && mkdir -p "$later.tmp" || return 1
	echo "deb $mirror bookworm-backports main" >"$root/etc/apt/sources.list.d/dd-later.list"
	in_root sh -c 'apt-get update -q && apt-get install -q -y --no-install-recommends --download-only -t bookworm-backports \
		linux-image-amd64 linux-headers-amd64' || rc=1
	mv "$root"/var/cache/apt/archives/*.deb "$later.tmp/" 2>/dev/null
	rm -f "$root/etc/apt/sources.list.d/dd-later.list" "$root"/var/lib/apt/lists/*_Packages
	((rc == 0)) && ls "$later.tmp"/linux-image-*.deb && mv "$later.tmp" "$later"
}
later_kernel() {
	if ! ls "$later"/linux-image-*.deb >/dev/null 2>&1; then fetch_later || return 1; fi
	mkdir -p "$root/tmp/later" && cp "$later"/*.deb "$root/tmp/later/" || return 1
	in_root sh -c 'dpkg -i /tmp/later/*.deb' >"$work/later.log" 2>&1 || { tail -n 60 "$work/later.log"; return 1; }
	rm -rf "$root/tmp/later"
	newk=$(ls "$root/lib/modules" | sort -V | tail -n 1)
	echo "later kernel $newk"
	grep -E "^(Building|Installing|Setting up linux-image)" "$work/later.log"
	[[ $newk != "$kver" ]] &&
		in_root dkms status -m dmadirty -k "$newk" | grep ": installed" &&
		ls "$root/lib/modules/$newk/updates/dkms/" | grep -E '^dmadirty\.ko' &&
		[[ -f $root/boot/initrd.img-$newk ]]
}
newk=
check "a kernel installed later (bookworm-backports) gets the module from DKMS" later_kernel
elapsed "later kernel installed"

# The test's own harness (not part of any package): a root shell on the
# second serial port, which the host drives through guestsh.py.
add_harness() {
	cat >"$root/etc/systemd/system/dd-test-shell.service" <<'EOF'
[Unit]
Description=packaging test shell on ttyS1
DefaultDependencies=no
After=local-fs.target

[Service]
ExecStart=/bin/sh -c 'exec </dev/ttyS1 >/dev/ttyS1 2>&1; stty raw -echo; exec env PS1= PS2= /bin/sh'
Restart=always
EOF
	mkdir -p "$root/etc/systemd/system/sysinit.target.wants"
	ln -s ../dd-test-shell.service "$root/etc/systemd/system/sysinit.target.wants/"
	: >"$root/etc/machine-id"
}
add_harness

# An ext4 image made straight from the directory: no loop mounts.
img=$work/root.img
size_mb=$(($(du -sm "$root" | cut -f1) * 13 / 10 + 256))
if mke2fs -q -t ext4 -L ddroot -d "$root" "$img" "${size_mb}M" >"$work/mke2fs.log" 2>&1; then
	ok "ext4 image of the root (${size_mb} MiB)"
else
	not_ok "ext4 image of the root"; note <"$work/mke2fs.log"; skip_rest "no image"
fi
elapsed "image made"

# ------------------------------------------------------------- 12: boot
# start_guest TAG KERNEL-VERSION IMAGE [QEMU OPTION...]: boot the image with
# a kernel from the root's /boot, the harness shell on ttyS1 and an empty
# virtio-serial bus; wait for the shell's socket.
start_guest() {
	local tag=$1 k=$2 image=$3
	shift 3
	if [[ -n $qemu_pid ]]; then kill "$qemu_pid"; wait "$qemu_pid" 2>/dev/null; qemu_pid=; fi
	shell_sock=$work/shell-$tag.sock agent_sock=$work/agent-$tag.sock
	monitor_sock=$work/monitor-$tag.sock console=$work/console-$tag.log
	"$qemu" -accel tcg -machine q35 -m 1024 -smp 2 -display none -no-reboot -nodefaults \
		-kernel "$root/boot/vmlinuz-$k" -initrd "$root/boot/initrd.img-$k" \
		-append "root=/dev/vda rw console=ttyS0 panic=-1 quiet systemd.show_status=1" \
		-drive file="$image",format=raw,if=virtio,cache=unsafe \
		-serial file:"$console" \
		-chardev socket,id=shell,path="$shell_sock",server=on,wait=off \
		-serial chardev:shell \
		-device virtio-serial-pci,id=vser0 \
		-chardev socket,id=agent,path="$agent_sock",server=on,wait=off \
		-monitor unix:"$monitor_sock",server=on,wait=off \
		"$@" -nic none >"$work/qemu-$tag.log" 2>&1 &
	qemu_pid=$!
	for _ in $(seq 120); do [[ -S $shell_sock ]] && break; sleep 0.5; done
}
# The later kernel, the newest in the root: it boots with the module.  The
# agent's checks on a booted guest (udev, enable, hotplug, purge) are the
# image test's (images.sh), on every kernel of its images.
later_boot() {
	[[ -n $newk ]] || { echo "no later kernel"; return 1; }
	start_guest later "$newk" "$img"
	GUESTSH_RESEND=5 g 600 'true' >/dev/null &&
		g 600 'systemctl is-system-running --wait; uname -r; grep -w "^dmadirty" /proc/modules' >"$work/later-boot.log" 2>&1
	cat "$work/later-boot.log"
	grep -qx "$newk" "$work/later-boot.log" && grep -q '^dmadirty ' "$work/later-boot.log" &&
		poweroff_guest
}
check "the image boots the later kernel with dmadirty.ko loaded, and powers off" later_boot
elapsed "later kernel booted"

# ------------------------------------------- 13-15: no headers in the image
# An image without its kernel's headers: DKMS cannot build the module, the
# install says so and still succeeds, and the agent starts anyway and tells
# the host that the module is missing.
nh_install() {
	rm -rf "$root" && mkdir "$root" && tar -C "$root" --numeric-owner -xf "$tarball" || return 1
	in_root sh -c 'dpkg --purge $(dpkg-query -W -f "\${db:Status-Abbrev} \${Package}\n" \
		"linux-headers-*" "linux-kbuild-*" | awk "/^ii/ { print \$2 }")' || return 1
	[ ! -e "$root/lib/modules/$kver/build" ] || { echo "headers still in the image"; return 1; }
	cp "$pkgdir/dmadirty-dkms_${version}_all.deb" "$pkgdir/dmadirty-agent_${version}_amd64.deb" "$root/tmp/"
	in_root dpkg -i /tmp/dmadirty-dkms_"$version"_all.deb /tmp/dmadirty-agent_"$version"_amd64.deb \
		>"$work/nh-dpkg.log" 2>&1 || { cat "$work/nh-dpkg.log"; return 1; }
	rm -f "$root"/tmp/dmadirty-*.deb
	cat "$work/nh-dpkg.log"
	! ls "$root/lib/modules/$kver/updates/dkms/dmadirty.ko"* 2>/dev/null &&
		grep -iE "headers.*(not|cannot|n't).*(found|installed)|skipped" "$work/nh-dpkg.log"
}
check "without kernel headers, dpkg -i succeeds and says the module was not built" nh_install
add_harness
img=$work/root-noheaders.img
size_mb=$(($(du -sm "$root" | cut -f1) * 13 / 10 + 256))
mke2fs -q -t ext4 -L ddroot -d "$root" "$img" "${size_mb}M" >"$work/mke2fs.log" 2>&1 ||
	note <"$work/mke2fs.log"
# This time the port is there from the start: udev starts the agent at boot.
start_guest noheaders "$kver" "$img" \
	-device virtserialport,bus=vser0.0,chardev=agent,name=org.dmadirty.agent.0
nh_agent() {
	GUESTSH_RESEND=5 g 600 'true' || return 1
	g 600 'systemctl is-system-running --wait
for i in $(seq 60); do systemctl is-active --quiet dmadirty-agent.service && break; sleep 1; done
systemctl is-active dmadirty-agent.service && ! grep -w "^dmadirty" /proc/modules && uname -r'
}
check "without the module the image boots, udev starts the agent, and no dmadirty.ko is loaded" nh_agent
nh_reports() {
	local st en
	st=$("$top_builddir/proto/dmadirtyctl" --socket "$agent_sock" --json --timeout 30 status) ||
		{ echo "status failed: $st"; return 1; }
	echo "status: $st"
	en=$("$top_builddir/proto/dmadirtyctl" --socket "$agent_sock" --json --timeout 30 enable) &&
		{ echo "enable succeeded without the module: $en"; return 1; }
	echo "enable: $en"
	python3 -c 'import json, sys; r = json.loads(sys.argv[1]); r = r.get("return", r); \
sys.exit(0 if r["source"] == "none" and r["enabled"] is False else 1)' "$st" &&
		grep -q "module is not loaded" <<<"$en"
}
check "status reports no module (source none) and enable fails naming the module" nh_reports
poweroff_guest
elapsed "done"

exit $((failed > 0))

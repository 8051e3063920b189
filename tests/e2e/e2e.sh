#!/bin/bash
# The end-to-end migration test (TAP), and the demo (--demo).
#
# For every kernel of the matrix (tests/kernels, DD_KERNELS narrows it)
# builds dmadirty.ko, the test driver and an initramfs with the agent, then
# runs migrate.py: per kernel, and also with a vIOMMU for the oldest and the
# newest (every kernel with DD_MATRIX=full), one guest is
# migrated with DMA dirtying enabled through dmadirtyctl and then without
# it, and the pages a "device" wrote during pre-copy are checked on the
# destination.  See migrate.py for the steps.
#
#   e2e.sh            make check: every kernel, with and without vIOMMU
#   e2e.sh --demo     one kernel ($DEMO_KERNEL, default the first), one A/B
#                     migration, the result table on stdout
#
# Env: top_srcdir, top_builddir, QEMU_SYSTEM (from make), E2E_CONFIGS
# ("plain iommu" by default), E2E_VERBOSE=1 for the migration log,
# E2E_KEEP=1 to keep the VM logs.
set -uo pipefail

src=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${top_builddir:-$PWD}
export top_srcdir=$src top_builddir=$build
. "$src/tests/lib/vm.sh"

demo=no
[ "${1:-}" = --demo ] && demo=yes

# make check: the kernel matrix (tests/kernels), every kernel plain and the
# oldest and the newest also behind a vIOMMU; the demo: one kernel of this
# machine.
if [ "$demo" = yes ]; then
	mapfile -t kernels < <(vm_kernels)
	kernels=("${DEMO_KERNEL:-${kernels[0]:-}}")
	configs=plain
	wide=
else
	# shellcheck disable=SC2086
	mapfile -t kernels < <(vm_matrix ${DD_KERNELS:-} | cut -d' ' -f2)
	configs=${E2E_CONFIGS:-plain iommu}
	wide="$(printf '%s\n' "${kernels[@]}" | sort -V | sed -n '1p;$p')"
fi

fail() {
	if [ "$demo" = yes ]; then
		echo "demo: $*" >&2
	else
		echo "1..1"
		echo "not ok 1 - $*"
	fi
	exit 1
}

[ -n "${kernels[0]:-}" ] || fail "no guest kernel (tests/kernels/setup.sh)"
command -v "${QEMU_SYSTEM:-qemu-system-x86_64}" >/dev/null || fail "no qemu-system-x86_64"
ctl=$build/proto/dmadirtyctl
[ -x "$ctl" ] || fail "$ctl is not built"

args=()
n=0
for kver in "${kernels[@]}"; do
	out=$build/tests/e2e/guest-$kver
	[ "$demo" = yes ] && echo "demo: building dmadirty.ko, the test driver and the initramfs for $kver" >&2
	if ! log=$(bash "$src/tests/e2e/build-guest.sh" "$kver" "$out" 2>&1); then
		[ "$demo" = yes ] && { echo "$log" >&2; fail "guest build for $kver failed"; }
		n=$((n + 1))
		echo "not ok $n - build the guest for $kver"
		echo "$log" | tail -n 30 | sed 's/^/# /'
		continue
	fi
	if [ "$demo" = no ]; then
		n=$((n + 1))
		echo "ok $n - build the guest for $kver"
	fi
	kernel=$(vm_kernel_dir "$kver")/boot/vmlinuz-$kver
	for c in $configs; do
		case $c in
		plain) args+=(--config "$kver:$out/initrd.gz:kernel=$kernel") ;;
		iommu)
			[ "${DD_MATRIX:-}" = full ] || grep -qxF -- "$kver" <<<"$wide" || continue
			args+=(--config "$kver:$out/initrd.gz:kernel=$kernel:iommu") ;;
		*) fail "unknown E2E_CONFIGS entry $c" ;;
		esac
	done
done
# The variants that enable dirtying through the bridge's vendor block
# instead of the RPC, its host state set over QMP ("bridge") or by QEMU's
# x-dma-dirty migration capability with no host tooling ("capability"),
# need the patched QEMU of packaging/qemu: $DMADIRTY_QEMU, or
# build-qemu.sh's (cached) build.  This suite runs only with
# --enable-vm-tests, so a QEMU that cannot be had is a failure;
# E2E_BRIDGE=no leaves the variants out, as a skip that tests/all.sh
# refuses (tests/skips.allow).
# One kernel is enough: the agent's path after the uevent is the RPC's.
if [ "$demo" = no ] && [ ${#args[@]} -gt 0 ]; then
	n=$((n + 1))
	if [ "${E2E_BRIDGE:-yes}" = no ]; then
		echo "ok $n - # SKIP bridge variant: E2E_BRIDGE=no"
	else
		bridge_qemu=${DMADIRTY_QEMU:-}
		qlog=$build/tests/e2e/build-qemu.log
		if [ -z "$bridge_qemu" ]; then
			bridge_qemu=$(bash "$src/packaging/qemu/build-qemu.sh" 2>"$qlog") || bridge_qemu=
		fi
		if [ -n "$bridge_qemu" ] && [ -x "$bridge_qemu" ]; then
			echo "ok $n - patched QEMU for the bridge variant: $bridge_qemu"
			kver=${kernels[${#kernels[@]} - 1]}
			kernel=$(vm_kernel_dir "$kver")/boot/vmlinuz-$kver
			args+=(--bridge-qemu "$bridge_qemu"
				--config "$kver:$build/tests/e2e/guest-$kver/initrd.gz:kernel=$kernel:bridge"
				--config "$kver:$build/tests/e2e/guest-$kver/initrd.gz:kernel=$kernel:capability")
		elif [ -n "${DMADIRTY_QEMU:-}" ]; then
			echo "not ok $n - patched QEMU for the bridge variant: DMADIRTY_QEMU=$DMADIRTY_QEMU is not executable"
		else
			echo "not ok $n - patched QEMU for the bridge variant: build-qemu.sh failed ($qlog)"
			tail -n 30 "$qlog" | sed 's/^/# /'
		fi
	fi
fi

if [ ${#args[@]} -eq 0 ]; then
	echo "1..$n"
	exit 1
fi

[ "${E2E_VERBOSE:-}" = 1 ] && args+=(--verbose)
[ "${E2E_KEEP:-}" = 1 ] && args+=(--keep)
workdir=${TMPDIR:-/tmp}
if [ "$demo" = yes ]; then
	echo "demo: booting ${kernels[0]} and migrating it twice, with and without DMA dirtying" >&2
	exec python3 "$src/tests/e2e/migrate.py" --ctl "$ctl" --workdir "$workdir" \
		--table-only "${args[@]}"
fi
exec python3 "$src/tests/e2e/migrate.py" --ctl "$ctl" --workdir "$workdir" \
	--tap-first $((n + 1)) "${args[@]}" 2>&1

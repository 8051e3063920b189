#!/bin/bash
# make bench-kmod: cost of dmadirty.ko on a map/sync/unmap loop, in a guest
# under QEMU TCG, for each kernel of the matrix (tests/kernels; DD_KERNELS
# narrows it).  Prints the median
# loop time per iteration for "module not loaded", "loaded, disabled" and
# "enabled", their ratios (goal: disabled/not-loaded <= 1.02) and the cost
# per page marked.  TCG timings are only comparable within one boot.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib/vm.sh"
. "$top_srcdir/tests/vm/build-modules.sh"

work=$top_builddir/tests/vm/bench.work
rm -rf "$work"
mkdir -p "$work"
# shellcheck disable=SC2086
matrix=$(vm_matrix ${DD_KERNELS:-}) || exit 1
while read -r name kver; do
	vm_build_kmod "$kver" "$work" || exit 1
	vm_initramfs "$work/$kver.cpio.gz" "$kver" "$top_srcdir/tests/vm/guest-bench.sh" \
		--ko "$work/$kver/dmadirty.ko" --ko "$work/$kver/dmadirty_dmatest.ko" || exit 1
	VM_SMP=1 vm_boot "$work/$kver.log" "$kver" "$work/$kver.cpio.gz" 600 \
		-- -device pci-testdev || { tail -n 30 "$work/$kver.log"; exit 1; }
	echo "== $name $kver"
	awk -v n="${BENCH_N:-20000}" '
		function median(a, k,   i, j, t) {
			for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++)
				if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
			return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
		}
		/^BENCH notloaded/ { nl[++a] = $3 + 0 }
		/^BENCH disabled/ { di[++b] = $3 + 0 }
		/^BENCH enabled/ { en[++c] = $3 + 0; pages = $4 + 0 }
		END {
			if (!a || !b || !c) { print "no results"; exit 1 }
			mdn = median(nl, a); mdd = median(di, b); mde = median(en, c)
			mn = nl[1]; md = di[1]; me = en[1]	# sorted: the fastest
			printf "  loop of %d x (map, sync_for_cpu, unmap) of one page, %d rounds\n", n, a
			printf "  ns/iteration       fastest   median\n"
			printf "  not loaded:       %8.1f %8.1f\n", mn / n, mdn / n
			printf "  loaded, disabled: %8.1f %8.1f\n", md / n, mdd / n
			printf "  enabled:          %8.1f %8.1f  (%d pages marked per run)\n", me / n, mde / n, pages
			printf "  disabled/not-loaded = %.3f (median %.3f; goal <= 1.02)\n", md / mn, mdd / mdn
			printf "  enabled/not-loaded  = %.3f (median %.3f)\n", me / mn, mde / mdn
			if (pages) printf "  cost per page marked = %.1f ns (median %.1f)\n", (me - mn) / pages, (mde - mdn) / pages
		}' "$work/$kver.log"
done <<<"$matrix"

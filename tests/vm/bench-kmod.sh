#!/bin/bash
# make bench-kmod: the cost of dmadirty.ko in a guest under QEMU TCG, for
# each kernel of the matrix (tests/kernels; DD_KERNELS narrows it).  Per
# kernel in one run: the module boot (not loaded, loaded but off, on),
# BENCH_BOOTS - 1 more boots (default 2) that run its loop rounds again,
# one more that runs them under -icount (below), and a swiotlb=force boot
# with the module never loaded, the alternative that needs no module.
# The guest side is guest-bench.sh.
#
# Printed per kernel, the fastest of each loop's runs, 3 back to back in
# each of 7 rounds per boot (TCG timings are only comparable within one
# run, so every figure is a ratio to a baseline measured in the same
# run).  The ratios of the loop also come as the median over rounds of
# the ratio within each round: the host's load drifts more between rounds
# than within one, and one lucky run moves a fastest-run ratio by 5% or
# more.  The goals of the loop also come per boot, the ratio of each
# boot's fastest runs, and their median: under TCG, where a boot puts the
# module, its data and its buffers moves the loop's cost by more than the
# rounds of one boot do (kmod/README.md):
#   on / not loaded, map+sync+unmap of one page       goal <= 3
#   on / off after dirtying: the same, against a device whose
#     dma_skip_sync dirtying left clear (6.11+), so the kernel's sync
#     runs in both and only the hooks differ
#   cost per page marked                               goal <= 100 ns
#   loaded but off / not loaded                        goal <= 1.02
#   off after dirtying / not loaded: what the clear flag costs
#   floor / not loaded: the hooked functions under an empty callback,
#     entered as dmadirty enters them (a direct call for the unmap and
#     sync hooks, ftrace's trampoline for the rest), flag clear
#   ftrace floor / not loaded: the same, all through ftrace's
#     trampoline, what the direct call saves
#   tracepoint floor / not loaded (6.12+): empty probes on the kernel's
#     DMA tracepoints of sync and unmap (flag clear), the lightest
#     entry the kernel offers, and one that comes after the operation
#   on vs swiotlb=force, per DMA of 64 KiB             goal <= 0.25
#   NVMe 4 KiB QD32 IOPS, on / off                     goal >= 0.95
#     (the median over rounds of on against the off run of the same
#     round: the host's load drifts more between rounds than within one.
#     The two swap places every other round, as do not loaded and loaded
#     but off in the loop's rounds, so that a drift within a round
#     favours neither)
#   enable -> ack (the sysctl write, drain included)   goal <= 50 ms
#   callbacks that straddle a page boundary: under TCG a jump from one
#     guest page to another is not chained but looked up.  On 7.2 one
#     build of the callbacks cost 381 ns a loop with the unmap and sync
#     callback across two pages, and 230 ns with it aligned into one;
#     compare builds only where this says "none"
#   the wait for a quiet vCPU before each state's loop (guest-bench.sh):
#     its median and longest, and how many waits ran out first
# Then the loop's ratios from the icount boot.  Under -icount shift=0 the
# guest's clock advances one nanosecond per guest instruction, so a
# loop's time is the instructions it runs, whatever the host does and
# however TCG's caches fare: its runs repeat to within 1-2%, where the
# wall clock's spread 5% and more.  It counts what the guest executes,
# not what that costs; loaded but off runs the very code that not loaded
# runs (nothing is patched), and this is where that shows.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/lib/vm.sh"
. "$top_srcdir/tests/vm/build-modules.sh"

work=$top_builddir/tests/vm/bench.work
rm -rf "$work"
mkdir -p "$work"
# The NVMe disk reads zeroes from QEMU's null driver: no host I/O and no
# hand-off to a host thread, whose timing drowned a difference of a few
# percent.  The guest's side of each read, the part the module changes,
# is all there is to measure; the device still writes each page by DMA.
disk=(-drive "driver=null-co,read-zeroes=on,size=64M,if=none,id=d0" -device nvme,drive=d0,serial=bench)
# straddle LOG KO: the callbacks in LOG's layout lines that cross a page.
straddle() {
	local syms addr name size
	syms=$(nm -S "$2") || return
	grep -a '^BENCH layout ' "$1" | while read -r _ _ addr name; do
		size=$(awk -v n="$name" '$4 == n { print $2 }' <<<"$syms")
		[ -n "$size" ] && [ $((0x$addr >> 12)) != $(((0x$addr + 0x$size - 1) >> 12)) ] &&
			printf '%s ' "$name"
	done
}
fio=$(command -v fio) || { echo "bench-kmod: fio is missing (bash tests/deps.sh kmod)" >&2; exit 1; }

# shellcheck disable=SC2086
matrix=$(vm_matrix ${DD_KERNELS:-}) || exit 1
while read -r name kver; do
	vm_build_kmod "$kver" "$work" || exit 1
	vm_initramfs "$work/$kver.cpio.gz" "$kver" "$top_srcdir/tests/vm/guest-bench.sh" \
		--module nvme --ko "$work/$kver/dmadirty.ko" --ko "$work/$kver/dmadirty_dmatest.ko" \
		--bin "$work/dmadirty-vmtest" --bin "$fio" \
		--file "$top_srcdir/tests/vm/guest-hooks.sh:/lib/dmadirty-hooks.sh" || exit 1
	boots=(module)
	for ((b = 2; b <= ${BENCH_BOOTS:-3}; b++)); do boots+=("loop$b"); done
	boots+=(icount swiotlb)
	logs=()
	for log in "${boots[@]}"; do
		boot=${log%%[0-9]*}
		extra= qemu=()
		[ "$boot" = swiotlb ] && extra=swiotlb=force
		[ "$boot" = icount ] && boot=loop qemu=(-icount shift=0)
		logs+=("$work/$kver-$log.log")
		# shellcheck disable=SC2086
		VM_SMP=1 vm_boot "$work/$kver-$log.log" "$kver" "$work/$kver.cpio.gz" 1200 \
			dmadirty_bench=$boot $extra -- "${disk[@]}" -device pci-testdev "${qemu[@]}" ||
			{ tail -n 30 "$work/$kver-$log.log"; exit 1; }
	done
	echo "== $name $kver"
	across=$(straddle "$work/$kver-module.log" "$work/$kver/dmadirty.ko")
	grep -aq '^BENCH layout ' "$work/$kver-module.log" || across="(no layout from the guest)"
	awk -v n="${BENCH_N:-20000}" -v across="${across:-none}" '
		FNR == 1 { boot++; rnd = ""; icount = FILENAME ~ /-icount\.log$/ }
		# The icount boot: the fastest and slowest run of each loop.
		icount && /^BENCH [a-z]+(4k|64k) / {
			k = $2
			if (!(k in ic) || $3 < ic[k]) ic[k] = $3
			if ($3 > icmax[k]) icmax[k] = $3
			next
		}
		icount { next }
		/^BENCH / {
			k = $2
			if (k ~ /^fio/) {
				if ($3 > fio[k]) fio[k] = $3
				# One off run and one on run per round, in
				# either order: the nth of each make a pair.
				if (k == "fio4k-off") off4k[++noff] = $3
				if (k == "fio4k-on") on4k[++non] = $3
				if ($4 > kib[k]) kib[k] = $4
				next
			}
			if (k == "enable") { en[++ne] = $3; next }
			if (k == "settle" || k == "unsettled") {
				st[++nst] = $3
				if (k == "unsettled") unsettled++
				next
			}
			if (k == "layout") next
			# Rounds restart in each boot.
			if (k == "round") { rnd = boot ":" ($3 + 0); rid[++nrid] = rnd; next }
			if (!(k in best) || $3 < best[k]) best[k] = $3
			if (!((boot, k) in bb) || $3 < bb[boot, k]) bb[boot, k] = $3
			if (rnd != "" && (!((rnd, k) in rb) || $3 < rb[rnd, k])) rb[rnd, k] = $3
			if (NF >= 4) pages[k] = $4
		}
		function med(a, k,   i, j, t) {
			for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++)
				if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
			return a[int((k + 1) / 2)]
		}
		# rounds(A, B): "(median of N rounds: X)", X the median over
		# the rounds of the fastest A over the fastest B.
		function rounds(a, b,   i, n, r, v) {
			n = 0
			for (i = 1; i <= nrid; i++) {
				r = rid[i]
				if (((r, a) in rb) && ((r, b) in rb)) v[++n] = rb[r, a] / rb[r, b]
			}
			return n ? sprintf("(median of %d rounds: %.3f)", n, med(v, n)) : ""
		}
		# perboot(TITLE, A, B, GOAL): a line with the median over the
		# boots of the fastest A over the fastest B, and the ratio in
		# each boot.
		function perboot(title, a, b, goal,   i, n, v, each) {
			n = 0
			each = ""
			for (i = 1; i <= boot; i++)
				if (((i, a) in bb) && ((i, b) in bb)) {
					v[++n] = bb[i, a] / bb[i, b]
					each = each sprintf(" %.3f", v[n])
				}
			if (n)
				printf "  %-52s %8.3f %8s   (median of %d boots:%s)\n", title, med(v, n), goal, n, each
		}
		END {
			for (k in best) ns[k] = best[k] / n
			printf "  loop: %d x (map, sync_for_cpu, unmap), fastest run, ns per iteration\n", n
			printf "  %-22s %10s %10s\n", "", "4 KiB", "64 KiB"
			printf "  %-22s %10.1f %10.1f\n", "not loaded", ns["notloaded4k"], ns["notloaded64k"]
			printf "  %-22s %10.1f\n", "loaded, off", ns["off4k"]
			printf "  %-22s %10.1f\n", "off, after dirtying", ns["after4k"]
			printf "  %-22s %10.1f\n", "empty hooks (floor)", ns["floor4k"]
			if ("ftfloor4k" in ns)
				printf "  %-22s %10.1f\n", "the same, by ftrace", ns["ftfloor4k"]
			if ("tpfloor4k" in ns)
				printf "  %-22s %10.1f\n", "empty tracepoints", ns["tpfloor4k"]
			printf "  %-22s %10.1f %10.1f\n", "on", ns["on4k"], ns["on64k"]
			printf "  %-22s %10.1f %10.1f\n", "swiotlb=force", ns["swiotlb4k"], ns["swiotlb64k"]
			pp = pages["on64k"] / n
			printf "  %-52s %8s %8s\n", "figure", "value", "goal"
			printf "  %-52s %8.2f %8s   %s\n", "on / not loaded, one page", ns["on4k"] / ns["notloaded4k"], "<= 3", \
				rounds("on4k", "notloaded4k")
			perboot("  the same, per boot", "on4k", "notloaded4k", "<= 3")
			if (pp) printf "  %-52s %8.1f %8s\n", "cost per page marked, ns (64 KiB buffers)", \
				(ns["on64k"] - ns["notloaded64k"]) / pp, "<= 100"
			printf "  %-52s %8.2f %8s   %s\n", "on / off after dirtying (the hooks alone), one page", \
				ns["on4k"] / ns["after4k"], "", rounds("on4k", "after4k")
			printf "  %-52s %8.2f %8s\n", "floor / not loaded: empty callbacks, the same entry", \
				ns["floor4k"] / ns["notloaded4k"], ""
			if ("ftfloor4k" in ns)
				printf "  %-52s %8.2f %8s\n", "ftrace floor / not loaded: all via the trampoline", \
					ns["ftfloor4k"] / ns["notloaded4k"], ""
			printf "  %-52s %8.1f %8s\n", "callbacks above the floor, ns per iteration", \
				ns["on4k"] - ns["floor4k"], ""
			if ("tpfloor4k" in ns)
				printf "  %-52s %8.2f %8s\n", "tracepoint floor / not loaded: empty probes", \
					ns["tpfloor4k"] / ns["notloaded4k"], ""
			printf "  %-52s %8.3f %8s   %s\n", "loaded but off / not loaded", ns["off4k"] / ns["notloaded4k"], "<= 1.02", \
				rounds("off4k", "notloaded4k")
			perboot("  the same, per boot", "off4k", "notloaded4k", "<= 1.02")
			printf "  %-52s %8.3f %8s\n", "off after dirtying / not loaded", ns["after4k"] / ns["notloaded4k"], ""
			printf "  %-52s %8.3f %8s\n", "on vs swiotlb=force, extra cost per 64 KiB DMA", \
				(ns["on64k"] - ns["notloaded64k"]) / (ns["swiotlb64k"] - ns["notloaded64k"]), "<= 0.25"
			printf "  %-52s %8.3f %8s\n", "on vs swiotlb=force, whole 64 KiB DMA", \
				ns["on64k"] / ns["swiotlb64k"], ""
			if (noff < non) non = noff
			for (i = 1; i <= non; i++) pair[i] = on4k[i] / off4k[i]
			if (non) {
				lo = hi = pair[1]
				for (i = 2; i <= non; i++) {
					if (pair[i] < lo) lo = pair[i]
					if (pair[i] > hi) hi = pair[i]
				}
				printf "  %-52s %8.3f %8s   (median of %d pairs, %.3f to %.3f)\n", \
					"NVMe 4 KiB QD32 IOPS, on / off", med(pair, non), ">= 0.95", non, lo, hi
			}
			if (fio["fio4k-off"]) {
				printf "  %-52s %8.3f %8s   (%d vs %d IOPS)\n", "NVMe 4 KiB QD32 IOPS, best on / best off", \
					fio["fio4k-on"] / fio["fio4k-off"], "", fio["fio4k-on"], fio["fio4k-off"]
				printf "  %-52s %8.3f %8s   (swiotlb=force: %d IOPS)\n", "NVMe 4 KiB QD32 IOPS, swiotlb=force / off", \
					fio["fio4k-swiotlb"] / fio["fio4k-off"], "", fio["fio4k-swiotlb"]
				printf "  %-52s %8.3f %8s   (%d vs %d KiB/s)\n", "NVMe 1 MiB sequential, on / off", \
					kib["fio1m-on"] / kib["fio1m-off"], "", kib["fio1m-on"], kib["fio1m-off"]
				printf "  %-52s %8.3f %8s   (%d KiB/s)\n", "NVMe 1 MiB sequential, swiotlb=force / off", \
					kib["fio1m-swiotlb"] / kib["fio1m-off"], "", kib["fio1m-swiotlb"]
			}
			if (ne) printf "  %-52s %8.2f %8s\n", "enable -> ack, ms (median)", med(en, ne) / 1e6, "<= 50"
			printf "  %-52s %s\n", "callbacks that straddle a page (TCG cost)", across
			if (nst) {
				printf "  wait for a quiet vCPU before each loop: median %d ms, longest %d ms", \
					med(st, nst), st[nst]
				printf "; %d of %d not quiet within 10 s\n", unsettled, nst
			}
			if (!ic["notloaded4k"]) exit
			printf "  under -icount (time = instructions run), ns per iteration: fastest run (spread)\n"
			for (k in ic) spread[k] = sprintf("%.1f  (%.1f%%)", ic[k] / n, 100 * (icmax[k] / ic[k] - 1))
			printf "  %-22s %s\n", "not loaded", spread["notloaded4k"]
			printf "  %-22s %s\n", "loaded, off", spread["off4k"]
			printf "  %-22s %s\n", "empty hooks (floor)", spread["floor4k"]
			if ("ftfloor4k" in ic) printf "  %-22s %s\n", "the same, by ftrace", spread["ftfloor4k"]
			printf "  %-22s %s\n", "on", spread["on4k"]
			printf "  %-52s %8.2f %8s\n", "on / not loaded, one page", ic["on4k"] / ic["notloaded4k"], "<= 3"
			printf "  %-52s %8.3f %8s\n", "loaded but off / not loaded", ic["off4k"] / ic["notloaded4k"], "<= 1.02"
			printf "  %-52s %8.2f %8s\n", "floor / not loaded", ic["floor4k"] / ic["notloaded4k"], ""
			if ("ftfloor4k" in ic)
				printf "  %-52s %8.2f %8s\n", "ftrace floor / not loaded", ic["ftfloor4k"] / ic["notloaded4k"], ""
		}' "${logs[@]}"
done <<<"$matrix"

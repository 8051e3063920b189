# shellcheck shell=bash
# Sourced by tests/vm/*.sh: builds dmadirty.ko, the test modules and the
# static guest test program for guest kernel $1 under directory $2.
#   vm_build_kmod KVER DIR   -> DIR/KVER/{dmadirty,dmadirty_dmatest,
#                               dmadirty_testbridge}.ko, DIR/dmadirty-vmtest
# The modules are built with the kernel's own toolchain (vm_kbuild).
# The sources are copied (with proto/ next to them, as in the DKMS tree),
# so the source tree stays untouched.
vm_build_kmod() {
	local kver=$1 dir=$2 src=${top_srcdir:?} out
	out=$dir/$kver
	mkdir -p "$out/kmod/proto" "$out/modules/proto"
	cp "$src"/kmod/Kbuild "$src"/kmod/Makefile "$src"/kmod/probe.sh \
		"$src"/kmod/*.c "$src"/kmod/*.h "$out/kmod/" || return 1
	rm -f "$out/kmod/dmadirty_config.h"
	cp "$src"/proto/dmadirty_uapi.h "$src"/proto/dmadirty_vendor.h "$out/kmod/proto/"
	cp "$src"/tests/vm/modules/Kbuild "$src"/tests/vm/modules/Makefile \
		"$src"/tests/vm/modules/*.c "$out/modules/"
	cp "$src"/proto/dmadirty_vendor.h "$out/modules/proto/"
	# The test modules use the module's compile probes (HAVE_*) and compat.h.
	# W=1, and any compiler or modpost warning fails the build (make's
	# own, such as a jobserver note under make check, do not count).
	vm_kbuild "$kver" "$out/kmod" -s W=1 >"$out/build.log" 2>&1 &&
		cp "$out/kmod/dmadirty_config.h" "$out/kmod/compat.h" "$out/modules/" &&
		vm_kbuild "$kver" "$out/modules" -s W=1 >>"$out/build.log" 2>&1 ||
		{ cat "$out/build.log" >&2; return 1; }
	if grep -E '(\.[ch]:[0-9]+(:[0-9]+)?: warning:|^cc1: warning:|^WARNING: modpost)' "$out/build.log" >&2; then
		echo "vm_build_kmod: $kver: warnings with W=1" >&2
		return 1
	fi
	cp "$out"/kmod/dmadirty.ko "$out"/modules/*.ko "$out/"
	if [ ! -x "$dir/dmadirty-vmtest" ]; then
		${CC:-cc} -static -O2 -Wall -I"$src/proto" -o "$dir/dmadirty-vmtest" \
			"$src/tests/vm/dmadirty-vmtest.c" || return 1
	fi
}

# tests/vm: dmadirty.ko in real guest kernels (6.1 and 6.12) under QEMU TCG.
# tests/lib/vm.sh is the shared initramfs/boot library for every VM suite.
EXTRA_DIST += tests/lib/vm.sh \
	tests/vm/kmod.sh tests/vm/guest-kmod.sh tests/vm/build-modules.sh \
	tests/vm/bench-kmod.sh tests/vm/guest-bench.sh \
	tests/vm/dmadirty-vmtest.c \
	tests/vm/modules/Kbuild tests/vm/modules/Makefile tests/vm/modules/.gitignore \
	tests/vm/modules/dmadirty_dmatest.c tests/vm/modules/dmadirty_testbridge.c

if ENABLE_VM_TESTS
TESTS += tests/vm/kmod.sh
endif

# Not in make check: timing under TCG, ratios measured in one boot.
bench-kmod:
	top_srcdir=$(abs_top_srcdir) top_builddir=$(abs_top_builddir) \
	QEMU_SYSTEM='$(QEMU_SYSTEM)' $(SHELL) $(srcdir)/tests/vm/bench-kmod.sh

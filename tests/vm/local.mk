# tests/vm: dmadirty.ko in the guest kernels of tests/kernels/matrix.txt
# (5.10 to 7.3) under QEMU TCG.
# tests/lib/vm.sh is the shared initramfs/boot library for every VM suite.
EXTRA_DIST += tests/lib/vm.sh tests/kernels/matrix.txt tests/kernels/setup.sh \
	tests/vm/kmod.sh tests/vm/guest-kmod.sh tests/vm/build-modules.sh \
	tests/vm/bench-kmod.sh tests/vm/guest-bench.sh tests/vm/guest-hooks.sh \
	tests/vm/dmadirty-vmtest.c tests/vm/hotplug.sh tests/vm/guest-hotplug.sh \
	tests/vm/hotplug-host.py \
	tests/vm/modules/Kbuild tests/vm/modules/Makefile tests/vm/modules/.gitignore \
	tests/vm/modules/dmadirty_dmatest.c tests/vm/modules/dmadirty_testbridge.c

if ENABLE_VM_TESTS
TESTS += tests/vm/kmod.sh tests/vm/hotplug.sh
endif

# make check boots every kernel plain and the oldest and the newest also
# with intel-iommu and swiotlb=force, and hotplugs memory into the oldest
# and the newest; check-matrix boots every kernel in every mode, hotplugs
# memory into every kernel, and migrates every kernel also behind a vIOMMU
# (DD_KERNELS="NAME..." narrows it to some kernels).
check-matrix: all
	top_srcdir=$(abs_top_srcdir) top_builddir=$(abs_top_builddir) \
	QEMU_SYSTEM='$(QEMU_SYSTEM)' DD_MATRIX=full $(SHELL) $(srcdir)/tests/vm/kmod.sh
	top_srcdir=$(abs_top_srcdir) top_builddir=$(abs_top_builddir) \
	QEMU_SYSTEM='$(QEMU_SYSTEM)' DD_MATRIX=full $(SHELL) $(srcdir)/tests/vm/hotplug.sh
	top_srcdir=$(abs_top_srcdir) top_builddir=$(abs_top_builddir) \
	QEMU_SYSTEM='$(QEMU_SYSTEM)' DD_MATRIX=full E2E_BRIDGE=no $(SHELL) $(srcdir)/tests/e2e/e2e.sh

# Not in make check: timing under TCG, ratios measured in one boot.
bench-kmod:
	top_srcdir=$(abs_top_srcdir) top_builddir=$(abs_top_builddir) \
	QEMU_SYSTEM='$(QEMU_SYSTEM)' $(SHELL) $(srcdir)/tests/vm/bench-kmod.sh
.PHONY: check-matrix bench-kmod

# kmod: dmadirty.ko.  Kbuild does the compiling; automake only lays out the
# DKMS tree (sources, proto/ headers, dkms.conf) in $(builddir)/dmadirty-dkms
# and, when configure found a kernel build tree, builds the module there.
kmod_files = kmod/Kbuild kmod/Makefile kmod/probe.sh kmod/compat.h \
	kmod/dmadirty.h kmod/main.c kmod/dirty.c kmod/drain.c kmod/ram.c \
	kmod/bridge.c kmod/chardev.c
kmod_proto = proto/dmadirty_uapi.h proto/dmadirty_vendor.h
EXTRA_DIST += $(kmod_files) kmod/README.md kmod/.gitignore packaging/dkms.conf kmod/checkpatch.sh

DKMS_TREE = dmadirty-dkms

# The DKMS source tree: `make dkms-tree`, then copy $(DKMS_TREE) to
# /usr/src/dmadirty-$(VERSION) (the packaging does that).
dkms-tree: $(kmod_files:%=$(srcdir)/%) $(kmod_proto:%=$(srcdir)/%) $(srcdir)/packaging/dkms.conf
	$(AM_V_GEN)$(MKDIR_P) $(DKMS_TREE)/proto && \
	cp -p $(kmod_files:%=$(srcdir)/%) $(DKMS_TREE)/ && \
	cp -p $(kmod_proto:%=$(srcdir)/%) $(DKMS_TREE)/proto/ && \
	$(SED) 's/@PACKAGE_VERSION[@]/$(VERSION)/g' $(srcdir)/packaging/dkms.conf >$(DKMS_TREE)/dkms.conf

dmadirty-kmod: dkms-tree
	$(AM_V_GEN)$(MAKE) -C $(DKMS_TREE) KDIR=$(KERNEL_BUILD)

dmadirty-kmod-clean:
	rm -rf $(DKMS_TREE) kmod/checkpatch tests/vm/kmod.work tests/vm/bench.work

if BUILD_KMOD
all-local: dmadirty-kmod
endif
clean-local: dmadirty-kmod-clean
.PHONY: dkms-tree dmadirty-kmod dmadirty-kmod-clean

# Kernel coding style of the module and the test modules.
TESTS += kmod/checkpatch.sh

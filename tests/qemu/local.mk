# The patched QEMU (packaging/qemu): its series, build script and tests.
# The suites build the binary through packaging/qemu/build-qemu.sh, or reuse
# its cache; DMADIRTY_QEMU=/path/to/qemu-system-x86_64 skips the build.
# The end-to-end A/B migration on the patched QEMU is tests/e2e's "bridge"
# configuration, which uses the same binary.
qemu_patches = \
	packaging/qemu/0001-hw-pci-add-a-DMA-dirty-tracking-handshake-capability.patch \
	packaging/qemu/0002-hw-pci-bridge-add-x-dma-dirty-to-pci-bridge-and-pcie.patch \
	packaging/qemu/0003-qapi-add-x-dma-dirty-set-host-state-x-query-dma-dirt.patch \
	packaging/qemu/0004-docs-specs-describe-the-PCI-bridge-DMA-dirty-trackin.patch \
	packaging/qemu/0005-tests-qtest-test-the-PCI-bridge-DMA-dirty-tracking-c.patch \
	packaging/qemu/0006-migration-add-the-x-dma-dirty-capability.patch \
	packaging/qemu/0007-tests-qtest-test-the-x-dma-dirty-migration-capabilit.patch \
	packaging/qemu/0008-migration-unplug-x-dma-dirty-unplug-devices-late-bef.patch \
	packaging/qemu/0009-vfio-migration-let-x-dma-dirty-unplug-stand-in-for-t.patch

qemu_tests = tests/qemu/qtest.sh tests/qemu/qmp.sh tests/qemu/guest.sh \
	tests/qemu/agent.sh tests/qemu/capability.sh

EXTRA_DIST += packaging/qemu/build-qemu.sh packaging/qemu/series packaging/qemu/README.md \
	$(qemu_patches) $(qemu_tests) tests/qemu/common.sh tests/qemu/qmp.py \
	tests/qemu/qmp_test.py tests/qemu/guest_test.py tests/qemu/guest-block.sh \
	tests/qemu/agent_test.py tests/qemu/guest-agent.sh \
	tests/qemu/capability_test.py tests/qemu/guest-nomodule.sh \
	tests/qemu/guest-unplug.sh

if ENABLE_VM_TESTS
TESTS += $(qemu_tests)
endif

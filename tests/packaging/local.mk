# tests/packaging: build the .debs (in Debian 12 and Debian 13 roots) and
# the RPMs, bake the .debs into a debootstrap'ed Debian 12 root, boot it
# under qemu -accel tcg and check the agent, the module and removal from
# the host.  Needs root; see tests/packaging/packaging.sh.
EXTRA_DIST += \
	tests/packaging/packaging.sh \
	tests/packaging/mkroot.sh \
	tests/packaging/build-in-root.sh \
	tests/packaging/guestsh.py

if ENABLE_VM_TESTS
TESTS += tests/packaging/packaging.sh
endif

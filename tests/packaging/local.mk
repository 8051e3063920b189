# tests/packaging: packaging.sh builds the .debs (in Debian 12 and Debian 13
# roots) and the RPMs, bakes the .debs into a debootstrap'ed Debian 12 root
# with the README's chroot commands and checks DKMS, a kernel installed
# later and an image without headers; images.sh bakes them into Debian 12
# and Debian 13 disk images with the README's virt-customize command and
# boots those with cloud-init.  Both need root; see the scripts.
EXTRA_DIST += \
	tests/packaging/packaging.sh \
	tests/packaging/images.sh \
	tests/packaging/lib.sh \
	tests/packaging/mkroot.sh \
	tests/packaging/mkimage.sh \
	tests/packaging/build-in-root.sh \
	tests/packaging/guestsh.py

if ENABLE_VM_TESTS
TESTS += tests/packaging/packaging.sh tests/packaging/images.sh
endif

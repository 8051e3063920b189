# tests/vfio: a real vfio-pci device, really migrated, in nested TCG guests
# (tests/vfio/README.md).  Not in make check: one run takes about five
# minutes of a 2-core machine, more than every other VM suite in parallel
# can spare; tests/all.sh (so CI) runs make check-vfio after make check.
vfio_files = \
	tests/vfio/README.md \
	tests/vfio/vfio.sh \
	tests/vfio/vfio.py \
	tests/vfio/l1-guest.sh \
	tests/vfio/l2-guest.sh \
	tests/vfio/nvme-reader.c \
	tests/vfio/ramcmp.c
EXTRA_DIST += $(vfio_files)

# Through automake's TAP driver, like make check: tests/vfio/vfio.log
# holds the TAP stream and the result table.
check-vfio: all
	$(MAKE) $(AM_MAKEFLAGS) check TESTS=tests/vfio/vfio.sh

clean-local: clean-vfio
clean-vfio:
	-rm -rf tests/vfio/work
.PHONY: check-vfio clean-vfio

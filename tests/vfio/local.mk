# tests/vfio: a real vfio-pci device, really migrated, in nested TCG guests
# (tests/vfio/README.md).  Not in make check: one run takes six to seven
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
# holds the TAP stream and the result table.  A summary of its own, so
# that make check's test-suite.log stays as make check left it.
check-vfio: all
	$(MAKE) $(AM_MAKEFLAGS) check TESTS=tests/vfio/vfio.sh \
		TEST_SUITE_LOG=tests/vfio/test-suite.log

clean-local: clean-vfio
clean-vfio:
	-rm -rf tests/vfio/work
.PHONY: check-vfio clean-vfio

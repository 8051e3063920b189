# tests/ctl: dmadirtyctl against fake peers, qemu-ga and the real agent.

check_PROGRAMS += tests/ctl/test-ctl
tests_ctl_test_ctl_SOURCES = tests/ctl/test-ctl.c
tests_ctl_test_ctl_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(JSON_CFLAGS)
tests_ctl_test_ctl_LDADD = $(GLIB_LIBS) $(JSON_LIBS)

TESTS += tests/ctl/test-ctl
TESTS += tests/ctl/qemu-ga.sh
EXTRA_DIST += tests/ctl/lib.sh tests/ctl/qemu-ga.sh
TESTS += tests/ctl/migrate-script.sh
EXTRA_DIST += tests/ctl/migrate-script.sh
TESTS += tests/ctl/agent.sh
EXTRA_DIST += tests/ctl/agent.sh
# QEMU runs the examples (no guest kernel is booted, but qemu is needed).
if ENABLE_VM_TESTS
TESTS += tests/ctl/qemu-migrate.sh
endif
EXTRA_DIST += tests/ctl/qemu-migrate.sh

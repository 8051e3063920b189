# tests/unit: GTest programs for the agent's parts, linked against the very
# objects the agent runs (agent/libdmadirty-agent.a).

DD_UNIT_TESTS = \
	tests/unit/test-framer \
	tests/unit/test-dispatch \
	tests/unit/test-config \
	tests/unit/test-lease \
	tests/unit/test-log
check_PROGRAMS += $(DD_UNIT_TESTS)
TESTS += $(DD_UNIT_TESTS)

DD_UNIT_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(JSON_CFLAGS) $(UDEV_CFLAGS) \
	-DTOP_SRCDIR='"$(abs_top_srcdir)"'
DD_UNIT_LDADD = $(DD_AGENT_LIBS)
DD_UNIT_UTIL = tests/unit/test-util.c tests/unit/test-util.h

tests_unit_test_framer_SOURCES = tests/unit/test-framer.c $(DD_UNIT_UTIL)
tests_unit_test_framer_CFLAGS = $(DD_UNIT_CFLAGS)
tests_unit_test_framer_LDADD = $(DD_UNIT_LDADD)

tests_unit_test_dispatch_SOURCES = tests/unit/test-dispatch.c $(DD_UNIT_UTIL)
tests_unit_test_dispatch_CFLAGS = $(DD_UNIT_CFLAGS)
tests_unit_test_dispatch_LDADD = $(DD_UNIT_LDADD)

tests_unit_test_config_SOURCES = tests/unit/test-config.c $(DD_UNIT_UTIL)
tests_unit_test_config_CFLAGS = $(DD_UNIT_CFLAGS)
tests_unit_test_config_LDADD = $(DD_UNIT_LDADD)

tests_unit_test_lease_SOURCES = tests/unit/test-lease.c $(DD_UNIT_UTIL)
tests_unit_test_lease_CFLAGS = $(DD_UNIT_CFLAGS)
tests_unit_test_lease_LDADD = $(DD_UNIT_LDADD)

tests_unit_test_log_SOURCES = tests/unit/test-log.c
tests_unit_test_log_CFLAGS = $(DD_UNIT_CFLAGS)
tests_unit_test_log_LDADD = $(DD_UNIT_LDADD)

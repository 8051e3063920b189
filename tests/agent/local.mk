# tests/agent: the real dmadirty-agent binary over a unix socket.
#
# DMADIRTY_AGENT_WRAPPER="valgrind ..." runs the agent under a wrapper;
# `make check-valgrind` runs the unit and integration tests that way (the
# test programs under valgrind too).

check_PROGRAMS += tests/agent/test-agent
TESTS += tests/agent/test-agent
tests_agent_test_agent_SOURCES = tests/agent/test-agent.c $(DD_UNIT_UTIL)
tests_agent_test_agent_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(JSON_CFLAGS) $(UDEV_CFLAGS) \
	-DTOP_SRCDIR='"$(abs_top_srcdir)"' -DTOP_BUILDDIR='"$(abs_top_builddir)"'
tests_agent_test_agent_LDADD = $(DD_AGENT_LIBS)

# The agent and the test programs under valgrind: any error or leak fails.
DD_VALGRIND = valgrind --quiet --leak-check=full --error-exitcode=1 \
	--errors-for-leak-kinds=definite,indirect \
	--suppressions=/usr/share/glib-2.0/valgrind/glib.supp

check-valgrind: all
	G_SLICE=always-malloc DMADIRTY_AGENT_WRAPPER="$(DD_VALGRIND)" \
		$(MAKE) $(AM_MAKEFLAGS) check \
		TESTS="$(DD_UNIT_TESTS) tests/agent/test-agent" \
		LOG_COMPILER="$(DD_VALGRIND)"
.PHONY: check-valgrind

# virtio-serial, the default transport, in a real guest kernel.
# With dmadirty.ko and the test bridge: host-state changes, ack "bridge".
EXTRA_DIST += tests/agent/virtio-serial.sh tests/agent/virtio-host.py \
	tests/agent/module.sh tests/agent/module-host.py tests/agent/hostport.py
if ENABLE_VM_TESTS
TESTS += tests/agent/virtio-serial.sh tests/agent/module.sh
endif

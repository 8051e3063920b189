# tests/bench: see Makefile.am

# The agent alone answering dmadirtyctl status over a unix socket: the
# smallest demo, with no VM (make demo runs the end-to-end one).
demo-agent: all
	$(SHELL) $(srcdir)/tests/bench/demo-agent.sh $(abs_top_builddir)
.PHONY: demo-agent
EXTRA_DIST += tests/bench/demo-agent.sh

# make bench: dmadirty-agent against qemu-ga (not part of make check).
noinst_PROGRAMS += tests/bench/bench-agent
tests_bench_bench_agent_SOURCES = tests/bench/bench-agent.c
tests_bench_bench_agent_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS)
tests_bench_bench_agent_LDADD = $(GLIB_LIBS)

bench: bench-agent
bench-agent: all
	@qga=$${QEMU_GA:-$$(command -v qemu-ga || echo /usr/sbin/qemu-ga)}; \
	test -x "$$qga" || { echo "bench: qemu-ga not found (apt-get install qemu-guest-agent, or QEMU_GA=PATH)" >&2; exit 1; }; \
	tests/bench/bench-agent --agent agent/dmadirty-agent --qemu-ga "$$qga" $(BENCH_AGENT_FLAGS)
.PHONY: bench-agent

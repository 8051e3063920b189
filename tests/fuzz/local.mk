# tests/fuzz: libFuzzer targets.
#   fuzz-agent    the framer and the dispatcher, fed as the channel feeds them
#   fuzz-channel  the channel's framing state machine over its unix socket:
#                 partial writes, hang-ups anywhere, 0xFF inside messages
#
# configure --enable-fuzzing CC=clang builds them from the agent's sources,
# instrumented for coverage and with ASan+UBSan; only these programs get
# -fsanitize=fuzzer.  `make fuzz-run` runs each for a bounded number of
# executions on a copy of its corpus; any crash, leak or hang fails.

DD_FUZZ_RUNS = 200000
DD_FUZZ_SECONDS = 60

EXTRA_DIST += tests/fuzz/corpus tests/fuzz/corpus-channel

if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz-agent
tests_fuzz_fuzz_agent_SOURCES = tests/fuzz/fuzz-agent.c \
	$(agent_libdmadirty_agent_a_SOURCES)
nodist_tests_fuzz_fuzz_agent_SOURCES = agent/rpc-table.c
DD_FUZZ_SAN = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
tests_fuzz_fuzz_agent_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(JSON_CFLAGS) $(UDEV_CFLAGS) \
	$(DD_FUZZ_SAN) -fno-omit-frame-pointer -g
tests_fuzz_fuzz_agent_LDFLAGS = $(AM_LDFLAGS) $(DD_FUZZ_SAN)
tests_fuzz_fuzz_agent_LDADD = $(GLIB_LIBS) $(JSON_LIBS) $(UDEV_LIBS)

noinst_PROGRAMS += tests/fuzz/fuzz-channel
tests_fuzz_fuzz_channel_SOURCES = tests/fuzz/fuzz-channel.c \
	$(agent_libdmadirty_agent_a_SOURCES)
nodist_tests_fuzz_fuzz_channel_SOURCES = agent/rpc-table.c
tests_fuzz_fuzz_channel_CFLAGS = $(tests_fuzz_fuzz_agent_CFLAGS)
tests_fuzz_fuzz_channel_LDFLAGS = $(tests_fuzz_fuzz_agent_LDFLAGS)
tests_fuzz_fuzz_channel_LDADD = $(tests_fuzz_fuzz_agent_LDADD)

DD_FUZZ_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
DD_FUZZ_OPTS = -runs=$(DD_FUZZ_RUNS) -max_total_time=$(DD_FUZZ_SECONDS) -timeout=20 \
	-artifact_prefix=tests/fuzz/

fuzz-run: tests/fuzz/fuzz-agent$(EXEEXT) tests/fuzz/fuzz-channel$(EXEEXT)
	rm -rf tests/fuzz/corpus-run tests/fuzz/corpus-channel-run
	$(MKDIR_P) tests/fuzz/corpus-run tests/fuzz/corpus-channel-run
	$(DD_FUZZ_ENV) tests/fuzz/fuzz-agent$(EXEEXT) $(DD_FUZZ_OPTS) -max_len=8192 \
		tests/fuzz/corpus-run $(srcdir)/tests/fuzz/corpus
	$(DD_FUZZ_ENV) tests/fuzz/fuzz-channel$(EXEEXT) $(DD_FUZZ_OPTS) -max_len=4096 \
		tests/fuzz/corpus-channel-run $(srcdir)/tests/fuzz/corpus-channel
CLEANFILES += tests/fuzz/crash-* tests/fuzz/leak-* tests/fuzz/timeout-*
else
fuzz-run:
	@echo "fuzz-run: fuzzing is disabled (configure --enable-fuzzing CC=clang)"
endif
.PHONY: fuzz-run

clean-local: clean-fuzz-corpus
clean-fuzz-corpus:
	rm -rf tests/fuzz/corpus-run tests/fuzz/corpus-channel-run
.PHONY: clean-fuzz-corpus

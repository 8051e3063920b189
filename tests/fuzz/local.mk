# tests/fuzz: libFuzzer target for the framer and the dispatcher.
#
# configure --enable-fuzzing CC=clang builds tests/fuzz/fuzz-agent from the
# agent's sources, instrumented for coverage and with ASan+UBSan; only this
# program gets -fsanitize=fuzzer.  `make fuzz-run` runs it for a bounded
# number of executions on a copy of the corpus; any crash fails.

DD_FUZZ_RUNS = 200000
DD_FUZZ_SECONDS = 60

EXTRA_DIST += tests/fuzz/corpus

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

fuzz-run: tests/fuzz/fuzz-agent$(EXEEXT)
	rm -rf tests/fuzz/corpus-run && $(MKDIR_P) tests/fuzz/corpus-run
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		tests/fuzz/fuzz-agent$(EXEEXT) -runs=$(DD_FUZZ_RUNS) \
		-max_total_time=$(DD_FUZZ_SECONDS) -max_len=8192 -timeout=20 \
		-artifact_prefix=tests/fuzz/ \
		tests/fuzz/corpus-run $(srcdir)/tests/fuzz/corpus
CLEANFILES += tests/fuzz/crash-* tests/fuzz/leak-* tests/fuzz/timeout-*
else
fuzz-run:
	@echo "fuzz-run: fuzzing is disabled (configure --enable-fuzzing CC=clang)"
endif
.PHONY: fuzz-run

clean-local: clean-fuzz-corpus
clean-fuzz-corpus:
	rm -rf tests/fuzz/corpus-run
.PHONY: clean-fuzz-corpus

# tests/tree: checks of the tree itself, plain shell, no VM: the README's
# Quick start against the scripts it names and .ci/run, the skip list
# that tests/all.sh enforces (tests/skips.sh, tests/skips.allow), and that
# every shell script parses, the ones make check never runs included.
TESTS += tests/tree/readme.sh tests/tree/skip-list.sh tests/tree/syntax.sh
EXTRA_DIST += tests/tree/readme.sh tests/tree/skip-list.sh tests/tree/syntax.sh \
	tests/skips.sh tests/skips.allow

# tests/tree: checks of the tree itself, plain shell, no VM: the README's
# Quick start against the scripts it names and .ci/run, and the skip list
# that tests/all.sh enforces (tests/skips.sh, tests/skips.allow).
TESTS += tests/tree/readme.sh tests/tree/skip-list.sh
EXTRA_DIST += tests/tree/readme.sh tests/tree/skip-list.sh \
	tests/skips.sh tests/skips.allow

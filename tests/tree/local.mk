# tests/tree: checks of the tree itself, plain shell, no VM: the skip list
# that tests/all.sh enforces (tests/skips.sh, tests/skips.allow).
TESTS += tests/tree/skip-list.sh
EXTRA_DIST += tests/tree/skip-list.sh tests/skips.sh tests/skips.allow

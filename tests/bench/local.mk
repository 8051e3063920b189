# tests/bench: see Makefile.am

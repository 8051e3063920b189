# tests/vm: see Makefile.am

# tests/packaging: see Makefile.am

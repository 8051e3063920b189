# tests/agent: see Makefile.am

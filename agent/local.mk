# agent: see Makefile.am

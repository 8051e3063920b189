# packaging: see Makefile.am

# proto: see Makefile.am

# kmod: see Makefile.am

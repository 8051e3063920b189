# tests/vm: the module in real guest kernels under QEMU TCG.
EXTRA_DIST += tests/lib/vm.sh

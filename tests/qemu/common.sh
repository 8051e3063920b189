# shellcheck shell=sh
# Sourced by the tests/qemu suites: finds the patched QEMU and a work dir.
#
#   $qemu   the patched qemu-system-x86_64: $DMADIRTY_QEMU if set, else what
#           packaging/qemu/build-qemu.sh builds or finds in its cache
#   $work   a temporary directory, removed on exit
#   $kvers  the guest kernels to boot (tests/lib/vm.sh's vm_kernels)

: "${top_srcdir:?top_srcdir is not set (run through make check)}"
if [ -n "${DMADIRTY_QEMU:-}" ]; then
	qemu=$DMADIRTY_QEMU
else
	qemu=$(bash "$top_srcdir/packaging/qemu/build-qemu.sh") || {
		echo "Bail out! packaging/qemu/build-qemu.sh failed"
		exit 1
	}
fi
[ -x "$qemu" ] || { echo "Bail out! no patched QEMU at $qemu"; exit 1; }
echo "# patched QEMU: $qemu"

work=$(mktemp -d "${TMPDIR:-/tmp}/dmadirty-qemu.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
kvers=$(bash -c '. "$0"; vm_kernels' "$top_srcdir/tests/lib/vm.sh")
[ -n "$kvers" ] || { echo "Bail out! no guest kernel with modules in /boot"; exit 1; }

# tap_merge PREFIX FILE: prints FILE's TAP lines renumbered after $n, each
# description prefixed by PREFIX, comments kept, plan dropped.
n=0
tap_merge() {
	while IFS= read -r line; do
		case $line in
		"ok "* | "not ok "*)
			n=$((n + 1))
			echo "${line%% [0-9]*} $n - $1: ${line#* - }" ;;
		1..*) ;;
		*) echo "$line" ;;
		esac
	done <"$2"
}

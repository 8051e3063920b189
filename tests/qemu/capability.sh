# The x-dma-dirty migration capability and the late unplug, with
# dmadirty.ko, the test driver dmadirty_dmatest and dmadirty-agent in the
# guest and no host tooling (see capability_test.py), on the first guest
# kernel.
. "$top_srcdir/tests/qemu/common.sh"
. "$top_srcdir/tests/lib/vm.sh"
. "$top_srcdir/tests/vm/build-modules.sh"
agent=${top_builddir:?}/agent/dmadirty-agent
[ -x "$agent" ] || { echo "Bail out! no $agent (run make first)"; exit 1; }
# shellcheck disable=SC2086
set -- $kvers
kver=$1
if ! vm_build_kmod "$kver" "$work/mods" >"$work/kbuild.log" 2>&1; then
	echo "Bail out! $kver: cannot build dmadirty.ko and the test modules"
	sed 's/^/# /' "$work/kbuild.log" | tail -n 30
	exit 1
fi
mkdir -p "$work/$kver"
python3 "$top_srcdir/tests/qemu/capability_test.py" "$qemu" "$work/$kver" \
	"$kver" "$work/mods/$kver/dmadirty.ko" \
	"$work/mods/$kver/dmadirty_dmatest.ko" "$agent" >"$work/$kver/tap"
rc=$?
tap_merge "$kver" "$work/$kver/tap"
echo "1..$n"
exit $rc

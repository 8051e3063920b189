# The x-dma-dirty migration capability with dmadirty.ko and dmadirty-agent
# in the guest and no host tooling (see capability_test.py), on the first
# guest kernel.  The module is built for it as in agent.sh.
. "$top_srcdir/tests/qemu/common.sh"
agent=${top_builddir:?}/agent/dmadirty-agent
[ -x "$agent" ] || { echo "Bail out! no $agent (run make first)"; exit 1; }
# shellcheck disable=SC2086
set -- $kvers
kver=$1
kdir=/lib/modules/$kver/build
mod=$work/$kver/kmod
mkdir -p "$mod/proto"
cp "$top_srcdir"/kmod/*.c "$top_srcdir"/kmod/*.h "$top_srcdir"/kmod/Kbuild \
	"$top_srcdir"/kmod/Makefile "$top_srcdir"/kmod/probe.sh "$mod/" &&
	cp "$top_srcdir"/proto/*.h "$mod/proto/" || exit 1
if ! make -s -C "$mod" KDIR="$kdir" -j2 >"$work/$kver/kbuild.log" 2>&1; then
	echo "Bail out! $kver: cannot build dmadirty.ko"
	sed 's/^/# /' "$work/$kver/kbuild.log" | tail -n 30
	exit 1
fi
python3 "$top_srcdir/tests/qemu/capability_test.py" "$qemu" "$work/$kver" \
	"$kver" "$mod/dmadirty.ko" "$agent" >"$work/$kver/tap"
rc=$?
tap_merge "$kver" "$work/$kver/tap"
echo "1..$n"
exit $rc

# dmadirty.ko and dmadirty-agent in a guest on the patched QEMU and on the
# stock one (see agent_test.py), once per guest kernel.  The module is built
# for each guest kernel with kmod/Makefile in a copy of kmod/ and proto/.
. "$top_srcdir/tests/qemu/common.sh"
agent=${top_builddir:?}/agent/dmadirty-agent
[ -x "$agent" ] || { echo "Bail out! no $agent (run make first)"; exit 1; }
stock=${QEMU_SYSTEM:-qemu-system-x86_64}
rc=0
for kver in $kvers; do
	kdir=/lib/modules/$kver/build
	mod=$work/$kver/kmod
	mkdir -p "$mod/proto"
	cp "$top_srcdir"/kmod/*.c "$top_srcdir"/kmod/*.h "$top_srcdir"/kmod/Kbuild \
		"$top_srcdir"/kmod/Makefile "$top_srcdir"/kmod/probe.sh "$mod/" &&
		cp "$top_srcdir"/proto/*.h "$mod/proto/" || exit 1
	if ! make -s -C "$mod" KDIR="$kdir" -j2 >"$work/$kver/kbuild.log" 2>&1; then
		n=$((n + 1))
		echo "not ok $n - $kver: build dmadirty.ko"
		sed 's/^/# /' "$work/$kver/kbuild.log" | tail -n 30
		rc=1
		continue
	fi
	python3 "$top_srcdir/tests/qemu/agent_test.py" "$qemu" "$stock" "$work/$kver" \
		"$kver" "$mod/dmadirty.ko" "$agent" >"$work/$kver/tap" || rc=1
	tap_merge "$kver" "$work/$kver/tap"
done
echo "1..$n"
exit $rc

#!/bin/sh
# Runs the patched QEMU ($DMADIRTY_QEMU) with what the end-to-end harness
# (tests/e2e/migrate.py) asks for, plus a pci-bridge carrying the dmadirty
# vendor block and a second QMP monitor, block.qmp, in the directory of the
# harness's own QMP socket (the harness keeps its monitor connected).
dir=
prev=
for a in "$@"; do
	if [ "$prev" = -qmp ]; then
		dir=${a#unix:}
		dir=$(dirname "${dir%%,*}")
	fi
	prev=$a
done
[ -n "$dir" ] || { echo "qemu-block.sh: no -qmp unix: argument" >&2; exit 1; }
exec "${DMADIRTY_QEMU:?}" "$@" \
	-device pci-bridge,id=ddbr,chassis_nr=9,x-dma-dirty=on \
	-qmp "unix:$dir/block.qmp,server=on,wait=off"

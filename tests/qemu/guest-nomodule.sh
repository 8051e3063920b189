# Guest side of tests/qemu/capability_test.py's guest without dmadirty.ko
# (runs as /test.sh in the busybox guest): nothing in it reads the bridge
# block, so a host request is never acknowledged.  It idles until the host
# ends the VM.
echo "DDSTEP nomodule-up"
while :; do
	sleep 3600
done

"""A guest on the patched QEMU sees the vendor block in config space, its
acknowledgements reach QMP as DMA_DIRTY_ACK, host requests made through QMP
reach it, and the block state survives a migration to a second QEMU.

Usage: guest_test.py QEMU WORKDIR KVER [pci-bridge|pcie-root-port]
The bridge carrying the block is a pci-bridge on the pc machine (default)
or a pcie-root-port on q35; a second bridge of the same kind without
x-dma-dirty=on must not show the block.  The guest side is
tests/qemu/guest-block.sh; guests boot through tests/lib/vm.sh.
"""

import os
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import qmp  # noqa: E402

VM_SH = os.path.join(here, "..", "lib", "vm.sh")
BRIDGES = {
    # bus-reserve adds the Red Hat resource reserve capability: two vendor
    # capabilities on one bridge, each found by its type.
    "pci-bridge": ["-device", "pci-bridge,id=br0,chassis_nr=1,bus-reserve=2,"
                   "x-dma-dirty=on",
                   "-device", "pci-bridge,id=br1,chassis_nr=2"],
    "pcie-root-port": ["-machine", "q35",
                       "-device", "pcie-root-port,id=br0,chassis=1,"
                       "x-dma-dirty=on",
                       "-device", "pcie-root-port,id=br1,chassis=2"],
}


def vm_boot(qemu, log, kver, initrd, timeout, *qemu_args, append=()):
    """Starts tests/lib/vm.sh's vm_boot in the background; APPEND holds
    words for the guest kernel's command line."""
    env = dict(os.environ, QEMU_SYSTEM=qemu)
    script = '. "$0"; vm_boot "$@"'
    return subprocess.Popen(["bash", "-c", script, VM_SH, log, kver, initrd,
                             str(timeout)] + list(append) + ["--"] +
                            list(qemu_args),
                            env=env, stdin=subprocess.DEVNULL)


def wait_log(path, marker, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path) and marker in open(path, errors="replace").read():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.2)
    return False


def guest_tap(tap, *logs):
    for log in logs:
        if not os.path.exists(log):
            continue
        for line in open(log, errors="replace"):
            line = line.strip()
            if line.startswith("VMTAP ok - "):
                tap.ok(True, "guest: " + line[len("VMTAP ok - "):])
            elif line.startswith("VMTAP not ok - "):
                tap.ok(False, "guest: " + line[len("VMTAP not ok - "):])


def main():
    qemu, work, kver = sys.argv[1:4]
    bridges = BRIDGES[sys.argv[4] if len(sys.argv) > 4 else "pci-bridge"]
    tap = qmp.Tap()
    initrd = os.path.join(work, "guest-block.cpio.gz")
    subprocess.run(["bash", "-c", '. "$0"; vm_initramfs "$@"', VM_SH, initrd,
                    kver, os.path.join(here, "guest-block.sh")], check=True)
    src_log, dst_log = (os.path.join(work, n) for n in ("src.log", "dst.log"))
    src_sock, dst_sock = (os.path.join(work, n) for n in ("src.qmp", "dst.qmp"))
    mig = os.path.join(work, "mig.sock")
    qmp_arg = lambda p: ["-qmp", "unix:%s,server=on,wait=off" % p]  # noqa
    src = vm_boot(qemu, src_log, kver, initrd, 240, *bridges,
                  *qmp_arg(src_sock))
    procs = [src]
    s = d = None
    try:
        s = qmp.Qmp(src_sock)
        if not tap.ok(wait_log(src_log, "DDSTEP acked", src),
                      "guest found the block and acknowledged"):
            raise RuntimeError("guest did not get to its first ack")
        ev = s.wait_event("DMA_DIRTY_ACK", 10)["data"]
        tap.ok(ev.get("device") == "br0" and ev.get("sequence") == 4660 and
               ev.get("state") == 1 and ev.get("dirtying") is True,
               "DMA_DIRTY_ACK carries the guest's sequence and state", ev)
        info = s.cmd("x-query-dma-dirty", device="br0")[0]
        tap.ok(info["guest-ack"] == 4660 and info["guest-state"] == 1 and
               info["guest-features"] == 7 and info["guest-dirtying"] and
               info["host-sequence"] == 0,
               "query shows the guest fields", info)

        r = s.cmd("x-dma-dirty-set-host-state", device="br0", state="precopy")
        ev = s.wait_event("DMA_DIRTY_ACK", 60,
                          lambda e: e.get("sequence") == r["host-sequence"])
        tap.ok(ev["data"]["state"] == 1,
               "guest acknowledged host sequence %d with dirtying on"
               % r["host-sequence"], ev)
        wait_log(src_log, "DDSTEP precopy", src, 30)
        before = s.cmd("x-query-dma-dirty")

        dst = vm_boot(qemu, dst_log, kver, initrd, 240, *bridges,
                      *qmp_arg(dst_sock), "-incoming", "unix:" + mig)
        procs.append(dst)
        d = qmp.Qmp(dst_sock)
        qmp.migrate_paused(s, mig)
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline:
            status = s.cmd("query-migrate").get("status")
            if status in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.2)
        tap.ok(status == "completed", "migration completes", status)
        deadline = time.monotonic() + 30
        qmp.resume_migrated(d)
        after = d.cmd("x-query-dma-dirty")
        tap.ok(after == before and after[0]["guest-ack"] == 1,
               "destination block state equals the source's",
               "source: %s\ndestination: %s" % (before, after))
        qmp.stop(src, s)
        s = None

        r = d.cmd("x-dma-dirty-set-host-state", device="br0", state="idle")
        ev = d.wait_event("DMA_DIRTY_ACK", 60,
                          lambda e: e.get("sequence") == r["host-sequence"])
        tap.ok(r["host-sequence"] == 2 and ev["data"]["state"] == 0 and
               ev["data"]["dirtying"] is False,
               "migrated guest acknowledged idle at sequence 2 on the "
               "destination", ev)
        tap.ok(wait_log(dst_log, "VM: test.sh exit 0", dst, 60),
               "guest script finished on the destination")
    except (qmp.QmpError, TimeoutError, EOFError, OSError,
            RuntimeError) as e:
        tap.ok(False, "host side", e)
    finally:
        for c, p in ((s, src), (d, procs[-1] if len(procs) > 1 else None)):
            if p is not None:
                qmp.stop(p, c)
    guest_tap(tap, src_log, dst_log)
    if tap.failed:
        for log in (src_log, dst_log):
            if os.path.exists(log):
                tap.diag("---- %s\n%s" % (log, open(log, errors="replace")
                                          .read()[-3000:]))
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())

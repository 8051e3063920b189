"""QMP checks of the patched QEMU without a guest: x-query-dma-dirty,
x-dma-dirty-set-host-state, their errors, and migration of the host state.

Usage: qmp_test.py QEMU WORKDIR
"""

import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qmp  # noqa: E402

DEVICES = ["-M", "q35", "-S",
           "-device", "pci-bridge,id=br0,chassis_nr=1,x-dma-dirty=on",
           "-device", "pcie-root-port,id=rp0,chassis=2,x-dma-dirty=on",
           "-device", "pcie-root-port,id=rp1,chassis=3"]


def by_device(infos):
    return {i.get("device"): i for i in infos}


def wait_migration(conn, timeout=60):
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        status = conn.cmd("query-migrate").get("status")
        if status in ("completed", "failed", "cancelled"):
            break
        time.sleep(0.1)
    return status


def expect_error(tap, conn, cls, desc, cmd, **args):
    try:
        conn.cmd(cmd, **args)
    except qmp.QmpError as e:
        return tap.ok(e.error_class == cls, "%s: %s" % (desc, e.error_class),
                      e)
    return tap.ok(False, "%s: no error" % desc)


def main():
    qemu, work = sys.argv[1], sys.argv[2]
    tap = qmp.Tap()
    procs = []
    try:
        src_sock = os.path.join(work, "src.qmp")
        src = qmp.start(qmp.qemu_argv(qemu, src_sock, *DEVICES),
                        os.path.join(work, "src.log"))
        procs.append(src)
        s = qmp.Qmp(src_sock)

        infos = s.cmd("x-query-dma-dirty")
        got = by_device(infos)
        tap.ok(sorted(got) == ["br0", "rp0"],
               "query lists exactly the bridges with x-dma-dirty=on",
               infos)
        br0 = got.get("br0", {})
        tap.ok(br0.get("path") == "/machine/peripheral/br0" and
               br0.get("host-state") == "idle" and
               br0.get("host-sequence") == 0 and
               br0.get("guest-ack") == 0 and br0.get("guest-state") == 0 and
               br0.get("guest-dirtying") is False,
               "a fresh block is idle, sequence 0, nothing acknowledged", br0)

        one = s.cmd("x-query-dma-dirty", device="/machine/peripheral/rp0")
        tap.ok(len(one) == 1 and one[0].get("device") == "rp0",
               "query by QOM path", one)
        expect_error(tap, s, "GenericError", "bridge without the property",
                     "x-query-dma-dirty", device="rp1")
        expect_error(tap, s, "DeviceNotFound", "unknown device",
                     "x-query-dma-dirty", device="nosuch")
        expect_error(tap, s, "GenericError", "set on a non-bridge",
                     "x-dma-dirty-set-host-state", device="/machine",
                     state="precopy")
        expect_error(tap, s, "GenericError", "unknown host state",
                     "x-dma-dirty-set-host-state", device="br0",
                     state="postcopy")

        seqs = []
        for state in ("precopy", "precopy", "idle", "precopy"):
            r = s.cmd("x-dma-dirty-set-host-state", device="br0", state=state)
            seqs.append((r["host-state"], r["host-sequence"]))
        tap.ok(seqs == [("precopy", 1), ("precopy", 2), ("idle", 3),
                        ("precopy", 4)],
               "every set bumps the sequence, repeats included", seqs)
        rp0 = s.cmd("x-query-dma-dirty", device="rp0")[0]
        tap.ok(rp0["host-sequence"] == 0 and rp0["host-state"] == "idle",
               "other bridges are untouched", rp0)
        s.cmd("x-dma-dirty-set-host-state", device="rp0", state="idle")

        # Migration: the destination starts with fresh blocks; after the
        # migration its blocks are what the source had.
        dst_sock = os.path.join(work, "dst.qmp")
        mig = os.path.join(work, "mig.sock")
        dst = qmp.start(qmp.qemu_argv(qemu, dst_sock, *DEVICES,
                                      "-incoming", "unix:" + mig),
                        os.path.join(work, "dst.log"))
        procs.append(dst)
        d = qmp.Qmp(dst_sock)
        before = by_device(s.cmd("x-query-dma-dirty"))
        fresh = by_device(d.cmd("x-query-dma-dirty"))
        tap.ok(fresh != before, "destination differs before migration",
               fresh)
        s.cmd("migrate", uri="unix:" + mig)
        status = wait_migration(s)
        tap.ok(status == "completed", "migration completes", status)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if d.cmd("query-status")["status"] != "inmigrate":
                break
            time.sleep(0.1)
        after = by_device(d.cmd("x-query-dma-dirty"))
        tap.ok(after == before, "destination block state equals the source's",
               "source: %s\ndestination: %s" % (before, after))
        r = d.cmd("x-dma-dirty-set-host-state", device="br0", state="idle")
        tap.ok(r["host-sequence"] == 5,
               "the destination continues the source's sequence", r)
        qmp.stop(dst, d)
        qmp.stop(src, s)

        # A destination without the block refuses a source that has it.
        src2_sock = os.path.join(work, "src2.qmp")
        src2 = qmp.start(qmp.qemu_argv(qemu, src2_sock, *DEVICES),
                         os.path.join(work, "src2.log"))
        procs.append(src2)
        s2 = qmp.Qmp(src2_sock)
        bad_sock = os.path.join(work, "bad.qmp")
        bad_mig = os.path.join(work, "bad-mig.sock")
        bad_devices = [a.replace(",x-dma-dirty=on", "")
                       if a.startswith("pci-bridge") else a for a in DEVICES]
        bad = qmp.start(qmp.qemu_argv(qemu, bad_sock, *bad_devices,
                                      "-incoming", "unix:" + bad_mig),
                        os.path.join(work, "bad.log"))
        procs.append(bad)
        qmp.Qmp(bad_sock).close()
        s2.cmd("migrate", uri="unix:" + bad_mig)
        wait_migration(s2)
        try:
            rc = bad.wait(timeout=30)
        except subprocess.TimeoutExpired:
            rc = None
        tap.ok(rc not in (0, None) and
               "Bad config data" in open(os.path.join(work, "bad.log")).read(),
               "a destination bridge without x-dma-dirty refuses the state",
               "exit status %s" % rc)
        qmp.stop(src2, s2)
    except (qmp.QmpError, TimeoutError, EOFError, OSError) as e:
        tap.ok(False, "QMP session", e)
        for name in ("src.log", "dst.log"):
            path = os.path.join(work, name)
            if os.path.exists(path):
                tap.diag("%s:\n%s" % (name, open(path).read()[-2000:]))
    finally:
        for p in procs:
            qmp.stop(p)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())

"""The patched QEMU's x-dma-dirty migration capability with the guest
package (dmadirty.ko + dmadirty-agent) in the guest, and nothing else: no
dmadirtyctl, no RPC on the agent channel, and no QMP but
migrate-set-capabilities and migrate to drive the migration (queries only
check the outcome afterwards).

Usage: capability_test.py PATCHED_QEMU WORKDIR KVER KO DMATEST_KO AGENT

  - cancel: a migration that the guest acknowledged, cancelled in
    pre-copy, returns the guest to dirtying off;
  - handshake: a plain migrate runs the whole handshake, shown by the
    source's event order (setup, x-wait-dma-dirty, the guest's
    DMA_DIRTY_ACK with dirtying on, active, completed), and the
    destination sets idle after the switchover, which the guest acks
    with dirtying off;
  - no module: a guest without dmadirty.ko fails the migration at
    x-dma-dirty-ack-timeout, with an error naming the bridge, and the
    source stays running with its bridge idle;
  - late unplug: a pci-testdev with x-dma-dirty-unplug=on, standing in
    for vfio-pci, stays through pre-copy and leaves (DEVICE_DELETED) after
    the first RAM pass and before the source stops; the guest's test
    driver unmaps its buffer as it goes, with dirtying on; the
    destination, started without the device, runs on;
  - refused unplug: without capability x-dma-dirty the migration does not
    start; with it, a guest that never releases the device (ACPI PCI
    hotplug off) fails the migration at the timeout, and the device
    stays with the running source.
"""

import os
import subprocess
import sys
import time
import traceback

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import qmp  # noqa: E402
from agent_test import boot  # noqa: E402
from guest_test import VM_SH, wait_log  # noqa: E402

BRIDGE = "pci-bridge,id=br0,chassis_nr=1,x-dma-dirty=on"
# "events" makes QEMU report each MIGRATION status change as an event.
CAPS = [{"capability": "x-dma-dirty", "state": True},
        {"capability": "events", "state": True}]
FINAL = ("completed", "failed", "cancelled")


def initramfs(work, kver, name, script, *extra):
    path = os.path.join(work, name + ".cpio.gz")
    args = [path, kver, os.path.join(here, script)] + list(extra)
    for m in ("virtio_pci", "virtio_console"):
        if subprocess.run(["bash", "-c", '. "$0"; _vm_mod_deps "$@"', VM_SH,
                           kver, m], capture_output=True).returncode == 0:
            args += ["--module", m]
    subprocess.run(["bash", "-c", '. "$0"; vm_initramfs "$@"', VM_SH] + args,
                   check=True)
    return path


def wait_migration(q, timeout, statuses=FINAL):
    """Waits for the MIGRATION event that reports one of STATUSES."""
    return q.wait_event("MIGRATION", timeout,
                        lambda d: d["status"] in statuses)["data"]["status"]


def wait_ack(q, seq, timeout=60):
    return q.wait_event("DMA_DIRTY_ACK", timeout,
                        lambda d: d["sequence"] == seq)["data"]


def wait_idle(q, timeout=30):
    """The source asks for idle in the migration's cleanup, right after
    the final status: waits for it.  Returns the bridge's last info."""
    deadline = time.monotonic() + timeout
    while True:
        info = q.cmd("x-query-dma-dirty", device="br0")[0]
        if info["host-state"] == "idle" or time.monotonic() > deadline:
            return info
        time.sleep(0.1)


def order(events):
    """The source's MIGRATION statuses and DMA_DIRTY_ACKs, in order."""
    out = []
    for ev in events:
        d = ev.get("data", {})
        if ev["event"] == "MIGRATION":
            out.append(d["status"])
        elif ev["event"] == "DMA_DIRTY_ACK":
            out.append("ack %d %s" % (d["sequence"],
                                      "on" if d["dirtying"] else "off"))
    return out


def with_module(tap, qemu, work, kver, initrd):
    proc, log, qsock, _ = boot(qemu, work, "src", kver, initrd, BRIDGE)
    procs = [(proc, None)]
    try:
        q = qmp.Qmp(qsock)
        procs[0] = (proc, q)
        if not tap.ok(wait_log(log, "DDSTEP agent-up", proc, 180),
                      "the guest's agent is up"):
            return
        q.cmd("migrate-set-capabilities", capabilities=CAPS)

        # Cancel in pre-copy, after the guest acknowledged: a slow link
        # to nowhere keeps the migration in pre-copy.
        q.cmd("migrate-set-parameters", **{"max-bandwidth": 1 << 20})
        q.events.clear()
        q.cmd("migrate", uri="exec:cat >/dev/null")
        ack = wait_ack(q, 1)
        tap.ok(ack["dirtying"], "cancel: the guest acked sequence 1 with "
               "dirtying on", ack)
        status = wait_migration(q, 60, ("active",) + FINAL)
        tap.ok(status == "active", "cancel: pre-copy started", status)
        q.cmd("migrate_cancel")
        status = wait_migration(q, 60)
        ack = wait_ack(q, 2)
        tap.ok(status == "cancelled" and not ack["dirtying"],
               "cancel: after migrate_cancel the guest acked sequence 2 with "
               "dirtying off", "status %s, ack %s" % (status, ack))
        q.cmd("migrate-set-parameters", **{"max-bandwidth": 128 << 20})

        # The handshake of a plain migrate.
        mig = os.path.join(work, "mig.sock")
        dproc, _, dqsock, _ = boot(qemu, work, "dst", kver, initrd, BRIDGE,
                                   "-incoming", "unix:" + mig)
        procs.append((dproc, None))
        dq = qmp.Qmp(dqsock)
        procs[-1] = (dproc, dq)
        dq.cmd("migrate-set-capabilities", capabilities=CAPS)
        q.events.clear()
        q.cmd("migrate", uri="unix:" + mig)
        status = wait_migration(q, 600)
        # wait_migration() took the final event; everything before it is
        # still in q.events, in order.
        seen = order(q.events) + [status]
        want = ["setup", "x-wait-dma-dirty", "ack 3 on", "active",
                "completed"]
        got = [s for s in seen if s in want]
        tap.ok(got == want,
               "handshake: migrate-set-capabilities and migrate alone: "
               "setup, x-wait-dma-dirty, the guest's ack of sequence 3 with "
               "dirtying on, active, completed", "status %s, events %s" %
               (status, seen))
        ack = wait_ack(dq, 4, 120)
        tap.ok(not ack["dirtying"], "handshake: after the switchover the "
               "destination asked for idle and the guest acked sequence 4 "
               "with dirtying off", ack)
        info = wait_idle(q)
        tap.ok(info["host-state"] == "idle" and info["host-sequence"] == 4,
               "handshake: the source's bridge is back to idle", info)
    finally:
        for p, c in procs:
            qmp.stop(p, c)


def without_module(tap, qemu, work, kver, initrd):
    proc, log, qsock, _ = boot(qemu, work, "nomod", kver, initrd, BRIDGE)
    q = None
    try:
        q = qmp.Qmp(qsock)
        if not tap.ok(wait_log(log, "DDSTEP nomodule-up", proc, 180),
                      "no module: the guest is up"):
            return
        q.cmd("migrate-set-capabilities", capabilities=CAPS)
        q.cmd("migrate-set-parameters", **{"x-dma-dirty-ack-timeout": 3000})
        q.cmd("migrate", uri="exec:cat >/dev/null")
        status = wait_migration(q, 120)
        err = q.cmd("query-migrate").get("error-desc", "")
        tap.ok(status == "failed" and
               "bridge 'br0': the guest did not acknowledge sequence 1 "
               "within 3000 ms" in err,
               "no module: the migration fails at the ack timeout: " + err,
               status)
        info = wait_idle(q)
        run = q.cmd("query-status")["status"]
        tap.ok(info["host-state"] == "idle" and run == "running",
               "no module: the source runs on with its bridge idle",
               "%s, %s" % (run, info))
    finally:
        qmp.stop(proc, q)


TESTDEV = "pci-testdev,bus=br0,addr=3,id=td0,x-dma-dirty-unplug=on"


def order_unplug(events):
    """The source's statuses, passes, the testdev's removal and the stop."""
    out = []
    for ev in events:
        d = ev.get("data", {})
        if ev["event"] == "MIGRATION":
            out.append(d["status"])
        elif ev["event"] == "MIGRATION_PASS":
            out.append("pass")
        elif ev["event"] == "DMA_DIRTY_UNPLUG" and d.get("device") == "td0":
            out.append("released" if d["released"] else "unplug")
        elif ev["event"] == "STOP":
            out.append("stop")
    return out


def released(*logs):
    """The guest watcher's marked counts around the device's release."""
    for log in logs:
        for line in open(log, errors="replace"):
            if line.startswith("DDSTEP released "):
                f = dict(w.split("=") for w in line.split()[2:])
                return int(f["marked-before"]), int(f["marked-after"])
    return None


def late_unplug(tap, qemu, work, kver, initrd):
    proc, log, qsock, _ = boot(qemu, work, "lsrc", kver, initrd, BRIDGE,
                               "-device", TESTDEV)
    procs = [(proc, None)]
    try:
        q = qmp.Qmp(qsock)
        procs[0] = (proc, q)
        if not tap.ok(wait_log(log, "DDSTEP agent-up", proc, 180),
                      "late unplug: the guest's agent is up, its driver "
                      "holds a buffer mapped from td0"):
            return
        mig = os.path.join(work, "lmig.sock")
        dproc, dlog, dqsock, _ = boot(qemu, work, "ldst", kver, initrd,
                                      BRIDGE, "-incoming", "unix:" + mig)
        procs.append((dproc, None))
        dq = qmp.Qmp(dqsock)
        procs[-1] = (dproc, dq)
        for c in (q, dq):
            c.cmd("migrate-set-capabilities", capabilities=CAPS)
        q.events.clear()
        q.cmd("migrate", uri="unix:" + mig)
        status = wait_migration(q, 600)
        q.drain()
        seen = order_unplug(q.events) + [status]
        at = {e: seen.index(e) if e in seen else -1
              for e in ("active", "unplug", "released", "stop")}
        passes = [i for i, e in enumerate(seen) if e == "pass"]
        tap.diag("late unplug: the source's events: " + " ".join(seen))
        tap.ok(status == "completed" and
               any(0 <= at["active"] < i < at["unplug"] for i in passes) and
               at["unplug"] < at["released"] < at["stop"],
               "late unplug: QEMU asked for td0 after pre-copy's first RAM "
               "pass, and the guest released it before the source stopped",
               "status %s, events %s" % (status, seen))
        ack = wait_ack(dq, 2, 120)
        # The guest's watcher prints on whichever side it runs by then.
        deadline = time.monotonic() + 60
        while True:
            text = "".join(open(f, errors="replace").read()
                           for f in (log, dlog))
            if "DDSTEP released" in text or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        tap.ok("dmadirty_dmatest: remove: unmapped the held buffer (4 pages)"
               in text, "late unplug: the guest's driver unmapped its "
               "4-page buffer as td0 left", text[-2000:])
        counts = released(log, dlog)
        tap.ok(counts is not None and counts[1] - counts[0] >= 4,
               "late unplug: dirtying was on then: dmadirty marked the "
               "buffer's pages (marked before, after: %s)" % (counts,))
        found = dq.cmd("qom-list", path="/machine/peripheral")
        tap.ok(not ack["dirtying"] and
               dq.cmd("query-status")["status"] == "running" and
               "td0" not in [p["name"] for p in found],
               "late unplug: the destination runs without td0, and its "
               "guest acked idle", "%s, %s" % (ack, found))
    finally:
        for p, c in procs:
            qmp.stop(p, c)


def refused_unplug(tap, qemu, work, kver, initrd):
    # The guest ignores the ACPI eject request: nothing releases td0.
    proc, log, qsock, _ = boot(qemu, work, "rsrc", kver, initrd, BRIDGE,
                               "-device", TESTDEV,
                               append=("acpiphp.disable=1",))
    q = None
    try:
        q = qmp.Qmp(qsock)
        if not tap.ok(wait_log(log, "DDSTEP agent-up", proc, 180),
                      "refused unplug: the guest's agent is up"):
            return
        try:
            q.cmd("migrate", uri="exec:cat >/dev/null")
            err = "migrate was accepted"
        except qmp.QmpError as e:
            err = str(e)
        tap.ok("device 'td0' has x-dma-dirty-unplug=on" in err and
               "only with capability x-dma-dirty" in err,
               "refused unplug: without the capability, migrate refuses: " +
               err)
        q.cmd("migrate-set-capabilities", capabilities=CAPS)
        q.cmd("migrate-set-parameters", **{"x-dma-dirty-ack-timeout": 3000})
        q.cmd("migrate", uri="exec:cat >/dev/null")
        status = wait_migration(q, 600)
        err = q.cmd("query-migrate").get("error-desc", "")
        tap.ok(status == "failed" and "the guest did not release device "
               "'td0' within 3000 ms" in err,
               "refused unplug: the migration fails at the timeout: " + err,
               status)
        info = wait_idle(q)
        realized = q.cmd("qom-get", path="/machine/peripheral/td0",
                         property="realized")
        tap.ok(realized and info["host-state"] == "idle" and
               q.cmd("query-status")["status"] == "running",
               "refused unplug: td0 stays with the running source, its "
               "bridge idle", "%s, %s" % (realized, info))
    finally:
        qmp.stop(proc, q)


def main():
    qemu, work, kver, ko, dmatest, agent_bin = sys.argv[1:7]
    tap = qmp.Tap()
    with_ko = initramfs(work, kver, "guest-agent", "guest-agent.sh",
                        "--ko", ko, "--bin", agent_bin)
    no_ko = initramfs(work, kver, "guest-nomodule", "guest-nomodule.sh")
    unplug = initramfs(work, kver, "guest-unplug", "guest-unplug.sh",
                       "--ko", ko, "--ko", dmatest, "--bin", agent_bin)
    for name, fn, initrd in (("module", with_module, with_ko),
                             ("no module", without_module, no_ko),
                             ("late unplug", late_unplug, unplug),
                             ("refused unplug", refused_unplug, unplug)):
        try:
            fn(tap, qemu, work, kver, initrd)
        except (qmp.QmpError, TimeoutError, EOFError, OSError, KeyError,
                ValueError):
            tap.ok(False, "%s: host side" % name, traceback.format_exc())
        if tap.failed:
            for log in ("src", "dst", "nomod", "lsrc", "ldst", "rsrc"):
                path = os.path.join(work, log + ".log")
                if os.path.exists(path):
                    tap.diag("---- %s\n%s" % (path, open(
                        path, errors="replace").read()[-3000:]))
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())

"""The patched QEMU's x-dma-dirty migration capability with the guest
package (dmadirty.ko + dmadirty-agent) in the guest, and nothing else: no
dmadirtyctl, no RPC on the agent channel, and no QMP but
migrate-set-capabilities and migrate to drive the migration (queries only
check the outcome afterwards).

Usage: capability_test.py PATCHED_QEMU WORKDIR KVER KO AGENT

  - cancel: a migration that the guest acknowledged, cancelled in
    pre-copy, returns the guest to dirtying off;
  - handshake: a plain migrate runs the whole handshake, shown by the
    source's event order (setup, x-wait-dma-dirty, the guest's
    DMA_DIRTY_ACK with dirtying on, active, completed), and the
    destination sets idle after the switchover, which the guest acks
    with dirtying off;
  - no module: a guest without dmadirty.ko fails the migration at
    x-dma-dirty-ack-timeout, with an error naming the bridge, and the
    source stays running with its bridge idle.
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


def main():
    qemu, work, kver, ko, agent_bin = sys.argv[1:6]
    tap = qmp.Tap()
    with_ko = initramfs(work, kver, "guest-agent", "guest-agent.sh",
                        "--ko", ko, "--bin", agent_bin)
    no_ko = initramfs(work, kver, "guest-nomodule", "guest-nomodule.sh")
    for name, fn, initrd in (("module", with_module, with_ko),
                             ("no module", without_module, no_ko)):
        try:
            fn(tap, qemu, work, kver, initrd)
        except (qmp.QmpError, TimeoutError, EOFError, OSError, KeyError,
                ValueError):
            tap.ok(False, "%s: host side" % name, traceback.format_exc())
        if tap.failed:
            for log in ("src", "dst", "nomod"):
                path = os.path.join(work, log + ".log")
                if os.path.exists(path):
                    tap.diag("---- %s\n%s" % (path, open(
                        path, errors="replace").read()[-3000:]))
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())

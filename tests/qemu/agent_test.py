"""The guest package (dmadirty.ko + dmadirty-agent) against the patched
QEMU's vendor block, and against the stock QEMU that has none.

Usage: agent_test.py PATCHED_QEMU STOCK_QEMU WORKDIR KVER KO AGENT

On the patched QEMU (pci-bridge,x-dma-dirty=on):
  - the module finds the block (guest-dma-dirty-status: bridge present);
  - guest-dma-dirty-enable makes the guest ack its generation, and the
    DMA_DIRTY_ACK event has reached the host when the RPC reply does;
  - disable acks with dirtying off;
  - x-dma-dirty-set-host-state alone (no RPC) makes the agent enable and
    disable dirtying, seen in the event, the query and the agent's status.
  - after a live migration to a second patched QEMU the destination's
    block state is the source's, and the guest acks the host there.
On the stock QEMU the same guest answers enable/disable with ack "none".
"""

import json
import os
import select
import subprocess
import sys
import time
import traceback

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import qmp  # noqa: E402
from guest_test import VM_SH, vm_boot  # noqa: E402


class Agent:
    """A QGA-protocol client on the host end of the virtio-serial port."""

    def __init__(self, path, timeout=60):
        self.sock = qmp.connect_unix(path, timeout, "chardev socket")
        self.buf = b""

    def send(self, cmd, **args):
        msg = {"execute": cmd}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode())

    def readable(self):
        return b"\n" in self.buf

    def read_some(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("agent channel closed")
        self.buf += data

    def reply(self, timeout=30):
        deadline = time.monotonic() + timeout
        while not self.readable():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no agent reply")
            if select.select([self.sock], [], [], left)[0]:
                self.read_some()
        line, self.buf = self.buf.split(b"\n", 1)
        resp = json.loads(line.lstrip(b"\xff"))
        if "error" in resp:
            raise qmp.QmpError("agent", resp["error"])
        return resp["return"]

    def sync(self, timeout=90):
        """guest-sync until the agent answers (it starts after the boot)."""
        deadline = time.monotonic() + timeout
        n = 4242
        while time.monotonic() < deadline:
            n += 1
            self.send("guest-sync", id=n)
            try:
                while True:
                    if self.reply(2) == n:
                        return True
            except TimeoutError:
                continue
        return False

    def call(self, cmd, **args):
        self.send(cmd, **args)
        return self.reply()


def boot(qemu, work, name, kver, initrd, bridge, *extra, append=()):
    log = os.path.join(work, name + ".log")
    qsock = os.path.join(work, name + ".qmp")
    asock = os.path.join(work, name + ".agent")
    proc = vm_boot(qemu, log, kver, initrd, 300,
                   "-device", bridge,
                   "-device", "virtio-serial-pci",
                   "-chardev", "socket,id=ag,path=%s,server=on,wait=off"
                   % asock,
                   "-device", "virtserialport,chardev=ag,"
                   "name=org.dmadirty.agent.0",
                   "-qmp", "unix:%s,server=on,wait=off" % qsock,
                   *extra, append=append)
    return proc, log, qsock, asock


def enable_before_reply(agent, q, cmd):
    """Sends CMD over the agent channel, reading the agent and QMP sockets
    as data arrives.  Returns (reply, events that had arrived by the time
    the reply was read, QMP socket included)."""
    agent.send(cmd)
    deadline = time.monotonic() + 60
    while not agent.readable():
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no reply to %s" % cmd)
        ready = select.select([agent.sock, q.sock], [], [], left)[0]
        if agent.sock in ready:
            agent.read_some()
        if q.sock in ready:
            q.drain()
    reply = agent.reply()
    # Whatever QMP has delivered by now arrived before the reply was read.
    q.drain()
    acks = [e["data"] for e in q.events if e["event"] == "DMA_DIRTY_ACK"]
    q.events = [e for e in q.events if e["event"] != "DMA_DIRTY_ACK"]
    return reply, acks


def wait_status(agent, key, want, timeout=30):
    deadline = time.monotonic() + timeout
    st = None
    while time.monotonic() < deadline:
        st = agent.call("guest-dma-dirty-status")
        if st.get(key) == want:
            return True, st
        time.sleep(0.2)
    return False, st


def patched(tap, qemu, work, kver, initrd):
    bridge_dev = "pci-bridge,id=br0,chassis_nr=1,x-dma-dirty=on"
    proc, log, qsock, asock = boot(qemu, work, "patched", kver, initrd,
                                   bridge_dev)
    procs = [(proc, None)]
    q = agent = None
    try:
        q = qmp.Qmp(qsock)
        procs[0] = (proc, q)
        agent = Agent(asock)
        if not tap.ok(agent.sync(), "patched: agent answers guest-sync"):
            return
        st = agent.call("guest-dma-dirty-status")
        bridge = st.get("bridge", {})
        tap.ok(bridge.get("present") is True,
               "patched: the module finds the QEMU bridge block", st)

        reply, acks = enable_before_reply(agent, q, "guest-dma-dirty-enable")
        gen = reply.get("generation")
        tap.ok(reply.get("enabled") is True and reply.get("ack") == "bridge",
               "patched: enable replies enabled, ack bridge", reply)
        tap.ok(any(a["sequence"] == gen and a["dirtying"] for a in acks),
               "patched: DMA_DIRTY_ACK for generation %s arrived before the "
               "RPC reply" % gen, "acks seen: %s" % acks)
        info = q.cmd("x-query-dma-dirty", device="br0")[0]
        tap.ok(info["guest-ack"] == gen and info["guest-dirtying"],
               "patched: query shows generation %s acked, dirtying on" % gen,
               info)

        reply, acks = enable_before_reply(agent, q, "guest-dma-dirty-disable")
        gen = reply.get("generation")
        tap.ok(reply.get("enabled") is False and
               any(a["sequence"] == gen and not a["dirtying"] for a in acks),
               "patched: disable acks generation %s with dirtying off" % gen,
               "reply %s, acks %s" % (reply, acks))
        info = q.cmd("x-query-dma-dirty", device="br0")[0]
        tap.ok(not info["guest-dirtying"] and info["guest-ack"] == gen,
               "patched: query shows dirtying off", info)

        # The host alone: no RPC starts this.
        r = q.cmd("x-dma-dirty-set-host-state", device="br0", state="precopy")
        seq = r["host-sequence"]
        ev = q.wait_event("DMA_DIRTY_ACK", 30,
                          lambda e: e["sequence"] == seq)["data"]
        tap.ok(ev["dirtying"] is True,
               "patched: host state precopy over QMP alone: guest acked "
               "sequence %d with dirtying on" % seq, ev)
        info = q.cmd("x-query-dma-dirty", device="br0")[0]
        tap.ok(info["guest-dirtying"] and info["guest-ack"] == seq,
               "patched: query shows the host-requested dirtying", info)
        ok, st = wait_status(agent, "enabled", True)
        tap.ok(ok and st.get("bridge", {}).get("host-state") == 1,
               "patched: the agent enabled dirtying for the host", st)

        # Migration while the host wants dirtying: the destination's
        # block is the source's, and the guest package keeps answering
        # the host there.
        before = q.cmd("x-query-dma-dirty")
        mig = os.path.join(work, "mig.sock")
        dproc, dlog, dqsock, dasock = boot(qemu, work, "patched-dst", kver,
                                           initrd, bridge_dev, "-incoming",
                                           "unix:" + mig)
        procs.append((dproc, None))
        dq = qmp.Qmp(dqsock)
        procs[-1] = (dproc, dq)
        dagent = Agent(dasock)
        qmp.migrate_paused(q, mig)
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline:
            status = q.cmd("query-migrate").get("status")
            if status in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.2)
        tap.ok(status == "completed", "patched: migration completes",
               status)
        qmp.resume_migrated(dq)
        after = dq.cmd("x-query-dma-dirty")
        tap.ok(after == before and after[0]["guest-dirtying"],
               "patched: after migration the destination's block state is "
               "the source's", "source %s\ndestination %s" % (before, after))

        r = dq.cmd("x-dma-dirty-set-host-state", device="br0", state="idle")
        seq = r["host-sequence"]
        ev = dq.wait_event("DMA_DIRTY_ACK", 30,
                           lambda e: e["sequence"] == seq)["data"]
        tap.ok(seq == before[0]["host-sequence"] + 1 and
               ev["dirtying"] is False,
               "patched: host state idle on the destination: guest acked "
               "sequence %d with dirtying off" % seq, ev)
        ok, st = wait_status(dagent, "enabled", False)
        tap.ok(ok, "patched: the agent disabled dirtying", st)
    finally:
        for p, c in procs:
            qmp.stop(p, c)
        if tap.failed:
            for name in ("patched.log", "patched-dst.log"):
                path = os.path.join(work, name)
                if os.path.exists(path):
                    tap.diag("---- %s\n%s" % (path, open(
                        path, errors="replace").read()[-3000:]))


def stock(tap, qemu, work, kver, initrd):
    proc, log, qsock, asock = boot(qemu, work, "stock", kver, initrd,
                                   "pci-bridge,id=br0,chassis_nr=1")
    q = None
    try:
        q = qmp.Qmp(qsock)
        agent = Agent(asock)
        if not tap.ok(agent.sync(), "stock: agent answers guest-sync"):
            return
        st = agent.call("guest-dma-dirty-status")
        tap.ok(st.get("bridge", {}).get("present") is False,
               "stock: no bridge block", st)
        reply = agent.call("guest-dma-dirty-enable")
        tap.ok(reply.get("enabled") is True and reply.get("ack") == "none",
               "stock: enable works with ack none", reply)
        reply = agent.call("guest-dma-dirty-disable")
        tap.ok(reply.get("enabled") is False and reply.get("ack") == "none",
               "stock: disable works with ack none", reply)
        try:
            q.cmd("x-query-dma-dirty")
            tap.ok(False, "stock: QEMU has no x-query-dma-dirty")
        except qmp.QmpError as e:
            tap.ok(e.error_class == "CommandNotFound",
                   "stock: QEMU has no x-query-dma-dirty", e)
    finally:
        qmp.stop(proc, q)
        if tap.failed:
            tap.diag("---- %s\n%s" % (log, open(log, errors="replace")
                                      .read()[-3000:]))


def main():
    qemu, stock_qemu, work, kver, ko, agent_bin = sys.argv[1:7]
    tap = qmp.Tap()
    initrd = os.path.join(work, "guest-agent.cpio.gz")
    args = [initrd, kver, os.path.join(here, "guest-agent.sh"),
            "--ko", ko, "--bin", agent_bin]
    for m in ("virtio_pci", "virtio_console"):
        if subprocess.run(["bash", "-c", '. "$0"; _vm_mod_deps "$@"', VM_SH,
                           kver, m], capture_output=True).returncode == 0:
            args += ["--module", m]
    subprocess.run(["bash", "-c", '. "$0"; vm_initramfs "$@"', VM_SH] + args,
                   check=True)
    for name, fn, q in (("patched", patched, qemu),
                        ("stock", stock, stock_qemu)):
        try:
            fn(tap, q, work, kver, initrd)
        except (qmp.QmpError, TimeoutError, EOFError, OSError, KeyError):
            tap.ok(False, "%s: host side" % name, traceback.format_exc())
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())

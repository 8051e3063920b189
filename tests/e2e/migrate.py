#!/usr/bin/env python3
"""End-to-end migration test of dmadirty: the host half.

Boots a guest under qemu-system-x86_64 -accel tcg with its RAM in a shared
file, and live-migrates it to a second QEMU process on this machine while
acting as a pass-through device: during pre-copy it writes a known pattern
into pages the guest driver (guest/dmadirty_e2e.c) mapped DMA_FROM_DEVICE,
through the source's RAM file, which QEMU's dirty log never sees.  Then the
driver unmaps, syncs and frees those buffers, the migration converges, and
the pattern is checked in the destination's RAM file and by the destination
guest.

Each configuration (kernel, with or without a vIOMMU) boots one guest and
migrates it twice: first with DMA dirtying enabled through dmadirtyctl (and
disabled on the destination afterwards, which also checks that the agent
answers after a migration), then back to a fresh process without it.  The
first must bring every page across intact, the second must lose pages:
that proves the test can fail.

Prints TAP (one line per check, plan last) and the result table as TAP
comments.  Exit status: 0 when every check passed.
"""

import argparse
import json
import mmap
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback

PAGE = 4096
POISON = 0xA5              # what the guest driver fills its buffers with
GOLDEN = 0x9E3779B97F4A7C15
MASK64 = (1 << 64) - 1
VARIANTS = ("single", "sg", "sync", "coherent")
CONTROL = "touch"          # pages the guest CPU writes itself
OTHER = "other RAM"        # table row: pages outside the test (see lost_pages)

# QEMU's TCG before 9.0 loses guest CPU stores to the migration (upstream
# "physmem: Fix migration dirty bitmap coherency with TCG memory access"):
# such a QEMU cannot tell a DMA page lost from one its own bug lost, so the
# test refuses it rather than repair pages behind its back.
TCG_DIRTY_FIXED = (9, 0)


LEGEND = """
Each row: pages of one kind of DMA_FROM_DEVICE buffer that the "device" (the
host, through the source VM's RAM file, unseen by QEMU's dirty log) wrote
during pre-copy, and how many of them reached the destination intact when
the guest had DMA dirtying on (enabled through dmadirtyctl) and when it had
it off.  single: dma_map_page + unmap; sg: dma_map_sg + unmap; sync:
dma_sync_single_for_cpu on a buffer that stays mapped; coherent:
dma_alloc_coherent, freed before switchover; touch: pages the guest CPU
writes itself, the harness's control (always intact).  other RAM: pages
outside the test that differed between the paused source and the
destination after the switchover: there must be none, or the run fails
(nothing is repaired)."""


def read_log(path):
    """A console log's text; empty before QEMU has created the file."""
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


class HarnessError(Exception):
    """The harness could not run a step (not a test verdict)."""


def pattern(phys, length, seed):
    """The bytes the "device" writes at phys (see dmadirty_e2e_word())."""
    words = [((phys + 8 * i) * GOLDEN + seed) & MASK64
             for i in range(length // 8)]
    return struct.pack("<%dQ" % len(words), *words)


def xor64(data):
    """XOR of the little-endian 64-bit words of data (the guest's xorsum)."""
    acc = 0
    for w in memoryview(data).cast("Q"):
        acc ^= w
    return acc


def wait_for(pred, timeout, what, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise HarnessError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(step)


class LineSocket:
    """A unix-socket client that reads line by line with a deadline."""

    def __init__(self, path, timeout):
        self.path = path
        self.buf = b""
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        wait_for(lambda: self._try_connect(), timeout, "socket %s" % path)

    def _try_connect(self):
        try:
            self.sock.connect(self.path)
            return True
        except (FileNotFoundError, ConnectionRefusedError):
            return False

    def send(self, data):
        try:
            self.sock.sendall(data)
        except OSError as err:
            raise HarnessError("%s: %s" % (self.path, err))

    def readline(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise HarnessError("no reply on %s within %ss" % (self.path, timeout))
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError as err:
                raise HarnessError("%s: %s" % (self.path, err))
            if not chunk:
                raise HarnessError("%s closed" % self.path)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode("utf-8", "replace")

    def close(self):
        self.sock.close()


class Qmp:
    def __init__(self, path, timeout=30):
        self.events = []
        self.sock = LineSocket(path, timeout)
        greeting = json.loads(self.sock.readline(timeout))
        if "QMP" not in greeting:
            raise HarnessError("not a QMP greeting: %r" % greeting)
        self.cmd("qmp_capabilities")

    def cmd(self, name, timeout=30, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.send(json.dumps(msg).encode() + b"\n")
        while True:
            reply = json.loads(self.sock.readline(timeout))
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise HarnessError("QMP %s: %s" % (name, reply["error"].get("desc")))
            return reply["return"]

    def wait_event(self, name, pred, timeout):
        """The first event NAME whose data satisfies pred, queued or new."""
        deadline = time.monotonic() + timeout
        while True:
            for ev in self.events:
                if ev["event"] == name and pred(ev.get("data", {})):
                    self.events.remove(ev)
                    return ev["data"]
            left = deadline - time.monotonic()
            if left <= 0:
                raise HarnessError("no %s event within %ss" % (name, timeout))
            try:
                reply = json.loads(self.sock.readline(left))
            except HarnessError:
                continue
            if "event" in reply:
                self.events.append(reply)

    def close(self):
        self.sock.close()


class Guest:
    """The test driver, through the bridge on port org.dmadirty.e2e.0."""

    def __init__(self, path, timeout=60):
        self.sock = LineSocket(path, timeout)

    def cmd(self, line, timeout=120):
        self.sock.send(line.encode() + b"\n")
        status = self.sock.readline(timeout)
        out = []
        while True:
            reply = self.sock.readline(timeout)
            if reply == "END":
                break
            out.append(reply)
        if status != "OK":
            raise HarnessError("guest command %r failed (%s)" % (line, status))
        return out

    def close(self):
        self.sock.close()


class Vm:
    """One QEMU process, its RAM in a file under /dev/shm."""

    def __init__(self, opts, workdir, name, incoming=False):
        self.name = name
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir)
        self.ram = os.path.join(opts.shm, "dmadirty-e2e-%d-%s-%s" %
                                (os.getpid(), os.path.basename(workdir), name))
        self.log = os.path.join(self.dir, "console.log")
        self.qmp_path = os.path.join(self.dir, "qmp.sock")
        self.agent_path = os.path.join(self.dir, "agent.sock")
        self.e2e_path = os.path.join(self.dir, "e2e.sock")
        mem = "%dM" % opts.mem
        machine = "q35" if opts.iommu else "pc"
        append = "console=ttyS0 panic=-1 oops=panic quiet loglevel=4 rdinit=/init"
        if opts.iommu:
            append += " intel_iommu=on iommu=nopt"
        args = [opts.bridge_qemu if opts.bridge else opts.qemu,
                "-accel", "tcg", "-name", name,
                "-machine", "%s,memory-backend=ram" % machine,
                "-object", "memory-backend-file,id=ram,size=%s,mem-path=%s,share=on"
                % (mem, self.ram),
                "-m", mem, "-smp", "1",
                "-nodefaults", "-display", "none", "-no-reboot", "-net", "none",
                "-serial", "file:" + self.log,
                "-kernel", opts.kernel, "-initrd", opts.initrd, "-append", append,
                "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path]
        if opts.iommu:
            args += ["-device", "intel-iommu,intremap=off"]
        if opts.bridge:
            # The patched QEMU's vendor block (packaging/qemu), on an
            # empty bridge: the module searches bridges first.
            args += ["-device", "pci-bridge,id=br0,chassis_nr=1,x-dma-dirty=on"]
        args += ["-device", "virtio-serial-pci,id=vser0",
                 "-chardev", "socket,id=agent,path=%s,server=on,wait=off" % self.agent_path,
                 "-device", "virtserialport,bus=vser0.0,chardev=agent,name=org.dmadirty.agent.0",
                 "-chardev", "socket,id=e2e,path=%s,server=on,wait=off" % self.e2e_path,
                 "-device", "virtserialport,bus=vser0.0,chardev=e2e,name=org.dmadirty.e2e.0",
                 "-device", "pci-testdev"]
        if incoming:
            # -S: stay paused after the migration, so the RAM file is read
            # before the guest runs again.
            args += ["-incoming", "defer", "-S"]
        with open(os.path.join(self.dir, "qemu.args"), "w") as f:
            f.write(" ".join(args) + "\n")
        self.stderr = open(os.path.join(self.dir, "qemu.stderr"), "w")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=self.stderr, stderr=self.stderr)
        self.guest = None
        self.qmp = None

        def started():
            if self.proc.poll() is not None:
                with open(self.stderr.name, errors="replace") as f:
                    raise HarnessError("%s: QEMU exited (%s): %s" % (
                        name, self.proc.returncode, f.read().strip()[-1000:]))
            return os.path.exists(self.qmp_path)
        try:
            wait_for(started, 30, "%s's QMP socket" % name)
            self.qmp = Qmp(self.qmp_path)
            ver = self.qmp.cmd("query-version")
        except HarnessError:
            self.stop()
            raise
        self.version = tuple(ver["qemu"][k] for k in ("major", "minor", "micro"))
        opts.versions[args[0]] = " ".join(
            [".".join(map(str, self.version)), ver.get("package", "").strip()]).strip()
        if self.version < TCG_DIRTY_FIXED:
            self.stop()
            raise HarnessError("%s is QEMU %s, whose TCG loses guest stores during "
                               "pre-copy (fixed in 9.0): the test needs 9.0 or later "
                               "(tests/deps installs 10.0 from bookworm-backports)" % (
                                   args[0], opts.versions[args[0]]))

    def console(self):
        return read_log(self.log)

    def wait_ready(self, timeout):
        def ready():
            if self.proc.poll() is not None:
                raise HarnessError("%s: QEMU exited (%s)" % (self.name, self.proc.returncode))
            text = self.console()
            if "E2E-FAIL" in text or "VM: test.sh exit" in text:
                raise HarnessError("%s: guest failed:\n%s" % (self.name, text[-2000:]))
            return "E2E-READY" in text
        wait_for(ready, timeout, "%s to boot" % self.name, 0.2)

    def connect_guest(self):
        self.guest = Guest(self.e2e_path)

    def stop(self):
        for closer in (self.guest, self.qmp):
            if closer:
                try:
                    closer.close()
                except OSError:
                    pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()
        try:
            os.unlink(self.ram)
        except FileNotFoundError:
            pass


class Ctl:
    """dmadirtyctl, the project's host client, on an agent chardev socket."""

    def __init__(self, path, timeout):
        self.path = path
        self.timeout = timeout

    def run(self, sock, *cmd):
        args = [self.path, "--socket", sock, "--timeout", str(self.timeout),
                "--json"] + list(cmd)
        res = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True,
                             text=True, timeout=self.timeout * 3 + 10)
        if res.returncode != 0:
            raise HarnessError("%s: exit %d: %s" % (" ".join(args), res.returncode,
                                                  (res.stderr or res.stdout).strip()))
        try:
            return json.loads(res.stdout)
        except ValueError:
            raise HarnessError("%s: not JSON: %r" % (" ".join(args), res.stdout))


def migration_status(qmp):
    return qmp.cmd("query-migrate")


def migrate_once(opts, ctl, tap, src, dst, enable, log):
    """One migration of src to dst; returns per-variant counts.

    enable: "rpc" (dmadirtyctl enable, then disable on the destination),
    "bridge" (the vendor block's host state), "capability" (QEMU's
    x-dma-dirty migration capability drives the vendor block: no host
    tooling), or "off"."""
    if enable not in ("rpc", "bridge", "capability", "off"):
        raise ValueError(enable)
    seed = random.getrandbits(64)
    counts = opts.counts
    lines = src.guest.cmd("setup %d %d %d %d %d" % (
        counts["single"], counts["sg"], counts["sync"], counts["coherent"],
        counts[CONTROL]))
    pages = []
    translated = 0
    for line in lines:
        variant, phys, length, dma = line.split()
        pages.append((variant, int(phys, 16), int(length)))
        if variant in ("single", "sync") and int(dma, 16) != int(phys, 16):
            translated += 1
    # Behind the vIOMMU every streaming mapping is an IOVA; without it x86
    # maps directly.  Either way the harness must know where the device
    # writes land, which is the physical page.
    nstream = counts["single"] + counts["sync"]
    if translated != (nstream if opts.iommu else 0):
        raise HarnessError("%d of %d streaming mappings translated, expected %s" % (
            translated, nstream, "all" if opts.iommu else "none"))
    ram_size = opts.mem << 20
    for variant, phys, length in pages:
        if phys + length > ram_size:
            raise HarnessError("page %#x beyond the RAM file" % phys)
    regions = {phys >> 24 for _v, phys, _l in pages}
    log("%s: %d pages mapped by the guest driver, %#x-%#x, in %d of the %d "
        "16 MiB regions of RAM" % (src.name, len(pages), min(p[1] for p in pages),
                                   max(p[1] for p in pages), len(regions),
                                   ram_size >> 24))

    before = ctl.run(src.agent_path, "status")
    if enable == "rpc":
        reply = ctl.run(src.agent_path, "enable")
        log("enable: %s" % json.dumps(reply))
        if not reply.get("enabled"):
            raise HarnessError("enable did not report enabled: %r" % reply)
    elif enable == "bridge":
        # No RPC: the host state in the bridge's vendor block alone makes
        # the module tell the agent, which enables dirtying and acks.
        set_host_state(src, "precopy", True, log)

    src.guest.cmd("churn on")
    # The destination's ports must have their host end connected when the
    # guest resumes there, or the bridge loop reads EOF.
    dst.connect_guest()

    # Pre-copy that keeps iterating: with 1 ms of downtime and a bandwidth
    # cap, the ~8000 pages the guest rewrites per iteration never fit.
    # (A downtime limit of 0 does not work: QEMU then never re-syncs the
    # dirty bitmap and completes at the end of the first pass.)
    for q in (src.qmp, dst.qmp):
        q.cmd("migrate-set-parameters", **{"downtime-limit": 1,
                                           "max-bandwidth": opts.bandwidth << 20})
        if opts.capability:
            # Set either way: a destination becomes the next source.
            q.cmd("migrate-set-capabilities", capabilities=[{
                "capability": "x-dma-dirty", "state": enable == "capability"}])
    sock = os.path.join(dst.dir, "migrate.sock")
    dst.qmp.cmd("migrate-incoming", uri="unix:" + sock)
    wait_for(lambda: os.path.exists(sock), 10, "incoming socket")
    t0 = time.monotonic()
    src.qmp.cmd("migrate", uri="unix:" + sock)

    def first_pass_done():
        st = migration_status(src.qmp)
        if st.get("status") in ("failed", "cancelled", "completed"):
            raise HarnessError("migration %s during the first pass: %s" % (
                st.get("status"), json.dumps(st)))
        return st.get("ram", {}).get("dirty-sync-count", 0) >= 2 and st
    st = wait_for(first_pass_done, opts.timeout, "the first RAM pass", 0.02)
    log("first RAM pass done after %.1fs (%d MiB transferred)" % (
        time.monotonic() - t0, st["ram"]["transferred"] >> 20))

    # Act as the device: write the pattern straight into the source's RAM.
    with open(src.ram, "r+b") as f:
        mm = mmap.mmap(f.fileno(), ram_size)
        for variant, phys, length in pages:
            mm[phys:phys + length] = pattern(phys, length, seed)
        mm.close()

    # The device is done: the driver unmaps, syncs and frees its buffers.
    # Pre-copy must still be iterating, or the test proves nothing; once
    # the guest has answered, it ran finish before the switchover.
    st = migration_status(src.qmp)
    if st.get("status") != "active":
        raise HarnessError("migration %s before the device was done" % st.get("status"))
    try:
        src.guest.cmd("finish")
    except HarnessError as err:
        raise HarnessError("%s (migration %s)" % (err, migration_status(src.qmp).get("status")))
    # What the module says it did between enable and now, as a cross-check
    # of the pages found: every DMA page marked with dirtying on, none off.
    # Asked while pre-copy still holds: once the limits below are lifted,
    # the switchover can stop the source before its agent has answered.
    status = ctl.run(src.agent_path, "status")
    log("source agent status after finish: %s" % json.dumps(status))
    marked = (status.get("counters", {}).get("pages_marked", 0) -
              before.get("counters", {}).get("pages_marked", 0))
    src.qmp.cmd("migrate-set-parameters", **{"downtime-limit": 300,
                                             "max-bandwidth": 1 << 30})

    def converged():
        s = migration_status(src.qmp).get("status")
        if s in ("failed", "cancelled"):
            raise HarnessError("migration %s" % s)
        return s == "completed"
    wait_for(converged, opts.timeout, "the migration to converge", 0.1)
    st = migration_status(src.qmp)
    log("migration completed in %.1fs: %d sync rounds, %d MiB, downtime %s ms" % (
        time.monotonic() - t0, st["ram"]["dirty-sync-count"],
        st["ram"]["transferred"] >> 20, st.get("downtime")))
    wait_for(lambda: dst.qmp.cmd("query-status")["status"] != "inmigrate", 30,
             "the destination to take over")

    # The destination is paused (-S): read its RAM before it runs again.
    host = {v: [0, 0] for v in VARIANTS + (CONTROL,)}
    xors = {v: 0 for v in VARIANTS + (CONTROL,)}
    stale = {}
    other = {}
    poison = bytes([POISON]) * PAGE
    with open(dst.ram, "rb") as f:
        mm = mmap.mmap(f.fileno(), ram_size, prot=mmap.PROT_READ)
        for variant, phys, length in pages:
            host[variant][0] += 1
            data = mm[phys:phys + length]
            xors[variant] ^= xor64(data)
            if data == pattern(phys, length, seed):
                host[variant][1] += 1
            elif data == poison[:length]:
                stale[variant] = stale.get(variant, 0) + 1
            else:
                # neither the device's data nor the buffer's old content:
                # the page was reused after it was freed
                other.setdefault(variant, []).append("%#x" % phys)
        mm.close()
    log("destination RAM: intact %s, stale %s, other %s" % (
        {v: c[1] for v, c in host.items()}, stale, other))
    lost = lost_pages(src.ram, dst.ram, ram_size,
                      {phys // PAGE for _v, phys, _l in pages})
    version = ".".join(map(str, src.version))
    if lost:
        raise HarnessError("%d pages outside the test differ between the paused "
                           "source and the destination (QEMU %s): %s" % (
                               len(lost), version,
                               " ".join("%#x" % (pfn * PAGE) for pfn in lost[:16])))
    log("no page outside the test differs (QEMU %s)" % version)
    dst.qmp.cmd("cont")

    guest = {}
    for line in dst.guest.cmd("verify %x" % seed):
        variant, npages, intact, xor = line.split()
        guest[variant] = (int(npages), int(intact))
        # The guest read the very bytes the host found (freed coherent
        # pages excepted: the running guest may reuse them by now).
        if variant != "coherent" and int(xor, 16) != xors.get(variant):
            raise HarnessError("%s: the destination guest read other data than "
                               "its RAM file holds (xor %s, file %#x)" % (
                                   variant, xor, xors.get(variant, -1)))
    dst.guest.cmd("churn off")
    dst.guest.cmd("release")

    if enable == "rpc":
        # The agent moved with the guest: it must answer on the destination.
        reply = ctl.run(dst.agent_path, "disable")
        log("disable on the destination: %s" % json.dumps(reply))
        if reply.get("enabled") is not False:
            raise HarnessError("disable did not report disabled: %r" % reply)
    elif enable == "bridge":
        set_host_state(dst, "idle", False, log)
    elif enable == "capability":
        # The destination asked for idle after the switchover by itself.
        ack = dst.qmp.wait_event("DMA_DIRTY_ACK",
                                 lambda d: d.get("dirtying") is False, 60)
        log("%s: idle acked after the switchover: %s" % (dst.name, json.dumps(ack)))
    return host, guest, marked, len(lost)


def lost_pages(src_path, dst_path, size, test_pfns):
    """The page frames, outside the test, where the destination's RAM
    differs from the paused source's.

    Both VMs are stopped: the source after switchover, the destination by
    -S, so a correct migration leaves the two files equal; any page here
    fails the run.  The test pages have already been checked and are never
    compared here."""
    chunk = 1 << 20
    lost = []
    with open(src_path, "rb") as fs, open(dst_path, "rb") as fd:
        ms = mmap.mmap(fs.fileno(), size, prot=mmap.PROT_READ)
        md = mmap.mmap(fd.fileno(), size, prot=mmap.PROT_READ)
        for base in range(0, size, chunk):
            if ms[base:base + chunk] == md[base:base + chunk]:
                continue
            for off in range(base, base + chunk, PAGE):
                if (off // PAGE not in test_pfns and
                        ms[off:off + PAGE] != md[off:off + PAGE]):
                    lost.append(off // PAGE)
        md.close()
        ms.close()
    return lost


def set_host_state(vm, state, dirtying, log):
    """x-dma-dirty-set-host-state, then wait for the guest's ack of it."""
    vm.qmp.events = [e for e in vm.qmp.events if e["event"] != "DMA_DIRTY_ACK"]
    vm.qmp.cmd("x-dma-dirty-set-host-state", device="br0", state=state)
    ack = vm.qmp.wait_event("DMA_DIRTY_ACK", lambda d: d.get("dirtying") is dirtying, 60)
    log("%s: host state %s acked: %s" % (vm.name, state, json.dumps(ack)))


class Tap:
    def __init__(self, first=1, quiet=False):
        self.n = first - 1
        self.failed = 0
        self.quiet = quiet

    def check(self, ok, what):
        self.n += 1
        if not ok:
            self.failed += 1
        if not ok or not self.quiet:
            print("%s %d - %s" % ("ok" if ok else "not ok", self.n, what), flush=True)

    def diag(self, text):
        for line in text.splitlines():
            print("# " + line, flush=True)


def run_config(opts, ctl, tap, table):
    label = opts.kver + (" iommu" if opts.iommu else "") + (
        " capability" if opts.capability else " bridge" if opts.bridge else "")
    how_on = "capability" if opts.capability else "bridge" if opts.bridge else "rpc"
    modes = [(how_on if mode == "on" else mode) for mode in opts.modes]
    workdir = tempfile.mkdtemp(prefix="cfg.", dir=opts.workdir)
    vms = []

    def log(msg):
        if opts.verbose:
            tap.diag("[%s] %s" % (label, msg))

    results = {}
    try:
        src = Vm(opts, workdir, "a")
        vms.append(src)
        t0 = time.monotonic()
        src.wait_ready(opts.timeout)
        log("booted in %.1fs" % (time.monotonic() - t0))
        src.connect_guest()
        for n, mode in enumerate(modes):
            dst = Vm(opts, workdir, "bcd"[n], incoming=True)
            vms.append(dst)
            results["off" if mode == "off" else "on"] = \
                migrate_once(opts, ctl, tap, src, dst, mode, log)
            src.stop()
            vms.remove(src)
            src = dst
    except Exception as err:  # noqa: BLE001 - every failure is a TAP result
        if isinstance(err, HarnessError):
            tap.check(False, "%s: %s" % (label, err))
        else:
            tap.check(False, "%s: harness error %r" % (label, err))
            tap.diag(traceback.format_exc())
        for vm in vms:
            tap.diag("---- %s console (tail)\n%s" % (vm.name, vm.console()[-3000:]))
        return
    finally:
        for vm in vms:
            vm.stop()
        if not opts.keep:
            shutil.rmtree(workdir, ignore_errors=True)

    how = ("by the x-dma-dirty capability" if opts.capability else
           "through the bridge block" if opts.bridge else "through dmadirtyctl")
    dma_pages = sum(opts.counts[v] for v in VARIANTS)
    for mode, (host, guest, marked, _other) in results.items():
        if mode == "on":
            tap.check(marked >= dma_pages, "%s dirtying on: the module marked %d "
                      "pages (the driver unmapped, synced or freed %d)" % (
                          label, marked, dma_pages))
        else:
            tap.check(marked == 0, "%s dirtying off: the module marked %d pages" % (
                label, marked))
        for v in VARIANTS + (CONTROL,):
            total, intact = host[v]
            gtotal, gintact = guest.get(v, (-1, -1))
            tap.check(gtotal == total and gintact == intact,
                      "%s dirtying %s %s: the destination guest agrees with its "
                      "RAM file (%d/%d vs %d/%d)" % (label, mode, v, gintact, gtotal,
                                                     intact, total))
    for v in VARIANTS + (CONTROL,):
        row = [label, v]
        if "on" in results:
            total, intact = results["on"][0][v]
            row += [total, intact]
            if v == CONTROL:
                tap.check(intact == total, "%s %s: pages the guest CPU wrote "
                          "arrive (%d/%d)" % (label, v, intact, total))
            else:
                tap.check(total > 0 and intact == total, "%s %s: with dirtying enabled "
                          "%s every page arrives intact (%d/%d)" % (label, v, how,
                                                                    intact, total))
        else:
            row += [results["off"][0][v][0], None]
        if "off" in results:
            total, intact = results["off"][0][v]
            row.append(intact)
            if v == CONTROL:
                tap.check(intact == total, "%s %s (dirtying off): pages the guest "
                          "CPU wrote arrive (%d/%d)" % (label, v, intact, total))
            else:
                tap.check(total > 0 and intact < total, "%s %s: without dirtying "
                          "pages arrive stale (%d/%d intact)" % (label, v, intact, total))
        else:
            row.append(None)
        table.append(row)
    # The pages lost_pages found: 0, or the run failed.
    row = [label, OTHER, None]
    for mode in ("on", "off"):
        if mode in results:
            row.append("%d differ" % results[mode][3])
        else:
            row.append(None)
    table.append(row)


def print_table(table, out):
    head = ["configuration", "variant", "pages written", "intact with dirtying",
            "intact without"]
    rows = [[("-" if c is None else str(c)) for c in r] for r in table]
    widths = [max(len(head[i]), *(len(r[i]) for r in rows)) for i in range(len(head))]
    fmt = "  ".join("%%-%ds" % w for w in widths)
    out(fmt % tuple(head))
    out(fmt % tuple("-" * w for w in widths))
    for r in rows:
        out(fmt % tuple(r))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", action="append", required=True,
                    metavar="KVER:INITRD[:kernel=IMAGE][:iommu|:bridge|:capability]",
                    help="a guest configuration to migrate (repeatable); kernel: "
                    "its image (default /boot/vmlinuz-KVER); bridge: enable "
                    "through the vendor block of --bridge-qemu, not the RPC; "
                    "capability: the x-dma-dirty migration capability of "
                    "--bridge-qemu does it, no host tooling")
    ap.add_argument("--bridge-qemu", help="QEMU with the vendor block (packaging/qemu)")
    ap.add_argument("--ctl", help="path of dmadirtyctl")
    ap.add_argument("--modes", default="on,off",
                    help="migrations per configuration, in order: on,off (default)")
    ap.add_argument("--qemu", default=os.environ.get("QEMU_SYSTEM") or "qemu-system-x86_64")
    ap.add_argument("--mem", type=int, default=256, help="guest RAM in MiB")
    ap.add_argument("--pages", default="single=128,sg=128,sync=128,coherent=128,touch=16",
                    help="pages per variant")
    ap.add_argument("--bandwidth", type=int, default=64,
                    help="migration MiB/s cap during pre-copy")
    ap.add_argument("--timeout", type=int, default=180)
    ap.add_argument("--shm", default="/dev/shm")
    ap.add_argument("--workdir")
    ap.add_argument("--keep", action="store_true", help="keep logs and sockets")
    ap.add_argument("--verbose", "-v", action="store_true")
    ap.add_argument("--table-only", action="store_true",
                    help="print the table as plain text, and only failed checks")
    ap.add_argument("--tap-first", type=int, default=1,
                    help="number of the first TAP test (earlier ones printed by the caller)")
    opts = ap.parse_args()

    # make check's timeout or ^C: unwind, so that no QEMU and no RAM file
    # in /dev/shm outlives the run.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(129))
    opts.counts = {k: int(v) for k, v in (kv.split("=") for kv in opts.pages.split(","))}
    opts.modes = opts.modes.split(",")
    opts.versions = {}
    if not opts.ctl:
        ap.error("--ctl is needed (enable, disable and the module's counters)")
    # A deadline, not a wait: TCG guests on a loaded 2-core host can take
    # tens of seconds to answer.
    ctl = Ctl(opts.ctl, 120)
    opts.workdir = tempfile.mkdtemp(prefix="dmadirty-e2e.", dir=opts.workdir)

    tap = Tap(opts.tap_first, opts.table_only)
    table = []
    t0 = time.monotonic()
    for conf in opts.config:
        parts = conf.split(":")
        opts.kver, opts.initrd = parts[0], parts[1]
        opts.iommu = "iommu" in parts[2:]
        opts.capability = "capability" in parts[2:]
        opts.bridge = "bridge" in parts[2:] or opts.capability
        if opts.bridge and not opts.bridge_qemu:
            ap.error("a bridge or capability configuration needs --bridge-qemu")
        opts.kernel = next((p[len("kernel="):] for p in parts[2:]
                            if p.startswith("kernel=")), "/boot/vmlinuz-" + opts.kver)
        run_config(opts, ctl, tap, table)
    if opts.table_only:
        print()
        if table:
            print_table(table, print)
            print(LEGEND)
            for path, version in opts.versions.items():
                print("QEMU %s: %s" % (path, version))
        print("\n%d checks, %d failed, %.0fs" % (tap.n, tap.failed, time.monotonic() - t0))
    else:
        if table:
            tap.diag("")
            print_table(table, tap.diag)
            for path, version in opts.versions.items():
                tap.diag("QEMU %s: %s" % (path, version))
        tap.diag("total %.0fs" % (time.monotonic() - t0))
        print("1..%d" % tap.n)
    if not opts.keep:
        shutil.rmtree(opts.workdir, ignore_errors=True)
    else:
        tap.diag("logs kept in " + opts.workdir)
    return 1 if tap.failed or not tap.n else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A real VFIO device, really migrated: the nested test of tests/vfio.

L0 (this machine) runs L1 under TCG: q35, intel-iommu, an emulated NVMe on
a pcie-root-port, backed by a disk image whose every sector says what it
is.  L1 binds the NVMe to vfio-pci and runs the patched QEMU twice for the
innermost guest, L2: a source with -device vfio-pci behind a
pcie-root-port carrying the vendor block, and a destination without the
device.  L2's RAM is a shared file in L1's /dev/shm, so L1 compares both
sides after the switchover.

In L2, nvme-reader reads the disk with O_DIRECT into buffers it keeps,
round after round, during pre-copy: the device writes L2's RAM by DMA
through L1's (emulated) IOMMU, unseen by L1's QEMU's dirty log, and no
harness writes anything.  QEMU unplugs the device once pre-copy converges
(late unplug, x-dma-dirty-unplug=on), the reads stop, and after the
switchover the destination checks every buffer against the slot of the
disk that its last completed read named.  Two cases, one L1 boot:

  on   dmadirty.ko and dmadirty-agent in L2, the x-dma-dirty capability on
       both QEMUs: every buffer must be intact, and the paused source's and
       destination's RAM files must be equal;
  off  no module, the capability off, the device migrated anyway by the
       test-only x-dma-dirty-unsafe=on: buffers must arrive stale or torn,
       which proves the test can fail.

vfio.py talks to L1 over virtio-serial ports of L0's QEMU: "vfio.ctl" (the
command loop of l1-guest.sh), and one port each for the QMP monitor and
the serial console of the L2 source and destination (pipe chardevs in
L1), so QMP and the consoles are read here, on L0.

Prints TAP (plan last) and the result table as TAP comments.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

here = os.path.dirname(os.path.abspath(__file__))
# The source tree stays as it is: no __pycache__ from this import.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(here, "..", "e2e"))
from migrate import (Guest, HarnessError, LineSocket, Qmp, Tap,  # noqa: E402
                     read_log, wait_for)

VM_SH = os.path.join(here, "..", "lib", "vm.sh")
SECTOR = 512
MAGIC = b"DMADVFIO"
GOLDEN = 0x9E3779B97F4A7C15
MASK64 = (1 << 64) - 1
PORTS = ("vfio.ctl", "vfio.src.qmp", "vfio.src.con", "vfio.dst.qmp", "vfio.dst.con")

# The late unplug of packaging/qemu's series on the assigned device, per
# case.  Without x-dma-dirty-unplug QEMU keeps its blocker ("VFIO
# migration is not supported in kernel") and migrate fails: the wall that
# users hit, and where this test fails on a QEMU without the series.
DEVICE_PROPS = {
    "on": ",x-dma-dirty-unplug=on",
    "off": ",x-dma-dirty-unplug=on,x-dma-dirty-unsafe=on",
}


def disk_sector(sector):
    """A sector of the disk image (the same as nvme-reader.c's)."""
    words = [((sector + 1) * GOLDEN & MASK64) ^ (i << 32 | i)
             for i in range(2, SECTOR // 8)]
    return MAGIC + struct.pack("<Q", sector) + struct.pack("<%dQ" % len(words), *words)


def make_disk(path, mib):
    """Writes the disk image; returns the md5 of its first MiB."""
    with open(path, "wb") as f:
        for mb in range(mib):
            data = b"".join(disk_sector(s) for s in range(mb << 11, (mb + 1) << 11))
            f.write(data)
            if mb == 0:
                md5 = hashlib.md5(data).hexdigest()
    return md5


class PortQmp(Qmp):
    """QMP on a port that stays connected from one L2 QEMU to the next."""

    def __init__(self, sock, timeout):
        self.events = []
        self.sock = sock
        # Skip what an earlier QEMU on this port left unread.
        deadline = time.monotonic() + timeout
        while True:
            line = self.sock.readline(max(0.1, deadline - time.monotonic()))
            try:
                if "QMP" in json.loads(line):
                    break
            except ValueError:
                continue
        self.cmd("qmp_capabilities")

    def close(self):
        pass


class Console:
    """The serial console of the L2 QEMUs on one port, read by a thread."""

    def __init__(self, sock, log_path):
        self.sock = sock
        self.lines = []
        self.t0 = time.monotonic()
        self.log = open(log_path, "a")
        self.lock = threading.Lock()
        self.closed = False
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while not self.closed:
            try:
                line = self.sock.readline(3600).rstrip("\r")
            except HarnessError:
                return
            t = time.monotonic()
            with self.lock:
                self.lines.append((t, line))
            self.log.write("%7.1f %s\n" % (t - self.t0, line))
            self.log.flush()

    def send(self, line):
        self.sock.send(line.encode() + b"\n")

    def find(self, regex, start=0):
        """The first (time, match) of regex in lines[start:], or None."""
        with self.lock:
            for t, line in self.lines[start:]:
                m = re.search(regex, line)
                if m:
                    return t, m
        return None

    def wait(self, regex, timeout, what, start=0, fail=r"L2-FAIL|VM: test.sh exit"):
        def found():
            hit = self.find(regex, start)
            bad = not hit and self.find(fail, start)
            if bad:
                raise HarnessError("L2 failed while waiting for %s: %s" % (
                    what, bad[1].string))
            return hit
        return wait_for(found, timeout, what, 0.1)

    def mark(self):
        with self.lock:
            return len(self.lines)

    def tail(self, start=0, n=40):
        with self.lock:
            return "\n".join(line for _t, line in self.lines[start:][-n:])

    def close(self):
        self.closed = True
        self.sock.close()
        self.log.close()
        self.thread.join(5)


class L1:
    """The middle guest: its QEMU on L0, and its command port."""

    def __init__(self, opts, work):
        self.work = work
        self.log = os.path.join(work, "l1.log")
        self.sock = {p: os.path.join(work, p + ".sock") for p in PORTS}
        args = [VM_SH, self.log, opts.kver, opts.l1_initrd, str(opts.l1_timeout),
                "intel_iommu=on", "--",
                "-machine", "q35", "-cpu", "max",
                "-device", "intel-iommu,intremap=on",
                "-device", "pcie-root-port,id=rp0,chassis=1",
                "-drive", "file=%s,if=none,id=disk0,format=raw,cache=unsafe" % opts.disk,
                "-device", "nvme,drive=disk0,serial=dmadirty-vfio,bus=rp0",
                "-device", "virtio-serial-pci,id=vser0"]
        for p in PORTS:
            args += ["-chardev", "socket,id=%s,path=%s,server=on,wait=off" % (
                p.replace(".", "-"), self.sock[p]),
                     "-device", "virtserialport,bus=vser0.0,chardev=%s,name=%s" % (
                p.replace(".", "-"), p)]
        env = dict(os.environ, VM_MEM=str(opts.l1_mem), VM_SMP="2",
                   VM_TCG_OPTS=",thread=multi,tb-size=256")
        with open(os.path.join(work, "l1.args"), "w") as f:
            f.write(" ".join(args) + "\n")
        self.proc = subprocess.Popen(["bash", "-c", '. "$0"; vm_boot "$@"'] + args,
                                     env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL,
                                     stderr=open(os.path.join(work, "l1.stderr"), "w"),
                                     start_new_session=True)
        # Every port's host end is connected before L1 boots: a guest
        # reading a port with no host gets end-of-file (virtio_console),
        # which would end l1-guest.sh's loop or an L2 QEMU's monitor.
        self.socks = {}
        try:
            for p in PORTS:
                self.socks[p] = LineSocket(self.sock[p], 30)
        except HarnessError:
            self.stop()
            raise
        self.ctl = Guest.__new__(Guest)
        self.ctl.sock = self.socks["vfio.ctl"]
        self.cons = {side: Console(self.socks["vfio.%s.con" % side],
                                   os.path.join(work, "l2-%s.log" % side))
                     for side in ("src", "dst")}

    def console(self):
        return read_log(self.log)

    def wait_console(self, regex, timeout, what):
        def found():
            text = self.console()
            bad = re.search(r"L1-FAIL.*|VM: test.sh exit.*", text)
            if bad:
                raise HarnessError("L1: %s" % bad.group(0))
            if self.proc.poll() is not None:
                raise HarnessError("L1's QEMU exited (%s) before %s" % (
                    self.proc.returncode, what))
            return re.search(regex, text)
        return wait_for(found, timeout, what, 0.2)

    def cmd(self, line, timeout=120):
        return self.ctl.cmd(line, timeout)

    def start(self, name, args):
        self.ctl.sock.send(("start %s\n" % name).encode() +
                           "".join(a + "\n" for a in args).encode() + b"\n")
        status = self.ctl.sock.readline(120)
        while self.ctl.sock.readline(120) != "END":
            pass
        if status != "OK":
            raise HarnessError("L1 start %s: %s" % (name, status))

    def stop(self):
        if "vfio.ctl" in self.socks:
            try:
                self.cmd("exit", 30)
            except (HarnessError, OSError):
                pass
        for con in getattr(self, "cons", {}).values():
            con.close()
        for sock in self.socks.values():
            sock.close()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait()


def l2_args(opts, l1, ports, side, mode, n):
    """The L2 QEMU command line for side "src" or "dst" of case n."""
    ram = "l2-%s-%d" % (side, n)
    append = ("console=ttyS0 panic=-1 oops=panic quiet loglevel=4 rdinit=/init "
              "vfio.dirty=%d vfio.md5=%s vfio.bufs=%d vfio.bufkb=%d" % (
                  mode == "on", opts.md5, opts.bufs, opts.bufkb))
    args = ["-accel", "tcg", "-name", "l2-" + side,
            "-machine", "q35,memory-backend=ram",
            "-object", "memory-backend-file,id=ram,size=%dM,mem-path=/dev/shm/%s,share=on"
            % (opts.l2_mem, ram),
            "-m", "%dM" % opts.l2_mem, "-smp", "1",
            "-nodefaults", "-display", "none", "-no-reboot", "-net", "none",
            "-chardev", "pipe,id=con,path=" + ports["vfio.%s.con" % side],
            "-serial", "chardev:con",
            "-chardev", "pipe,id=qmp,path=" + ports["vfio.%s.qmp" % side],
            "-mon", "chardev=qmp,mode=control",
            "-kernel", "/l2/vmlinux", "-initrd", "/l2/initrd.gz", "-append", append,
            # The vendor block on the port that holds the device.
            "-device", "pcie-root-port,id=rp0,chassis=1,x-dma-dirty=on"]
    if side == "src":
        args += ["-device", "vfio-pci,host=%s,bus=rp0,id=nvme0,rombar=0%s" % (
            l1.bdf, DEVICE_PROPS[mode])]
    else:
        args += ["-incoming", "defer", "-S"]
    return ram, args


def run_case(opts, l1, ports, mode, n, tap, row):
    """One L2 boot and one migration; fills row (the table's column)."""
    label = "dirtying %s" % mode
    qmps, cons, started = [], [], []
    failed = False
    try:
        ram_src, src_args = l2_args(opts, l1, ports, "src", mode, n)
        ram_dst, dst_args = l2_args(opts, l1, ports, "dst", mode, n)
        t_boot = time.monotonic()
        src_con, dst_con = l1.cons["src"], l1.cons["dst"]
        first = src_con.mark()
        cons = [(src_con, first), (dst_con, dst_con.mark())]
        l1.start("src%d" % n, src_args)
        started.append("src%d" % n)
        src = PortQmp(l1.socks["vfio.src.qmp"], 120)
        qmps.append(src)
        l1.start("dst%d" % n, dst_args)
        started.append("dst%d" % n)
        dst = PortQmp(l1.socks["vfio.dst.qmp"], 120)
        qmps.append(dst)

        src_con.wait(r"^L2 md5 ok", opts.l2_timeout, "L2's check of the disk", first)
        m = src_con.wait(r"^READER running", opts.l2_timeout, "nvme-reader to start", first)
        row["boot"] = m[0] - t_boot
        tap.check(True, "%s: L2 boots with the assigned NVMe (%.0fs), the disk's md5 "
                  "matches the image" % (label, row["boot"]))
        # A few rounds before the migration starts.
        src_con.wait(r"^READER round 8 ", opts.l2_timeout, "nvme-reader's round 8", first)

        caps = [{"capability": "events", "state": True},
                {"capability": "x-dma-dirty", "state": mode == "on"}]
        for q in (src, dst):
            q.cmd("migrate-set-capabilities", capabilities=caps)
            # Pre-copy converges when what is left fits in the downtime
            # limit at the switchover bandwidth.  The harness fixes that
            # bandwidth at one page per ms, so a 1 ms limit lets it
            # converge only on a pass that finds no dirty page, which L2
            # never gives while its writer loop runs (l2-guest.sh): it
            # keeps iterating until the harness lifts both.  A 1 ms limit
            # at the measured bandwidth was not enough: without dirtying,
            # L2 dirtied less than that by the third pass.  (A 0 ms limit
            # is worse: QEMU then takes an empty estimate for convergence
            # without syncing.)  The guest's ack and its release of the
            # device take seconds in a guest of a guest: the bound is
            # minutes.
            q.cmd("migrate-set-parameters", **{"downtime-limit": 1,
                                               "avail-switchover-bandwidth": 4096 * 1000,
                                               "x-dma-dirty-ack-timeout": 180000})
        uri = "unix:/tmp/mig%d.sock" % n
        # Listening when the command returns.
        dst.cmd("migrate-incoming", uri=uri)
        start = src_con.mark()
        src_con.send("mark")
        reads_before = int(src_con.wait(r"^READER mark (\d+)", 120, "the reader's mark",
                                        start)[1].group(1))
        src.events.clear()
        t0 = time.monotonic()
        try:
            src.cmd("migrate", uri=uri)
        except HarnessError as err:
            raise HarnessError("migrate refused: %s" % err)

        # Pre-copy: let it run opts.passes dirty-bitmap syncs, then let it
        # converge; QEMU then unplugs the device and switches over.
        timeline = []

        def status():
            st = src.cmd("query-migrate")
            s = st.get("status")
            passes = st.get("ram", {}).get("dirty-sync-count", 0)
            if not timeline or timeline[-1][1:] != (s, passes):
                timeline.append((time.monotonic() - t0, s, passes))
            # The pre-copy sync at which QEMU asked for the device, and
            # at which the guest had released it.
            for key, released in (("request_sync", False), ("release_sync", True)):
                if key not in row and any(e["event"] == "DMA_DIRTY_UNPLUG" and
                                          e["data"].get("released") is released
                                          for e in src.events):
                    row[key] = passes
            if s in ("failed", "cancelled"):
                raise HarnessError("migration %s: %s" % (s, st.get("error-desc", "")))
            return st
        def passes_done():
            st = status()
            if st.get("status") == "completed":
                raise HarnessError("pre-copy converged after %s dirty-bitmap syncs, "
                                   "before the harness let it" %
                                   st.get("ram", {}).get("dirty-sync-count"))
            return st.get("ram", {}).get("dirty-sync-count", 0) >= opts.passes
        wait_for(passes_done, opts.migrate_timeout, "%d dirty-bitmap syncs" % opts.passes, 0.2)
        src.cmd("migrate-set-parameters", **{"downtime-limit": opts.downtime,
                                             "avail-switchover-bandwidth": 0})
        st = wait_for(lambda: (lambda s: s.get("status") == "completed" and s)(status()),
                      opts.migrate_timeout, "the migration to complete", 0.2)
        row["wall"] = time.monotonic() - t0
        row["downtime"] = st.get("downtime")
        row["passes"] = st["ram"]["dirty-sync-count"]
        row["timeline"] = timeline
        # QEMU's own times (L1's clock): the unplug against the statuses.
        setup = None
        events = []
        for ev in src.events:
            t = ev["timestamp"]["seconds"] + ev["timestamp"]["microseconds"] / 1e6
            if ev["event"] == "MIGRATION" and ev["data"]["status"] == "setup":
                setup = t
            if ev["event"] == "MIGRATION":
                events.append((t, ev["data"]["status"]))
            elif ev["event"] == "DEVICE_DELETED" and ev["data"].get("device") == "nvme0":
                events.append((t, "DEVICE_DELETED nvme0"))
            elif ev["event"] == "DMA_DIRTY_UNPLUG":
                events.append((t, "DMA_DIRTY_UNPLUG %s" % (
                    "released" if ev["data"].get("released") else "requested")))
            elif ev["event"] == "DMA_DIRTY_ACK":
                events.append((t, "DMA_DIRTY_ACK %s" % (
                    "on" if ev["data"].get("dirtying") else "off")))
        row["events"] = [(t - (setup or events[0][0]), what) for t, what in events]
        names = [what for _t, what in row["events"]]
        switch = next((i for i, w in enumerate(names) if w in ("device", "completed")),
                      len(names))
        order = [names.index(w) if w in names else switch for w in (
            "active", "DMA_DIRTY_UNPLUG requested", "DMA_DIRTY_UNPLUG released")]
        tap.check(order[0] < order[1] < order[2] < switch and
                  row.get("request_sync", 0) >= opts.passes,
                  "%s: QEMU asked for the device after %s syncs of pre-copy, L2 "
                  "released it before the switchover (%s)" % (
                      label, row.get("request_sync", "?"),
                      ", ".join("%s %.1fs" % (w, t) for t, w in row["events"])))
        if mode == "on":
            tap.check("DMA_DIRTY_ACK on" in names[:names.index("active")]
                      if "active" in names else False,
                      "%s: L2 acked dirtying on before the first RAM pass" % label)
        stopped = src_con.find(r"^READER stopped (\d+) (\d+)", first)
        if not stopped:
            raise HarnessError("the reader did not stop on the source: the device "
                               "was not taken away before the switchover")
        row["written"] = int(stopped[1].group(1)) - reads_before

        wait_for(lambda: dst.cmd("query-status")["status"] != "inmigrate", 60,
                 "the destination to take over")
        cmp_out = l1.cmd("ramcmp %s %s" % (ram_src, ram_dst))
        m = re.search(r"RAMCMP pages (\d+) differ (\d+)", " ".join(cmp_out))
        if not m:
            raise HarnessError("ramcmp: %r" % cmp_out)
        row["differ"] = int(m.group(2))

        dst.cmd("cont")
        start = dst_con.mark()
        dst_con.send("verify")
        m = dst_con.wait(r"^READER verify buffers (\d+) written (\d+) intact (\d+) "
                         r"stale (\d+) torn (\d+) reads (\d+)", 300,
                         "the destination's verification", start)[1]
        nbuf, written, intact, stale, torn, reads = map(int, m.groups())
        row.update(buffers=nbuf, bufs_written=written, intact=intact, stale=stale,
                   torn=torn, reads=reads)
        for _t, line in dst_con.lines[start:]:
            if line.startswith("READER bad") and opts.verbose:
                tap.diag("[%s] %s" % (label, line))
        tap.check(row["written"] > 0 and written == nbuf,
                  "%s: the device completed %d reads into the buffers by DMA during "
                  "pre-copy (%d in all), every buffer written" % (
                      label, row["written"], reads))
        if mode == "on":
            tap.check(intact == written,
                      "%s: every buffer arrives intact (%d/%d; stale %d, torn %d)" % (
                          label, intact, written, stale, torn))
            tap.check(row["differ"] == 0,
                      "%s: the paused source's and the destination's RAM are equal "
                      "(%d pages differ)" % (label, row["differ"]))
        else:
            tap.check(intact < written,
                      "%s: buffers arrive stale or torn (%d/%d intact; stale %d, "
                      "torn %d)" % (label, intact, written, stale, torn))
            tap.check(row["differ"] > 0,
                      "%s: the destination's RAM differs from the paused source's "
                      "(%d pages)" % (label, row["differ"]))
    except HarnessError as err:
        failed = True
        # A QEMU that exited says why on stderr: its last line goes with
        # the verdict.
        why = str(err)
        for name in list(started):
            try:
                out = l1.cmd("stop %s" % name, 60)
            except HarnessError:
                continue
            started.remove(name)
            if out:
                why += " [%s: %s]" % (name, out[-1])
                tap.diag("%s stderr:\n%s" % (name, "\n".join(out)))
        tap.check(False, "%s: %s" % (label, why))
        for con, start in cons:
            if con.tail(start):
                tap.diag("---- L2 console (tail)\n" + con.tail(start))
    finally:
        for q in qmps:
            try:
                q.cmd("quit", 10)
            except (HarnessError, OSError):
                pass
            q.close()
        for name in started:
            try:
                err = l1.cmd("stop %s" % name, 60)
                if err and (opts.verbose or failed):
                    tap.diag("%s stderr:\n%s" % (name, "\n".join(err)))
            except HarnessError as e:
                tap.diag("stop %s: %s" % (name, e))
        try:
            l1.cmd("rm l2-src-%d l2-dst-%d" % (n, n))
        except HarnessError:
            pass


def fmt(v, spec="%s"):
    return "-" if v is None else spec % v


def print_table(rows, out, verbose=False):
    def cell(r, key, spec="%s"):
        return fmt(r.get(key), spec)

    def unplug(r, what, key):
        ev = dict((w, t) for t, w in r.get("events", []))
        if "DMA_DIRTY_UNPLUG " + what not in ev:
            return "-"
        t = ev["DMA_DIRTY_UNPLUG " + what]
        sw = ev.get("device", ev.get("completed"))
        return "sync %s, %.1fs%s" % (r.get(key, "?"), t, "" if sw is None else
                                     " (switchover %.1fs)" % sw)
    on, off = rows.get("on", {}), rows.get("off", {})
    lines = [
        ("", "with dirtying", "without"),
        ("buffer reads by the device in pre-copy", cell(on, "written"), cell(off, "written")),
        ("buffers written (of the reader's)", "%s/%s" % (cell(on, "bufs_written"),
                                                         cell(on, "buffers")),
         "%s/%s" % (cell(off, "bufs_written"), cell(off, "buffers"))),
        ("buffers intact on the destination", cell(on, "intact"), cell(off, "intact")),
        ("  stale / torn", "%s / %s" % (cell(on, "stale"), cell(on, "torn")),
         "%s / %s" % (cell(off, "stale"), cell(off, "torn"))),
        ("RAM pages differing, paused src vs dst", cell(on, "differ"), cell(off, "differ")),
        ("unplug requested (s after setup)", unplug(on, "requested", "request_sync"),
         unplug(off, "requested", "request_sync")),
        ("device released (s after setup)", unplug(on, "released", "release_sync"),
         unplug(off, "released", "release_sync")),
        ("dirty-bitmap syncs (pre-copy passes)", cell(on, "passes"), cell(off, "passes")),
        ("downtime (ms)", cell(on, "downtime"), cell(off, "downtime")),
        ("migration wall time (s)", cell(on, "wall", "%.0f"), cell(off, "wall", "%.0f")),
        ("L2 boot to workload (s)", cell(on, "boot", "%.0f"), cell(off, "boot", "%.0f")),
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(3)]
    for line in lines:
        out("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())
    for mode, r in (("with dirtying", on), ("without", off)):
        if r.get("events"):
            out("%s, source QEMU events (s after setup): %s" % (mode, ", ".join(
                "%s %.1f" % (w, t) for t, w in r["events"])))
        if verbose and r.get("timeline"):
            out("%s, query-migrate (s after migrate, status, syncs): %s" % (mode, " ".join(
                "%.1f/%s/%d" % x for x in r["timeline"])))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kver", required=True, help="kernel of L1 and L2")
    ap.add_argument("--l1-initrd", required=True)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--disk-mib", type=int, default=16)
    ap.add_argument("--bufs", type=int, default=64)
    ap.add_argument("--bufkb", type=int, default=32)
    ap.add_argument("--l1-mem", type=int, default=1536, help="MiB")
    ap.add_argument("--l2-mem", type=int, default=160, help="MiB")
    ap.add_argument("--passes", type=int, default=4,
                    help="dirty-bitmap syncs before pre-copy may converge")
    ap.add_argument("--downtime", type=int, default=2000,
                    help="downtime limit (ms) that lets pre-copy converge")
    ap.add_argument("--modes", default="on,off")
    ap.add_argument("--l1-timeout", type=int, default=1500)
    ap.add_argument("--l2-timeout", type=int, default=300)
    ap.add_argument("--migrate-timeout", type=int, default=300)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--verbose", "-v", action="store_true")
    ap.add_argument("--tap-first", type=int, default=1)
    opts = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(129))

    t_start = time.monotonic()
    work = tempfile.mkdtemp(prefix="dmadirty-vfio.", dir=opts.workdir)
    tap = Tap(opts.tap_first)
    rows = {}
    opts.disk = os.path.join(work, "disk.img")
    opts.md5 = make_disk(opts.disk, opts.disk_mib)
    l1 = L1(opts, work)
    try:
        try:
            m = l1.wait_console(r"L1 vfio (\S+) group (\d+)", opts.l1_timeout,
                                "L1 to bind the NVMe to vfio-pci")
            l1.bdf = m.group(1)
            l1.wait_console(r"L1 ready", 120, "L1's command loop")
            ports = dict(line.split() for line in l1.cmd("ports"))
            tap.check(True, "L1 boots (%.0fs), its NVMe %s is bound to vfio-pci, alone in "
                      "IOMMU group %s" % (time.monotonic() - t_start, l1.bdf, m.group(2)))
        except HarnessError as err:
            tap.check(False, "L1: %s" % err)
            tap.diag("---- L1 console (tail)\n" + l1.console()[-3000:])
            ports = None
        if ports:
            for n, mode in enumerate(opts.modes.split(",")):
                rows[mode] = {}
                run_case(opts, l1, ports, mode, n, tap, rows[mode])
    finally:
        l1.stop()
    tap.diag("")
    print_table(rows, tap.diag, opts.verbose)
    tap.diag("total %.0fs" % (time.monotonic() - t_start))
    print("1..%d" % tap.n)
    if opts.keep or tap.failed:
        tap.diag("logs in " + work)
    if not opts.keep and not tap.failed:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if tap.failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception:  # noqa: BLE001 - a harness crash is a failure too
        traceback.print_exc()
        print("not ok - harness error")
        sys.exit(1)

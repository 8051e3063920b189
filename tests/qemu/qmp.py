"""A small QMP client for the tests of the patched QEMU.

Events that arrive while a command waits for its reply are kept in order, so
a test can ask afterwards what the guest acknowledged and in which order
relative to other traffic (see DmaDirtyQmp.wait_event).
"""

import json
import os
import socket
import subprocess
import sys
import time


class QmpError(Exception):
    """A command returned an error object."""

    def __init__(self, cmd, error):
        super().__init__("%s: %s: %s" % (cmd, error.get("class"),
                                         error.get("desc")))
        self.error_class = error.get("class")
        self.desc = error.get("desc")


def connect_unix(path, timeout, what):
    """Connects to the unix socket at path, waiting up to timeout seconds
    for a starting QEMU to create it and listen."""
    deadline = time.monotonic() + timeout
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock
        except (FileNotFoundError, ConnectionRefusedError):
            sock.close()
            if time.monotonic() > deadline:
                raise TimeoutError("no %s at %s" % (what, path))
            time.sleep(0.05)


def migrate_paused(q, path):
    """Starts migrating the VM behind q to the unix socket path, with its
    vCPUs stopped first.  These suites check that the vendor block's state
    travels, which a paused guest shows with the least CPU; live RAM
    transfer is tests/e2e's and capability_test.py's subject."""
    q.cmd("stop")
    q.cmd("migrate", uri="unix:" + path)


def resume_migrated(q, timeout=30):
    """Waits for the destination behind q to finish loading, then runs it
    (QEMU leaves it paused when the source was)."""
    deadline = time.monotonic() + timeout
    status = q.cmd("query-status")["status"]
    while status == "inmigrate" and time.monotonic() < deadline:
        time.sleep(0.1)
        status = q.cmd("query-status")["status"]
    if status != "running":
        q.cmd("cont")


class Qmp:
    """One QMP connection over a unix socket."""

    def __init__(self, path, timeout=30.0):
        self.sock = connect_unix(path, timeout, "QMP server")
        self.sock.settimeout(timeout)
        self.buf = b""
        self.events = []
        greeting = self._read()
        if "QMP" not in greeting:
            raise RuntimeError("not a QMP greeting: %r" % greeting)
        self.cmd("qmp_capabilities")

    def _read(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("QMP connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def drain(self):
        """Reads, without waiting, what has already arrived; keeps the
        events."""
        timeout = self.sock.gettimeout()
        self.sock.setblocking(False)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.buf += data
        except BlockingIOError:
            pass
        finally:
            self.sock.settimeout(timeout)
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            msg = json.loads(line)
            if "event" in msg:
                self.events.append(msg)

    def cmd(self, name, **args):
        """Runs a command; returns its result or raises QmpError."""
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            resp = self._read()
            if "event" in resp:
                self.events.append(resp)
                continue
            if "error" in resp:
                raise QmpError(name, resp["error"])
            return resp["return"]

    def wait_event(self, name, timeout=30.0, match=None):
        """Returns (and removes) the first event NAME for which MATCH
        (a predicate on its data) holds, reading more while needed."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(self.events):
                if ev["event"] == name and (match is None or
                                            match(ev.get("data", {}))):
                    return self.events.pop(i)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no %s event within %.0fs" % (name, timeout))
            self.sock.settimeout(left)
            try:
                self.events.append(self._read())
            except socket.timeout:
                pass
            finally:
                self.sock.settimeout(timeout)

    def close(self):
        self.sock.close()


class Tap:
    """TAP output with the plan at the end."""

    def __init__(self):
        self.n = 0
        self.failed = 0

    def ok(self, cond, desc, diag=None):
        self.n += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, desc),
              flush=True)
        if not cond:
            self.failed += 1
            if diag is not None:
                for line in str(diag).splitlines():
                    print("# " + line, flush=True)
        return cond

    def diag(self, msg):
        for line in str(msg).splitlines():
            print("# " + line, flush=True)

    def done(self):
        print("1..%d" % self.n, flush=True)
        return 1 if self.failed else 0


def qemu_argv(qemu, qmp_path, *extra):
    return [qemu, "-accel", "tcg", "-nodefaults", "-display", "none",
            "-qmp", "unix:%s,server=on,wait=off" % qmp_path] + list(extra)


def start(argv, log_path):
    """Starts QEMU with stdio to LOG_PATH; caller kills it."""
    log = open(log_path, "ab")
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT)


def stop(proc, qmp=None):
    if proc.poll() is None:
        try:
            if qmp is not None:
                qmp.cmd("quit")
        except Exception:   # noqa: BLE001 - the process is killed below
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def fatal(msg):
    print("Bail out! %s" % msg, flush=True)
    sys.exit(1)


def env(name, default=None):
    val = os.environ.get(name, default)
    if val is None:
        fatal("%s is not set" % name)
    return val

"""Host end of the agent's virtio-serial port, for the VM suites of
tests/agent: the chardev socket QEMU serves, as libvirt would use it.
Results go to stdout as "HOST ok|not ok <what>" lines, which the shell
scripts turn into TAP."""
import re
import socket
import sys
import time


def report(ok, what):
    print("HOST %s %s" % ("ok" if ok else "not ok", what), flush=True)


def connect(path):
    """Waits up to 5 minutes for QEMU to serve the chardev socket at path."""
    for _ in range(1200):
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            time.sleep(0.25)
    report(False, "cannot connect to %s" % path)
    sys.exit(1)


def recv_line(s, timeout):
    """One reply line; EOFError when the guest side closes first."""
    s.settimeout(timeout)
    buf = b""
    while not buf.endswith(b"\n"):
        d = s.recv(4096)
        if not d:
            raise EOFError
        buf += d
    return buf


def resync(s, attempts=240):
    """Resyncs as a host does (0xFF + guest-sync-delimited, 2 s apart) until
    the agent, which may start later in the guest, answers; replies to
    earlier attempts may arrive too, so waits for the current id.  Returns
    whether it answered."""
    for i in range(1, attempts):
        s.sendall(b'\xff{"execute":"guest-sync-delimited","arguments":{"id":%d}}' % i)
        try:
            buf = recv_line(s, 2)
            while b'{"return":%d}' % i not in buf:
                buf += recv_line(s, 2)
            return True
        except socket.timeout:
            pass
    return False


def wait_console(console, pattern, count=1, timeout=600):
    """The count-th match of pattern (a regular expression with one group)
    in the guest's console log, or None after timeout seconds: the guest
    says what it has done there, and the host waits for that."""
    pat = re.compile(pattern, re.M)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(console, errors="replace") as f:
            found = pat.findall(f.read())
        if len(found) >= count:
            return found[count - 1]
        time.sleep(0.5)
    return None

#!/usr/bin/env python3
"""Run a shell command in the packaging test's guest and print its output.

    guestsh.py SOCKET TIMEOUT COMMAND

The guest runs a root shell on its second serial port, which QEMU exposes
as the unix socket SOCKET.  The command is sent with a unique end marker
carrying its exit status; this script prints everything before the marker
and exits with that status.  Exit 124: no marker within TIMEOUT seconds
(guest not up, or the command hangs); 125: cannot connect.
"""
import os
import re
import socket
import sys
import time


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    path, timeout, command = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    nonce = os.urandom(6).hex()
    begin = ("__DD_%s_BEGIN__\n" % nonce).encode()
    marker = re.compile(rb"__DD_%s_RC=(\d+)__" % nonce.encode())
    # The shell may not be listening yet (guest still booting): resend the
    # command every few seconds until its marker comes back.  Every command
    # the tests send is safe to run again; a second run whose marker comes
    # later is ignored.
    line = ("echo __DD_%s_BEGIN__\n%s\necho __DD_%s_RC=$?__\n"
            % (nonce, command, nonce)).encode()
    deadline = time.monotonic() + timeout
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(path)
    except OSError as e:
        sys.stderr.write("guestsh: %s: %s\n" % (path, e))
        return 125
    buf = b""
    sent_at = None
    resend = float(os.environ.get("GUESTSH_RESEND", "0"))
    with sock:
        while True:
            now = time.monotonic()
            if now >= deadline:
                sys.stdout.buffer.write(buf)
                sys.stderr.write("guestsh: no answer within %gs: %s\n" % (timeout, command))
                return 124
            if sent_at is None or (resend and now - sent_at >= resend and not buf):
                sock.sendall(line)
                sent_at = now
            sock.settimeout(min(1.0, deadline - now))
            try:
                data = sock.recv(65536)
            except socket.timeout:
                continue
            if not data:
                sys.stdout.buffer.write(buf)
                sys.stderr.write("guestsh: guest closed the shell\n")
                return 125
            buf += data
            m = marker.search(buf)
            if m:
                out = buf[:m.start()].replace(b"\r\n", b"\n")
                start = out.rfind(begin)
                if start >= 0:
                    out = out[start + len(begin):]
                sys.stdout.buffer.write(out)
                return int(m.group(1))


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
# Host side of tests/agent/virtio-serial.sh: talks to the guest agent through
# QEMU's chardev socket of the virtserialport, as libvirt would.
#   virtio-host.py SOCKET CONSOLE_LOG
# Prints "HOST ok|not ok <what>" lines; the shell turns them into TAP.  While
# it is away, it waits for the guest's "VMAWAY <what> <ticks>" line on the
# console: the guest has measured the agent's CPU time, the host may return.
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostport import connect, recv_line, report, resync, wait_console  # noqa: E402

path, console = sys.argv[1], sys.argv[2]


def away(what):
    ticks = wait_console(console, r"^VMAWAY %s (\S+)" % what)
    report(ticks is not None, "the guest measured the agent while the host was away (%s): %s"
           % (what, ticks))
    if ticks is None:
        sys.exit(1)


s = connect(path)
answered = resync(s)
report(answered, "agent found its port by name and answered guest-sync-delimited")
if not answered:
    sys.exit(1)

s.sendall(b'{"execute":"guest-dma-dirty-enable","arguments":{"tag":"vm"}}')
r = recv_line(s, 60)
report(b'"enabled":true' in r, "enable over virtio-serial: %r" % r)

# Leave half a message behind and go away until the guest has measured.
s.sendall(b'{"execute":"guest-dma-dirty-stat')
s.close()
away("idle")

s = connect(path)
s.sendall(b'{"execute":"guest-sync","arguments":{"id":99}}')
try:
    r = recv_line(s, 60)
except (socket.timeout, EOFError):
    r = b""
report(r == b'{"return":99}\n',
       "after a host disconnect the agent serves the next host, without leftovers: %r" % r)
s.sendall(b'{"execute":"guest-dma-dirty-disable","arguments":{"tag":"vm"}}')
r = recv_line(s, 60)
report(b'"enabled":false' in r, "disable: %r" % r)

# An enable whose pre-enable hook takes 2 s, and the host leaves once the
# agent runs it, before the reply: the reply has nowhere to go.
s.sendall(b'{"execute":"guest-dma-dirty-enable","arguments":{"tag":"slow"}}')
started = wait_console(console, r"(running hook 10-test pre-enable)", count=2, timeout=120)
report(started is not None, "the agent runs the slow enable's hook")
s.close()
away("reply")

s = connect(path)
s.sendall(b'{"execute":"guest-sync","arguments":{"id":100}}')
try:
    r = recv_line(s, 60)
except (socket.timeout, EOFError):
    r = b""
report(r == b'{"return":100}\n',
       "a reply the last host left behind is dropped, not sent to the next one: %r" % r)
s.sendall(b'{"execute":"guest-dma-dirty-disable","arguments":{"tag":"end"}}')
r = recv_line(s, 60)
report(b'"enabled":false' in r, "disable: %r" % r)
s.close()

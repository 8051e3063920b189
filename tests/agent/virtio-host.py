#!/usr/bin/env python3
# Host side of tests/agent/virtio-serial.sh: talks to the guest agent through
# QEMU's chardev socket of the virtserialport, as libvirt would.
#   virtio-host.py SOCKET
# Prints "HOST ok|not ok <what>" lines; the shell turns them into TAP.
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostport import connect, recv_line, report, resync  # noqa: E402

path = sys.argv[1]

s = connect(path)
answered = resync(s)
report(answered, "agent found its port by name and answered guest-sync-delimited")
if not answered:
    sys.exit(1)

s.sendall(b'{"execute":"guest-dma-dirty-enable","arguments":{"tag":"vm"}}')
r = recv_line(s, 60)
report(b'"enabled":true' in r, "enable over virtio-serial: %r" % r)

# Leave half a message behind and go away for a while.
s.sendall(b'{"execute":"guest-dma-dirty-stat')
time.sleep(0.5)
s.close()
time.sleep(12)

s = connect(path)
s.sendall(b'{"execute":"guest-sync","arguments":{"id":99}}')
try:
    r = recv_line(s, 60)
except (socket.timeout, EOFError):
    r = b""
report(r == b'{"return":99}\n',
       "after a host disconnect the agent serves the next host, without leftovers: %r" % r)
s.sendall(b'{"execute":"guest-dma-dirty-disable"}')
r = recv_line(s, 60)
report(b'"enabled":false' in r, "disable: %r" % r)
s.close()

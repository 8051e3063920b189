#!/usr/bin/env python3
# Host side of tests/agent/module.sh: once the guest's host-state steps are
# done (status shows generation 2 with a bridge), drives enable/status/
# disable over the virtio-serial port.  Prints "HOST ok|not ok <what>".
#   module-host.py SOCKET
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostport import connect, recv_line, report, resync  # noqa: E402

path = sys.argv[1]


def call(s, cmd, args=None):
    req = {"execute": cmd}
    if args is not None:
        req["arguments"] = args
    s.sendall(json.dumps(req).encode())
    return json.loads(recv_line(s, 60))


s = connect(path)
if not resync(s):
    report(False, "the agent never answered")
    sys.exit(1)

deadline = time.time() + 240
while True:
    st = call(s, "guest-dma-dirty-status")["return"]
    if st["bridge"]["present"] and st["generation"] >= 2 and not st["enabled"]:
        break
    if time.time() > deadline:
        report(False, "the guest's host-state steps did not finish: %r" % st)
        sys.exit(1)
    time.sleep(2)

r = call(s, "guest-dma-dirty-enable", {"lease": 100, "tag": "rpc"})
ret = r.get("return", {})
report(ret.get("ack") == "bridge" and ret.get("source") == "module" and ret.get("generation") == 3,
       "enable: ack bridge, source module, generation 3: %r" % r)
r = call(s, "guest-dma-dirty-status")
ret = r.get("return", {})
report(ret.get("enabled") is True and ret.get("bridge", {}).get("acked-generation") == 3
       and "pages_marked" in ret.get("counters", {}) and ret.get("lease-remaining", 0) > 0,
       "status: on, acked generation 3, module counters, lease running: %r" % r)
r = call(s, "guest-dma-dirty-disable", {"tag": "rpc-done"})
ret = r.get("return", {})
report(ret.get("ack") == "bridge" and ret.get("enabled") is False and ret.get("generation") == 4,
       "disable: ack bridge, generation 4: %r" % r)
s.close()

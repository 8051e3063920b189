#!/usr/bin/env python3
# Host side of tests/agent/module.sh: once the guest's host-state steps are
# done (it prints "VMSTEPS done" on its console), drives enable/status/
# disable over the virtio-serial port; then checks status while another
# process holds /dev/dmadirty.  Prints "HOST ok|not ok <what>".
#   module-host.py SOCKET CONSOLE_LOG
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostport import connect, recv_line, report, resync, wait_console  # noqa: E402

path, console = sys.argv[1], sys.argv[2]


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

# The guest says on its console when its host-state steps are done.
if wait_console(console, r"^(VMSTEPS done)") is None:
    report(False, "the guest's host-state steps did not finish")
    sys.exit(1)

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



def restarted(marker, what):
    """Wait until the guest says on its console that it restarted the agent
    (what: how), then resync with it; a failure ends the run."""
    if wait_console(console, r"^(%s)" % marker) is None:
        report(False, "the guest restarted the agent %s" % what)
        sys.exit(1)
    if not resync(s):
        report(False, "the agent restarted %s never answered" % what)
        sys.exit(1)


# The guest restarts the agent with /dev/dmadirty held by another process.
restarted("VMBUSY ready", "with the device held")
r = call(s, "guest-dma-dirty-status")
ret = r.get("return", {})
report(ret.get("source") == "unknown" and ret.get("device") == "busy"
       and "held by another process" in ret.get("device-error", ""),
       "status with the device held elsewhere: source unknown, device busy: %r" % r)
# On and off again: the post-disable hook tells the guest that the host is done.
call(s, "guest-dma-dirty-enable", {"tag": "busy"})
call(s, "guest-dma-dirty-disable", {"tag": "busy-done"})
# The guest reloads the module unable to hook one entry point: enable fails
# and says which, and status lists it.
restarted("VMBROKEN ready", "with a module that cannot cover")
r = call(s, "guest-dma-dirty-enable", {"tag": "broken"})
err = r.get("error", {})
report(err.get("class") == "GenericError" and "dma_unmap_sg_attrs" in err.get("desc", ""),
       "enable with a hook missing fails and names it: %r" % r)
r = call(s, "guest-dma-dirty-status")
ret = r.get("return", {})
report(ret.get("enabled") is False and ret.get("missing") == ["dma_unmap_sg_attrs"]
       and "dma_unmap_sg_attrs" not in ret.get("hooks", ["dma_unmap_sg_attrs"])
       and "mapped-never-synced" in ret.get("uncovered", []),
       "status lists the missing hook, not as hooked, and what no hook sees: %r" % r)
# The pre-enable hook of this one tells the guest that the host is done.
call(s, "guest-dma-dirty-enable", {"tag": "broken-done"})
s.close()

#!/usr/bin/env python3
"""Host side of tests/vm/hotplug.sh, over QEMU's QMP socket: plugs a
DIMM when the guest prints "VMSTEP plug ADDR SIZE" on its console,
checking that it lands at ADDR, and unplugs it on "VMSTEP unplug", then
waits for the guest to eject it.
Prints "HOST ok|not ok <what>".
    hotplug-host.py QMP_SOCKET CONSOLE_LOG"""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(here, "..", "qemu"), os.path.join(here, "..", "agent")]
from hostport import report, wait_console  # noqa: E402
from qmp import Qmp, QmpError  # noqa: E402


def main(qmp_path, console):
    q = Qmp(qmp_path, timeout=120)
    asked = wait_console(console, r"^VMSTEP plug (\d+ \d+)$", timeout=240)
    if asked is None:
        report(False, "the guest asked for the DIMM")
        return 1
    want, size = map(int, asked.split())
    q.cmd("object-add", **{"qom-type": "memory-backend-ram", "id": "hp0",
                           "size": size})
    q.cmd("device_add", driver="pc-dimm", id="dimm0", memdev="hp0")
    dimms = [d["data"] for d in q.cmd("query-memory-devices")
             if d["data"].get("id") == "dimm0"]
    addr = dimms[0].get("addr") if dimms else None
    report(addr == want, "DIMM of %d MiB plugged at %#x (%r)" % (size >> 20, want, addr))
    if addr != want:
        return 1
    if wait_console(console, r"^(VMSTEP unplug)", timeout=240) is None:
        report(False, "the guest asked for the unplug")
        return 1
    q.cmd("device_del", id="dimm0")
    try:
        q.wait_event("DEVICE_DELETED", timeout=240,
                     match=lambda d: d.get("device") == "dimm0")
        report(True, "the guest ejected the DIMM")
    except TimeoutError as e:
        report(False, "the guest ejected the DIMM: %s" % e)
        return 1
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(*sys.argv[1:3]))
    except (QmpError, OSError, EOFError) as e:
        report(False, "QMP: %s" % e)
        sys.exit(1)

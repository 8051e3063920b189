"""The end-to-end A/B migration test (tests/e2e/migrate.py) on the patched
QEMU, with the host driving DMA dirtying through the bridge block instead of
the agent RPC.

migrate.py runs unchanged except for two stand-ins: QEMU is qemu-block.sh
(the patched binary plus a bridge with x-dma-dirty=on and a second QMP
monitor), and dmadirtyctl is BlockCtl, which turns dirtying on by setting
the host state to precopy over QMP and reading the guest's ack from the
DMA_DIRTY_ACK event, and off on the destination after checking that the
block state there is what the source had.  The migration with dirtying off
never touches the block: its pages must arrive stale, as in the RPC variant.

Usage: e2e_block.py MIGRATE.PY-ARGUMENTS...  (DMADIRTY_QEMU: patched QEMU)
Prints TAP: migrate.py's checks, then the block checks.
"""

import contextlib
import io
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "e2e"))
import migrate  # noqa: E402
import qmp  # noqa: E402

BRIDGE = "ddbr"
checks = []     # (ok, description, diagnostic)


class BlockCtl:
    """Stands in for dmadirtyctl; talks to QEMU, not to the agent."""

    source_state = None

    def __init__(self, path, timeout):
        self.timeout = timeout

    def run(self, sock, *cmd):
        conn = qmp.Qmp(os.path.join(os.path.dirname(sock), "block.qmp"))
        try:
            if cmd == ("enable",):
                return self.enable(conn)
            if cmd == ("disable",):
                return self.disable(conn)
            raise migrate.HarnessError("BlockCtl: no %s" % " ".join(cmd))
        except (qmp.QmpError, TimeoutError, EOFError) as e:
            raise migrate.HarnessError("block: %s" % e)
        finally:
            conn.close()

    def set_state(self, conn, state, dirtying):
        r = conn.cmd("x-dma-dirty-set-host-state", device=BRIDGE, state=state)
        seq = r["host-sequence"]
        ev = conn.wait_event("DMA_DIRTY_ACK", 30,
                             lambda e: e["sequence"] == seq)["data"]
        ok = ev["dirtying"] is dirtying
        checks.append((ok, "guest acked host sequence %d (%s) with dirtying %s"
                       % (seq, state, "on" if dirtying else "off"), ev))
        if not ok:
            raise migrate.HarnessError("guest ack %r" % ev)
        return seq

    def enable(self, conn):
        seq = self.set_state(conn, "precopy", True)
        BlockCtl.source_state = conn.cmd("x-query-dma-dirty", device=BRIDGE)
        return {"enabled": True, "generation": seq, "ack": "bridge"}

    def disable(self, conn):
        now = conn.cmd("x-query-dma-dirty", device=BRIDGE)
        checks.append((now == BlockCtl.source_state and
                       now[0]["host-state"] == "precopy",
                       "after migration the destination's block state is "
                       "the source's",
                       "source %s\ndestination %s" % (BlockCtl.source_state,
                                                      now)))
        seq = self.set_state(conn, "idle", False)
        return {"enabled": False, "generation": seq, "ack": "bridge"}


def main():
    migrate.Ctl = BlockCtl
    out = io.StringIO()
    sys.argv = ["migrate.py", "--ctl", "qmp",
                "--qemu", os.path.join(here, "qemu-block.sh")] + sys.argv[1:]
    with contextlib.redirect_stdout(out):
        rc = migrate.main()
    n = 0
    for line in out.getvalue().splitlines():
        if line.startswith("1.."):
            continue
        if line.startswith("ok ") or line.startswith("not ok "):
            n += 1
        print(line)
    for ok, desc, diag in checks:
        n += 1
        print("%s %d - block: %s" % ("ok" if ok else "not ok", n, desc))
        if not ok:
            for d in str(diag).splitlines():
                print("# " + d)
    # ack on, state equal, ack off: one migration with dirtying at least
    if len(checks) < 3:
        n += 1
        print("not ok %d - block: only %d block checks ran" % (n, len(checks)))
        rc = 1
    print("1..%d" % n)
    return 1 if rc or not all(c[0] for c in checks) else 0


if __name__ == "__main__":
    sys.exit(main())

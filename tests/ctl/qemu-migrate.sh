#!/bin/bash
# The examples against a real QEMU (TCG, no guest kernel: the firmware idles):
#  - QEMU accepts packaging/examples/qemu-agent-channel.args, and dmadirtyctl
#    on that chardev, with no agent in the guest, times out cleanly (exit 4);
#  - migrate-with-passthrough migrates a VM from one QEMU to another, with a
#    --quiesce command, and disables dirtying on the destination;
#  - QEMU refusing device_del while migrating, and QEMU converging before the
#    quiesce (downtime-limit 0): the script must cancel (exit 1), leaving the
#    source running, its device attached and dirtying disabled, instead of
#    switching over.
# Real dmadirty-agents on unix sockets stand in for the guest's agent (the
# firmware runs none): one for the source, one for the destination.
set -u
. "${top_srcdir:-.}/tests/ctl/lib.sh"

qemu=${QEMU_SYSTEM:-qemu-system-x86_64}
script=${top_srcdir:-.}/packaging/examples/migrate-with-passthrough
agent=${top_builddir:-.}/agent/dmadirty-agent
pids=()
cleanup_all() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	cleanup
}
trap cleanup_all EXIT

echo "1..12"

mapfile -t chan_args < <(grep -v '^#' "${top_srcdir:-.}/packaging/examples/qemu-agent-channel.args")

# vm NAME EXTRA-ARGS...: starts a paused-free TCG VM with the example channel.
vm() {
	local name=$1; shift
	"$qemu" -accel tcg -M pc -m 64 -nodefaults -display none \
		-qmp "unix:$tmp/$name.qmp,server=on,wait=off" \
		"${chan_args[@]//\/run\/dmadirty\/vm1.agent.sock/$tmp/$name.chan}" \
		"$@" 2>"$tmp/$name.log" &
	pids+=($!)
	wait_socket "$tmp/$name.qmp" $! && wait_socket "$tmp/$name.chan" $!
}

# stand_in NAME: a dmadirty-agent on $tmp/NAME.sock with sysctl $tmp/NAME.sysctl.
stand_in() {
	echo 0 >"$tmp/$1.sysctl"
	mkdir -p "$tmp/hooks"
	: >"$tmp/agent.conf"
	"$agent" -c "$tmp/agent.conf" -m unix-listen -p "$tmp/$1.sock" --sysctl-path "$tmp/$1.sysctl" \
		--device-path "$tmp/no-device" --hooks-dir "$tmp/hooks" 2>"$tmp/$1.agent.log" &
	pids+=($!)
	wait_socket "$tmp/$1.sock" $!
}

qmp() {	# qmp NAME EXECUTE [ARGS-JSON]: prints the return value
	python3 - "$tmp/$1.qmp" "$2" "${3:-}" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
f.readline()
def call(cmd, args=None):
    f.write(json.dumps({"execute": cmd, **({"arguments": args} if args else {})}) + "\n"); f.flush()
    while True:
        m = json.loads(f.readline())
        if "event" not in m:
            return m
call("qmp_capabilities")
r = call(sys.argv[2], json.loads(sys.argv[3]) if sys.argv[3] else None)
print(json.dumps(r.get("return", r)))
PY
}
has_device() { qmp "$1" qom-list '{"path": "/machine/peripheral"}' | grep -q "\"name\": \"$2\""; }
sysctl_is() { [[ $(<"$tmp/$1.sysctl") == "$2" ]] || { echo "# $1 sysctl is $(<"$tmp/$1.sysctl"), wanted $2"; return 1; }; }

ok "QEMU accepts the example channel arguments" vm idle
ok "dmadirtyctl on a VM whose guest runs no agent: exit 4, within the timeout" eval '
	SECONDS=0; expect 4 "$ctl" -s "$tmp/idle.chan" -t 1 status && contains "$err" "no answer" && ((SECONDS < 5))'

# --- a migration that succeeds.  QEMU refuses device_del while migrating
# (failover primaries aside), so the device is quiesced by a command.
ok "source and destination VMs start" eval '
	vm src && vm dst -incoming "unix:$tmp/mig.sock"'
ok "stand-in agents start" eval 'stand_in src-agent && stand_in dst-agent &&
	expect 0 "$ctl" -s "$tmp/dst-agent.sock" enable'
ok "migrate-with-passthrough migrates, quiescing before switchover" eval '
	expect 0 bash "$script" --dmadirtyctl "$ctl" --src-qmp "$tmp/src.qmp" --dst-qmp "$tmp/dst.qmp" \
		--src-agent "$tmp/src-agent.sock" --dst-agent "$tmp/dst-agent.sock" \
		--uri "unix:$tmp/mig.sock" --quiesce "touch $tmp/quiesced" --detach-when start \
		--tag e2e-1 --lease 60 &&
	contains "$err" "5/5 disable" && [[ -e $tmp/quiesced ]]'
ok "the source finished the migration; the destination runs" eval '
	contains "$(qmp src query-migrate)" "\"completed\"" &&
	contains "$(qmp dst query-status)" "\"running\""'
ok "dirtying: enabled on the source agent, disabled on the destination's" eval '
	sysctl_is src-agent 1 && sysctl_is dst-agent 0'

# --- migrations that must not switch over.
ok "a VM with a PCI device, and a destination" eval '
	vm src2 -device pci-testdev,id=pt && vm dst2 -incoming "unix:$tmp/mig2.sock" && stand_in src2-agent'
ok "device_del refused while migrating: the script cancels, exit 1" eval '
	expect 1 bash "$script" --dmadirtyctl "$ctl" --src-qmp "$tmp/src2.qmp" \
		--src-agent "$tmp/src2-agent.sock" --dst-agent "$tmp/dst-agent.sock" \
		--uri "unix:$tmp/mig2.sock" --device pt --detach-when start &&
	contains "$err" "FAILED: device_del pt" && contains "$err" "cancelling the migration"'
cancelled_and_running() {
	local i
	for ((i = 0; i < 50; i++)); do
		[[ $(qmp "$1" query-migrate) == *'"cancelled"'* ]] && break
		sleep 0.1
	done
	contains "$(qmp "$1" query-migrate)" '"cancelled"' &&
		contains "$(qmp "$1" query-status)" '"running"'
}
ok "the source runs on with its device; dirtying disabled again" eval '
	cancelled_and_running src2 && has_device src2 pt && sysctl_is src2-agent 0'
# downtime-limit 0: QEMU 7.2 switches over right after the first pass.
ok "converging before the quiesce: cancelled, exit 1, the quiesce never ran" eval '
	vm dst3 -incoming "unix:$tmp/mig3.sock" &&
	expect 1 bash "$script" --dmadirtyctl "$ctl" --src-qmp "$tmp/src2.qmp" \
		--src-agent "$tmp/src2-agent.sock" --dst-agent "$tmp/dst-agent.sock" \
		--uri "unix:$tmp/mig3.sock" --quiesce "touch $tmp/quiesced3" --hold-downtime 0 &&
	contains "$err" "converged before the devices were detached" && [[ ! -e $tmp/quiesced3 ]]'
ok "the source runs on; dirtying disabled again" eval '
	cancelled_and_running src2 && sysctl_is src2-agent 0'
exit $failed

#!/bin/bash
# dmadirtyctl against the real dmadirty-agent on a unix socket, with a
# temporary sysctl file and hooks directory: every command, the agent's
# errors as exit 1, the tag reaching the hooks, a lease running out, and the
# resync after a client that left half a message.
set -u
. "${top_srcdir:-.}/tests/ctl/lib.sh"

agent=${top_builddir:-.}/agent/dmadirty-agent
schema=${top_srcdir:-.}/proto/rpc-schema.json
sock=$tmp/agent.sock
sysctl=$tmp/dma_mark_dirty
hooks=$tmp/hooks.d
mkdir -p "$hooks"
echo 0 >"$sysctl"

echo "1..15"
: >"$tmp/agent.conf"
"$agent" -c "$tmp/agent.conf" -m unix-listen -p "$sock" --sysctl-path "$sysctl" \
	--device-path "$tmp/no-such-device" --hooks-dir "$hooks" 2>"$tmp/agent.log" &
peer_pid=$!
ok "the agent is listening" wait_socket "$sock" "$peer_pid"
export DMADIRTYCTL_SOCKET=$sock

sysctl_is() { [[ $(<"$sysctl") == "$1" ]] || { echo "# sysctl is $(<"$sysctl"), wanted $1"; return 1; }; }
# json_is JSON PYTHON-EXPRESSION-ON-v
json_is() { python3 -c 'import json, sys
v = json.loads(sys.argv[1])
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" || { echo "# not ($2): $1"; return 1; }; }

ok "status: off" eval 'expect 0 "$ctl" status && contains "$out" "enabled: false"'
ok "enable --lease --tag: on, sysctl 1, ack none" eval '
	expect 0 "$ctl" enable --lease 60 --tag mig-1 && contains "$out" "DMA dirtying is on" &&
	contains "$out" "ack: none" && sysctl_is 1'
ok "status --json: on, generation 1, lease running" eval '
	expect 0 "$ctl" --json status &&
	json_is "$out" "v[\"enabled\"] is True and v[\"generation\"] == 1 and 0 < v[\"lease-remaining\"] <= 60"'
ok "enable again is idempotent (same generation)" eval '
	expect 0 "$ctl" --json enable --lease 60 && json_is "$out" "v[\"generation\"] == 1"'
ok "disable: off, sysctl 0" eval '
	expect 0 "$ctl" disable --tag mig-1 && contains "$out" "DMA dirtying is off" && sysctl_is 0'

cat >"$hooks/10-record" <<HOOK
#!/bin/sh
echo "\$1 \$DMADIRTY_TAG" >>"$tmp/hook.log"
HOOK
chmod +x "$hooks/10-record"
ok "the tag reaches the hooks" eval '
	expect 0 "$ctl" enable --tag "mig 2" && expect 0 "$ctl" disable --tag "mig 2" &&
	contains "$(<"$tmp/hook.log")" "pre-enable mig 2" &&
	contains "$(<"$tmp/hook.log")" "post-disable mig 2"'
rm -f "$hooks/10-record"

printf '#!/bin/sh\n[ "$1" = pre-enable ] && exit 3\nexit 0\n' >"$hooks/20-veto"
chmod +x "$hooks/20-veto"
ok "a failing pre-enable hook: exit 1 naming it, sysctl stays 0" eval '
	expect 1 "$ctl" enable && contains "$err" "GenericError" && contains "$err" "20-veto" && sysctl_is 0'
ok "the same with --json: the error reply on stdout" eval '
	expect 1 "$ctl" --json enable && json_is "$out" "v[\"error\"][\"class\"] == \"GenericError\""'
rm -f "$hooks/20-veto"

ok "enable --lease -1: the agent rejects it, exit 1" eval '
	expect 1 "$ctl" enable --lease -1 && contains "$err" "lease"'
ok "raw unknown command: CommandNotFound, exit 1" eval '
	expect 1 "$ctl" raw "{\"execute\": \"guest-no-such\"}" && contains "$err" "CommandNotFound"'
ok "info lists every command of the schema" eval '
	expect 0 "$ctl" --json info &&
	python3 -c "import json, sys
have = {c[\"name\"] for c in json.loads(sys.argv[1])[\"supported_commands\"]}
want = {c[\"name\"] for c in json.load(open(sys.argv[2]))[\"commands\"]}
sys.exit(0 if have == want else print(\"# have\", sorted(have), \"want\", sorted(want)) or 1)" "$out" "$schema"'

send_and_leave "$sock" '{"execute": "guest-dma-dirty-enable", "arguments": {"le'
ok "resync after a client left half a message; nothing was enabled" eval '
	expect 0 "$ctl" ping && sysctl_is 0'

ok "a lease runs out: off again on its own" eval '
	expect 0 "$ctl" enable --lease 1 && sysctl_is 1 && sleep 2.5 &&
	expect 0 "$ctl" --json status && json_is "$out" "v[\"enabled\"] is False" && sysctl_is 0'
ok "the agent is still running" kill -0 "$peer_pid"
[[ $failed == 0 ]] || sed 's/^/# agent: /' "$tmp/agent.log"
exit $failed

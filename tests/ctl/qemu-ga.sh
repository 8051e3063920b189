#!/bin/bash
# dmadirtyctl against qemu-ga (Debian's qemu-guest-agent) on a unix socket:
# the generic commands and the resync work with any QGA-speaking agent, and
# dmadirty's own commands fail there as a clean agent error.
set -u
. "${top_srcdir:-.}/tests/ctl/lib.sh"

echo "1..6"
qga=$(command -v qemu-ga || echo /usr/sbin/qemu-ga)
if [[ ! -x $qga ]]; then
	skip 6 "qemu-ga is not installed (tests/deps/ctl.txt lists qemu-guest-agent)"
	exit 0
fi

sock=$tmp/qga.sock
"$qga" -m unix-listen -p "$sock" -t "$tmp" 2>"$tmp/qga.log" &
peer_pid=$!
ok "qemu-ga is listening" wait_socket "$sock" "$peer_pid"

ok "ping" eval 'expect 0 "$ctl" -s "$sock" ping && contains "$out" "alive"'
ok "info --json shows qemu-ga's version" \
	eval 'expect 0 "$ctl" -s "$sock" --json info && contains "$out" "\"version\""'
ok "status is an agent error (CommandNotFound), exit 1" \
	eval 'expect 1 "$ctl" -s "$sock" status && contains "$err" "CommandNotFound"'
ok "raw guest-sync echoes the id" \
	eval 'expect 0 "$ctl" -s "$sock" --json raw "{\"execute\": \"guest-sync\", \"arguments\": {\"id\": 4711}}" &&
	      contains "$out" "4711"'
# qemu-ga keeps a half-read message across clients; the 0xFF resync clears it.
# (A client that leaves before reading its replies is not tried: qemu-ga 7.2
# then refuses every later connection.)
send_and_leave "$sock" '{"execute": "guest-info", "arguments": {"x'
ok "resync after a client left half a message" \
	eval 'expect 0 "$ctl" -s "$sock" ping && contains "$out" "alive"'
exit $failed

#!/bin/bash
# packaging/examples/migrate-with-passthrough: argument checking, the order
# of the steps in --dry-run, and the abort when enable fails.  Also checks
# that the libvirt example is well-formed XML.
set -u
. "${top_srcdir:-.}/tests/ctl/lib.sh"

script=${top_srcdir:-.}/packaging/examples/migrate-with-passthrough
examples=${top_srcdir:-.}/packaging/examples
req=(--src-qmp /s/qmp --src-agent /s/agent --dst-agent /d/agent --uri tcp:dst:4444 --device hostdev0)

echo "1..15"

help_ok() {
	local o
	expect 0 bash "$script" --help || return 1
	for o in --src-qmp --src-agent --dst-agent --dst-qmp --uri --device --quiesce --lease --tag \
		 --downtime-limit --hold-downtime --detach-when --pass-timeout --unplug-timeout \
		 --converge-timeout --agent-timeout --dmadirtyctl --capability --dry-run "Exit status"; do
		contains "$out" "$o" || return 1
	done
}
ok "--help documents every option and the exit status" help_ok

missing_each() {
	local i
	for ((i = 0; i < ${#req[@]}; i += 2)); do
		local args=("${req[@]:0:i}" "${req[@]:i+2}")
		expect 2 bash "$script" --dry-run "${args[@]}" || return 1
		contains "$err" "${req[i]}" && contains "$err" "is required" || return 1
	done
}
ok "each required option missing: exit 2 naming it" missing_each

bad_values() {
	local bad
	for bad in "--lease ten" "--lease 0" "--downtime-limit -1" "--pass-timeout 1.5" \
		   "--uri dst:4444" "--device 0bad;id" "--hold-downtime 300" "--detach-when later" "--bogus" \
		   "extra-argument" "--tag"; do
		# shellcheck disable=SC2086
		expect 2 bash "$script" --dry-run "${req[@]}" $bad || return 1
		[[ -n $err && -z $out ]] || { echo "# $bad: no message, or output"; return 1; }
	done
}
ok "bad values and unknown options: exit 2, nothing done" bad_values

ok "--dry-run succeeds" \
	expect 0 bash "$script" --dry-run "${req[@]}" --device=nic1 --dst-qmp /d/qmp --tag mig-7 --lease 120
dry=$out
line_of() { grep -n -F -- "$1" <<<"$dry" | head -n1 | cut -d: -f1; }
ok "enable goes to the source agent with the lease and tag" \
	contains "$dry" "--socket /s/agent --timeout 30 enable --lease 120 --tag mig-7"
ok "disable goes to the destination agent with the tag" \
	contains "$dry" "--socket /d/agent --timeout 30 disable --tag mig-7"
ok "both devices are detached" eval 'contains "$dry" "\"device_del\", \"arguments\": {\"id\": \"hostdev0\"}" &&
	contains "$dry" "\"device_del\", \"arguments\": {\"id\": \"nic1\"}"'
order() {
	local e p h m d c k x
	e=$(line_of "enable --lease")
	p=$(line_of '"pause-before-switchover", "state": true')
	h=$(line_of '"downtime-limit": 1}')
	m=$(line_of '"migrate", "arguments": {"uri": "tcp:dst:4444"}')
	d=$(line_of '"device_del"')
	c=$(line_of '"downtime-limit": 300')
	k=$(line_of '"migrate-continue"')
	x=$(line_of "disable --tag")
	echo "# enable $e, pause $p, hold $h, migrate $m, device_del $d, converge $c, continue $k, disable $x"
	[[ -n $e && -n $p && -n $h && -n $m && -n $d && -n $c && -n $k && -n $x ]] &&
		((e < p && p < m && h < m && m < d && d < c && c < k && k < x))
}
ok "order: enable, hold + pause-before-switchover, migrate, device_del, converge, continue, disable" order
ok "--quiesce alone replaces --device, and runs in the detach step" eval '
	expect 0 bash "$script" --dry-run "${req[@]:0:8}" --quiesce "guest-quiesce --wait" &&
	dry=$out && contains "$dry" "bash -c guest-quiesce --wait" &&
	(($(line_of "bash -c guest-quiesce") < $(line_of "\"downtime-limit\": 300"))) &&
	! contains "$dry" device_del >/dev/null'
ok "--detach-when start detaches without waiting for the first pass" eval '
	expect 0 bash "$script" --dry-run "${req[@]}" --detach-when start &&
	dry=$out && (($(line_of "\"migrate\", \"arguments\"") + 1 == $(line_of "\"device_del\"")))'

# QEMU's x-dma-dirty capability instead of the agents.
cap=(--capability on --src-qmp /s/qmp --dst-qmp /d/qmp --uri tcp:dst:4444 --device hostdev0)
ok "--capability on: the capability on both QEMUs before migrate, no agent call" eval '
	expect 0 bash "$script" --dry-run "${cap[@]}" && dry=$out &&
	s=$(line_of "qmp /s/qmp {\"execute\": \"migrate-set-capabilities\", \"arguments\": {\"capabilities\": [{\"capability\": \"x-dma-dirty\"") &&
	d=$(line_of "qmp /d/qmp {\"execute\": \"migrate-set-capabilities\", \"arguments\": {\"capabilities\": [{\"capability\": \"x-dma-dirty\"") &&
	m=$(line_of "\"migrate\", \"arguments\"") && echo "# source $s, destination $d, migrate $m" &&
	[[ -n $s && -n $d && -n $m ]] && ((s < m && d < m)) &&
	! contains "$dry" "--socket" >/dev/null'
ok "--capability on needs --dst-qmp, and --capability takes auto, on or off" eval '
	expect 2 bash "$script" --dry-run "${cap[@]:0:4}" "${cap[@]:6}" &&
	contains "$err" "--dst-qmp is required with --capability on" &&
	expect 2 bash "$script" --dry-run --capability sometimes "${req[@]}" &&
	contains "$err" "--capability wants auto, on or off"'

ok "--capability on with neither --device nor --quiesce: QEMU's late unplug, a plain migrate" eval '
	expect 0 bash "$script" --dry-run "${cap[@]:0:8}" && dry=$out &&
	contains "$dry" "\"migrate\", \"arguments\"" &&
	! contains "$dry" "pause-before-switchover" >/dev/null &&
	! contains "$dry" "device_del" >/dev/null &&
	! contains "$dry" "migrate-continue" >/dev/null &&
	expect 2 bash "$script" --dry-run --capability off "${req[@]:0:8}" --dst-qmp /d/qmp &&
	contains "$err" "unless --dst-qmp and QEMU'"'"'s x-dma-dirty capability"'

# A real run whose enable fails must stop before touching QMP.
ok "enable failing (no agent): exit 1 before any migration" eval '
	expect 1 bash "$script" --dmadirtyctl "$ctl" --agent-timeout 2 \
		--src-qmp "$tmp/no-qmp" --src-agent "$tmp/no-agent" --dst-agent "$tmp/no-agent" \
		--uri unix:$tmp/mig --device hostdev0 &&
	contains "$err" "FAILED: enable on the source agent" &&
	! contains "$err" "2/5" >/dev/null'

ok "libvirt-channel.xml is well-formed and names the port" eval '
	python3 -c "import sys, xml.dom.minidom as m
d = m.parse(sys.argv[1]).documentElement
t = d.getElementsByTagName(\"target\")[0]
sys.exit(not (d.tagName == \"channel\" and t.getAttribute(\"name\") == \"org.dmadirty.agent.0\"))" \
		"$examples/libvirt-channel.xml"'
exit $failed

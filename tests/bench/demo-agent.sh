#!/bin/bash
# The interim main job: start the built dmadirty-agent on a unix socket in a
# temporary directory (with a temporary file standing in for the sysctl),
# ask it for guest-dma-dirty-status with dmadirtyctl, print the answer, and
# stop the agent.
#   usage: demo-agent.sh BUILDDIR
set -euo pipefail

build=${1:-.}
agent=$build/agent/dmadirty-agent
ctl=$build/proto/dmadirtyctl
dir=$(mktemp -d "${TMPDIR:-/tmp}/dmadirty-demo.XXXXXX")
pid=
cleanup() {
	if [[ -n $pid ]]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT

echo 0 >"$dir/dma_mark_dirty"
mkdir "$dir/hooks.d"
: >"$dir/agent.conf"
echo "== starting $agent on $dir/agent.sock"
"$agent" -c "$dir/agent.conf" -m unix-listen -p "$dir/agent.sock" \
	--sysctl-path "$dir/dma_mark_dirty" --device-path "$dir/no-module" \
	--hooks-dir "$dir/hooks.d" 2>"$dir/agent.log" &
pid=$!
for ((i = 0; i < 200; i++)); do
	[[ -S $dir/agent.sock ]] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
if [[ ! -S $dir/agent.sock ]]; then
	echo "demo: the agent did not start:" >&2
	cat "$dir/agent.log" >&2
	exit 1
fi

echo "== $ctl --socket $dir/agent.sock status"
status=0
"$ctl" --socket "$dir/agent.sock" --timeout 10 status || status=$?
echo "== the agent's log"
cat "$dir/agent.log"
if ((status != 0)); then
	echo "demo: dmadirtyctl failed with exit status $status" >&2
	exit "$status"
fi
echo "== demo passed: the agent answered guest-dma-dirty-status"

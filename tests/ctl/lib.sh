# Shared by the tests/ctl shell suites: TAP output and a peer process.
# shellcheck shell=bash

ctl=${top_builddir:-.}/proto/dmadirtyctl
n=0
failed=0

ok() {		# ok DESCRIPTION COMMAND...: passes when COMMAND succeeds
	local what=$1; shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $what"
	else
		echo "not ok $n - $what"
		failed=1
	fi
}

skip() {	# skip COUNT REASON
	local i
	for ((i = 0; i < $1; i++)); do
		n=$((n + 1))
		echo "ok $n # SKIP $2"
	done
}

# expect STATUS COMMAND...: runs COMMAND, keeps its output in $out and
# $err, and fails unless it exits with STATUS.
expect() {
	local want=$1 got=0; shift
	out=$("$@" 2>"$tmp/stderr") || got=$?
	err=$(<"$tmp/stderr")
	if [[ $got != "$want" ]]; then
		echo "# $* exited $got, wanted $want; stdout: $out; stderr: $err"
		return 1
	fi
}

contains() {	# contains HAYSTACK NEEDLE
	[[ $1 == *"$2"* ]] || { echo "# expected \"$2\" in: $1"; return 1; }
}

# wait_socket PATH PID: until PATH is a socket, at most 10 s, while PID lives.
wait_socket() {
	local i
	for ((i = 0; i < 200; i++)); do
		[[ -S $1 ]] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# Sends TEXT to the unix socket PATH and disconnects without reading.
send_and_leave() {	# send_and_leave PATH TEXT
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode())
s.close()' "$1" "$2"
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-ctl.XXXXXX")
peer_pid=
cleanup() {
	if [[ -n $peer_pid ]]; then
		kill "$peer_pid" 2>/dev/null
		wait "$peer_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# shellcheck shell=bash
# Helpers of the packaging suites (packaging.sh, images.sh).  Source it from
# bash, as "$top_srcdir/tests/packaging/lib.sh"; it sets
#   here          tests/packaging in the source tree
#   cache         the machine's cache ($DD_CACHE, default /var/cache/dmadirty)
#   qemu          the QEMU for the guests ($QEMU_SYSTEM)
#   guestsh       path of tests/packaging/guestsh.py
# and its functions use, once set by the suite:
#   shell_sock    the unix socket of the guest's root shell on ttyS1
#   monitor_sock  the unix socket of QEMU's human monitor
#   agent_sock    the unix socket of the host side of org.dmadirty.agent.0
#   qemu_pid      QEMU's pid
#   top_builddir  the build tree
# and suite_start sets work (the scratch directory), the TAP counters t and
# failed, and empties qemu_pid and console.
#
#   suite_start WHAT NAME   root check, counters, $work, the EXIT trap
#   elapsed MESSAGE         MESSAGE with the seconds since suite_start
#   ok/not_ok DESCRIPTION   a TAP line, counted in $t (and $failed)
#   note                    stdin as TAP comments
#   check DESCRIPTION COMMAND...
#                           one TAP line for a command, its output as notes;
#                           false when the command failed
#   build_debs RELEASE PKGDIR  make deb DEB_RELEASE=RELEASE into PKGDIR
#   make_locked ARG...      make -C $top_builddir ARG..., one at a time
#   g TIMEOUT COMMAND       run a shell command in the guest (guestsh.py)
#   hmp COMMAND             one human monitor command, its output printed
#   ctl ARG...              dmadirtyctl --json on the agent's socket
#   poweroff_guest          true once the guest has powered off (60 s at most)
#   enable_acked            dmadirtyctl enable answered enabled, with the ack
#   module_source           dmadirtyctl status says the module is the source
#   pkg_files FILE          the packages' files, as dpkg and DKMS know them
#   purged FILE             stop + dpkg --purge leave none of FILE's paths

: "${top_srcdir:?}" "${top_builddir:?}"
here=$top_srcdir/tests/packaging
cache=${DD_CACHE:-/var/cache/dmadirty}
qemu=${QEMU_SYSTEM:-qemu-system-x86_64}
guestsh=$here/guestsh.py

# suite_start: bails out unless root; $work is /var/tmp/dd-NAME.*.  The EXIT
# trap stops the QEMU left in $qemu_pid, runs the suite's on_exit if it
# defines one, and removes $work unless DD_KEEP=1.
suite_start() {
	if ((EUID != 0)); then
		echo "Bail out! $1 needs root (debootstrap, chroot)"
		exit 1
	fi
	t=0 failed=0 qemu_pid='' console=''
	work=$(mktemp -d "/var/tmp/dd-$2.XXXXXX")
	trap suite_cleanup EXIT
	SECONDS=0
}
suite_cleanup() {
	if [[ -n $qemu_pid ]] && kill -0 "$qemu_pid" 2>/dev/null; then
		kill "$qemu_pid"; wait "$qemu_pid" 2>/dev/null
	fi
	if declare -F on_exit >/dev/null; then on_exit; fi
	if [[ ${DD_KEEP:-} == 1 ]]; then echo "# kept $work"; else rm -rf "$work"; fi
}
elapsed() { echo "# [${SECONDS}s] $*"; }

ok() { t=$((t + 1)); echo "ok $t - $*"; }
not_ok() { t=$((t + 1)); failed=$((failed + 1)); echo "not ok $t - $*"; }
note() { awk '{ print "# " $0 }'; }
check() {	# check DESCRIPTION COMMAND...: one TAP line for a command
	local what=$1; shift
	if "$@" >"$work/step.log" 2>&1; then ok "$what"; head -n 20 "$work/step.log" | note; else
		not_ok "$what"; tail -n 60 "$work/step.log" | note; return 1
	fi
}

# Both suites build packages from the same tree, and `make dist` of one tree
# must not run twice at once.
make_locked() {
	mkdir -p "$top_builddir/tests/packaging" &&
		flock "$top_builddir/tests/packaging/.make-dist.lock" make -C "$top_builddir" "$@"
}

build_debs() {
	make_locked deb DEB_RELEASE="$1" DD_CACHE="$cache" pkgdir="$2" \
		>"$work/deb-$1.log" 2>&1 || { tail -n 60 "$work/deb-$1.log"; return 1; }
	grep '^build-in-root:' "$work/deb-$1.log"
	ls "$2"/*.deb
}

g() { python3 "$guestsh" "$shell_sock" "$@"; }

hmp() { python3 - "$monitor_sock" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)
buf = b""
while b"(qemu)" not in buf: buf += s.recv(4096)
s.sendall(sys.argv[2].encode() + b"\n"); buf = b""
while buf.count(b"(qemu)") < 1: buf += s.recv(4096)
print(buf.decode(errors="replace"))
EOF
}

ctl() { "$top_builddir/proto/dmadirtyctl" --socket "$agent_sock" --json --timeout 30 "$@"; }

poweroff_guest() {
	g 30 'sync; systemctl poweroff' >/dev/null 2>&1
	for _ in $(seq 120); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.5; done
	kill -0 "$qemu_pid" 2>/dev/null && return 1
	wait "$qemu_pid"; qemu_pid=
}

enable_acked() {
	local out
	out=$(ctl enable) || { echo "$out"; return 1; }
	echo "$out"
	python3 -c 'import json, sys; r = json.loads(sys.argv[1]); r = r.get("return", r); \
sys.exit(0 if r["enabled"] is True and r["ack"] in ("bridge", "none") else 1)' "$out"
}

module_source() {
	local out
	out=$(ctl status) || { echo "$out"; return 1; }
	echo "$out" | cut -c1-400
	python3 -c 'import json, sys; r = json.loads(sys.argv[1]); r = r.get("return", r); \
sys.exit(0 if r["source"] in ("module", "kernel") and not r.get("missing") else 1)' "$out"
}

pkg_files() {
	g 60 'dpkg -L dmadirty-agent dmadirty-dkms; find / -xdev -name "*dmadirty*"' | sort -u >"$1"
}

purged() {
	g 300 'systemctl stop dmadirty-agent.service && ! systemctl is-active dmadirty-agent.service &&
dpkg --purge dmadirty-agent dmadirty-dkms' >"$work/purge.log" 2>&1 ||
		{ cat "$work/purge.log"; return 1; }
	# Everything that was a file of the packages or named after them is gone
	# (directories other packages share, such as /usr/src, stay).
	g 60 "while read -r f; do [ -e \"\$f\" ] && [ ! -d \"\$f\" ] && echo \"left: \$f\"; done <<'LIST'
$(cat "$1")
LIST
find / -xdev -name '*dmadirty*' | sed 's/^/left: /'
true" >"$work/left" || return 1
	echo "$(grep -c . "$1") paths of the packages checked after purge"
	cat "$work/left"
	! grep -q '^left: ' "$work/left"
}

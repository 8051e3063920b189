#!/bin/bash
# Install the Debian packages that building and testing dmadirty need.
#
# Each component lists its packages in tests/deps/<component>.txt, one per
# line ('#' starts a comment).  Only missing packages are installed, so a
# second run costs one dpkg-query.  Must run as root on Debian 12.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$here"/deps/*.txt | sort -u)

missing=()
for pkg in "${wanted[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
	[[ $status == ii* ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
	echo "deps: all ${#wanted[@]} packages present"
	exit 0
fi
if ((EUID != 0)); then
	echo "deps: missing packages and not root: ${missing[*]}" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

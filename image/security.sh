#!/bin/sh
# Prints the systemd-analyze security exposure of the praxisgate unit and
# fails when it is above the target (3.0, "OK"). Works without a running
# systemd (--offline). Usage: image/security.sh [UNIT] [MAX]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
unit=${1:-$here/praxisgate.service}
max=${2:-3.0}
if ! command -v systemd-analyze >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends systemd >/dev/null
	else
		echo "security.sh: systemd-analyze missing: apt-get install systemd (make image installs it as root)" >&2
		exit 1
	fi
fi
out=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1) || true
# The findings that still cost points, then the score.
printf '%s\n' "$out" | grep '✗' | sed 's/  */ /g' || true
line=$(printf '%s\n' "$out" | grep 'Overall exposure level' || true)
if [ -z "$line" ]; then
	printf '%s\n' "$out" >&2
	echo "security.sh: no exposure level in the output above" >&2
	exit 1
fi
echo "$line"
score=$(printf '%s\n' "$line" | sed -n 's/.*: \([0-9][0-9]*\.[0-9]\).*/\1/p')
if awk -v s="$score" -v m="$max" 'BEGIN { exit !(s > m) }'; then
	echo "security.sh: exposure $score is above the target $max" >&2
	exit 1
fi
echo "exposure $score ≤ $max: ok"

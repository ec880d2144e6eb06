#!/usr/bin/env bash
# Stops the server started by start-local.sh with the same VAR_DIR. Idempotent; keeps the data.
#
# Usage: deploy/clickhouse/stop-local.sh [VAR_DIR]   (default ./var/clickhouse)
set -euo pipefail

VAR_DIR="${1:-./var/clickhouse}"
PID_FILE="$VAR_DIR/clickhouse-server.pid"

if [[ ! -f "$PID_FILE" ]]; then
	echo "clickhouse: no pid file at $PID_FILE; nothing to stop"
	exit 0
fi
PID="$(cat "$PID_FILE")"
# Only signal the pid if it is still a clickhouse-server: pids get reused after a reboot.
if [[ -z "$PID" ]] || ! grep -q clickhouse "/proc/$PID/cmdline" 2>/dev/null; then
	echo "clickhouse: pid '$PID' is not running; removing stale pid file"
	rm -f "$PID_FILE"
	exit 0
fi

kill -TERM "$PID"
for _ in $(seq 1 60); do
	if ! kill -0 "$PID" 2>/dev/null; then
		rm -f "$PID_FILE"
		echo "clickhouse: stopped (pid $PID)"
		exit 0
	fi
	sleep 0.5
done
echo "clickhouse: pid $PID still alive after 30 s; sending SIGKILL" >&2
kill -KILL "$PID" || true
rm -f "$PID_FILE"

#!/usr/bin/env bash
# Starts a single local ClickHouse server for development and tests (no systemd here or in CI).
# Idempotent: if the server already answers /ping on the HTTP port, it does nothing.
#
# Usage: deploy/clickhouse/start-local.sh [VAR_DIR]   (default ./var/clickhouse)
# Env:   CLICKHOUSE_TCP_PORT (default 9000), CLICKHOUSE_HTTP_PORT (default 8123)
set -euo pipefail

VAR_DIR="${1:-./var/clickhouse}"
TCP_PORT="${CLICKHOUSE_TCP_PORT:-9000}"
HTTP_PORT="${CLICKHOUSE_HTTP_PORT:-8123}"

ping_ok() { curl -sf "http://127.0.0.1:${HTTP_PORT}/ping" >/dev/null 2>&1; }

if ping_ok; then
	echo "clickhouse: already answering on 127.0.0.1:${HTTP_PORT}"
	exit 0
fi

# CI starts from a fresh machine. The package cannot start its service without systemd; we start
# the server ourselves below. curl is only for /ping.
if [[ ! -x /usr/sbin/clickhouse-server ]] || ! command -v curl >/dev/null; then
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y clickhouse-server clickhouse-client curl
fi

mkdir -p "$VAR_DIR"
VAR_DIR="$(cd "$VAR_DIR" && pwd)" # the server resolves relative paths against its own cwd
mkdir -p "$VAR_DIR"/{data,tmp,user_files,format_schemas,log}

CONF="$VAR_DIR/config.xml"
PID="$VAR_DIR/clickhouse-server.pid"

# path etc. must end with '/': the server concatenates file names onto them. 18.16 refuses to start
# without mark_cache_size ("Not found: mark_cache_size"); 256 MiB instead of the stock 5 GiB suits a
# developer machine.
write_config() {
	cat >"$CONF" <<XML
<?xml version="1.0"?>
<yandex>
    <logger>
        <level>information</level>
        <log>${VAR_DIR}/log/clickhouse-server.log</log>
        <errorlog>${VAR_DIR}/log/clickhouse-server.err.log</errorlog>
        <size>100M</size>
        <count>3</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>${TCP_PORT}</tcp_port>
    <http_port>${HTTP_PORT}</http_port>
    <path>${VAR_DIR}/data/</path>
    <tmp_path>${VAR_DIR}/tmp/</tmp_path>
    <user_files_path>${VAR_DIR}/user_files/</user_files_path>
    <format_schema_path>${VAR_DIR}/format_schemas/</format_schema_path>
    <users_config>/etc/clickhouse-server/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mark_cache_size>268435456</mark_cache_size>
</yandex>
XML
}

# 18.16 runs as root, but current servers refuse to start when their user differs from the data
# directory's owner, and a database has no reason to run as root: as root, hand VAR_DIR to the
# clickhouse user the package creates and run the server as that user.
RUN=()
if [[ "$(id -u)" -eq 0 ]] && id clickhouse >/dev/null 2>&1; then
	RUN=(runuser -u clickhouse --)
fi
own_var_dir() { if ((${#RUN[@]})); then chown -R clickhouse:clickhouse "$VAR_DIR"; fi; }

# A pid file left by a killed server makes 18.16's --daemon exit silently (status 0, nothing
# logged), so remove it unless its process is a live clickhouse-server. A live one is still
# starting up: wait for it, and leave its config alone, rather than start a second server.
if [[ -f "$PID" ]] && grep -qs clickhouse "/proc/$(cat "$PID")/cmdline"; then
	echo "clickhouse: pid $(cat "$PID") already runs from $VAR_DIR; waiting for it on port ${HTTP_PORT}"
else
	rm -f "$PID"
	write_config
	own_var_dir
	"${RUN[@]}" /usr/sbin/clickhouse-server --config-file="$CONF" --pid-file="$PID" --daemon
fi

for i in $(seq 1 60); do
	if ping_ok; then
		echo "clickhouse: up on 127.0.0.1 tcp ${TCP_PORT} http ${HTTP_PORT} (data ${VAR_DIR})"
		exit 0
	fi
	# A server that failed (port taken, bad config) removes its pid file and exits: stop waiting.
	if ((i > 4)) && ! grep -qs clickhouse "/proc/$(cat "$PID" 2>/dev/null)/cmdline"; then
		break
	fi
	sleep 0.5
done

echo "clickhouse: did not answer /ping on port ${HTTP_PORT}; log tail:" >&2
# In --daemon mode early errors go only to stderr.log, the rest to clickhouse-server.log.
tail -n 30 "$VAR_DIR/log/stderr.log" "$VAR_DIR/log/clickhouse-server.log" >&2 || true
exit 1

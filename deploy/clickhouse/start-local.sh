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

# CI starts from a fresh machine. The package's own service start fails without systemd; harmless.
if [[ ! -x /usr/sbin/clickhouse-server ]]; then
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y clickhouse-server clickhouse-client curl
fi

mkdir -p "$VAR_DIR"
VAR_DIR="$(cd "$VAR_DIR" && pwd)" # the server resolves relative paths against its own cwd
mkdir -p "$VAR_DIR"/{data,tmp,user_files,format_schemas,log}

CONF="$VAR_DIR/config.xml"
PID="$VAR_DIR/clickhouse-server.pid"

# path etc. must end with '/': the server concatenates file names onto them.
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

# The server refuses to run with a data directory owned by another user, so when we are root
# we hand VAR_DIR to the clickhouse user (created by the package) and run as that user.
RUN=()
if [[ "$(id -u)" -eq 0 ]] && id clickhouse >/dev/null 2>&1; then
	chown -R clickhouse:clickhouse "$VAR_DIR"
	RUN=(runuser -u clickhouse --)
fi

"${RUN[@]}" /usr/sbin/clickhouse-server --config-file="$CONF" --pid-file="$PID" --daemon

for _ in $(seq 1 60); do
	if ping_ok; then
		echo "clickhouse: up on 127.0.0.1 tcp ${TCP_PORT} http ${HTTP_PORT} (data ${VAR_DIR})"
		exit 0
	fi
	sleep 0.5
done

echo "clickhouse: did not answer /ping on port ${HTTP_PORT} within 30 s; log tail:" >&2
tail -n 40 "$VAR_DIR/log/clickhouse-server.err.log" "$VAR_DIR/log/clickhouse-server.log" >&2 || true
exit 1

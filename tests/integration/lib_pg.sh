# lib_pg.sh: a throw-away PostgreSQL 15 server for a test, after lib.sh:
#
#   . "$(dirname "$0")/lib.sh"; . "$(dirname "$0")/lib_pg.sh"
#   pg_start                      # initdb + pg_ctl start in $T/pg, port PG_PORT
#   GW_STORE=$(pg_store_yaml); gw_config "$CFG"; gw_start
#   pg_psql -c 'select count(*) from certificates'
#   pg_stop / pg_start_again      # stop and start the same cluster
#   gw_b_config; gw_b_start       # a second gateway B on the same database
#   pg_standby_start              # a synchronous streaming standby (PG2_PORT)
#   pg_crash; pg_promote_standby  # a failover: the primary dies, the standby takes over
#
# The server runs as the postgres user (it refuses root) on 127.0.0.1 and a
# socket in $T/pg, never the system service.  The database user `scepgw`
# logs in over TCP with a password (scram-sha-256; the gateway reads it from
# PG_PASSWORD_FILE, mode 0600) and over the socket without one (pg_psql).
# The server is stopped (fast) on every exit path, before lib.sh's cleanup.
# Standalone use (tests/unit wrappers): set T to a 0755 directory first.
# shellcheck shell=bash

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_DIR=$T/pg
PG_PORT=
PG_PASSWORD_FILE=$T/pg.password
_PG_RUNNING=0

_pg_as() { runuser -u postgres -- "$@"; }

# pg_stop: fast shutdown (clients are disconnected); a no-op when stopped.
pg_stop() {
	[ "$_PG_RUNNING" = 1 ] || return 0
	_pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
	_PG_RUNNING=0
}

# The standby of pg_standby_start, stopped on exit like the primary.
PG2_DIR=$T/pg2
PG2_PORT=
_PG2_RUNNING=0
_pg2_stop() {
	[ "$_PG2_RUNNING" = 1 ] || return 0
	_pg_as "$PG_BIN/pg_ctl" -D "$PG2_DIR/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
	_PG2_RUNNING=0
}

_pg_exit() {
	local st=$?
	set +e # `(exit 1)` below must not end the trap before lib.sh's cleanup
	pg_stop
	_pg2_stop
	if declare -F _cleanup >/dev/null; then
		(exit "$st")
		_cleanup
	fi
	exit "$st"
}
trap _pg_exit EXIT

# pg_start_again: start the cluster pg_start made (same port and data).
# PG_OPTS: more server options, after the defaults (tests/bench/pg.sh: "-c
# fsync=on -c shared_preload_libraries=pg_stat_statements").
pg_start_again() {
	_pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 30 \
		-o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off ${PG_OPTS:-}" \
		start >/dev/null
	_PG_RUNNING=1
}

# pg_start: a new cluster with the database `scepgw`.
pg_start() {
	local pw
	mkdir -p "$PG_DIR"
	chown postgres "$PG_DIR"
	pw=$(openssl rand -hex 16)
	(umask 077; printf '%s\n' "$pw" >"$PG_PASSWORD_FILE")
	printf '%s\n' "$pw" >"$PG_DIR/pwfile"
	chown postgres "$PG_DIR/pwfile"
	_pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U scepgw --pwfile="$PG_DIR/pwfile" \
		--auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-sync >"$PG_DIR/initdb.log" 2>&1
	PG_PORT=$(free_port)
	pg_start_again
	pg_psql -d postgres -c 'CREATE DATABASE scepgw' >/dev/null
	log "PostgreSQL on 127.0.0.1:$PG_PORT (data $PG_DIR/data)"
}

# pg_psql ARGS...: psql as scepgw on the socket, unaligned tuples only.
pg_psql() { psql -h "$PG_DIR" -p "$PG_PORT" -U scepgw -d scepgw -XAtq "$@"; }

# pg_table_locked TABLE [MODE]: until another session holds a lock on TABLE
# (AccessExclusiveLock, or MODE: RowShareLock for SELECT ... FOR UPDATE;
# granted; at most 10 s), so a test knows its lock is in force.
pg_table_locked() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(pg_psql -c "select count(*) from pg_locks l join pg_class c on c.oid = l.relation
			where c.relname = '$1' and l.mode = '${2:-AccessExclusiveLock}' and l.granted")" = 1 ] &&
			return 0
		sleep 0.1
	done
	return 1
}

# pg_has_serials FILE: every serial in FILE (sgwload --serials: "issuerhash:HEX"
# a line) is a certificate in the database; names the missing ones.
pg_has_serials() {
	local want got
	want=$(cut -d: -f2 "$1" | tr 'A-F' 'a-f' | sed 's/^0*//' | sort -u)
	got=$(pg_psql -c "select ltrim(serial, '0') from certificates" | sort -u)
	[ -n "$want" ] || { echo "no serial in $1"; return 1; }
	comm -23 <(printf '%s\n' "$want") <(printf '%s\n' "$got") >"$1.missing"
	[ ! -s "$1.missing" ] || { echo "not in the database:"; cat "$1.missing"; return 1; }
}

# pg_standby_start: a hot standby of the running primary on PG2_PORT and the
# socket $PG2_DIR (pg_basebackup -R over the primary's socket; -c fast, as a
# spread checkpoint takes minutes), made the primary's synchronous standby
# (synchronous_standby_names '*', synchronous_commit on): a COMMIT returns
# once the standby has its WAL.  Waits until the primary reports it as sync.
pg_standby_start() {
	local i
	mkdir -p "$PG2_DIR"
	chown postgres "$PG2_DIR"
	_pg_as "$PG_BIN/pg_basebackup" -h "$PG_DIR" -p "$PG_PORT" -U scepgw -D "$PG2_DIR/data" \
		-R -X stream -c fast --no-sync >"$PG2_DIR/basebackup.log" 2>&1
	PG2_PORT=$(free_port)
	_pg_as "$PG_BIN/pg_ctl" -D "$PG2_DIR/data" -l "$PG2_DIR/log" -w -t 30 \
		-o "-p $PG2_PORT -k $PG2_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c cluster_name=standby" \
		start >/dev/null
	_PG2_RUNNING=1
	pg_psql -d postgres -c "ALTER SYSTEM SET synchronous_standby_names = '*'" \
		-c 'ALTER SYSTEM SET synchronous_commit = on' -c 'SELECT pg_reload_conf()' >/dev/null
	for ((i = 0; i < 100; i++)); do
		[ "$(pg_psql -d postgres -c 'select sync_state from pg_stat_replication')" = sync ] &&
			break
		sleep 0.1
	done
	log "standby on 127.0.0.1:$PG2_PORT ($(pg_psql -d postgres -c \
		'select application_name, sync_state from pg_stat_replication'))"
}

# pg_crash: the primary dies (`pg_ctl stop -m immediate`, as on a crash)
# and nothing answers until pg_promote_standby.
pg_crash() {
	_pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
	_PG_RUNNING=0
}

# pg_promote_standby: the standby becomes the primary; from then on pg_psql,
# pg_stop and pg_has_serials use it (PG_DIR, PG_PORT).
pg_promote_standby() {
	_pg_as "$PG_BIN/pg_ctl" -D "$PG2_DIR/data" -w -t 30 promote >/dev/null
	PG_DIR=$PG2_DIR
	PG_PORT=$PG2_PORT
	_PG_RUNNING=1
	_PG2_RUNNING=0
}

# pg_txn_state ID STATE: transaction ID reaches STATE (5: ISSUED) within 10 s.
pg_txn_state() {
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(pg_psql -c "select state from transactions where id = $1")" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}

# pg_url: the libpq connection string of the test database (no password).
pg_url() { printf 'host=127.0.0.1 port=%s user=scepgw dbname=scepgw' "$PG_PORT"; }

# pg_pair_url [MORE]: the primary and the standby as one libpq multi-host
# connection string (libpq tries them in order), then MORE (for instance
# "target_session_attrs=read-write").
pg_pair_url() {
	printf 'host=127.0.0.1,127.0.0.1 port=%s,%s user=scepgw dbname=scepgw %s' \
		"$PG_PORT" "$PG2_PORT" "${1:-}"
}

# pg_store_yaml [POOL [CONNINFO]]: the store: flow map for gw_config
# (GW_STORE); CONNINFO defaults to pg_url.
pg_store_yaml() {
	printf '{ type: postgresql, conninfo: "%s", password_file: "%s", pool: %s }' \
		"${2:-$(pg_url)}" "$PG_PASSWORD_FILE" "${1:-4}"
}

# gw_b_config: B_CFG, the configuration of a second gateway: $CFG (written
# by gw_config) on ports of its own (B_PORT, B_TLS_PORT, B_ADMIN_PORT) and
# its own CA state directory; B_BASE, B_LOG, and $T/b-ctl.conf for ctl_b.
gw_b_config() {
	B_PORT=$(free_port)
	B_TLS_PORT=$(free_port)
	B_ADMIN_PORT=$(free_port)
	B_CFG=$T/b.yaml
	B_LOG=$T/b.log
	B_BASE=http://127.0.0.1:$B_PORT
	B_PID=
	mkdir -p "$T/ca-state-b"
	sed -e "s|127.0.0.1:$PORT\"|127.0.0.1:$B_PORT\"|" \
		-e "s|127.0.0.1:$TLS_PORT\"|127.0.0.1:$B_TLS_PORT\"|" \
		-e "s|127.0.0.1:$ADMIN_PORT\"|127.0.0.1:$B_ADMIN_PORT\"|" \
		-e "s|$T/ca-state\"|$T/ca-state-b\"|" "$CFG" >"$B_CFG"
	sed "s|$ADMIN_URL|https://127.0.0.1:$B_ADMIN_PORT|" "$T/scepgwctl.conf" >"$T/b-ctl.conf"
}

# ctl_b ARGS...: scepgwctl against B.
ctl_b() { "$SCEPGWCTL" --config "$T/b-ctl.conf" "$@"; }

# gw_b_start [NOWAIT]: start B in the background (B_PID); unless NOWAIT, wait
# until it answers GetCACaps (a failure ends the test).
gw_b_start() {
	"$SCEPGW" -d -c "$B_CFG" >>"$B_LOG" 2>&1 &
	B_PID=$!
	track_pid "$B_PID"
	[ -n "${1:-}" ] && return 0
	check "B starts" wait_http "$B_BASE/scep/dev/pkiclient.exe?operation=GetCACaps" 20
	[ "$LAST_CHECK_RC" = 0 ] || finish
}

# gw_b_stop: SIGTERM B; checks that it exits 0 and its log has no sanitizer report.
gw_b_stop() {
	local st=0
	[ -n "$B_PID" ] || return 0
	_stop_pid "$B_PID" 10 || st=$?
	B_PID=
	check "B exits 0 on SIGTERM (got $st)" test "$st" -eq 0
	check "no sanitizer report in B's log" \
		not grep -E 'ERROR: (Address|Leak)Sanitizer|runtime error:|SUMMARY: .*Sanitizer' "$B_LOG"
}

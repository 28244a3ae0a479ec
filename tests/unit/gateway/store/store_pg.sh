#!/usr/bin/env bash
# store_pg.sh BINARY: run the PostgreSQL store's unit tests (store_pg.c)
# against a real PostgreSQL 15 started for them (tests/integration/lib_pg.sh)
# in a temporary directory, stopped on every exit path.
set -euo pipefail
bin=${1:?usage: store_pg.sh unit-test-binary}
SRC=${SGW_SOURCE_ROOT:-$(cd "$(dirname "$0")/../../../.." && pwd)}
T=$(mktemp -d /tmp/sgw-unit-pg.XXXXXX)
chmod 0755 "$T"
log() { printf '# %s\n' "$*"; }
free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}
_cleanup() { rm -rf "$T"; }
# shellcheck source=../../../integration/lib_pg.sh
. "$SRC/tests/integration/lib_pg.sh"
pg_start
SGW_PG_CONNINFO=$(pg_url) SGW_PG_PASSWORD_FILE=$PG_PASSWORD_FILE "$bin"

#!/usr/bin/env bash
# t_reload.sh: SIGHUP reloads the configuration (issue 17 item 1).
#  - under load (sgwload on the dev profile) several reloads lose no request;
#  - a changed challenge file is applied: the old challenge is refused and the
#    new one accepted after the reload (before it, the old one still works);
#  - a broken configuration on reload is refused with the reason in the log,
#    and the one in service keeps serving;
#  - what needs a restart (listen) is named;
#  - many reloads, then SIGTERM: exit 0, no sanitizer report (leaks included).
# SIGHUP used to kill the daemon (status 129, no log line).
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
: "${SGWLOAD:?SGWLOAD must name the sgwload load generator}"

D=$T/c
mkdir -p "$D"
(umask 077 && printf 'first-%s\n' "$(openssl rand -hex 8)" >"$T/rl.challenge")
OLD=$(head -n1 "$T/rl.challenge")
GW_SCEP_PROFILES_EXTRA="  rl:
    ra_identity: dev
    ra_profile: dev
    challenge: { type: static, secret_file: \"$T/rl.challenge\" }"
gw_config "$CFG"
gw_start
RL_URL=$BASE/scep/rl/pkiclient.exe
"$SCEPREQ" getcacert -u "$URL" -o "$D/ra-chain.pem" >/dev/null 2>&1
enroll() { "$SCEPREQ" enroll --ra-chain "$D/ra-chain.pem" "$@"; }

# reload_and_wait: SIGHUP, then until the log answers it (in service or refused)
reload_and_wait() {
	local mark n
	mark=$(gw_log_mark)
	kill -HUP "$GW_PID"
	for ((n = 0; n < 100; n++)); do
		gw_log_since "$mark" | grep -Eq 'reload: (configuration [0-9]+ in service|.*stays)' &&
			return 0
		sleep 0.1
	done
	return 1
}

check "the old challenge enrolls on rl" enroll -u "$RL_URL" -c "$OLD" --cn rl-old-1

# --- reloads under load: no request lost ---------------------------------------------
"$SGWLOAD" -u "$URL" -p "$CHALLENGE" -n 600 -c 8 -k 4 --key-bits 2048 -t 30 \
	>"$D/load.out" 2>&1 &
LOAD=$!
track_pid "$LOAD"
for ((i = 0; i < 300; i++)); do
	grep -q 'profile=dev .*op=PKCSReq' "$GW_LOG" && break
	sleep 0.1
done
# reloads while the load runs (at least 3, at most 40)
NR=0
while kill -0 "$LOAD" 2>/dev/null && [ "$NR" -lt 40 ]; do
	reload_and_wait || break
	NR=$((NR + 1))
	sleep 0.1
done
check "$NR reloads under load, each answered in the log" test "$NR" -ge 3
LST=0
wait "$LOAD" || LST=$?
check "sgwload: every request of the load succeeded across the reloads (exit $LST)" \
	test "$LST" -eq 0
check "sgwload: 600 ok, 0 failed" grep -Eq 'ok 600 +failed 0' "$D/load.out"
check "a reload happened while requests were in flight (they finished on the old one)" \
	grep -Eq 'in service: .* [1-9][0-9]* request\(s\) finish on the previous one' "$GW_LOG"
check "the gateway still runs after the reloads" kill -0 "$GW_PID"

# --- a changed challenge file is applied ---------------------------------------------
(umask 077 && printf 'second-%s\n' "$(openssl rand -hex 8)" >"$T/rl.challenge.new" &&
	mv "$T/rl.challenge.new" "$T/rl.challenge")
NEW=$(head -n1 "$T/rl.challenge")
check "before the reload the old challenge still enrolls" \
	enroll -u "$RL_URL" -c "$OLD" --cn rl-old-2
check "the reload is applied" reload_and_wait
check "the log names the configuration in service" \
	grep -Eq 'reload: configuration [0-9]+ in service' "$GW_LOG"
check "after the reload the old challenge is refused (badRequest)" \
	enroll -u "$RL_URL" -c "$OLD" --cn rl-old-3 --expect failure --expect-failinfo badRequest
check "after the reload the new challenge enrolls" enroll -u "$RL_URL" -c "$NEW" --cn rl-new-1

# --- a broken configuration keeps the one in service ----------------------------------
cp "$CFG" "$D/good.yaml"
sed -i "s#secret_file: \"$T/rl.challenge\"#secret_file: \"$T/no-such-file\"#" "$CFG"
check "the broken config names the missing file" grep -q "no-such-file" "$CFG"
MARK=$(gw_log_mark)
check "a broken configuration is answered in the log" reload_and_wait
check "the refusal says why and that the configuration in service stays" \
	bash -c "tail -n +$((MARK + 1)) '$GW_LOG' | grep -E 'reload: .*no-such-file.*the configuration in service stays'"
check "the gateway still runs" kill -0 "$GW_PID"
check "the new challenge still enrolls (the old configuration serves)" \
	enroll -u "$RL_URL" -c "$NEW" --cn rl-new-2
check "dev still enrolls" enroll -u "$URL" -c "$CHALLENGE" --cn dev-after-broken

# --- what needs a restart is named ---------------------------------------------------
cp "$D/good.yaml" "$CFG"
sed -i "s#127.0.0.1:$TLS_PORT#127.0.0.1:$(free_port)#" "$CFG"
MARK=$(gw_log_mark)
check "a listener change reloads" reload_and_wait
check "the log says listen needs a restart" \
	bash -c "tail -n +$((MARK + 1)) '$GW_LOG' | grep -E 'applied only by a restart: listen'"
check "the old listener still answers" curl -fsS -o /dev/null "$URL?operation=GetCACaps"

# --- many reloads: no leak (LeakSanitizer at exit, through gw_stop) -------------------
cp "$D/good.yaml" "$CFG"
for i in $(seq 1 10); do kill -HUP "$GW_PID"; sleep 0.05; done
check "after 10 more reloads GetCACaps answers" wait_http "$URL?operation=GetCACaps" 10
check "the new challenge enrolls after them" enroll -u "$RL_URL" -c "$NEW" --cn rl-new-3
check "no SIGHUP ever killed it" kill -0 "$GW_PID"
SECRETS=("$OLD" "$NEW")
for s in "${SECRETS[@]}"; do
	check "no challenge in the log" not grep -qF -- "$s" "$GW_LOG"
done
finish

# lib_ejbca.sh: start tests/fakes/fake_ejbca for an integration test and
# describe a backend that uses it.  Source it after lib.sh:
#
#   . "$(dirname "$0")/lib_ejbca.sh"
#   fake_set '{"delay": 5}'
#   GW_BACKENDS_EXTRA=$(backend ejbca admin.pem admin.key)
#
# Sets FK (the fake's directory: CA, RA and client certificates), FAKE (its
# URL), FAKE_PID, ADMIN (curl options of an administrator) and REQLOG (the
# request log, one JSON object per line).  The fake is stopped at exit.
# shellcheck shell=bash
FK=$T/ejbca
FAKE_LOG=$T/fake_ejbca.log
REQLOG=$FK/requests.jsonl
python3 "$SRC/tests/fakes/fake_ejbca" --dir "$FK" --log "$REQLOG" 2>"$FAKE_LOG" &
FAKE_PID=$!
track_pid "$FAKE_PID"
for ((i = 0; i < 300; i++)); do
	[ -s "$FK/port" ] && break
	kill -0 "$FAKE_PID" 2>/dev/null || break
	sleep 0.1
done
[ -s "$FK/port" ] || { echo "fake_ejbca did not start"; cat "$FAKE_LOG"; exit 1; }
FP=$(cat "$FK/port")
# shellcheck disable=SC2034  # used by the scripts that source this file
FAKE=https://127.0.0.1:$FP
ADMIN=(--cacert "$FK/admin-ca.pem" --cert "$FK/admin.pem" --key "$FK/admin.key")
log "fake EJBCA on $FAKE"

# fake_set JSON: change the fake's switches (approval, finalize, fail422, offline, early, delay)
fake_set() {
	curl -fsS "${ADMIN[@]}" -X POST -H 'Content-Type: application/json' -d "$1" \
		"$FAKE/fake/config" >/dev/null
}
# requests_to SUFFIX: the request log entries whose path ends with SUFFIX (one JSON per line)
requests_to() { grep -F "\"path\": \"/ejbca/ejbca-rest-api/v1/$1" "$REQLOG" || true; }
jq_py() { python3 -c "import json,sys; $1" "${@:2}"; }

backend() { # backend NAME CERT KEY
	cat <<EOF
  $1:
    type: ejbca
    url: "$FAKE/ejbca/ejbca-rest-api/"
    client_cert: "$FK/$2"
    client_key: "$FK/$3"
    ca_bundle: "$FK/admin-ca.pem"
    ca_name: FakeIssuingCA
    certificate_profile: ENDUSER
    end_entity_profile: SCEP_EEP
    username: { from: cn, prefix: "scep-" }
    retries: 2
    retry_backoff: 1s
    timeout: 20s
EOF
}

# ejbca_profile [LINES]: gw_config's *_EXTRA variables for the SCEP profile
# `ejbca` (/scep/ejbca/pkiclient.exe): the fake's RA, the lab challenge,
# automatic approval, the backend `ejbca` with the fake's admin certificate;
# LINES (YAML, indented 4) are more keys of the SCEP profile.
# shellcheck disable=SC2034  # read by gw_config
ejbca_profile() {
	GW_RA_IDENTITIES_EXTRA=$(cat <<EOF2
  ejb:
    sign: { cert: "$FK/ra.pem", key: "$FK/ra.key" }
    ca_chain: "$FK/ca-chain.pem"
EOF2
)
	GW_SCEP_PROFILES_EXTRA=$(cat <<EOF2
  ejbca:
    ra_identity: ejb
    ra_profile: ejbca
    challenge: { type: static, secret_file: "$PKI/challenge" }
EOF2
)
	[ -z "${1:-}" ] || GW_SCEP_PROFILES_EXTRA+=$'\n'$1
	GW_RA_PROFILES_EXTRA="  ejbca: { backend: ejbca, template: default, approval: auto }"
	GW_BACKENDS_EXTRA=$(backend ejbca admin.pem admin.key)
}

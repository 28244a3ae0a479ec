#!/usr/bin/env bash
# t_otp_policy.sh: a one-time challenge is used only by the commit that
# accepts the request (issue 16, item 5): a CSR the policy refuses leaves it
# usable; the next good CSR enrolls with it; a third use is refused; and of
# several requests sent at once with one challenge exactly one enrolls.
# shellcheck disable=SC2317  # the check functions run through check()
. "$(dirname "$0")/lib.sh"
: "${SCEPREQ:?SCEPREQ must name the scepreq test client}"
: "${SCEPGWCTL:?SCEPGWCTL must name scepgwctl}"

gw_config "$CFG"
gw_start
D=$T/c
mkdir -p "$D"
"$SCEPREQ" getcacert -u "$URL" -o "$D/ra-chain.pem" >/dev/null 2>&1
enroll() { "$SCEPREQ" enroll --ra-chain "$D/ra-chain.pem" "$@"; }
OTP_URL=$BASE/scep/otp/pkiclient.exe

OTP1=$(ctl challenge otp 2>/dev/null || true)
check "a one-time challenge was issued" test -n "$OTP1"
M=$(gw_log_mark)
check "the challenge with a CSR the policy refuses (RSA-1024): FAILURE badRequest" \
	enroll -u "$OTP_URL" -c "$OTP1" --cn op-weak --key-bits 1024 --expect failure \
	--expect-failinfo badRequest
check "... refused by the policy" \
	bash -c "tail -n +$((M + 1)) '$GW_LOG' | grep -q 'RSA key has 1024 bits'"
check "the same challenge with a good CSR: SUCCESS" enroll -u "$OTP_URL" -c "$OTP1" --cn op-good
check "a third use: FAILURE badRequest" enroll -u "$OTP_URL" -c "$OTP1" --cn op-third \
	--expect failure --expect-failinfo badRequest
check "... the challenge is used" grep -q 'reason="one-time challenge unknown, used or expired"' "$GW_LOG"

OTP2=$(ctl challenge otp 2>/dev/null || true)
enroll -u "$OTP_URL" -c "$OTP2" --cn op-par --parallel 6 >"$D/par.out" 2>"$D/par.err" || true
check "6 requests at once with one challenge: exactly one enrolls" \
	test "$(grep -c '^serial=' "$D/par.out")" -eq 1
check "... the others get FAILURE" grep -q '1 of 6 enrollments matched' "$D/par.err"
gw_stop
for s in "$OTP1" "$OTP2"; do
	check "challenge ${s:0:4}... never reaches the log" not grep -qF -- "$s" "$GW_LOG"
done
finish

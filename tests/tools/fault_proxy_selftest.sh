#!/usr/bin/env bash
# fault_proxy_selftest.sh [STATE_DIR] — checks tests/tools/fault_proxy.py against a real
# kube-apiserver with plain curl.
#
# The control plane: STATE_DIR if given, else $SANDBOXD_K8S_STATE (the ctest fixture `k8s`),
# else a fresh one started here with tools/k8s/up.sh in a temp dir (and stopped at the end).
# The proxy gets its own CA (--make-cert); curl trusts that CA and sends the admin bearer token
# from STATE_DIR/kubeconfig. Checked: pass-through and keep-alive, POST with Content-Length and
# chunked bodies, streamed watches, 429 + Retry-After, 500 with a method filter, resets before and
# after forwarding (the write happened exactly when reset_after says so), truncated watches,
# 410 Gone on watch resume, latency, determinism given seed, config reload from the file, the
# control endpoint, the stats, and a clean exit on SIGTERM. Exits non-zero on any failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
PROXY_PY="$HERE/fault_proxy.py"

log() { echo "[fault-proxy-selftest] $*" >&2; }
fail() { log "FAIL: $*"; exit 1; }
check() { local what="$1"; shift; if "$@"; then log "ok: $what"; else fail "$what"; fi; }

WORK="$(mktemp -d /tmp/fault-proxy-selftest.XXXXXX)"
STATE="${1:-${SANDBOXD_K8S_STATE:-}}"
OWN_CP=0
PROXY_PID=""
NS="fp-selftest-$$-$RANDOM"

cleanup() {
  local rc=$?
  set +e
  [[ -n "$PROXY_PID" ]] && kill -TERM "$PROXY_PID" 2>/dev/null && wait "$PROXY_PID" 2>/dev/null
  if [[ -n "${SERVER:-}" ]]; then
    direct -o /dev/null -X DELETE "$SERVER/api/v1/namespaces/$NS" 2>/dev/null
  fi
  [[ $OWN_CP -eq 1 ]] && bash "$REPO/tools/k8s/down.sh" "$STATE"
  if [[ $rc -eq 0 ]]; then
    log "PASS"
    rm -rf "$WORK"
  else
    log "FAILED (proxy log and files kept in $WORK)"
    [[ -s "$WORK/proxy.err" ]] && { echo "----- tail of proxy.err -----" >&2; tail -n 30 "$WORK/proxy.err" >&2; }
  fi
  exit $rc
}
trap cleanup EXIT

if [[ -z "$STATE" ]]; then
  STATE="$WORK/k8s"
  OWN_CP=1
  log "starting a control plane in $STATE"
  bash "$REPO/tools/k8s/up.sh" "$STATE" >/dev/null
fi
KUBECONFIG_FILE="$STATE/kubeconfig"
[[ -s "$KUBECONFIG_FILE" ]] || fail "no kubeconfig at $KUBECONFIG_FILE (control plane not up?)"
kc() { sed -n "s/^ *$1: *//p" "$KUBECONFIG_FILE" | head -n 1; }
SERVER="$(kc server)"
UPSTREAM_CA="$(kc certificate-authority)"
TOKEN="$(kc token)"
[[ -n "$SERVER" && -n "$UPSTREAM_CA" && -n "$TOKEN" ]] || fail "cannot read server/CA/token from $KUBECONFIG_FILE"

# direct: to the API server; px: through the proxy (output to stdout, curl's exit code kept).
direct() { curl -sS --max-time 10 --cacert "$UPSTREAM_CA" -H "Authorization: Bearer $TOKEN" "$@"; }
px() { curl -sS --max-time 10 --cacert "$WORK/pki/ca.crt" -H "Authorization: Bearer $TOKEN" "$@"; }
json_field() { python3 -c 'import json,sys; d=json.load(sys.stdin)
for k in sys.argv[1].split("."): d=d[k]
print(d)' "$1"; }
cm_json() { printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"%s"},"data":{"k":"%s"}}' "$1" "$1"; }

# ---------------------------------------------------------------- start the proxy
echo '{}' >"$WORK/faults.json"
python3 "$PROXY_PY" --make-cert "$WORK/pki" --upstream "$SERVER" --upstream-ca "$UPSTREAM_CA" \
  --config "$WORK/faults.json" >"$WORK/proxy.out" 2>"$WORK/proxy.err" &
PROXY_PID=$!
for _ in $(seq 1 150); do
  [[ -s "$WORK/proxy.out" ]] && break
  kill -0 "$PROXY_PID" 2>/dev/null || fail "proxy exited at startup"
  sleep 0.1
done
read -r word PORT <"$WORK/proxy.out" || true
[[ "${word:-}" == LISTENING && "${PORT:-}" =~ ^[0-9]+$ ]] || fail "no LISTENING line from the proxy"
URL="https://127.0.0.1:$PORT"
log "proxy on $URL -> $SERVER"

# file_config JSON: through the watched config file (atomic replace); api_config JSON: control endpoint.
file_config() { printf '%s\n' "$1" >"$WORK/faults.json.tmp" && mv "$WORK/faults.json.tmp" "$WORK/faults.json"; }
api_config() { px -X POST --data-binary "$1" "$URL/__proxy/config" | grep -q '"ok": true' || fail "config $1 refused"; }
stat_of() { px "$URL/__proxy/stats" | json_field "$1"; }

direct -o /dev/null -H 'Content-Type: application/json' -X POST \
  --data-binary '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"'"$NS"'"}}' \
  "$SERVER/api/v1/namespaces" || fail "cannot create namespace $NS"
CMS="$URL/api/v1/namespaces/$NS/configmaps"

# ---------------------------------------------------------------- pass-through
out="$(px -w '\n%{http_code}' "$URL/api/v1/namespaces")"
check "GET /api/v1/namespaces passes through" \
  test "$(tail -n 1 <<<"$out")" = 200 -a -n "$(grep -m1 '"kind": "NamespaceList"' <<<"$out")"
px -v -o /dev/null -o /dev/null "$URL/version" "$URL/api/v1/namespaces" 2>"$WORK/keepalive.txt"
check "client keep-alive (second request reuses the connection)" grep -q 'Re-using existing connection' "$WORK/keepalive.txt"

code="$(px -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "$(cm_json cm-1)" "$CMS")"
check "POST ConfigMap (Content-Length body) through the proxy -> 201" test "$code" = 201
check "the ConfigMap exists upstream" test "$(direct "$SERVER/api/v1/namespaces/$NS/configmaps/cm-1" | json_field data.k)" = cm-1
code="$(px -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
  --data-binary "$(cm_json cm-2)" "$CMS")"
check "POST ConfigMap (chunked body) -> 201" test "$code" = 201
for n in 3 4 5; do px -o /dev/null -H 'Content-Type: application/json' --data-binary "$(cm_json cm-$n)" "$CMS"; done

# A watch is streamed: its events arrive while the response is still open.
curl -sS -N --max-time 20 --cacert "$WORK/pki/ca.crt" -H "Authorization: Bearer $TOKEN" \
  "$CMS?watch=true" >"$WORK/watch0.txt" 2>/dev/null &
WATCH_PID=$!
for _ in $(seq 1 50); do (( $(grep -c '"ADDED"' "$WORK/watch0.txt") >= 5 )) && break; sleep 0.1; done
check "watch events stream through while the watch stays open" \
  bash -c "(( \$(grep -c '\"ADDED\"' '$WORK/watch0.txt') >= 5 )) && kill -0 $WATCH_PID"
kill "$WATCH_PID" 2>/dev/null; wait "$WATCH_PID" 2>/dev/null || true

# ---------------------------------------------------------------- 429 / 500 / bad config
api_config '{"seed": 1, "rate": 1.0, "faults": {"429": 1}, "retry_after_seconds": 2}'
px -D "$WORK/h429.txt" -o "$WORK/b429.txt" "$URL/api/v1/namespaces" || true
check "rate 1.0 with only 429 -> HTTP 429" grep -q '^HTTP/1.1 429' "$WORK/h429.txt"
check "429 carries Retry-After: 2" grep -qi '^Retry-After: 2' "$WORK/h429.txt"
check "429 body is a Status TooManyRequests" test "$(json_field reason <"$WORK/b429.txt")" = TooManyRequests

api_config '{"rate": 1.0, "faults": {"500": 1}, "methods": ["POST"]}'
check "method filter: GET is not faulted" test "$(px -o /dev/null -w '%{http_code}' "$URL/api/v1/namespaces")" = 200
code="$(px -o "$WORK/b500.txt" -w '%{http_code}' -H 'Content-Type: application/json' --data-binary "$(cm_json x)" "$CMS")"
check "POST gets an injected 500 InternalError" test "$code-$(json_field reason <"$WORK/b500.txt")" = 500-InternalError
check "a bad config is refused with 400" \
  test "$(px -o /dev/null -w '%{http_code}' -X POST --data-binary '{"rate": 2}' "$URL/__proxy/config")" = 400

# ---------------------------------------------------------------- reset (config from the file)
file_config '{"seed": 11, "rate": 1.0, "faults": {"reset": 1}}'
failed=0
for i in $(seq 1 8); do
  if px -o /dev/null -H 'Content-Type: application/json' --data-binary "$(cm_json rs-$i)" "$CMS" 2>>"$WORK/reset.txt"; then
    :
  else
    failed=$((failed + 1))
  fi
done
check "only reset: every request fails with a connection error (8/8)" test "$failed" = 8
check "curl saw connection resets" grep -q 'reset by peer' "$WORK/reset.txt"
written=0
for i in $(seq 1 8); do
  [[ "$(direct -o /dev/null -w '%{http_code}' "$SERVER/api/v1/namespaces/$NS/configmaps/rs-$i")" == 200 ]] && written=$((written + 1))
done
r_after="$(stat_of faults.reset_after)"; r_before="$(stat_of faults.reset_before)"
log "resets: $r_before before forwarding, $r_after after (ConfigMaps written: $written)"
check "both reset variants happened (seed 11)" test "$r_after" -gt 0 -a "$r_before" -gt 0
check "writes happened exactly for the resets after forwarding" test "$written" = "$r_after"

# ---------------------------------------------------------------- truncate_watch
file_config '{"seed": 5, "rate": 1.0, "faults": {"truncate_watch": 1}}'
check "truncate_watch leaves non-watch requests alone" test "$(px -o /dev/null -w '%{http_code}' "$CMS")" = 200
for i in 1 2 3 4; do
  rc=0
  px -N --max-time 8 "$CMS?watch=true" >"$WORK/watch$i.txt" 2>/dev/null || rc=$?
  events="$(grep -c '"type":"ADDED"' "$WORK/watch$i.txt" || true)"
  log "watch $i: curl exit $rc, $(wc -c <"$WORK/watch$i.txt") bytes, $events event(s) started"
  check "watch $i is cut mid-stream (not a timeout, not a clean end)" test "$rc" != 0 -a "$rc" != 28
  check "watch $i got some data and at most 3 events" test -s "$WORK/watch$i.txt" -a "$events" -le 3
done
check "stats count 4 truncated watches" test "$(stat_of faults.truncate_watch)" = 4

# ---------------------------------------------------------------- 410 Gone on watch resume
api_config '{"gone_on_watch_resume": true}'
rv="$(px "$CMS" | json_field metadata.resourceVersion)"
rc=0
px -N -o "$WORK/gone.txt" -w '%{http_code}' "$CMS?watch=true&resourceVersion=$rv" >"$WORK/gone.code" || rc=$?
check "a resumed watch gets 200 and an ended stream" test "$rc-$(cat "$WORK/gone.code")" = 0-200
gone_event="$(wc -l <"$WORK/gone.txt")-$(json_field type <"$WORK/gone.txt")"
gone_event+="-$(json_field object.code <"$WORK/gone.txt")-$(json_field object.reason <"$WORK/gone.txt")"
check "the stream is one ERROR event with Status 410 Expired ($gone_event)" test "$gone_event" = 1-ERROR-410-Expired

# ---------------------------------------------------------------- latency
api_config '{"rate": 1.0, "faults": {"latency": 1}, "latency_ms": [400, 500]}'
t="$(px -o /dev/null -w '%{http_code} %{time_total}' "$URL/version")"
check "latency: 200 after >= 0.4 s ($t)" \
  python3 -c 'import sys; c, t = sys.argv[1].split(); sys.exit(not (c == "200" and float(t) >= 0.4))' "$t"

# ---------------------------------------------------------------- determinism
seq_of() { local s=""; for _ in $(seq 1 12); do s+="$(px -o /dev/null -w '%{http_code}' "$URL/version") "; done; echo "$s"; }
api_config '{"seed": 7, "rate": 0.5, "faults": {"503": 1}, "retry_after_seconds": 3}'
s1="$(seq_of)"
api_config '{"seed": 7, "rate": 0.5, "faults": {"503": 1}, "retry_after_seconds": 3}'
s2="$(seq_of)"
log "seed 7: $s1"
check "same seed, same faults" test "$s1" = "$s2"
check "rate 0.5 mixes 503 and 200" bash -c "grep -q 503 <<<'$s1' && grep -q 200 <<<'$s1'"
api_config '{"rate": 1.0, "faults": {"503": 1}, "retry_after_seconds": 3}'
px -D "$WORK/h503.txt" -o "$WORK/b503.txt" "$URL/version" || true
api_config '{}'
n503=$(( $(grep -o 503 <<<"$s1$s2" | wc -l) + 1 ))
check "503 ServiceUnavailable with Retry-After: 3" bash -c "grep -q '^HTTP/1.1 503' '$WORK/h503.txt' &&
  grep -qi '^Retry-After: 3' '$WORK/h503.txt' && grep -q ServiceUnavailable '$WORK/b503.txt'"

# ---------------------------------------------------------------- stats
px "$URL/__proxy/stats" >"$WORK/stats.json"
log "stats: $(cat "$WORK/stats.json")"
check "stats count the faults" python3 - "$WORK/stats.json" "$n503" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1])); f = s["faults"]
want = {"429": 1, "500": 1, "503": int(sys.argv[2]), "reset": 8, "latency": 1,
        "truncate_watch": 4, "truncate_watch_missed": 0, "gone_on_watch_resume": 1}
bad = {k: (f[k], v) for k, v in want.items() if f[k] != v}
bad.update({"reset_before+after": f["reset_before"] + f["reset_after"]}
           if f["reset_before"] + f["reset_after"] != 8 else {})
if s["injected"] != sum(want.values()) or s["forwarded"] < 10 or s["requests"] <= s["forwarded"]:
    bad["totals"] = (s["injected"], s["forwarded"], s["requests"])
print(bad or "all as expected", file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
check "one stderr line per injected fault" \
  test "$(grep -c 'FAULT ' "$WORK/proxy.err")" = "$(json_field injected <"$WORK/stats.json")"

# ---------------------------------------------------------------- SIGTERM
kill -TERM "$PROXY_PID"
rc=0
for _ in $(seq 1 50); do kill -0 "$PROXY_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PROXY_PID" 2>/dev/null && fail "proxy still running 5 s after SIGTERM"
wait "$PROXY_PID" || rc=$?
PROXY_PID=""
check "proxy exits 0 on SIGTERM" test "$rc" = 0

#!/usr/bin/env bash
# Self-contained checks of the interop scripts (no Rust node needed).
# Installs node_modules from the lockfile if missing, then runs js<->js relay,
# bench, crypto round trips, and light.mjs against the test-only mock service.
# Everything listens on / dials 127.0.0.1 only. Exits non-zero on any failure.
set -u
cd "$(dirname "$0")"
HERE="$(pwd)"

if [ ! -d node_modules ]; then
  echo "check.sh: node_modules missing, running npm ci" >&2
  npm ci --no-audit --no-fund >&2 || { echo "check.sh: npm ci failed" >&2; exit 1; }
fi

TMP="$(mktemp -d "${TMPDIR:-/tmp}/pfs-interop-check.XXXXXX")"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$TMP"
}
trap cleanup EXIT

PASS=0
FAIL=0
ok() { PASS=$((PASS + 1)); echo "ok   - $1"; }
bad() { FAIL=$((FAIL + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && [ -f "$2" ] && sed 's/^/       | /' "$2" | cut -c1-400 | tail -20; }

# js FILE 'expr': evaluate a JS expression over L (array of JSON events in FILE); prints the result
js() {
  node -e '
    const fs = require("fs");
    const L = fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
    const ev = (name) => L.filter((e) => e.event === name);
    const r = eval(process.argv[2]);
    console.log(typeof r === "string" ? r : JSON.stringify(r));
  ' "$1" "$2"
}
# check DESC FILE 'boolean expr'
check() {
  local r
  r="$(js "$2" "$3" 2>&1)"
  if [ "$r" = "true" ]; then ok "$1"; else bad "$1 [$3 -> $r]" "$2"; fi
}
# start NAME ARGS...: background process, stdout to $TMP/NAME.out, stderr $TMP/NAME.err
start() {
  local name="$1"; shift
  node "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  local pid=$!
  PIDS+=("$pid")
  eval "PID_$name=$pid"
}
# addr_of NAME: wait (<=15 s) for the listening line, print its addr
addr_of() {
  local i
  for i in $(seq 1 150); do
    if grep -q '"event":"listening"' "$TMP/$1.out" 2>/dev/null; then
      js "$TMP/$1.out" 'ev("listening")[0].addr'
      return 0
    fi
    sleep 0.1
  done
  echo "NO-ADDR"
  return 1
}
# waitpid NAME: wait for the background process, return its exit code
waitpid() { local v="PID_$1"; wait "${!v}"; }
# run NAME ARGS...: foreground, returns exit code
run() { local name="$1"; shift; node "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"; }

echo "# node $(node --version), interop at $HERE"

# ---------------------------------------------------------------- relay js<->js
start r_recv relay.mjs --expect 3 --timeout-ms 20000
A="$(addr_of r_recv)"
run r_pub relay.mjs --dial "$A" --publish 3 --content-topic /pfs/1/check/proto --timeout-ms 20000
rc_pub=$?
waitpid r_recv
rc_recv=$?
[ $rc_pub -eq 0 ] && ok "relay: publisher exits 0" || bad "relay: publisher exit $rc_pub" "$TMP/r_pub.err"
[ $rc_recv -eq 0 ] && ok "relay: receiver exits 0" || bad "relay: receiver exit $rc_recv" "$TMP/r_recv.err"
check "relay: listening line first, /ip4/127.0.0.1/tcp/P/p2p/ID" "$TMP/r_recv.out" 'L[0].event==="listening" && /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\w+$/.test(L[0].addr)'
check "relay: 3 received, payloads js-0..js-2" "$TMP/r_recv.out" 'JSON.stringify(ev("received").map(e=>Buffer.from(e.payload_hex,"hex").toString()).sort())===JSON.stringify(["js-0","js-1","js-2"])'
echo "$(cat "$TMP/r_pub.out")" >"$TMP/r_pub.json"
PUBH="$(js "$TMP/r_pub.out" 'ev("published").map(e=>e.hash+":"+e.msg_id+":"+e.timestamp).sort().join(",")')"
check "relay: received hash/msg_id/timestamp equal published ones" "$TMP/r_recv.out" "ev('received').map(e=>e.hash+':'+e.msg_id+':'+e.timestamp).sort().join(',')==='$PUBH'"
check "relay: msg_id = sha256(WakuMessage bytes) is 32 bytes, timestamp ns" "$TMP/r_recv.out" 'ev("received").every(e=>e.msg_id.length===64 && e.timestamp.length>=19 && e.content_topic==="/pfs/1/check/proto" && e.pubsub_topic==="/waku/2/rs/16/32")'
check "relay: done line last" "$TMP/r_recv.out" 'L[L.length-1].event==="done" && L[L.length-1].received===3'

# ---------------------------------------------------------------- relay over ws + mplex only
start w_recv relay.mjs --transport ws --muxer mplex --expect 2 --timeout-ms 20000
A="$(addr_of w_recv)"
run w_pub relay.mjs --dial "$A" --muxer mplex --publish 2 --timeout-ms 20000
rc_pub=$?
waitpid w_recv
rc_recv=$?
[ $rc_pub -eq 0 ] && [ $rc_recv -eq 0 ] && ok "relay: ws + mplex-only delivers" || bad "relay: ws+mplex exit pub=$rc_pub recv=$rc_recv" "$TMP/w_recv.err"
check "relay: ws listen addr ends in /ws/p2p/ID" "$TMP/w_recv.out" '/\/ws\/p2p\//.test(L[0].addr) && ev("received").length===2'

# ---------------------------------------------------------------- relay 3 nodes: A <- M(forward) <- B
start f_a relay.mjs --expect 2 --timeout-ms 25000
A="$(addr_of f_a)"
start f_m relay.mjs --forward --dial "$A" --timeout-ms 12000
M="$(addr_of f_m)"
sleep 1.5 # let M graft A into its mesh
run f_b relay.mjs --dial "$M" --publish 2 --timeout-ms 20000
rc_b=$?
waitpid f_a
rc_a=$?
MID="$(js "$TMP/f_m.out" 'ev("listening")[0].peer_id')"
[ $rc_a -eq 0 ] && [ $rc_b -eq 0 ] && ok "relay: 2 messages forwarded through a --forward middle node" || bad "relay: forward exit a=$rc_a b=$rc_b" "$TMP/f_a.err"
check "relay: forwarded messages came from the middle node" "$TMP/f_a.out" "ev('received').length===2 && ev('received').every(e=>e.from==='$MID')"
waitpid f_m
rc_m=$?
[ $rc_m -eq 0 ] && ok "relay: --forward node exits 0 at --timeout-ms" || bad "relay: --forward exit $rc_m" "$TMP/f_m.err"
check "relay: --forward node saw both messages and printed done" "$TMP/f_m.out" 'ev("received").length===2 && L[L.length-1].event==="done"'

# ---------------------------------------------------------------- relay timeout is bounded and non-zero
t0=$(date +%s%N)
run r_to relay.mjs --expect 1 --timeout-ms 2000
rc=$?
dt=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $rc -eq 3 ] && [ $dt -lt 8000 ] && ok "relay: --expect without peers fails with exit 3 in ${dt} ms" || bad "relay: timeout exit $rc after $dt ms" "$TMP/r_to.err"
check "relay: timeout prints an error line" "$TMP/r_to.out" 'L[L.length-1].event==="error" && /timeout/.test(L[L.length-1].error)'
run r_bad relay.mjs --bogus
[ $? -eq 2 ] && ok "relay: unknown option exits 2" || bad "relay: unknown option" "$TMP/r_bad.err"

# ---------------------------------------------------------------- bench
run bench relay.mjs --bench 500 --size 1024 --timeout-ms 60000
rc=$?
[ $rc -eq 0 ] && ok "bench: exits 0" || bad "bench: exit $rc" "$TMP/bench.err"
check "bench: bench line" "$TMP/bench.out" 'const b=ev("bench")[0]; b && b.messages===500 && b.size===1024 && b.msgs_per_sec>0 && b.p50_ms>=0 && b.p99_ms>=b.p50_ms'
echo "     $(js "$TMP/bench.out" 'JSON.stringify(ev("bench")[0])')"

# ---------------------------------------------------------------- crypto
run k1 crypto.mjs keygen && run k2 crypto.mjs keygen && ok "crypto: keygen" || bad "crypto: keygen" "$TMP/k1.err"
check "crypto: keygen sizes" "$TMP/k1.out" 'const k=L[0]; k.private_key_hex.length===64 && k.public_key_hex.length===130 && k.public_key_hex.startsWith("04") && k.sym_key_hex.length===64'
PRIV1="$(js "$TMP/k1.out" 'L[0].private_key_hex')"
PUB1="$(js "$TMP/k1.out" 'L[0].public_key_hex')"
PRIV2="$(js "$TMP/k2.out" 'L[0].private_key_hex')"
PUB2="$(js "$TMP/k2.out" 'L[0].public_key_hex')"
SYM="$(js "$TMP/k1.out" 'L[0].sym_key_hex')"
PAY="$(printf 'hello waku 30 bytes payload!!!' | od -An -tx1 | tr -d ' \n')"

run ee crypto.mjs ecies-encrypt --pub "$PUB1" --sig-priv "$PRIV2" --payload "$PAY"
check "crypto: ecies-encrypt 369-byte payload, 0x04 first, version 1" "$TMP/ee.out" 'const e=L[0]; e.payload_len===369 && e.payload_hex.startsWith("04") && e.version===1'
DATA="$(js "$TMP/ee.out" 'L[0].payload_hex')"
WIRE="$(js "$TMP/ee.out" 'L[0].wire_hex')"
run ed crypto.mjs ecies-decrypt --priv "$PRIV1" --data "$DATA"
check "crypto: ecies round trip, signer key recovered" "$TMP/ed.out" "L[0].payload_hex==='$PAY' && L[0].signature_public_key_hex==='$PUB2' && L[0].signature_hex.length===130"
run edw crypto.mjs ecies-decrypt --priv "$PRIV1" --wire "$WIRE"
check "crypto: ecies-decrypt --wire (whole WakuMessage)" "$TMP/edw.out" "L[0].payload_hex==='$PAY' && L[0].signature_public_key_hex==='$PUB2'"
run edx crypto.mjs ecies-decrypt --priv "$PRIV2" --data "$DATA"
[ $? -ne 0 ] && ok "crypto: ecies-decrypt with the wrong key fails" || bad "crypto: wrong key accepted" "$TMP/edx.out"
run eu crypto.mjs ecies-encrypt --pub "$PUB1" --payload "$PAY"
run eud crypto.mjs ecies-decrypt --priv "$PRIV1" --data "$(js "$TMP/eu.out" 'L[0].payload_hex')"
check "crypto: unsigned ecies round trip has no signature" "$TMP/eud.out" "L[0].payload_hex==='$PAY' && L[0].signature_hex===null && L[0].signature_public_key_hex===null"

run se crypto.mjs sym-encrypt --key "$SYM" --sig-priv "$PRIV2" --payload "$PAY"
check "crypto: sym-encrypt signed 30 B -> 284-byte payload" "$TMP/se.out" 'L[0].payload_len===284 && L[0].version===1'
run sd crypto.mjs sym-decrypt --key "$SYM" --data "$(js "$TMP/se.out" 'L[0].payload_hex')"
check "crypto: sym round trip, signer key recovered" "$TMP/sd.out" "L[0].payload_hex==='$PAY' && L[0].signature_public_key_hex==='$PUB2'"
run sx crypto.mjs sym-decrypt --key "$(printf '%064d' 0)" --data "$(js "$TMP/se.out" 'L[0].payload_hex')"
[ $? -ne 0 ] && ok "crypto: sym-decrypt with the wrong key fails" || bad "crypto: wrong sym key accepted" "$TMP/sx.out"
run su crypto.mjs sym-encrypt --key "$SYM" --payload "$PAY"
run sud crypto.mjs sym-decrypt --key "$SYM" --data "$(js "$TMP/su.out" 'L[0].payload_hex')"
check "crypto: unsigned sym round trip" "$TMP/sud.out" "L[0].payload_hex==='$PAY' && L[0].signature_hex===null"

run hv crypto.mjs hash --pubsub-topic /waku/2/default-waku/proto --content-topic /waku/2/default-content/proto \
  --payload 010203045445535405060708 --meta 73757065722d736563726574 --timestamp 1681964442000000000
check "crypto: 14/WAKU2-MESSAGE hash test vector" "$TMP/hv.out" 'L[0].hash==="64cce733fed134e83da02b02c6f689814872b1a0ac97ea56b76095c3c72bfe05"'

# ---------------------------------------------------------------- enr: the EIP-778 example
EIP778="enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04jRzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2VjcDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCCdl8"
run enr_eip enr.mjs decode --enr "$EIP778" && ok "enr: decodes the EIP-778 example" || bad "enr: decode exit" "$TMP/enr_eip.err"
check "enr: EIP-778 node id, ip, udp" "$TMP/enr_eip.out" \
  'const e = ev("enr")[0]; e.node_id === "a448f24c6d18e575453db13171562b71999873db5b286df957af199ec94617f7" && e.ip === "127.0.0.1" && e.udp === 30303'
# one flipped character in the signature part: refused (exit 5)
run enr_bad enr.mjs decode --enr "${EIP778/HCYr/HCYs}"
rc=$?; [ $rc -eq 5 ] && ok "enr: a tampered record is refused" || bad "enr: tampered record exit $rc" "$TMP/enr_bad.err"

# ---------------------------------------------------------------- light: failure modes
t0=$(date +%s%N)
run l_none light.mjs push --peer /ip4/127.0.0.1/tcp/1/p2p/12D3KooWQwN6DXdohmMyWoKqMGJo94FoJhfsK2PJufQRsKLqtuKe --timeout-ms 3000
rc=$?
dt=$(( ($(date +%s%N) - t0) / 1000000 ))
[ $rc -eq 4 ] && [ $dt -lt 10000 ] && ok "light: no peer listening -> exit 4 in ${dt} ms" || bad "light: no peer exit $rc after $dt ms" "$TMP/l_none.err"
check "light: no peer -> error line names the dial failure" "$TMP/l_none.out" 'const e=L[L.length-1]; e.event==="error" && /could not dial/.test(e.error) && /ECONNREFUSED/.test(e.error)'
run r_none relay.mjs --dial /ip4/127.0.0.1/tcp/1/p2p/12D3KooWQwN6DXdohmMyWoKqMGJo94FoJhfsK2PJufQRsKLqtuKe --publish 1 --timeout-ms 2000
[ $? -eq 4 ] && ok "relay: --dial to a closed port -> exit 4" || bad "relay: dial failure exit" "$TMP/r_none.err"

start l_relay relay.mjs --forward --timeout-ms 30000
A="$(addr_of l_relay)"
for c in push push-legacy store filter; do
  run "l_nosvc_$c" light.mjs "$c" --peer "$A" --timeout-ms 8000
  rc=$?
  [ $rc -eq 7 ] && ok "light $c: peer without the service -> exit 7" || bad "light $c: exit $rc" "$TMP/l_nosvc_$c.err"
done
check "light: error says which protocol is missing" "$TMP/l_nosvc_push.out" 'const e=L[L.length-1]; e.event==="error" && e.error.includes("does not advertise /vac/waku/lightpush/3.0.0")'

# ---------------------------------------------------------------- light vs mock service
start mock mock-service.mjs --timeout-ms 60000
S="$(addr_of mock)"
run lp_push light.mjs push --peer "$S" --count 3 --content-topic /pfs/1/light/proto --timeout-ms 15000
rc=$?
[ $rc -eq 0 ] && ok "light push: exits 0" || bad "light push: exit $rc" "$TMP/lp_push.err"
check "light push: connected line reports metadata {16,[32,64]}" "$TMP/lp_push.out" 'const c=ev("connected")[0]; c && c.metadata.cluster_id===16 && JSON.stringify(c.metadata.shards)==="[32,64]"'
check "light push: 3 pushed ok with status 200" "$TMP/lp_push.out" 'ev("pushed").length===3 && ev("pushed").every(e=>e.ok && e.response.status_code===200 && e.protocol==="/vac/waku/lightpush/3.0.0")'
check "light push: mock archived the same hashes" "$TMP/mock.out" "JSON.stringify(ev('lightpush').map(e=>e.hash))===JSON.stringify($(js "$TMP/lp_push.out" 'ev("pushed").map(e=>e.hash)'))"
run lp_legacy light.mjs push-legacy --peer "$S" --count 1 --content-topic /pfs/1/light/proto --muxer mplex --timeout-ms 15000
rc=$?
[ $rc -eq 0 ] && ok "light push-legacy (mplex): exits 0" || bad "light push-legacy: exit $rc" "$TMP/lp_legacy.err"
check "light push-legacy: v2 codec, is_success" "$TMP/lp_legacy.out" 'const p=ev("pushed")[0]; p.ok && p.protocol==="/vac/waku/lightpush/2.0.0-beta1" && p.response.is_success===true && ev("connected")[0].muxer==="/mplex/6.7.0"'

run ls light.mjs store --peer "$S" --content-topic /pfs/1/light/proto --page-size 2 --timeout-ms 15000
rc=$?
[ $rc -eq 0 ] && ok "light store: exits 0" || bad "light store: exit $rc" "$TMP/ls.err"
ALLH="$(node -e '
  const fs=require("fs"); const r=(f)=>fs.readFileSync(f,"utf8").split("\n").filter(Boolean).map(JSON.parse).filter(e=>e.event==="pushed").map(e=>e.hash);
  console.log(JSON.stringify([...r(process.argv[1]), ...r(process.argv[2])]))' "$TMP/lp_push.out" "$TMP/lp_legacy.out")"
check "light store: 4 messages in 2 pages, hashes in push order" "$TMP/ls.out" "JSON.stringify(ev('message').map(e=>e.hash))===JSON.stringify($ALLH) && ev('page').length===2"
check "light store: store_response lines (incl. final empty page) with server hashes" "$TMP/ls.out" 'const r=ev("store_response"); r.length===3 && r[2].count===0 && r[0].status_code===200 && r[1].request.cursor===r[0].hashes[1]'
H0="$(js "$TMP/lp_push.out" 'ev("pushed")[0].hash')"
run lsh light.mjs store --peer "$S" --content-topic /pfs/1/light/proto --hash "$H0" --timeout-ms 15000
check "light store --hash: message hash lookup" "$TMP/lsh.out" "ev('message').length===1 && ev('message')[0].hash==='$H0'"
NOWMS=$(( $(date +%s%N) / 1000000 ))
run lst light.mjs store --peer "$S" --content-topic /pfs/1/light/proto --backward --time-start-ms $((NOWMS - 600000)) --time-end-ms $((NOWMS + 1000)) --timeout-ms 15000
check "light store --backward with time range" "$TMP/lst.out" 'ev("message").length===4 && ev("store_response")[0].request.forward===false && ev("store_response")[0].request.time_start!==null'

start lf light.mjs filter --peer "$S" --content-topic /pfs/1/light/proto --expect 2 --unsubscribe --timeout-ms 20000
for i in $(seq 1 100); do grep -q '"event":"subscribed"' "$TMP/lf.out" 2>/dev/null && break; sleep 0.1; done
run lf_push light.mjs push --peer "$S" --count 2 --content-topic /pfs/1/light/proto --timeout-ms 15000
waitpid lf
rc=$?
[ $rc -eq 0 ] && ok "light filter: exits 0 after --expect 2" || bad "light filter: exit $rc" "$TMP/lf.err"
check "light filter: pushed messages delivered with the same hashes" "$TMP/lf.out" "JSON.stringify(ev('message').map(e=>e.hash))===JSON.stringify($(js "$TMP/lf_push.out" 'ev("pushed").map(e=>e.hash)')) && ev('filter_response')[0].status_code===200 && ev('unsubscribed').length===1"

start mock_rej mock-service.mjs --lightpush-status 421 --timeout-ms 30000
S2="$(addr_of mock_rej)"
run lp_rej light.mjs push --peer "$S2" --allow-failure --timeout-ms 15000
rc=$?
check "light push --allow-failure: rejection reported (status 421), exit 0" "$TMP/lp_rej.out" "$rc===0 && ev('pushed')[0].ok===false && ev('pushed')[0].response.status_code===421 && ev('pushed')[0].failures[0].error==='Remote peer rejected'"
run lp_rej2 light.mjs push --peer "$S2" --timeout-ms 15000
rc=$?
[ $rc -eq 6 ] && ok "light push: rejection without --allow-failure -> exit 6" || bad "light push rejection exit $rc" "$TMP/lp_rej2.err"

start mock_shard mock-service.mjs --shards 64 --timeout-ms 30000
S3="$(addr_of mock_shard)"
run lp_shard light.mjs push --peer "$S3" --timeout-ms 15000
rc=$?
[ $rc -eq 8 ] && ok "light: service whose metadata omits shard 32 -> exit 8" || bad "light wrong shard exit $rc" "$TMP/lp_shard.err"

echo "# interop checks: $PASS passed, $FAIL failed"
echo "$PASS passed, $FAIL failed"
[ $FAIL -eq 0 ]

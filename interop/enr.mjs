// ENRs and peer exchange as js-waku sees them (@waku/enr 0.0.33, @waku/discovery 0.0.13).
//
//   node enr.mjs decode --enr enr:...       decode one record (EnrDecoder.fromString,
//                                           which verifies the signature) and print it
//   node enr.mjs px --peer MA               a js-waku light node with peer exchange
//                                           discovery dials MA; prints every ENR the
//                                           peer-exchange answer held, and the peers
//                                           libp2p was told about
//
// stdout: JSON lines {"event":"enr",...}, {"event":"discovered",...}, {"event":"done"};
// errors as {"event":"error","error":...}. Offline: no DNS, no bootstrap list.
import "./polyfill.mjs"; // must stay first: Promise.withResolvers for Node 20
import { noise } from "@chainsafe/libp2p-noise";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import { EnrDecoder } from "@waku/enr";
import { createLightNode } from "@waku/sdk";

import { armTimeout, emit, fail, finish, installCrashHandlers, intArg, log, muxersFor, parseCli, sleep, toHex } from "./lib.mjs";

installCrashHandlers();

const { values: args, positionals } = parseCli(
  {
    enr: { type: "string" },
    peer: { type: "string" },
    cluster: { type: "string", default: "16" },
    expect: { type: "string", default: "1" }
  },
  { defaultTimeoutMs: 30000, allowPositionals: true }
);
const cmd = positionals[0];
if (!["decode", "px"].includes(cmd) || positionals.length !== 1) {
  fail(`bad arguments: expected decode|px, got [${positionals.join(" ")}]`, 2);
}
armTimeout(args["timeout-ms"]);

/** Every field of a decoded record, as js-waku reads it. */
function describe(enr) {
  return {
    peer_id: enr.peerId?.toString() ?? null,
    seq: enr.seq.toString(),
    id: enr.id,
    public_key: enr.publicKey ? toHex(enr.publicKey) : null,
    node_id: enr.nodeId ?? null,
    ip: enr.ip ?? null,
    tcp: enr.tcp ?? null,
    udp: enr.udp ?? null,
    waku2: enr.waku2 ?? null,
    multiaddrs: (enr.multiaddrs ?? []).map((m) => m.toString()),
    location: enr.getFullMultiaddr("tcp")?.toString() ?? null,
    signature: enr.signature ? toHex(enr.signature) : null
  };
}

if (cmd === "decode") {
  if (!args.enr) fail("bad arguments: --enr is required", 2);
  let enr;
  try {
    enr = await EnrDecoder.fromString(args.enr);
  } catch (e) {
    fail(`js-waku refused the record: ${e.message}`, 5);
  }
  emit({ event: "enr", ...describe(enr) });
  await finish();
}

// px: patch the peer exchange client to see the raw answer, then let discovery run
if (!args.peer) fail("bad arguments: --peer MULTIADDR is required", 2);
const expect = intArg(args, "expect");
const discoveryUrl = import.meta.resolve("@waku/discovery");
const { PeerExchange } = await import(new URL("./peer-exchange/peer_exchange.js", discoveryUrl));
const origQuery = PeerExchange.prototype.query;
let answers = 0;
PeerExchange.prototype.query = async function (params) {
  const r = await origQuery.call(this, params);
  emit({
    event: "px_response",
    from: params.peerId.toString(),
    num_peers: String(params.numPeers),
    error: r.error ?? null,
    count: r.peerInfos?.length ?? 0
  });
  for (const { ENR } of r.peerInfos ?? []) {
    if (ENR) emit({ event: "enr", ...describe(ENR) });
  }
  answers += 1;
  return r;
};

const waku = await createLightNode({
  networkConfig: { clusterId: intArg(args, "cluster") },
  defaultBootstrap: false,
  discovery: { peerExchange: true, dns: false, peerCache: false },
  libp2p: {
    transports: [tcp()],
    streamMuxers: muxersFor("both"),
    connectionEncrypters: [noise()],
    connectionGater: { denyDialMultiaddr: () => false },
    hideWebSocketInfo: true
  }
});
const discovered = [];
waku.libp2p.addEventListener("peer:discovery", (evt) => {
  const d = { event: "discovered", peer_id: evt.detail.id.toString(), multiaddrs: (evt.detail.multiaddrs ?? []).map(String) };
  discovered.push(d);
  emit(d);
});
await waku.start();
try {
  await waku.libp2p.dial(multiaddr(args.peer));
} catch (e) {
  fail(`could not dial ${args.peer}: ${e.message}`, 4);
}
log("dialed; waiting for the peer exchange answer");
while (answers === 0 || discovered.length < expect) await sleep(50);
emit({ event: "done", answers, discovered: discovered.length });
await finish(() => waku.stop());

// js-waku relay throughput through a middle js relay: A → M → B, the topology of pfs-bench's
// `relay_1KiB` (`relay.mjs --bench` has A and B connected directly).
//
// It needs interop/node_modules and imports interop/*.mjs, so it runs from interop/ as a
// module given on the command line (bare imports then resolve from interop/node_modules):
//
//   cd interop && node --input-type=module -e "$(cat ../crates/pfs-bench/js/relay-chain.mjs)" -- \
//       --bench N [--size 1024] [--window 100] [--muxer both|yamux|mplex] [--timeout-ms 60000]
//
// M is `node relay.mjs --forward` in its own process (stdout discarded); A and B are relay
// nodes in this process, built as relay.mjs builds them (js-waku's wakuGossipSub), each
// dialing M only. The measurement is relay.mjs --bench's: N messages of --size bytes from A
// to B, at most --window in flight, latency from publish at A to delivery at B. Output: the
// same JSON line as relay.mjs --bench, plus "topology", then {"event":"done"}.
import "./polyfill.mjs"; // must stay first: Promise.withResolvers for Node 20
import { spawn } from "node:child_process";
import { noise } from "@chainsafe/libp2p-noise";
import { identify } from "@libp2p/identify";
import { ping } from "@libp2p/ping";
import { tcp } from "@libp2p/tcp";
import { multiaddr } from "@multiformats/multiaddr";
import { proto_message } from "@waku/proto";
import { createLibp2p } from "libp2p";

import {
  armTimeout,
  bounded,
  DEFAULT_CONTENT_TOPIC,
  DEFAULT_PUBSUB_TOPIC,
  emit,
  fail,
  finish,
  installCrashHandlers,
  intArg,
  log,
  measureBurst,
  muxersFor,
  RELAY_CODEC,
  wakuGossipSub,
  nowNs,
  parseCli,
  sha256,
  sleep,
  subscribeValidated
} from "./lib.mjs";

// Given with -e, the script has no argv[1]: name it, for lib.mjs (parseCli, log).
process.argv.splice(1, 0, "relay-chain.mjs");

const WakuMessage = proto_message.WakuMessage;
const topic = DEFAULT_PUBSUB_TOPIC;
const contentTopic = DEFAULT_CONTENT_TOPIC;

installCrashHandlers();

const { values: args } = parseCli(
  {
    bench: { type: "string" },
    size: { type: "string", default: "1024" },
    window: { type: "string", default: "100" },
    muxer: { type: "string", default: "both" }
  },
  { defaultTimeoutMs: 60000 }
);
const n = intArg(args, "bench");
const sz = intArg(args, "size");
const benchWindow = intArg(args, "window");
const timeoutMs = args["timeout-ms"];
if (!n) fail("bad arguments: --bench N (N > 0) is required", 2);
if (sz < 4) fail("bad arguments: --size must be at least 4", 2);
if (!["both", "yamux", "mplex"].includes(args.muxer)) fail("bad arguments: --muxer must be both|yamux|mplex", 2);

const muxers = () => muxersFor(args.muxer);

/** As relay.mjs's createRelayNode (TCP only), with js-waku's message validator. */
async function createRelayNode() {
  const node = await createLibp2p({
    addresses: { listen: ["/ip4/127.0.0.1/tcp/0"] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: muxers(),
    connectionGater: { denyDialMultiaddr: () => false },
    services: {
      identify: identify({ agentVersion: "js-waku-interop-relay" }),
      ping: ping({ maxInboundStreams: 10 }),
      pubsub: wakuGossipSub()
    }
  });
  subscribeValidated(node.services.pubsub, topic, WakuMessage);
  return node;
}

/** Starts `relay.mjs --forward` and resolves with its `listening` line. */
function startMiddle() {
  const child = spawn(
    process.execPath,
    ["relay.mjs", "--forward", "--muxer", args.muxer, "--timeout-ms", String(timeoutMs + 5000)],
    { stdio: ["ignore", "pipe", "inherit"] }
  );
  process.on("exit", () => child.kill("SIGTERM"));
  return new Promise((resolve, reject) => {
    let buf = "";
    let listening = null;
    child.stdout.setEncoding("utf8");
    // after the first line the middle node's "received" lines are read and dropped
    child.stdout.on("data", (chunk) => {
      if (listening) return;
      buf += chunk;
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      try {
        listening = JSON.parse(buf.slice(0, nl));
      } catch (e) {
        reject(new Error(`middle node: bad first line: ${e.message}`));
        return;
      }
      if (listening.event !== "listening") reject(new Error(`middle node: ${buf.slice(0, nl)}`));
      else resolve({ child, listening });
    });
    child.on("exit", (code) => {
      if (!listening) reject(new Error(`middle node exited with ${code} before listening`));
    });
  });
}

async function main() {
  armTimeout(timeoutMs, () => fail(`bench timeout after ${timeoutMs} ms`, 3));
  const { child, listening } = await startMiddle();
  const middle = listening.peer_id;
  const a = await createRelayNode();
  const b = await createRelayNode();
  await a.dial(multiaddr(listening.addr));
  await b.dial(multiaddr(listening.addr));
  const psA = a.services.pubsub;
  const psB = b.services.pubsub;
  const meshVia = (ps) => ps.getMeshPeers(topic).includes(middle);
  while (!meshVia(psA) || !meshVia(psB)) await sleep(20);
  for (const [who, node] of [["A", a], ["B", b]]) {
    const peers = node.getConnections().map((c) => c.remotePeer.toString());
    if (peers.some((p) => p !== middle)) fail(`${who} is connected to ${peers}, not only to the middle node`);
  }
  log(`bench: A → M → B meshes formed, muxer=${args.muxer}, ${n} x ${sz} B, window ${benchWindow || "unlimited"}`);

  const figures = await measureBurst({ psA, psB, topic, contentTopic, n, size: sz, window: benchWindow, codec: WakuMessage });
  emit({
    event: "bench",
    impl: "js-libp2p 2.8.11 + gossipsub 14.1.1, A → relay.mjs --forward → B",
    topology: "A → M → B (M in its own process)",
    muxer: args.muxer === "both" ? "yamux" : args.muxer,
    ...figures
  });
  emit({ event: "done" });
  await finish(async () => {
    child.kill("SIGTERM");
    await bounded(b.stop(), 2000);
    await bounded(a.stop(), 2000);
  });
}

main().catch((e) => fail(e));

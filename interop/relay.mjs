// A js "Waku relay node": libp2p 2.8.11 + gossipsub 14.1.1 configured exactly
// like js-waku's wakuGossipSub (@waku/relay >= 0.0.15 is not on npm).
//
//   node relay.mjs [--dial MA]... [--topic T]
//        [--content-topic CT] [--publish N] [--expect N] [--forward] [--quiet] ...
//   node relay.mjs --bench N [--size 1024]
//
// stdout: JSON lines (see README.md). stderr: diagnostics.
import "./polyfill.mjs"; // must stay first: Promise.withResolvers for Node 20
import { noise } from "@chainsafe/libp2p-noise";
import { identify } from "@libp2p/identify";
import { ping } from "@libp2p/ping";
import { tcp } from "@libp2p/tcp";
import { webSockets } from "@libp2p/websockets";
import { all as wsFilterAll } from "@libp2p/websockets/filters";
import { multiaddr } from "@multiformats/multiaddr";
import { messageHash } from "@waku/core";
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
  subscribeValidated,
  toHex
} from "./lib.mjs";

const WakuMessage = proto_message.WakuMessage;

installCrashHandlers();

const { values: args } = parseCli(
  {
    dial: { type: "string", multiple: true, default: [] },
    topic: { type: "string", default: DEFAULT_PUBSUB_TOPIC },
    "content-topic": { type: "string", default: DEFAULT_CONTENT_TOPIC },
    publish: { type: "string" },
    expect: { type: "string" },
    forward: { type: "boolean", default: false },
    quiet: { type: "boolean", default: false },
    "interval-ms": { type: "string", default: "50" },
    wait: { type: "string", default: "mesh" },
    "linger-ms": { type: "string", default: "1000" },
    size: { type: "string" },
    ephemeral: { type: "boolean", default: false },
    muxer: { type: "string", default: "both" },
    transport: { type: "string", default: "tcp" },
    port: { type: "string", default: "0" },
    bench: { type: "string" },
    window: { type: "string", default: "100" }
  },
  { defaultTimeoutMs: 30000 }
);

const timeoutMs = args["timeout-ms"];
const publishN = intArg(args, "publish", 0);
const expectN = intArg(args, "expect", 0);
const intervalMs = intArg(args, "interval-ms");
const lingerMs = intArg(args, "linger-ms");
const size = intArg(args, "size");
const port = intArg(args, "port");
const benchN = intArg(args, "bench");
const benchWindow = intArg(args, "window");
const topic = args.topic;
const contentTopic = args["content-topic"];

if (!["both", "yamux", "mplex"].includes(args.muxer)) fail("bad arguments: --muxer must be both|yamux|mplex", 2);
if (!["tcp", "ws"].includes(args.transport)) fail("bad arguments: --transport must be tcp|ws", 2);
if (!["mesh", "subscriber", "none"].includes(args.wait)) fail("bad arguments: --wait must be mesh|subscriber|none", 2);
if (benchN === undefined && !args.forward && publishN === 0 && expectN === 0) {
  fail("bad arguments: give at least one of --publish N, --expect N, --forward, --bench N", 2);
}

const muxers = () => muxersFor(args.muxer);

async function createRelayNode() {
  const listen =
    args.transport === "ws" ? `/ip4/127.0.0.1/tcp/${port}/ws` : `/ip4/127.0.0.1/tcp/${port}`;
  const node = await createLibp2p({
    addresses: { listen: [listen] },
    transports: [tcp(), webSockets({ filter: wsFilterAll })],
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

function listenAddr(node) {
  const addrs = node.getMultiaddrs().map((a) => a.toString());
  const want = args.transport === "ws" ? (a) => a.includes("/ws") : (a) => !a.includes("/ws");
  return addrs.find((a) => a.startsWith("/ip4/127.0.0.1/") && want(a)) ?? addrs[0];
}

async function dialWithRetry(node, addr, deadline) {
  let ma;
  try {
    ma = multiaddr(addr);
  } catch (e) {
    fail(`bad arguments: --dial ${addr}: ${e.message}`, 2);
  }
  let lastErr;
  const dialDeadline = deadline - 400; // report a dial failure (exit 4) before the global timeout
  for (let attempt = 1; Date.now() < dialDeadline; attempt++) {
    try {
      const conn = await node.dial(ma, { signal: AbortSignal.timeout(Math.max(200, Math.min(5000, dialDeadline - Date.now()))) });
      log(`dialed ${addr} (attempt ${attempt}), muxer ${conn.multiplexer}`);
      return conn;
    } catch (e) {
      lastErr = e;
      log(`dial ${addr} attempt ${attempt} failed: ${e.message}`);
      await sleep(Math.max(0, Math.min(1000, 100 * attempt, dialDeadline - Date.now())));
    }
  }
  fail(`could not dial ${addr}: ${lastErr?.message ?? "deadline reached"}`, 4);
}

function ready(ps) {
  if (args.wait === "none") return true;
  if (args.wait === "subscriber") return ps.getSubscribers(topic).length > 0;
  return ps.getMeshPeers(topic).length > 0;
}

/** Wait until gossipsub's per-peer outbound queues are handed to the muxer. */
async function drain(ps, deadline) {
  for (;;) {
    let queued = 0;
    for (const os of ps.streamsOutbound?.values?.() ?? []) queued += os.pushable?.readableLength ?? 0;
    if (queued === 0 || Date.now() >= deadline) return queued;
    await sleep(20);
  }
}

function makePayload(prefix, i, sz) {
  const head = Buffer.from(`${prefix}${i}`, "utf8");
  if (sz === undefined || sz <= head.length) return new Uint8Array(head);
  const out = new Uint8Array(sz);
  out.set(head, 0);
  for (let k = head.length; k < sz; k++) out[k] = (k * 31 + i) & 0xff;
  return out;
}

function describe(protoMsg, data) {
  return {
    pubsub_topic: topic,
    content_topic: protoMsg.contentTopic,
    payload_hex: toHex(protoMsg.payload),
    timestamp: protoMsg.timestamp === undefined ? null : protoMsg.timestamp.toString(),
    version: protoMsg.version ?? 0,
    ephemeral: Boolean(protoMsg.ephemeral),
    meta_hex: protoMsg.meta ? toHex(protoMsg.meta) : null,
    hash: toHex(messageHash(topic, protoMsg)),
    msg_id: toHex(sha256(data))
  };
}

// ---------------------------------------------------------------------------
// normal mode
async function runNode() {
  const deadline = Date.now() + timeoutMs;
  const node = await createRelayNode();
  const ps = node.services.pubsub;
  const stop = () => node.stop();
  let received = 0;
  let published = 0;
  let publishing = publishN > 0;
  let finished = false; // after "done" nothing more is printed
  const out = (obj) => {
    if (!finished) emit(obj);
  };
  const maybeDone = () => {
    if (args.forward || finished) return;
    if (!publishing && received >= expectN) {
      emit({ event: "done", published, received });
      finished = true;
      setTimeout(() => finish(stop), publishN > 0 ? lingerMs : 0);
    }
  };

  armTimeout(timeoutMs, () => {
    if (finished) {
      finish(stop); // already done, only lingering
    } else if (args.forward) {
      out({ event: "done", published, received });
      finished = true;
      finish(stop);
    } else {
      fail(
        `timeout after ${timeoutMs} ms: published ${published}/${publishN}, received ${received}/${expectN}` +
          ` (connections=${node.getConnections().length} subscribers=${ps.getSubscribers(topic).length}` +
          ` mesh=${ps.getMeshPeers(topic).length} on ${topic}, --wait ${args.wait})`,
        3
      );
    }
  });

  ps.addEventListener("gossipsub:message", (evt) => {
    const { msg, propagationSource } = evt.detail;
    if (msg.topic !== topic) return;
    if (args.quiet) {
      // counted only: no decoding (the validator decoded it), hashing or JSON line
      if (!finished) received++;
      maybeDone();
      return;
    }
    let m;
    try {
      m = WakuMessage.decode(msg.data);
    } catch (e) {
      log("undecodable message:", e.message);
      return;
    }
    if (finished) return;
    received++;
    out({ event: "received", ...describe(m, msg.data), from: propagationSource.toString(), recv_ns: nowNs().toString() });
    maybeDone();
  });
  node.addEventListener("peer:connect", (e) => out({ event: "peer_connected", peer_id: e.detail.toString() }));
  node.addEventListener("peer:disconnect", (e) => out({ event: "peer_disconnected", peer_id: e.detail.toString() }));
  ps.addEventListener("subscription-change", (e) => {
    for (const sub of e.detail.subscriptions) {
      out({ event: "subscription", peer_id: e.detail.peerId.toString(), topic: sub.topic, subscribed: sub.subscribe });
    }
  });
  for (const kind of ["graft", "prune"]) {
    ps.addEventListener(`gossipsub:${kind}`, (e) => {
      out({ event: kind, peer_id: e.detail.peerId.toString(), topic: e.detail.topic, direction: e.detail.direction });
    });
  }

  emit({ event: "listening", addr: `${listenAddr(node)}`, peer_id: node.peerId.toString(), addrs: node.getMultiaddrs().map(String) });

  for (const d of args.dial) await dialWithRetry(node, d, deadline);

  if (publishN > 0) {
    while (!ready(ps)) await sleep(50);
    log(`ready to publish: mesh=${ps.getMeshPeers(topic).length} subscribers=${ps.getSubscribers(topic).length}`);
    for (let i = 0; i < publishN; i++) {
      const protoMsg = {
        payload: makePayload("js-", i, size),
        contentTopic,
        version: 0,
        timestamp: nowNs(),
        meta: undefined,
        rateLimitProof: undefined,
        ephemeral: args.ephemeral
      };
      const data = WakuMessage.encode(protoMsg);
      let res;
      try {
        res = await ps.publish(topic, data);
      } catch (e) {
        fail(`publish ${i} failed: ${e.message}`, 5);
        return;
      }
      published++;
      emit({ event: "published", index: i, ...describe(protoMsg, data), recipients: res.recipients.map(String) });
      if (i + 1 < publishN && intervalMs > 0) await sleep(intervalMs);
    }
    const left = await drain(ps, deadline);
    if (left > 0) log(`outbound queue still holds ${left} messages at the deadline`);
    publishing = false;
  }
  maybeDone();
}

// ---------------------------------------------------------------------------
// bench mode: two relay nodes in this process over TCP 127.0.0.1
async function runBench() {
  const n = benchN;
  const sz = size ?? 1024;
  if (n === 0) fail("bad arguments: --bench must be > 0", 2);
  armTimeout(timeoutMs, () => fail(`bench timeout after ${timeoutMs} ms`, 3));
  const a = await createRelayNode();
  const b = await createRelayNode();
  await b.dial(multiaddr(listenAddr(a)));
  const psA = a.services.pubsub;
  const psB = b.services.pubsub;
  while (psA.getMeshPeers(topic).length === 0 || psB.getMeshPeers(topic).length === 0) await sleep(20);
  log(`bench: mesh formed, muxer=${args.muxer}, ${n} x ${sz} B, window ${benchWindow || "unlimited"}`);

  const figures = await measureBurst({ psA, psB, topic, contentTopic, n, size: sz, window: benchWindow, codec: WakuMessage });
  emit({
    event: "bench",
    impl: "js-libp2p 2.8.11 + gossipsub 14.1.1",
    muxer: args.muxer === "both" ? "yamux" : args.muxer,
    ...figures
  });
  emit({ event: "done" });
  await finish(async () => {
    await bounded(b.stop(), 2000);
    await bounded(a.stop(), 2000);
  });
}

(benchN !== undefined ? runBench() : runNode()).catch((e) => fail(e));

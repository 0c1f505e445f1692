// A js-waku light node (@waku/sdk 0.0.36 createLightNode) that dials one
// service peer and runs one sub-command against it:
//
//   node light.mjs <push|push-legacy|store|filter> --peer MA [options]
//
// js-waku implements only the *client* side of lightpush / store / filter, so
// the service peer is the Rust node. stdout: JSON lines (see README.md).
import "./polyfill.mjs"; // must stay first: Promise.withResolvers for Node 20
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { mplex } from "@libp2p/mplex";
import { tcp } from "@libp2p/tcp";
import { webSockets } from "@libp2p/websockets";
import { all as wsFilterAll } from "@libp2p/websockets/filters";
import { multiaddr } from "@multiformats/multiaddr";
import {
  FilterCodecs,
  LightPushCodec,
  LightPushCodecV2,
  messageHash,
  MetadataCodec,
  StoreCodec
} from "@waku/core";
import { createLightNode } from "@waku/sdk";

import {
  armTimeout,
  bounded,
  DEFAULT_CONTENT_TOPIC,
  emit,
  fail,
  finish,
  fromHex,
  installCrashHandlers,
  intArg,
  log,
  parseCli,
  sleep,
  toHex
} from "./lib.mjs";

installCrashHandlers();

const COMMANDS = ["push", "push-legacy", "store", "filter"];
const { values: args, positionals } = parseCli(
  {
    peer: { type: "string" },
    "content-topic": { type: "string", default: DEFAULT_CONTENT_TOPIC },
    cluster: { type: "string", default: "16" },
    shard: { type: "string", default: "32" },
    muxer: { type: "string", default: "both" },
    // push / push-legacy
    count: { type: "string", default: "1" },
    payload: { type: "string" },
    size: { type: "string" },
    ephemeral: { type: "boolean", default: false },
    "interval-ms": { type: "string", default: "0" },
    "allow-failure": { type: "boolean", default: false },
    // store
    "time-start-ms": { type: "string" },
    "time-end-ms": { type: "string" },
    backward: { type: "boolean", default: false },
    "page-size": { type: "string" },
    hash: { type: "string", multiple: true, default: [] },
    // filter
    expect: { type: "string", default: "0" },
    unsubscribe: { type: "boolean", default: false }
  },
  { defaultTimeoutMs: 30000, allowPositionals: true }
);

const cmd = positionals[0];
if (!COMMANDS.includes(cmd) || positionals.length !== 1) {
  fail(`bad arguments: expected exactly one sub-command of ${COMMANDS.join("|")}, got [${positionals.join(" ")}]`, 2);
}
if (!args.peer) fail("bad arguments: --peer MULTIADDR is required", 2);
if (!["both", "yamux", "mplex"].includes(args.muxer)) fail("bad arguments: --muxer must be both|yamux|mplex", 2);

const timeoutMs = args["timeout-ms"];
const clusterId = intArg(args, "cluster");
const shardId = intArg(args, "shard");
const contentTopic = args["content-topic"];
const allowFailure = args["allow-failure"];

let peerMa;
try {
  peerMa = multiaddr(args.peer);
} catch (e) {
  fail(`bad arguments: --peer ${args.peer}: ${e.message}`, 2);
}
const peerIdStr = peerMa.getPeerId();
if (!peerIdStr) fail(`bad arguments: --peer ${args.peer} must end in /p2p/<peer id>`, 2);

// What each sub-command needs the service peer to advertise in identify.
const NEEDED = {
  push: [LightPushCodec],
  "push-legacy": [LightPushCodecV2],
  store: [StoreCodec],
  filter: [FilterCodecs.SUBSCRIBE]
}[cmd];
const PEER_PROTOCOL = { push: "lightpush", "push-legacy": "light-push-v2", store: "store", filter: "filter" }[cmd];

// ---------------------------------------------------------------------------
// Observe the raw protocol responses (status codes etc.) that js-waku only
// logs. The sdk and these files are the same module instances (one
// @waku/core in node_modules), so patching the static decoders works.
const observed = { lightpush: null, store: [], filter: [] };
async function installObservers() {
  const coreUrl = import.meta.resolve("@waku/core");
  try {
    const { ProtocolHandler } = await import(new URL("./lib/light_push/protocol_handler.js", coreUrl));
    const { PushRpc } = await import(new URL("./lib/light_push/push_rpc_v3.js", coreUrl));
    const { PushRpcV2 } = await import(new URL("./lib/light_push/push_rpc.js", coreUrl));
    const orig = ProtocolHandler.handleResponse;
    ProtocolHandler.handleResponse = function (bytes, protocol, peerId) {
      try {
        if (protocol === LightPushCodec) {
          const r = PushRpc.decodeResponse(bytes).proto;
          observed.lightpush = {
            protocol,
            request_id: r?.requestId ?? null,
            status_code: r?.statusCode ?? null,
            status_desc: r?.statusDesc ?? null,
            relay_peer_count: r?.relayPeerCount ?? null
          };
        } else {
          const rpc = PushRpcV2.decode(bytes);
          const r = rpc.response;
          observed.lightpush = {
            protocol,
            request_id: rpc.proto?.requestId ?? null,
            is_success: r?.isSuccess ?? null,
            info: r?.info ?? null
          };
        }
      } catch (e) {
        observed.lightpush = { protocol, decode_error: e.message };
      }
      return orig.call(this, bytes, protocol, peerId);
    };
  } catch (e) {
    log("could not install lightpush observer:", e.message);
  }
  try {
    const rpc = await import(new URL("./lib/store/rpc.js", coreUrl));
    const origEncode = rpc.StoreQueryRequest.prototype.encode;
    let lastReq = null;
    rpc.StoreQueryRequest.prototype.encode = function () {
      lastReq = this.proto;
      return origEncode.call(this);
    };
    const origDecode = rpc.StoreQueryResponse.decode;
    rpc.StoreQueryResponse.decode = function (bytes) {
      const res = origDecode.call(this, bytes);
      const p = res.proto;
      const ev = {
        event: "store_response",
        index: observed.store.length,
        request: lastReq && {
          request_id: lastReq.requestId,
          pubsub_topic: lastReq.pubsubTopic ?? null,
          content_topics: lastReq.contentTopics ?? [],
          time_start: lastReq.timeStart?.toString() ?? null,
          time_end: lastReq.timeEnd?.toString() ?? null,
          message_hashes: (lastReq.messageHashes ?? []).map(toHex),
          cursor: lastReq.paginationCursor ? toHex(lastReq.paginationCursor) : null,
          forward: Boolean(lastReq.paginationForward),
          limit: lastReq.paginationLimit?.toString() ?? null,
          include_data: Boolean(lastReq.includeData)
        },
        request_id: p.requestId,
        status_code: p.statusCode ?? null,
        status_desc: p.statusDesc ?? null,
        count: p.messages?.length ?? 0,
        hashes: (p.messages ?? []).map((m) => (m.messageHash ? toHex(m.messageHash) : null)),
        pagination_cursor: p.paginationCursor ? toHex(p.paginationCursor) : null
      };
      observed.store.push(ev);
      emit(ev);
      return res;
    };
  } catch (e) {
    log("could not install store observer:", e.message);
  }
  try {
    const rpc = await import(new URL("./lib/filter/filter_rpc.js", coreUrl));
    const orig = rpc.FilterSubscribeResponse.decode;
    rpc.FilterSubscribeResponse.decode = function (bytes) {
      const res = orig.call(this, bytes);
      const ev = {
        event: "filter_response",
        request_id: res.proto.requestId,
        status_code: res.proto.statusCode ?? null,
        status_desc: res.proto.statusDesc ?? null
      };
      observed.filter.push(ev);
      emit(ev);
      return res;
    };
    const origPush = rpc.FilterPushRpc.decode;
    rpc.FilterPushRpc.decode = function (bytes) {
      const res = origPush.call(this, bytes);
      if (!res.proto.pubsubTopic) log("filter push WITHOUT pubsub_topic: js-waku drops it");
      if (!res.proto.wakuMessage) log("filter push WITHOUT waku_message: js-waku drops it");
      return res;
    };
  } catch (e) {
    log("could not install filter observer:", e.message);
  }
}

function muxers() {
  if (args.muxer === "yamux") return [yamux()];
  if (args.muxer === "mplex") return [mplex()];
  return [yamux(), mplex()];
}

function describeDecoded(msg) {
  // DecodedMessage keeps the raw proto (private field) with the ns timestamp.
  const p = msg.proto ?? {};
  const ts = p.timestamp ?? (msg.timestamp ? BigInt(msg.timestamp.valueOf()) * 1_000_000n : undefined);
  return {
    pubsub_topic: msg.pubsubTopic,
    content_topic: msg.contentTopic,
    payload_hex: toHex(msg.payload),
    timestamp: ts === undefined ? null : ts.toString(),
    version: msg.version ?? 0,
    ephemeral: Boolean(msg.ephemeral),
    meta_hex: msg.meta ? toHex(msg.meta) : null,
    hash: msg.hashStr
  };
}

let phase = "starting";
let waku;
let peerProtocols = null;
let lastDialError = null;

async function main() {
  const deadline = Date.now() + timeoutMs;
  armTimeout(timeoutMs, () => {
    let extra = peerProtocols ? `; peer advertises [${peerProtocols.join(", ")}]` : "";
    if (lastDialError) extra += `; last dial error: ${lastDialError}`;
    fail(`timeout after ${timeoutMs} ms while ${phase}${extra}`, 3);
  });
  await installObservers();

  waku = await createLightNode({
    networkConfig: { clusterId },
    defaultBootstrap: false,
    libp2p: {
      transports: [tcp(), webSockets({ filter: wsFilterAll })],
      streamMuxers: muxers(),
      connectionEncrypters: [noise()],
      connectionGater: { denyDialMultiaddr: () => false },
      hideWebSocketInfo: true
    },
    // keep runs deterministic: no background retries of failed pushes
    lightPush: { autoRetry: false, numPeersToUse: 1 },
    filter: { numPeersToUse: 1 }
  });
  emit({ event: "started", peer_id: waku.peerId.toString(), protocols: waku.protocols });

  const libp2p = waku.libp2p;
  let identified = null;
  libp2p.addEventListener("peer:identify", (evt) => {
    if (evt.detail.peerId.toString() === peerIdStr) {
      identified = evt.detail;
      peerProtocols = evt.detail.protocols;
    }
  });

  // 1. dial (with retries until the deadline: the Rust node may still be starting)
  phase = `dialing ${args.peer}`;
  let conn;
  let lastErr;
  // stop retrying shortly before the global deadline so the failure is reported as a dial failure (exit 4)
  const dialDeadline = deadline - 400;
  for (let attempt = 1; !conn && Date.now() < dialDeadline; attempt++) {
    try {
      conn = await libp2p.dial(peerMa, { signal: AbortSignal.timeout(Math.max(200, Math.min(5000, dialDeadline - Date.now()))) });
    } catch (e) {
      lastErr = e;
      lastDialError = e.message;
      log(`dial attempt ${attempt} failed: ${e.message}`);
      await sleep(Math.max(0, Math.min(1000, 100 * attempt, dialDeadline - Date.now())));
    }
  }
  if (!conn) fail(`could not dial ${args.peer}: ${lastErr?.message ?? "deadline reached"}`, 4);
  log(`connected to ${peerIdStr} via ${conn.multiplexer} / ${conn.encryption}`);

  // 2. wait for identify, check protocols
  phase = "waiting for identify from the service peer";
  const peerId = conn.remotePeer;
  while (!identified) {
    const p = await libp2p.peerStore.get(peerId).catch(() => null);
    if (p && p.protocols.length > 0) {
      peerProtocols = p.protocols;
      if (NEEDED.every((c) => p.protocols.includes(c))) break;
    }
    await sleep(25);
  }
  let protocols = peerProtocols ?? [];
  if (!NEEDED.every((c) => protocols.includes(c))) {
    // identify push may still add protocols; give it a short grace period
    await sleep(1000);
    protocols = (await libp2p.peerStore.get(peerId)).protocols;
    peerProtocols = protocols;
    if (!NEEDED.every((c) => protocols.includes(c))) {
      fail(`service peer ${peerIdStr} does not advertise ${NEEDED.join(", ")} (needed for ${cmd}); it advertises [${protocols.join(", ")}]`, 7);
    }
  }

  // 3. metadata handshake (js runs it too; report what the peer said)
  phase = "metadata handshake";
  let metadata = null;
  let metadataError = null;
  if (protocols.includes(MetadataCodec)) {
    try {
      const r = await bounded(libp2p.services.metadata.confirmOrAttemptHandshake(peerId), 5000);
      if (!r) metadataError = "metadata handshake timed out (5 s)";
      else if (r.error) metadataError = String(r.error);
      else metadata = { cluster_id: r.shardInfo?.clusterId ?? null, shards: r.shardInfo?.shards ?? [] };
    } catch (e) {
      metadataError = e.message;
    }
  } else {
    metadataError = `peer does not advertise ${MetadataCodec}`;
  }
  emit({
    event: "connected",
    peer_id: peerIdStr,
    muxer: conn.multiplexer ?? null,
    encryption: conn.encryption ?? null,
    protocols,
    metadata,
    metadata_error: metadataError
  });

  // 4. wait until js-waku's peer manager would select this peer
  phase = `waiting for js-waku's peer manager to accept the peer for ${PEER_PROTOCOL} on /waku/2/rs/${clusterId}/${shardId}`;
  const encoder = waku.createEncoder({ contentTopic, shardId, ephemeral: args.ephemeral });
  const decoder = waku.createDecoder({ contentTopic, shardId });
  const pubsubTopic = encoder.pubsubTopic;
  for (let waited = 0; ; waited += 50) {
    const peers = await waku.peerManager.getPeers({ protocol: PEER_PROTOCOL, pubsubTopic });
    if (peers.some((p) => p.equals(peerId))) break;
    if (waited >= 3000) {
      fail(
        `js-waku will not use peer ${peerIdStr} for ${PEER_PROTOCOL} on ${pubsubTopic}` +
          (metadata ? `: its metadata says cluster ${metadata.cluster_id}, shards [${metadata.shards}]` : "") +
          " (js needs cluster match and the shard listed in metadata)",
        8
      );
    }
    await sleep(50);
  }

  phase = `running ${cmd}`;
  if (cmd === "push" || cmd === "push-legacy") await runPush(encoder, pubsubTopic, cmd === "push-legacy");
  else if (cmd === "store") await runStore(decoder, pubsubTopic);
  else if (cmd === "filter") await runFilter(decoder);
}

function payloadFor(i) {
  if (args.payload !== undefined) {
    const p = fromHex(args.payload, "--payload");
    return p;
  }
  const head = Buffer.from(`js-lp-${i}`, "utf8");
  const size = intArg(args, "size");
  if (size === undefined || size <= head.length) return new Uint8Array(head);
  const out = new Uint8Array(size);
  out.set(head, 0);
  for (let k = head.length; k < size; k++) out[k] = (k * 31 + i) & 0xff;
  return out;
}

async function runPush(encoder, pubsubTopic, legacy) {
  const count = intArg(args, "count");
  const intervalMs = intArg(args, "interval-ms");
  let ok = 0;
  for (let i = 0; i < count; i++) {
    const payload = payloadFor(i);
    // distinct ms timestamps: js timestamps are Date (ms) * 1e6
    const timestamp = new Date();
    const protoMsg = await encoder.toProtoObj({ payload, timestamp });
    const hash = toHex(messageHash(pubsubTopic, protoMsg));
    observed.lightpush = null;
    const res = await waku.lightPush.send(encoder, { payload, timestamp }, { useLegacy: legacy, autoRetry: false });
    const success = res.successes.length > 0;
    if (success) ok++;
    emit({
      event: "pushed",
      index: i,
      ok: success,
      protocol: legacy ? LightPushCodecV2 : LightPushCodec,
      successes: res.successes.map(String),
      failures: res.failures.map((f) => ({ error: f.error, peer_id: f.peerId ? String(f.peerId) : null })),
      response: observed.lightpush,
      pubsub_topic: pubsubTopic,
      content_topic: protoMsg.contentTopic,
      payload_hex: toHex(protoMsg.payload),
      timestamp: protoMsg.timestamp.toString(),
      version: protoMsg.version ?? 0,
      ephemeral: Boolean(protoMsg.ephemeral),
      hash
    });
    if (i + 1 < count) await sleep(Math.max(intervalMs, 2));
  }
  emit({ event: "done", pushed: count, ok, failed: count - ok });
  if (ok < count && !allowFailure) {
    fail(`${count - ok} of ${count} lightpush sends failed`, 6);
    return;
  }
  await finish(() => waku.stop());
}

async function runStore(decoder, pubsubTopic) {
  const opts = { paginationForward: !args.backward };
  const ts = intArg(args, "time-start-ms");
  const te = intArg(args, "time-end-ms");
  if (ts !== undefined) opts.timeStart = new Date(ts);
  if (te !== undefined) opts.timeEnd = new Date(te);
  const ps = intArg(args, "page-size");
  if (ps !== undefined) opts.paginationLimit = ps;
  if (args.hash.length > 0) {
    opts.messageHashes = args.hash.map((h) => fromHex(h, "--hash"));
    opts.pubsubTopic = pubsubTopic;
  }
  let pages = 0;
  let messages = 0;
  let skipped = 0;
  try {
    for await (const page of waku.store.queryGenerator([decoder], opts)) {
      const msgs = await Promise.all(page);
      let j = 0;
      for (const m of msgs) {
        if (!m) {
          skipped++;
          continue;
        }
        emit({ event: "message", page: pages, index: j++, ...describeDecoded(m) });
        messages++;
      }
      emit({ event: "page", index: pages, count: j, undecoded: msgs.length - j });
      pages++;
    }
  } catch (e) {
    if (!allowFailure) {
      fail(`store query failed: ${e.message}`, 6);
      return;
    }
    emit({ event: "query_error", error: e.message });
  }
  emit({ event: "done", pages, messages, undecoded: skipped, responses: observed.store.length });
  await finish(() => waku.stop());
}

async function runFilter(decoder) {
  const expectN = intArg(args, "expect");
  let got = 0;
  let resolveAll;
  const all = new Promise((r) => (resolveAll = r));
  let finished = false;
  const ok = await waku.filter.subscribe(decoder, (msg) => {
    if (!msg || finished) return;
    got++;
    emit({ event: "message", index: got - 1, ...describeDecoded(msg) });
    if (got >= expectN) resolveAll();
  });
  if (!ok) {
    const last = observed.filter[observed.filter.length - 1];
    fail(
      `filter subscribe failed` + (last ? `: status ${last.status_code} ${last.status_desc ?? ""}`.trimEnd() : ""),
      6
    );
    return;
  }
  emit({ event: "subscribed", content_topic: decoder.contentTopic, pubsub_topic: decoder.pubsubTopic });
  if (expectN > 0) {
    phase = `waiting for ${expectN} filter pushes (got ${got})`;
    const t = setInterval(() => (phase = `waiting for ${expectN} filter pushes (got ${got})`), 100);
    await all;
    clearInterval(t);
  }
  if (args.unsubscribe) {
    const r = await bounded(waku.filter.unsubscribe(decoder), 5000);
    emit({ event: "unsubscribed", ok: Boolean(r) });
  }
  finished = true;
  emit({ event: "done", received: got });
  await finish(() => waku.stop());
}

main().catch((e) => fail(e));

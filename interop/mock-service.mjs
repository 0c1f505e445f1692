// TEST-ONLY stand-in service node used by check.sh to exercise light.mjs
// without the Rust node. It serves metadata, lightpush v3 + v2, store v3 and
// filter v2 (in memory) over libp2p 2.8.11, following what the js-waku 0.0.36
// client expects (shared reference waku-v2.md §1c-1e). It is not a
// conformance reference for the Rust node; the Rust node is the real server.
//
//   node mock-service.mjs [--timeout-ms 30000] [--shards 32,64]
//        [--cluster 16] [--no-metadata] [--lightpush-status 200] [--port 0]
//
// stdout: {"event":"listening","addr":...} then one line per request served.
import "./polyfill.mjs"; // must stay first: Promise.withResolvers for Node 20
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { identify } from "@libp2p/identify";
import { mplex } from "@libp2p/mplex";
import { ping } from "@libp2p/ping";
import { tcp } from "@libp2p/tcp";
import { FilterCodecs, LightPushCodec, LightPushCodecV2, messageHash, MetadataCodec, StoreCodec } from "@waku/core";
import { proto_filter_v2, proto_lightpush, proto_metadata, proto_store } from "@waku/proto";
import * as lp from "it-length-prefixed";
import { pipe } from "it-pipe";
import { createLibp2p } from "libp2p";

import { armTimeout, emit, fail, finish, installCrashHandlers, intArg, log, parseCli, toHex } from "./lib.mjs";

installCrashHandlers();
const { values: args } = parseCli(
  {
    port: { type: "string", default: "0" },
    cluster: { type: "string", default: "16" },
    shards: { type: "string", default: "32,64" },
    "no-metadata": { type: "boolean", default: false },
    "lightpush-status": { type: "string", default: "200" }
  },
  { defaultTimeoutMs: 30000 }
);
const clusterId = intArg(args, "cluster");
const shards = args.shards === "" ? [] : args.shards.split(",").map((s) => Number(s));
const lpStatus = intArg(args, "lightpush-status");
const MAX_MSG = 150 * 1024;

/** Read exactly one length-prefixed message from a libp2p stream. */
async function readOne(stream) {
  const it = lp.decode(stream.source)[Symbol.asyncIterator]();
  const { value, done } = await it.next();
  if (done) throw new Error("stream ended before a request arrived");
  return value.subarray();
}
async function writeOneAndClose(stream, bytes) {
  await pipe([bytes], (src) => lp.encode(src), stream.sink);
}

const archive = []; // {pubsubTopic, message, hash(Uint8Array), hashHex}
const subscribers = new Map(); // peerId string -> {connection, pubsubTopic, contentTopics:Set}

function cmpMsg(a, b) {
  const ta = a.message.timestamp ?? 0n;
  const tb = b.message.timestamp ?? 0n;
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.hashHex < b.hashHex ? -1 : a.hashHex > b.hashHex ? 1 : 0;
}

async function accept(pubsubTopic, message) {
  const hash = messageHash(pubsubTopic, message);
  const hashHex = toHex(hash);
  if (!message.ephemeral && !archive.some((e) => e.hashHex === hashHex)) {
    archive.push({ pubsubTopic, message, hash, hashHex });
    archive.sort(cmpMsg);
  }
  for (const [peer, sub] of subscribers) {
    if (sub.pubsubTopic !== pubsubTopic || !sub.contentTopics.has(message.contentTopic)) continue;
    try {
      const s = await sub.connection.newStream(FilterCodecs.PUSH);
      await writeOneAndClose(s, proto_filter_v2.MessagePush.encode({ wakuMessage: message, pubsubTopic }));
      emit({ event: "filter_push", peer, hash: hashHex });
    } catch (e) {
      log(`filter push to ${peer} failed: ${e.message}`);
    }
  }
  return hashHex;
}

async function main() {
  const node = await createLibp2p({
    addresses: { listen: [`/ip4/127.0.0.1/tcp/${intArg(args, "port")}`] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux(), mplex()],
    services: { identify: identify({ agentVersion: "pfs-interop-mock-service" }), ping: ping() }
  });
  armTimeout(args["timeout-ms"], () => {
    emit({ event: "done" });
    finish(() => node.stop());
  });

  if (!args["no-metadata"]) {
    await node.handle(MetadataCodec, async ({ stream, connection }) => {
      try {
        const req = proto_metadata.WakuMetadataRequest.decode(await readOne(stream));
        await writeOneAndClose(stream, proto_metadata.WakuMetadataResponse.encode({ clusterId, shards }));
        emit({ event: "metadata", peer: connection.remotePeer.toString(), cluster_id: req.clusterId ?? null, shards: req.shards });
      } catch (e) {
        log("metadata:", e.message);
      }
    });
  }

  await node.handle(LightPushCodec, async ({ stream }) => {
    try {
      const req = proto_lightpush.LightPushRequestV3.decode(await readOne(stream));
      let statusCode = lpStatus;
      let statusDesc;
      let hash = null;
      const size = req.message ? proto_lightpush.WakuMessage.encode(req.message).length : 0;
      if (!req.message || !req.message.payload?.length || !req.message.contentTopic) {
        statusCode = 400;
        statusDesc = "invalid message";
      } else if (size > MAX_MSG) {
        statusCode = 413;
        statusDesc = "message too large";
      } else if (statusCode === 200) {
        hash = await accept(req.pubsubTopic ?? `/waku/2/rs/${clusterId}/${shards[0]}`, req.message);
      } else {
        statusDesc = "forced by --lightpush-status";
      }
      await writeOneAndClose(
        stream,
        proto_lightpush.LightPushResponseV3.encode({ requestId: req.requestId, statusCode, statusDesc, relayPeerCount: statusCode === 200 ? 1 : undefined })
      );
      emit({ event: "lightpush", version: 3, status_code: statusCode, pubsub_topic: req.pubsubTopic ?? null, hash, timestamp: req.message?.timestamp?.toString() ?? null });
    } catch (e) {
      log("lightpush v3:", e.message);
    }
  });

  await node.handle(LightPushCodecV2, async ({ stream }) => {
    try {
      const rpc = proto_lightpush.PushRpc.decode(await readOne(stream));
      const r = rpc.request;
      let hash = null;
      const ok = Boolean(r?.message?.payload?.length) && lpStatus === 200;
      if (ok) hash = await accept(r.pubsubTopic, r.message);
      await writeOneAndClose(
        stream,
        proto_lightpush.PushRpc.encode({ requestId: rpc.requestId, response: { isSuccess: ok, info: ok ? undefined : "rejected" } })
      );
      emit({ event: "lightpush", version: 2, ok, pubsub_topic: r?.pubsubTopic ?? null, hash });
    } catch (e) {
      log("lightpush v2:", e.message);
    }
  });

  await node.handle(StoreCodec, async ({ stream }) => {
    try {
      const q = proto_store.StoreQueryRequest.decode(await readOne(stream));
      let rows = archive.slice();
      if (q.messageHashes?.length) {
        const want = new Set(q.messageHashes.map(toHex));
        rows = rows.filter((r) => want.has(r.hashHex));
      } else {
        if (q.pubsubTopic) rows = rows.filter((r) => r.pubsubTopic === q.pubsubTopic);
        if (q.contentTopics?.length) rows = rows.filter((r) => q.contentTopics.includes(r.message.contentTopic));
        if (q.timeStart !== undefined) rows = rows.filter((r) => (r.message.timestamp ?? 0n) >= q.timeStart);
        if (q.timeEnd !== undefined) rows = rows.filter((r) => (r.message.timestamp ?? 0n) < q.timeEnd);
      }
      const limit = Math.min(100, Number(q.paginationLimit ?? 20n) || 20);
      const cursor = q.paginationCursor ? toHex(q.paginationCursor) : null;
      let page;
      let more;
      if (q.paginationForward) {
        let start = 0;
        if (cursor) start = rows.findIndex((r) => r.hashHex === cursor) + 1;
        page = start <= 0 && cursor ? [] : rows.slice(start, start + limit);
        more = start + limit < rows.length;
      } else {
        let end = rows.length;
        if (cursor) end = rows.findIndex((r) => r.hashHex === cursor);
        if (end < 0) end = 0;
        page = rows.slice(Math.max(0, end - limit), end); // ascending even when backward
        more = end - limit > 0;
      }
      const resp = {
        requestId: q.requestId,
        statusCode: 200,
        statusDesc: "OK",
        messages: page.map((r) => ({
          messageHash: r.hash,
          message: q.includeData ? r.message : undefined,
          pubsubTopic: q.includeData ? r.pubsubTopic : undefined
        })),
        paginationCursor: more && page.length ? (q.paginationForward ? page[page.length - 1] : page[0]).hash : undefined
      };
      await writeOneAndClose(stream, proto_store.StoreQueryResponse.encode(resp));
      emit({ event: "store_query", forward: q.paginationForward, limit, cursor, returned: page.length });
    } catch (e) {
      log("store:", e.message);
    }
  });

  await node.handle(FilterCodecs.SUBSCRIBE, async ({ stream, connection }) => {
    try {
      const T = proto_filter_v2.FilterSubscribeRequest.FilterSubscribeType;
      const req = proto_filter_v2.FilterSubscribeRequest.decode(await readOne(stream));
      const peer = connection.remotePeer.toString();
      let statusCode = 200;
      let statusDesc = "OK";
      if (req.filterSubscribeType === T.SUBSCRIBE) {
        const sub = subscribers.get(peer) ?? { connection, pubsubTopic: req.pubsubTopic, contentTopics: new Set() };
        sub.connection = connection;
        sub.pubsubTopic = req.pubsubTopic;
        for (const ct of req.contentTopics) sub.contentTopics.add(ct);
        subscribers.set(peer, sub);
      } else if (req.filterSubscribeType === T.UNSUBSCRIBE) {
        const sub = subscribers.get(peer);
        for (const ct of req.contentTopics) sub?.contentTopics.delete(ct);
        if (sub && sub.contentTopics.size === 0) subscribers.delete(peer);
      } else if (req.filterSubscribeType === T.UNSUBSCRIBE_ALL) {
        subscribers.delete(peer);
      } else if (!subscribers.has(peer)) {
        statusCode = 404;
        statusDesc = "NOT_FOUND";
      }
      emit({ event: "filter_request", type: req.filterSubscribeType, peer, content_topics: req.contentTopics, status_code: statusCode });
      await writeOneAndClose(stream, proto_filter_v2.FilterSubscribeResponse.encode({ requestId: req.requestId, statusCode, statusDesc }));
    } catch (e) {
      log("filter subscribe:", e.message);
    }
  });

  const addr = node.getMultiaddrs().map(String).find((a) => a.startsWith("/ip4/127.0.0.1/"));
  emit({ event: "listening", addr, peer_id: node.peerId.toString() });
}

main().catch((e) => fail(e));

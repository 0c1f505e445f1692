// @waku/message-encryption 0.0.38 interop (26/WAKU2-PAYLOAD, WakuMessage version 1).
//
//   node crypto.mjs keygen
//   node crypto.mjs ecies-encrypt --pub HEX65 [--sig-priv HEX32] --payload HEX
//   node crypto.mjs ecies-decrypt --priv HEX32 (--data HEX | --wire HEX)
//   node crypto.mjs sym-encrypt  --key HEX32 [--sig-priv HEX32] --payload HEX
//   node crypto.mjs sym-decrypt  --key HEX32 (--data HEX | --wire HEX)
//   node crypto.mjs hash --payload HEX [--content-topic CT] [--pubsub-topic T]
//                                         [--timestamp NS] [--meta HEX]
//   node crypto.mjs topic-check --topics JSON_ARRAY_OF_STRINGS
//
// Encryption goes through the same Encoder.toProtoObj js-waku uses to send, and
// decryption through the same Decoder.fromProtoObj it uses to receive.
// stdout: one JSON line. stderr: diagnostics.
import "./polyfill.mjs"; // must stay first: Promise.withResolvers for Node 20
import { messageHash } from "@waku/core";
import { generatePrivateKey, generateSymmetricKey, getPublicKey } from "@waku/message-encryption";
import * as ecies from "@waku/message-encryption/ecies";
import * as symmetric from "@waku/message-encryption/symmetric";
import { proto_message } from "@waku/proto";
import { createRoutingInfo, ensureValidContentTopic } from "@waku/utils";

import {
  armTimeout,
  DEFAULT_CONTENT_TOPIC,
  DEFAULT_PUBSUB_TOPIC,
  emit,
  fail,
  finish,
  fromHex,
  installCrashHandlers,
  parseCli,
  toHex
} from "./lib.mjs";

installCrashHandlers();
const COMMANDS = ["keygen", "ecies-encrypt", "ecies-decrypt", "sym-encrypt", "sym-decrypt", "hash", "topic-check"];
const { values: args, positionals } = parseCli(
  {
    pub: { type: "string" },
    priv: { type: "string" },
    key: { type: "string" },
    "sig-priv": { type: "string" },
    payload: { type: "string" },
    data: { type: "string" },
    wire: { type: "string" },
    "content-topic": { type: "string", default: DEFAULT_CONTENT_TOPIC },
    "pubsub-topic": { type: "string", default: DEFAULT_PUBSUB_TOPIC },
    timestamp: { type: "string" },
    meta: { type: "string" },
    topics: { type: "string" }
  },
  { defaultTimeoutMs: 10000, allowPositionals: true }
);
const cmd = positionals[0];
if (!COMMANDS.includes(cmd) || positionals.length !== 1) {
  fail(`bad arguments: expected exactly one sub-command of ${COMMANDS.join("|")}, got [${positionals.join(" ")}]`, 2);
}
armTimeout(args["timeout-ms"]);

const WakuMessage = proto_message.WakuMessage;
const contentTopic = args["content-topic"];
const pubsubTopic = args["pubsub-topic"];

function routingInfo() {
  const m = /^\/waku\/2\/rs\/(\d+)\/(\d+)$/.exec(pubsubTopic);
  if (!m) fail(`bad arguments: --pubsub-topic must look like /waku/2/rs/<cluster>/<shard>, got ${pubsubTopic}`, 2);
  return createRoutingInfo({ clusterId: Number(m[1]) }, { shardId: Number(m[2]) });
}

function need(name, bytes) {
  const v = args[name];
  if (v === undefined) fail(`bad arguments: --${name} is required for ${cmd}`, 2);
  const b = fromHex(v, `--${name}`);
  if (bytes !== undefined && b.length !== bytes) fail(`bad arguments: --${name} must be ${bytes} bytes, got ${b.length}`, 2);
  return b;
}

function optSigPriv() {
  return args["sig-priv"] === undefined ? undefined : need("sig-priv", 32);
}

function timestampDate() {
  // js encoders take a Date (ms); the wire timestamp is ms * 1e6
  if (args.timestamp === undefined) return new Date();
  return new Date(Number(BigInt(args.timestamp) / 1_000_000n));
}

function describeProto(p) {
  return {
    content_topic: p.contentTopic,
    pubsub_topic: pubsubTopic,
    version: p.version ?? 0,
    timestamp: p.timestamp === undefined ? null : p.timestamp.toString(),
    payload_hex: toHex(p.payload),
    payload_len: p.payload.length,
    wire_hex: toHex(WakuMessage.encode(p)),
    hash: toHex(messageHash(pubsubTopic, p))
  };
}

/** The encrypted WakuMessage to decrypt, from --data (payload only) or --wire (whole protobuf). */
function inputProto() {
  if (args.wire !== undefined) {
    const m = WakuMessage.decode(need("wire"));
    return {
      payload: new Uint8Array(m.payload), // fresh buffer: js postCipher uses .buffer offsets
      contentTopic: m.contentTopic,
      version: m.version,
      timestamp: m.timestamp,
      meta: m.meta,
      rateLimitProof: m.rateLimitProof,
      ephemeral: m.ephemeral
    };
  }
  return {
    payload: need("data"),
    contentTopic,
    version: 1,
    timestamp: undefined,
    meta: undefined,
    rateLimitProof: undefined,
    ephemeral: false
  };
}

function describeDecrypted(kind, msg) {
  return {
    event: "decrypted",
    kind,
    payload_hex: toHex(msg.payload),
    signature_hex: msg.signature ? toHex(msg.signature) : null,
    signature_public_key_hex: msg.signaturePublicKey ? toHex(msg.signaturePublicKey) : null,
    version: msg.version,
    content_topic: msg.contentTopic
  };
}

async function main() {
  switch (cmd) {
    case "keygen": {
      const priv = generatePrivateKey();
      emit({
        event: "keygen",
        private_key_hex: toHex(priv),
        public_key_hex: toHex(getPublicKey(priv, false)),
        public_key_compressed_hex: toHex(getPublicKey(priv, true)),
        sym_key_hex: toHex(generateSymmetricKey())
      });
      break;
    }
    case "ecies-encrypt": {
      const publicKey = need("pub", 65);
      const enc = ecies.createEncoder({ contentTopic, routingInfo: routingInfo(), publicKey, sigPrivKey: optSigPriv() });
      const p = await enc.toProtoObj({ payload: need("payload"), timestamp: timestampDate() });
      emit({ event: "encrypted", kind: "ecies", signed: args["sig-priv"] !== undefined, ...describeProto(p) });
      break;
    }
    case "sym-encrypt": {
      const symKey = need("key", 32);
      const enc = symmetric.createEncoder({ contentTopic, routingInfo: routingInfo(), symKey, sigPrivKey: optSigPriv() });
      const p = await enc.toProtoObj({ payload: need("payload"), timestamp: timestampDate() });
      emit({ event: "encrypted", kind: "symmetric", signed: args["sig-priv"] !== undefined, ...describeProto(p) });
      break;
    }
    case "ecies-decrypt": {
      const p = inputProto();
      const dec = ecies.createDecoder(p.contentTopic, routingInfo(), need("priv", 32));
      const msg = await dec.fromProtoObj(pubsubTopic, p);
      if (!msg) fail("ecies decryption failed (wrong key, version != 1, bad MAC or bad 26/WAKU2-PAYLOAD layout)", 1);
      emit(describeDecrypted("ecies", msg));
      break;
    }
    case "sym-decrypt": {
      const p = inputProto();
      const dec = symmetric.createDecoder(p.contentTopic, routingInfo(), need("key", 32));
      const msg = await dec.fromProtoObj(pubsubTopic, p);
      if (!msg) fail("symmetric decryption failed (wrong key, version != 1, bad tag or bad 26/WAKU2-PAYLOAD layout)", 1);
      emit(describeDecrypted("symmetric", msg));
      break;
    }
    case "hash": {
      const p = {
        payload: need("payload"),
        contentTopic,
        timestamp: args.timestamp === undefined ? undefined : BigInt(args.timestamp),
        meta: args.meta === undefined ? undefined : need("meta")
      };
      emit({ event: "hash", pubsub_topic: pubsubTopic, content_topic: contentTopic, hash: toHex(messageHash(pubsubTopic, p)) });
      break;
    }
    case "topic-check": {
      // js-waku's own content-topic check (what its encoders and decoders run)
      if (args.topics === undefined) fail("bad arguments: --topics is required for topic-check", 2);
      const topics = JSON.parse(args.topics);
      const verdicts = topics.map((t) => {
        try {
          ensureValidContentTopic(t);
          return { topic: t, valid: true };
        } catch (e) {
          return { topic: t, valid: false, error: String(e.message ?? e) };
        }
      });
      emit({ event: "topics", verdicts });
      break;
    }
  }
  await finish();
}

main().catch((e) => fail(e));

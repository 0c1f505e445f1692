// Shared helpers for the interop scripts: argument parsing, JSON-lines output,
// bounded run time, hex helpers, nanosecond clock.
import { createHash } from "node:crypto";
import { parseArgs } from "node:util";

import { gossipsub } from "@chainsafe/libp2p-gossipsub";
import { yamux } from "@chainsafe/libp2p-yamux";
import { mplex } from "@libp2p/mplex";

/** Write one machine-readable JSON object as a line on stdout. */
export function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

/** Diagnostics go to stderr only. */
export function log(...args) {
  const parts = args.map((a) => (typeof a === "string" ? a : safeJson(a)));
  process.stderr.write(`[${process.argv[1]?.split("/").pop() ?? "js"}] ${parts.join(" ")}\n`);
}

function safeJson(v) {
  if (v instanceof Error) return v.stack ?? String(v);
  try {
    return JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));
  } catch {
    return String(v);
  }
}

let exiting = false;

/**
 * Print an error line on stdout ({"event":"error","error":msg}) and the message
 * on stderr, then exit with `code` (default 1).
 */
export function fail(message, code = 1) {
  if (exiting) return;
  exiting = true;
  const msg = message instanceof Error ? message.message : String(message);
  emit({ event: "error", error: msg });
  log("error:", message instanceof Error ? (message.stack ?? msg) : msg);
  process.exit(code);
}

/** Exit 0 after an optional cleanup that is itself bounded in time. */
export async function finish(cleanup, boundMs = 3000) {
  if (exiting) return;
  // success is decided: the global deadline must not turn it into a failure
  for (const t of deadlineTimers) clearTimeout(t);
  if (cleanup) await bounded(cleanup(), boundMs).catch((e) => log("cleanup failed:", e));
  exiting = true;
  process.exit(0);
}

/** Resolve with p, or with undefined after ms (never rejects on timeout). */
export function bounded(p, ms) {
  let t;
  return Promise.race([
    Promise.resolve(p).finally(() => clearTimeout(t)),
    new Promise((resolve) => {
      t = setTimeout(() => {
        log(`gave up waiting after ${ms} ms`);
        resolve(undefined);
      }, ms);
      t.unref?.();
    })
  ]);
}

/**
 * Parse argv with node:util parseArgs (strict: unknown options are errors).
 * `options` is the parseArgs option spec. Returns {values, positionals}.
 * Adds the common --timeout-ms option (default `defaultTimeoutMs`).
 */
export function parseCli(options, { defaultTimeoutMs = 30000, allowPositionals = false } = {}) {
  try {
    const { values, positionals } = parseArgs({
      args: process.argv.slice(2),
      options: { "timeout-ms": { type: "string", default: String(defaultTimeoutMs) }, ...options },
      allowPositionals,
      strict: true
    });
    values["timeout-ms"] = intArg(values, "timeout-ms");
    return { values, positionals };
  } catch (e) {
    fail(`bad arguments: ${e.message}`, 2);
  }
}

/** Integer option (string in values) or default; fails on garbage. */
export function intArg(values, name, dflt) {
  const v = values[name];
  if (v === undefined) return dflt;
  if (!/^\d+$/.test(String(v))) fail(`bad arguments: --${name} must be a non-negative integer, got ${v}`, 2);
  return Number(v);
}

/** Arm the global deadline: after ms, call onTimeout (default: fail with code 3). */
const deadlineTimers = [];
export function armTimeout(ms, onTimeout) {
  const t = setTimeout(() => {
    if (onTimeout) onTimeout();
    else fail(`timeout after ${ms} ms`, 3);
  }, ms);
  deadlineTimers.push(t);
  return t;
}

export function installCrashHandlers() {
  process.on("unhandledRejection", (e) => {
    // libp2p emits some rejections on shutdown; only fatal if not exiting.
    if (!exiting) log("unhandled rejection:", e);
  });
  process.on("uncaughtException", (e) => fail(e));
}

export function toHex(bytes) {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

export function fromHex(hex, what = "hex") {
  let h = String(hex).trim();
  if (h.startsWith("0x") || h.startsWith("0X")) h = h.slice(2);
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) fail(`bad arguments: ${what} is not valid hex`, 2);
  return new Uint8Array(Buffer.from(h, "hex"));
}

export function sha256(bytes) {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}

const wallAnchorNs = BigInt(Date.now()) * 1_000_000n;
const hrAnchor = process.hrtime.bigint();

/** Current Unix time in nanoseconds (BigInt), monotonic within this process. */
export function nowNs() {
  return wallAnchorNs + (process.hrtime.bigint() - hrAnchor);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const DEFAULT_PUBSUB_TOPIC = "/waku/2/rs/16/32";
export const DEFAULT_CONTENT_TOPIC = "/waku/1/0x00000000/rfc26";

/** The p-th percentile (nearest rank) of an ascending array; null when empty. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

/**
 * The relay benchmark of `relay.mjs --bench` and pfs-bench's relay-chain.mjs: `n` WakuMessages
 * of `size` bytes published on `topic` by gossipsub `psA`, at most `window` in flight (0 =
 * unlimited), until gossipsub `psB` received them all. `codec` is @waku/proto's WakuMessage.
 * Returns the bench fields (seconds, msgs/s, MiB/s, p50/p99/max latency in ms) to emit.
 */
export async function measureBurst({ psA, psB, topic, contentTopic, n, size, window, codec }) {
  const sentAt = new Array(n);
  const lat = [];
  let got = 0;
  let wake = null;
  let allDone;
  const done = new Promise((r) => (allDone = r));
  psB.addEventListener("gossipsub:message", (evt) => {
    const m = codec.decode(evt.detail.msg.data);
    const i = Buffer.from(m.payload.buffer, m.payload.byteOffset, 4).readUInt32BE(0);
    if (sentAt[i] !== undefined) lat.push(Number(process.hrtime.bigint() - sentAt[i]) / 1e6);
    got++;
    if (wake) {
      const w = wake;
      wake = null;
      w();
    }
    if (got === n) allDone();
  });
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    while (window > 0 && i - got >= window) await new Promise((r) => (wake = r));
    const payload = new Uint8Array(size);
    const dv = new DataView(payload.buffer);
    dv.setUint32(0, i);
    for (let k = 4; k < size; k++) payload[k] = (k + i) & 0xff;
    const data = codec.encode({ payload, contentTopic, version: 0, timestamp: nowNs(), ephemeral: false });
    sentAt[i] = process.hrtime.bigint();
    await psA.publish(topic, data);
  }
  await done;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  lat.sort((x, y) => x - y);
  const round = (v) => (v === null ? null : Math.round(v * 1000) / 1000);
  return {
    messages: n,
    size,
    window,
    seconds: round(seconds),
    msgs_per_sec: Math.round((n / seconds) * 10) / 10,
    mib_per_sec: round((n * size) / seconds / (1024 * 1024)),
    p50_ms: round(percentile(lat, 50)),
    p99_ms: round(percentile(lat, 99)),
    max_ms: round(lat[lat.length - 1] ?? null)
  };
}

/** The relay protocol id: js-waku and nwaku speak only this one (no /meshsub). */
export const RELAY_CODEC = "/vac/waku/relay/2.0.0";

/** The stream muxers for `--muxer both|yamux|mplex`. */
export function muxersFor(name) {
  if (name === "yamux") return [yamux()];
  if (name === "mplex") return [mplex()];
  return [yamux(), mplex()];
}

/** gossipsub configured as js-waku's wakuGossipSub (packages/relay/src/relay.ts). */
export function wakuGossipSub() {
  const factory = gossipsub({
    msgIdFn: ({ data }) => sha256(data),
    globalSignaturePolicy: "StrictNoSign",
    fallbackToFloodsub: false,
    // js relay refuses > 1 MiB; allow a bit more on receive for framing.
    maxInboundDataLength: 4 * 1024 * 1024
  });
  return (components) => {
    const ps = factory(components);
    ps.multicodecs = [RELAY_CODEC];
    return ps;
  };
}

/**
 * js-waku's relay message validator (packages/relay/src/message_validator.ts) on `topic`
 * of the gossipsub service `ps`, then subscribes: a message that does not decode as a
 * WakuMessage (`codec`), or has an empty payload or content topic, is rejected.
 */
export function subscribeValidated(ps, topic, codec) {
  ps.topicValidators.set(topic, (_peer, msg) => {
    try {
      const m = codec.decode(msg.data);
      if (!m.payload || m.payload.length === 0 || !m.contentTopic) return "reject";
      return "accept";
    } catch {
      return "reject";
    }
  });
  ps.subscribe(topic);
}

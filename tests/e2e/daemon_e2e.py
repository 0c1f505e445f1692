#!/usr/bin/env python3
"""End-to-end test of `pfs daemon` (JSON-RPC 2.0), standard library only.

Starts a `pfs node` with a store on 127.0.0.1, two homes (Alice, Bob) made contacts with
their contact codes, and a daemon for each on a Unix socket. Then: 100 messages both ways,
five of them held by Alice's daemon and handed to Bob's in reverse order; Bob's daemon is
stopped in the middle and restarted (the messages sent meanwhile come from the store);
every message must arrive exactly once, and every message of Alice's must be acknowledged.
Also: bad input to the RPC (malformed JSON, unknown method, wrong types, a 2 MiB request,
a client that disconnects mid-request) gets JSON-RPC errors and the daemon keeps serving;
a second daemon on the same home is refused.

Usage: python3 tests/e2e/daemon_e2e.py [PATH_TO_PFS]   (default: target/debug/pfs)
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import queue

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PFS = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "debug", "pfs")
ENV = dict(os.environ, PFS_PASSPHRASE="e2e passphrase", NO_COLOR="1")
TIMEOUT = 60


def load_schema():
    """The machine-readable block of docs/json-rpc.md."""
    text = open(os.path.join(ROOT, "docs", "json-rpc.md"), encoding="utf-8").read()
    start = text.index("```json\n") + len("```json\n")
    return json.loads(text[start:text.index("```", start)])


SCHEMA = load_schema()
TYPES = {"string": str, "integer": int, "boolean": bool, "array": list, "object": dict}
CHECKED = {"results": 0, "notifications": 0}


def conforms(value, spec, where):
    if isinstance(spec, str):
        nullable = spec.endswith("?")
        if value is None:
            check(nullable, f"{where}: null")
            return
        t = TYPES[spec.rstrip("?")]
        ok = isinstance(value, t) and not (t is int and isinstance(value, bool))
        check(ok, f"{where}: {value!r} is not {spec}")
    elif isinstance(spec, list):
        check(isinstance(value, list), f"{where}: not an array")
        for i, v in enumerate(value):
            conforms(v, spec[0], f"{where}[{i}]")
    else:
        check(isinstance(value, dict), f"{where}: not an object: {value!r}")
        for k in value:
            check(k in spec, f"{where}: field {k!r} is not in docs/json-rpc.md")
        for k, t in spec.items():
            if k not in value:
                check(isinstance(t, str) and t.endswith("?"), f"{where}: field {k!r} missing")
            else:
                conforms(value[k], t, f"{where}.{k}")


def conforms_message(v):
    if "method" in v and "id" not in v:
        name = v["method"]
        check(name in SCHEMA["notifications"], f"notification {name!r} is not documented")
        conforms(v.get("params"), SCHEMA["notifications"][name], f"notification {name}")
        CHECKED["notifications"] += 1


def log(msg):
    print("e2e:", msg, file=sys.stderr, flush=True)


def fail(msg):
    print("FAIL:", msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


def pfs(home, *args, stdin=None):
    r = subprocess.run([PFS, "--home", home, *args], env=ENV, input=stdin,
                       capture_output=True, text=True, timeout=TIMEOUT)
    if r.returncode != 0:
        fail(f"pfs {' '.join(args)}: exit {r.returncode}: {r.stderr}")
    return r.stdout


class Rpc:
    """One socket connection: requests with ids, notifications collected."""

    def __init__(self, path):
        deadline = time.time() + TIMEOUT
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    fail(f"cannot connect to {path}")
                time.sleep(0.1)
        self.file = self.sock.makefile("rwb", buffering=0)
        self.next_id = 1
        self.responses = {}
        self.notes = queue.Queue()
        self.lock = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.file:
            try:
                v = json.loads(line)
            except ValueError:
                continue
            if "error" in v:
                conforms(v["error"], SCHEMA["error"], "error")
            if "id" in v and ("result" in v or "error" in v):
                with self.lock:
                    self.responses[v["id"]] = v
                    self.lock.notify_all()
            else:
                conforms_message(v)
                self.notes.put(v)

    def raw(self, data: bytes):
        self.file.write(data)

    def wait_response(self, rid):
        deadline = time.time() + TIMEOUT
        with self.lock:
            while rid not in self.responses:
                left = deadline - time.time()
                if left <= 0:
                    fail(f"no response to request {rid}")
                self.lock.wait(left)
            return self.responses.pop(rid)

    def call(self, method, params=None, expect_error=False):
        rid = self.next_id
        self.next_id += 1
        req = {"jsonrpc": "2.0", "id": rid, "method": method, "params": params or {}}
        self.raw((json.dumps(req) + "\n").encode())
        v = self.wait_response(rid)
        if expect_error:
            check("error" in v, f"{method}: expected an error, got {v}")
            return v["error"]
        check("result" in v, f"{method}: {v.get('error')}")
        key = "send(hold)" if method == "send" and (params or {}).get("hold") else method
        check(key in SCHEMA["results"], f"method {method!r} is not documented")
        conforms(v["result"], SCHEMA["results"][key], f"result of {method}")
        CHECKED["results"] += 1
        return v["result"]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Daemon:
    def __init__(self, home, via):
        self.home = home
        self.sock_path = os.path.join(home, "rpc.sock")
        self.log = open(os.path.join(os.path.dirname(home), os.path.basename(home) + "-daemon.log"), "a")
        self.proc = subprocess.Popen(
            [PFS, "--home", home, "daemon", "--via", via, "--socket", self.sock_path],
            env=ENV, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)
        # the first notification on stdout is "ready"
        line = self.proc.stdout.readline()
        check(line, f"daemon for {home} printed nothing (see {self.log.name})")
        ready = json.loads(line)
        check(ready.get("method") == "ready", f"first line is not ready: {line}")
        conforms_message(ready)
        check(ready["params"]["schema_version"] == 1, "schema version")
        threading.Thread(target=self._drain, daemon=True).start()
        self.rpc = Rpc(self.sock_path)

    def _drain(self):
        for _ in self.proc.stdout:
            pass

    def stop(self):
        try:
            self.rpc.call("shutdown")
        except SystemExit:
            raise
        self.rpc.close()
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.proc.wait(timeout=TIMEOUT)


def collect(rpc, method, want, seconds=TIMEOUT):
    """Notifications `method` until `want(list)` holds."""
    got = []
    deadline = time.time() + seconds
    while not want(got):
        left = deadline - time.time()
        if left <= 0:
            return got
        try:
            v = rpc.notes.get(timeout=min(left, 0.5))
        except queue.Empty:
            continue
        if v.get("method") == method:
            got.append(v["params"])
    return got


def main():
    check(os.path.exists(PFS), f"{PFS} not built (cargo build -p pfs-cli)")
    tmp = tempfile.mkdtemp(prefix="pfs-e2e-")
    node_home, a_home, b_home = (os.path.join(tmp, n) for n in ("node", "alice", "bob"))
    node_log = open(os.path.join(tmp, "node.log"), "w")
    node = subprocess.Popen([PFS, "--home", node_home, "node", "--store"], env=ENV,
                            stdout=subprocess.PIPE, stderr=node_log, text=True)
    try:
        line = node.stdout.readline()
        check(line.startswith("listening on "), f"node: {line!r}")
        via = line.split()[2]
        threading.Thread(target=lambda: [None for _ in node.stdout], daemon=True).start()
        log('node up')
        pfs(a_home, "init")
        pfs(b_home, "init")
        code_a = pfs(a_home, "contact-code").strip()
        code_b = pfs(b_home, "contact-code").strip()
        pfs(a_home, "contacts", "add", code_b, "--name", "Bob")
        pfs(b_home, "contacts", "add", code_a, "--name", "Alice")

        log('homes ready')
        alice, bob = Daemon(a_home, via), Daemon(b_home, via)
        # a second daemon on the same home is refused with a clear message
        r = subprocess.run([PFS, "--home", a_home, "daemon", "--via", via], env=ENV,
                           capture_output=True, text=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        check(r.returncode != 0 and "in use" in r.stderr, f"second daemon: {r.returncode} {r.stderr}")

        log('daemons up')
        a, b = alice.rpc, bob.rpc
        me_a = a.call("whoami")
        check(me_a["chat_key"].startswith("0x04"), "whoami")
        check(a.call("ping") == "pong", "ping")
        for m in ("version", "contact_code", "devices.list", "sessions.list", "unacknowledged"):
            a.call(m)
        contacts = a.call("contacts.list")
        check([c["name"] for c in contacts] == ["Bob"], f"contacts: {contacts}")

        log('basic calls ok')
        # bad input: errors with codes, the daemon keeps serving
        a.raw(b"{not json\n")
        a.raw(b'{"jsonrpc":"2.0","id":"x","method":"no.such.method"}\n')
        e = a.wait_response("x")["error"]
        check(e["code"] == -32601, f"unknown method: {e}")
        e = a.call("send", {"to": 5, "text": "x"}, expect_error=True)
        check(e["code"] == -32602, f"wrong type: {e}")
        e = a.call("send", {"to": "Nobody", "text": "x"}, expect_error=True)
        check(e["code"] == -32002, f"unknown contact: {e}")
        a.raw(b'{"jsonrpc":"2.0","id":99,"method":"ping","params":"' + b"x" * (2 << 20) + b'"}\n')
        e = a.wait_response(None)["error"] if None in a.responses else None
        # the huge request is answered with id null (it was not parsed)
        deadline = time.time() + TIMEOUT
        while None not in a.responses and time.time() < deadline:
            time.sleep(0.05)
        check(None in a.responses, "no answer to the 2 MiB request")
        errs = a.responses.pop(None)
        check(errs["error"]["code"] in (-32600, -32700), f"huge request: {errs}")
        # a client that disconnects mid-request
        half = Rpc(alice.sock_path)
        half.raw(b'{"jsonrpc":"2.0","id":1,"method":"se')
        half.close()
        check(a.call("ping") == "pong", "still serving after bad input")

        log('bad input ok')
        sent_ab, sent_ba = [], []
        # 1. 25 messages each way
        for i in range(25):
            t = f"a->b {i}"
            a.call("send", {"to": "Bob", "text": t})
            sent_ab.append(t)
            t = f"b->a {i}"
            b.call("send", {"to": "Alice", "text": t})
            sent_ba.append(t)
        log('25 each way sent')
        # 2. five held by Alice, delivered to Bob in reverse order
        held = []
        for i in range(5):
            t = f"a->b held {i}"
            r = a.call("send", {"to": "Bob", "text": t, "hold": True})
            held.extend(r["held"])
            sent_ab.append(t)
        for w in reversed(held):
            r = b.call("receive", {"waku_message": w})
            check(r["duplicate"] is False, "held message new")
        log('held delivered')
        # 3. Bob's daemon stops; Alice writes 10; Bob comes back and catches up
        got_b = collect(b, "message", lambda g: len(g) >= 30)
        got_a = collect(a, "message", lambda g: len(g) >= 25)
        bob.stop()
        for i in range(10):
            t = f"a->b while away {i}"
            a.call("send", {"to": "Bob", "text": t})
            sent_ab.append(t)
        time.sleep(1.0)
        log('bob restarting')
        bob = Daemon(b_home, via)
        b = bob.rpc
        log('bob back')
        # 4. 20 more messages each way
        for i in range(20):
            t = f"a->b after {i}"
            a.call("send", {"to": "Bob", "text": t})
            sent_ab.append(t)
        for i in range(25, 50):
            t = f"b->a {i}"
            b.call("send", {"to": "Alice", "text": t})
            sent_ba.append(t)
        check(len(sent_ab) == 60 and len(sent_ba) == 50, "message counts")
        rest_b = collect(b, "message", lambda g: len(g) >= 30, seconds=TIMEOUT)
        rest_a = collect(a, "message", lambda g: len(g) >= 25, seconds=TIMEOUT)
        texts_b = [m["text"] for m in got_b + rest_b]
        texts_a = [m["text"] for m in got_a + rest_a]
        # a little longer, to see duplicates if there were any
        texts_b += [m["text"] for m in collect(b, "message", lambda g: False, seconds=2)]
        texts_a += [m["text"] for m in collect(a, "message", lambda g: False, seconds=1)]
        check(sorted(texts_b) == sorted(sent_ab),
              f"Bob got {len(texts_b)} of {len(sent_ab)}; missing {set(sent_ab) - set(texts_b)}, "
              f"duplicates {[t for t in set(texts_b) if texts_b.count(t) > 1]}")
        check(sorted(texts_a) == sorted(sent_ba),
              f"Alice got {len(texts_a)} of {len(sent_ba)}; missing {set(sent_ba) - set(texts_a)}")
        check(all(m["from_name"].startswith("Alice") for m in got_b + rest_b), "sender names")
        log('all received')
        # 5. every message of Alice's acknowledged (resends cover the ones Bob missed)
        deadline = time.time() + TIMEOUT
        while a.call("unacknowledged")["count"] > 0:
            check(time.time() < deadline, f"unacknowledged: {a.call('unacknowledged')}")
            time.sleep(0.5)
        # contact management over RPC: block drops Bob's messages, unblock lets them in again
        check(a.call("contacts.block", {"id": "Bob"})["state"] == "blocked", "block")
        b.call("send", {"to": "Alice", "text": "while blocked"})
        dropped = collect(a, "dropped", lambda g: len(g) >= 1, seconds=20)
        check(dropped, "a blocked contact's message is reported dropped")
        check(a.call("contacts.unblock", {"id": "Bob"})["state"] == "added", "unblock")
        r = a.call("sessions.reset", {"id": "Bob"})
        check(r["reset"] >= 1, f"sessions.reset: {r}")
        # Alice starts a new session (her copy of the old one is gone); Bob reads it
        a.call("send", {"to": "Bob", "text": "after the reset"})
        after = collect(b, "message", lambda g: any(m["text"] == "after the reset" for m in g),
                        seconds=TIMEOUT)
        check(any(m["text"] == "after the reset" for m in after), f"after reset: {after}")
        a_hist = a.call("history", {"since_ms": 0})
        check(a_hist["events"] >= 0, "history")
        alice.stop()
        bob.stop()
        check(CHECKED["results"] > 100 and CHECKED["notifications"] > 100, f"schema checks: {CHECKED}")
        print(f"daemon e2e: {len(sent_ab)} + {len(sent_ba)} messages, each once; "
              "bad input answered; restart caught up; all acknowledged; "
              f"{CHECKED['results']} results and {CHECKED['notifications']} notifications "
              "match docs/json-rpc.md")
    finally:
        node.terminate()
        try:
            node.wait(timeout=10)
        except subprocess.TimeoutExpired:
            node.kill()


if __name__ == "__main__":
    main()

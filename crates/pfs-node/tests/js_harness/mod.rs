//! Harness of the js-waku interop tests: finds the repository root, installs the pinned
//! js packages once (`npm ci --prefix interop`), and runs `interop/*.mjs` as child
//! processes whose JSON-line stdout is collected live. Every child is killed when its
//! [`Js`] is dropped, and every wait is bounded.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The repository root (two levels above this crate's manifest).
pub fn repo_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest
        .parent()
        .and_then(Path::parent)
        .expect("crates/pfs-node has a grandparent");
    assert!(
        root.join("interop").join("package-lock.json").is_file(),
        "no interop/package-lock.json under {}",
        root.display()
    );
    root.to_path_buf()
}

fn run_bounded(cmd: &mut Command, limit: Duration) -> Result<(ExitStatus, String), String> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{cmd:?} did not finish within {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = format!(
        "{}{}",
        t_out.join().unwrap_or_default(),
        t_err.join().unwrap_or_default()
    );
    Ok((status, text))
}

/// Makes sure `node` runs and the pinned packages are installed (runs `npm ci` once for
/// the whole test binary when `interop/node_modules` is missing). Panics, failing the
/// test, when node or npm is unavailable: CI installs them.
pub fn ensure_js() -> &'static Path {
    static READY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let r = READY.get_or_init(|| {
        let root = repo_root();
        let interop = root.join("interop");
        let (st, out) = run_bounded(
            Command::new("node").arg("--version"),
            Duration::from_secs(30),
        )
        .map_err(|e| format!("node is required for the js-waku interop tests: {e}"))?;
        if !st.success() {
            return Err(format!("`node --version` failed: {out}"));
        }
        let installed = interop
            .join("node_modules/@waku/sdk/package.json")
            .is_file()
            && interop
                .join("node_modules/@chainsafe/libp2p-gossipsub/package.json")
                .is_file();
        if !installed {
            let (st, out) = run_bounded(
                Command::new("npm").arg("ci").arg("--prefix").arg(&interop),
                Duration::from_secs(900),
            )
            .map_err(|e| format!("npm is required for the js-waku interop tests: {e}"))?;
            if !st.success() {
                return Err(format!(
                    "`npm ci --prefix {}` failed: {out}",
                    interop.display()
                ));
            }
        }
        Ok(interop)
    });
    match r {
        Ok(p) => p.as_path(),
        Err(e) => panic!("{e}"),
    }
}

#[derive(Default)]
struct Output {
    lines: Vec<Value>,
    eof: bool,
}

/// A running `interop/<script>.mjs`, killed on drop.
pub struct Js {
    name: String,
    child: Child,
    out: Arc<(Mutex<Output>, Condvar)>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    status: Option<ExitStatus>,
}

impl Js {
    /// Starts `node interop/<script> <args>`.
    pub fn spawn(script: &str, args: &[&str]) -> Js {
        let interop = ensure_js();
        let name = format!("{script} {}", args.join(" "));
        let mut child = Command::new("node")
            .arg(interop.join(script))
            .args(args)
            .current_dir(interop)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start node {name}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let out: Arc<(Mutex<Output>, Condvar)> = Arc::default();
        let err = Arc::new(Mutex::new(String::new()));
        let o = Arc::clone(&out);
        let r1 = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let v = serde_json::from_str(&line).unwrap_or(Value::String(line));
                o.0.lock().unwrap().lines.push(v);
                o.1.notify_all();
            }
            o.0.lock().unwrap().eof = true;
            o.1.notify_all();
        });
        let e = Arc::clone(&err);
        let r2 = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if std::env::var_os("PFS_JS_STDERR").is_some() {
                    eprintln!("[js] {line}");
                }
                let mut s = e.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Js {
            name,
            child,
            out,
            stderr: err,
            readers: vec![r1, r2],
            status: None,
        }
    }

    /// Everything seen so far, for failure messages.
    pub fn diagnostics(&self) -> String {
        let lines = self.out.0.lock().unwrap().lines.clone();
        let mut stdout = String::new();
        for l in &lines {
            stdout.push_str(&l.to_string());
            stdout.push('\n');
        }
        let stderr = self.stderr.lock().unwrap().clone();
        let tail: String = {
            let v: Vec<&str> = stderr.lines().collect();
            v[v.len().saturating_sub(60)..].join("\n")
        };
        format!(
            "--- js `{}` (exit {:?}) stdout:\n{stdout}--- stderr (last 60 lines):\n{tail}\n---",
            self.name, self.status
        )
    }

    /// The first stdout line that satisfies `pred`, waiting at most `timeout`. Panics
    /// (with the js output) on timeout or when the script ended without such a line.
    pub fn wait_for(&self, what: &str, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + timeout;
        let (lock, cvar) = &*self.out;
        let mut g = lock.lock().unwrap();
        loop {
            if let Some(v) = g.lines.iter().find(|v| pred(v)) {
                return v.clone();
            }
            let now = Instant::now();
            if g.eof || now >= deadline {
                let why = if g.eof { "js exited" } else { "timed out" };
                drop(g);
                panic!("{why} waiting for {what}\n{}", self.diagnostics());
            }
            g = cvar.wait_timeout(g, deadline - now).unwrap().0;
        }
    }

    /// The first line of `event`.
    pub fn wait_event(&self, event: &str, timeout: Duration) -> Value {
        self.wait_for(&format!("a `{event}` line"), timeout, |v| {
            v["event"] == event
        })
    }

    /// Waits until `n` lines of `event` were printed; returns them.
    pub fn wait_events(&self, event: &str, n: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let got = self.events(event);
            if got.len() >= n {
                return got;
            }
            if Instant::now() >= deadline || self.out.0.lock().unwrap().eof {
                panic!(
                    "waiting for {n} `{event}` lines, got {}\n{}",
                    got.len(),
                    self.diagnostics()
                );
            }
            let g = self.out.0.lock().unwrap();
            let _ = self
                .out
                .1
                .wait_timeout(g, Duration::from_millis(100))
                .unwrap();
        }
    }

    /// Every stdout line of `event` so far.
    pub fn events(&self, event: &str) -> Vec<Value> {
        self.out
            .0
            .lock()
            .unwrap()
            .lines
            .iter()
            .filter(|v| v["event"] == event)
            .cloned()
            .collect()
    }

    /// Waits (at most `timeout`) for the script to exit and its output to be read;
    /// returns the exit code. Kills it and panics on timeout.
    pub fn finish(&mut self, timeout: Duration) -> i32 {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "js did not exit within {timeout:?} (killed)\n{}",
                    self.diagnostics()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        };
        self.status = Some(status);
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        status.code().unwrap_or(-1)
    }

    /// [`Js::finish`] and asserts exit code `code`.
    pub fn expect_exit(&mut self, code: i32, timeout: Duration) {
        let got = self.finish(timeout);
        assert_eq!(got, code, "unexpected exit code\n{}", self.diagnostics());
    }
}

impl Drop for Js {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs a short script to completion and returns its single result line (the last
/// stdout line), asserting exit code 0.
pub fn run_once(script: &str, args: &[&str], timeout: Duration) -> Value {
    let mut js = Js::spawn(script, args);
    js.expect_exit(0, timeout);
    let lines = js.out.0.lock().unwrap().lines.clone();
    lines
        .last()
        .cloned()
        .unwrap_or_else(|| panic!("no output\n{}", js.diagnostics()))
}

/// A JSON string field (panics with the line when missing).
pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no string field `{key}` in {v}"))
}

//! Tests of the `pfs` binary around its home and its generated documentation: a home is
//! created 0700 and its store 0600 whatever the umask, a looser home is reported (and still
//! works), `pfs completions` and `pfs man`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::path::Path;

use assert_cmd::Command;
use common::*;
use serde_json::Value;
use tempfile::TempDir;

fn pfs_bare() -> Command {
    let mut c = Command::cargo_bin("pfs").unwrap();
    c.env("NO_COLOR", "1")
        .env_remove("PFS_HOME")
        .env_remove("PFS_PASSPHRASE");
    c
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn init(h: &Home) -> std::process::Output {
    let out = pfs(&h.path).args(["--json", "init"]).output().unwrap();
    ok(&out);
    out
}

#[cfg(unix)]
mod unix {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    fn chmod(p: &Path, m: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    }

    /// `pfs --home HOME ARGS…` run under `umask 022` (set by a shell in the child before it
    /// execs the binary, so the test process's own umask is left alone).
    fn with_umask_022(home: &Path, args: &[&str]) -> std::process::Output {
        std::process::Command::new("sh")
            .arg("-c")
            .arg("umask 022 && exec \"$0\" \"$@\"")
            .arg(assert_cmd::cargo::cargo_bin("pfs"))
            .arg("--home")
            .arg(home)
            .args(args)
            .env("PFS_PASSPHRASE", PASS)
            .env("NO_COLOR", "1")
            .env_remove("PFS_HOME")
            .env_remove("PFS_IDENTITY_DATA")
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    }

    #[test]
    fn init_creates_a_private_home_whatever_the_umask() {
        let h = home();
        let out = with_umask_022(&h.path, &["--json", "init"]);
        ok(&out);
        assert!(
            out.stderr.is_empty(),
            "no warning for a fresh home: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(mode(&h.path), 0o700, "home");
        let store = h.path.join("store.sqlite");
        assert_eq!(mode(&store), 0o600, "store.sqlite");
        // a command that writes (and so may leave the WAL next to the store)
        let out = with_umask_022(&h.path, &["devices", "list"]);
        ok(&out);
        for entry in std::fs::read_dir(&h.path).unwrap() {
            let p = entry.unwrap().path();
            if p.is_file() {
                assert_eq!(mode(&p), 0o600, "{}", p.display());
            }
        }
        for side in ["store.sqlite-wal", "store.sqlite-shm"] {
            let p = h.path.join(side);
            if p.exists() {
                assert_eq!(mode(&p), 0o600, "{side}");
            }
        }
    }

    #[test]
    fn init_in_missing_parents_makes_only_the_home_private() {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("a/b/home");
        ok(&pfs(&path).args(["--json", "init"]).output().unwrap());
        assert_eq!(mode(&path), 0o700);
        assert_eq!(mode(&path.join("store.sqlite")), 0o600);
    }

    #[test]
    fn a_loose_home_is_reported_and_still_works() {
        let h = home();
        init(&h);
        chmod(&h.path, 0o755);
        let out = pfs(&h.path).arg("whoami").output().unwrap();
        let stdout = ok(&out);
        assert!(stdout.contains("zQ3"), "{stdout}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("warning"), "{err}");
        assert!(err.contains("0755"), "{err}");
        let fix = format!("chmod 700 {}", h.path.display());
        assert!(err.contains(&fix), "{err}");
        // the tool does not change it by itself
        assert_eq!(mode(&h.path), 0o755);

        // a loose store file too, under --json: JSON objects on stderr, stdout unchanged
        let store = h.path.join("store.sqlite");
        chmod(&store, 0o644);
        let out = pfs(&h.path).args(["--json", "whoami"]).output().unwrap();
        let stdout = ok(&out);
        let v: Value = serde_json::from_str(stdout.trim()).unwrap();
        assert!(v["installation_id"].is_string(), "{v}");
        let warnings: Vec<Value> = String::from_utf8_lossy(&out.stderr)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?}: {e}")))
            .collect();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings.iter().all(|w| w["type"] == "warning"));
        assert_eq!(warnings[0]["mode"], "0755");
        assert_eq!(warnings[0]["fix"], fix.as_str());
        assert_eq!(warnings[1]["mode"], "0644");
        assert_eq!(
            warnings[1]["fix"],
            format!("chmod 600 {}", store.display()).as_str()
        );

        // fixed as told: silent again
        chmod(&h.path, 0o700);
        chmod(&store, 0o600);
        let out = pfs(&h.path).arg("whoami").output().unwrap();
        ok(&out);
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn init_into_an_existing_loose_directory_warns() {
        let h = home();
        std::fs::create_dir(&h.path).unwrap();
        chmod(&h.path, 0o755);
        let out = pfs(&h.path).arg("init").output().unwrap();
        ok(&out);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("chmod 700 {}", h.path.display())),
            "{err}"
        );
        assert_eq!(mode(&h.path.join("store.sqlite")), 0o600);
    }
}

#[test]
fn completions_bash_prints_a_script() {
    let out = pfs_bare().args(["completions", "bash"]).output().unwrap();
    let script = ok(&out);
    assert!(
        script.contains("_pfs") && script.contains("complete"),
        "{script}"
    );
    // the subcommands are completed
    assert!(script.contains("contact-code"), "{script}");
}

#[test]
fn completions_zsh_and_fish() {
    let zsh = ok(&pfs_bare().args(["completions", "zsh"]).output().unwrap());
    assert!(zsh.starts_with("#compdef pfs"), "{zsh}");
    let fish = ok(&pfs_bare().args(["completions", "fish"]).output().unwrap());
    assert!(fish.contains("complete -c pfs"), "{fish}");
}

#[test]
fn completions_refuse_an_unknown_shell() {
    let out = pfs_bare().args(["completions", "cmd"]).output().unwrap();
    assert!(!out.status.success());
}

#[test]
fn man_prints_a_roff_page() {
    let page = ok(&pfs_bare().arg("man").output().unwrap());
    assert!(
        page.contains(".TH pfs") || page.contains(".TH PFS"),
        "{page}"
    );
    assert!(page.contains("completions"), "{page}");
    assert!(page.contains("contact\\-code"), "{page}");
}

#[test]
fn completions_and_man_help_have_an_example() {
    for c in [&["completions"][..], &["man"]] {
        let out = pfs_bare().args(c).arg("--help").output().unwrap();
        let text = ok(&out);
        assert!(
            text.contains("Example"),
            "{c:?} --help has no example:\n{text}"
        );
    }
}

#[test]
fn man_dir_writes_one_page_per_command() {
    let dir = TempDir::new().unwrap();
    let out = dir.path().join("man1");
    ok(&pfs_bare()
        .arg("man")
        .arg("--dir")
        .arg(&out)
        .output()
        .unwrap());
    for page in [
        "pfs.1",
        "pfs-init.1",
        "pfs-contacts-add.1",
        "pfs-completions.1",
    ] {
        let text =
            std::fs::read_to_string(out.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page}: {text}");
    }
}

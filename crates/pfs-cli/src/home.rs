//! Permissions of a home: the directory is created `0700` and every file the tool creates in
//! it `0600`, whatever the umask (SQLite's `-wal` and `-shm` files take the mode of the
//! database file). A home or store that other users can read or write (group or other bits
//! set) is reported when it is opened, with the `chmod` command that fixes it; it still
//! works.
//!
//! On platforms without Unix modes these functions only create the directory and files.

use std::path::Path;

use serde_json::json;

use crate::error::CliError;

/// The mode of a home directory.
pub const DIR_MODE: u32 = 0o700;
/// The mode of the files in a home.
pub const FILE_MODE: u32 = 0o600;

/// The files next to the store that SQLite creates (write-ahead log, shared memory).
const STORE_SIDE_FILES: [&str; 2] = ["-wal", "-shm"];

/// Creates `home` (its missing parents with the default mode) with mode `0700`. A home that
/// already exists is left as it is and only reported when its permissions are looser.
pub fn create_home(home: &Path, json: bool) -> Result<(), CliError> {
    let err = |e| CliError::io(format!("cannot create {}", home.display()), e);
    if home.is_dir() {
        warn_loose(home, None, json);
        return Ok(());
    }
    if let Some(parent) = home.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(err)?;
    }
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(DIR_MODE);
    }
    match builder.create(home) {
        Ok(()) => set_mode(home, DIR_MODE).map_err(err),
        // created meanwhile by someone else: treat it like an existing home
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && home.is_dir() => {
            warn_loose(home, None, json);
            Ok(())
        }
        Err(e) => Err(err(e)),
    }
}

/// Creates the empty file `path` with mode `0600` (refusing an existing file), so that the
/// store SQLite then opens in it, and its `-wal`/`-shm` files, are private from the start.
pub fn create_private_file(path: &Path) -> Result<(), CliError> {
    let err = |e| CliError::io(format!("cannot create {}", path.display()), e);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(FILE_MODE);
    }
    drop(opts.open(path).map_err(err)?);
    // the mode given to open(2) is narrowed by the umask: set it exactly
    set_mode(path, FILE_MODE).map_err(err)
}

/// Writes `bytes` to `path` (created or replaced in place) with mode `0600`.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    use std::io::Write;
    let err = |e| CliError::io(format!("cannot write {}", path.display()), e);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(FILE_MODE);
    }
    let mut f = opts.open(path).map_err(err)?;
    set_mode(path, FILE_MODE).map_err(err)?;
    f.write_all(bytes).map_err(err)
}

/// Reports on stderr (with `--json`, as one JSON object there) the home directory and the
/// store files (`store`, its `-wal` and `-shm`) that group or other users may access, each
/// with the `chmod` command that fixes it. Never fails: missing files are skipped.
pub fn warn_loose(home: &Path, store: Option<&Path>, json: bool) {
    for w in loose(home, store) {
        if json {
            eprintln!(
                "{}",
                json!({
                    "type": "warning",
                    "path": w.path,
                    "mode": format!("{:04o}", w.mode),
                    "expected": format!("{:04o}", w.expected),
                    "fix": w.fix,
                    "note": w.text(),
                })
            );
        } else {
            eprintln!("warning: {}", w.text());
        }
    }
}

/// One path with looser permissions than it should have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loose {
    /// The path, as shown.
    pub path: String,
    /// Whether it is the home directory (else a store file).
    pub dir: bool,
    /// Its permission bits.
    pub mode: u32,
    /// The mode it should have.
    pub expected: u32,
    /// The shell command that fixes it.
    pub fix: String,
}

impl Loose {
    fn text(&self) -> String {
        let what = if self.dir {
            "home directory"
        } else {
            "store file"
        };
        format!(
            "{what} {} can be accessed by other users (mode {:04o}, should be {:04o}); fix it with: {}",
            self.path, self.mode, self.expected, self.fix
        )
    }
}

/// The home directory and store files whose group or other permission bits are set.
pub fn loose(home: &Path, store: Option<&Path>) -> Vec<Loose> {
    let mut out = Vec::new();
    if let Some(l) = check(home, true) {
        out.push(l);
    }
    if let Some(store) = store {
        if let Some(l) = check(store, false) {
            out.push(l);
        }
        for suffix in STORE_SIDE_FILES {
            let mut side = store.as_os_str().to_owned();
            side.push(suffix);
            if let Some(l) = check(Path::new(&side), false) {
                out.push(l);
            }
        }
    }
    out
}

#[cfg(unix)]
fn check(path: &Path, dir: bool) -> Option<Loose> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o7777;
    if mode & 0o077 == 0 {
        return None;
    }
    let expected = if dir { DIR_MODE } else { FILE_MODE };
    Some(Loose {
        path: path.display().to_string(),
        dir,
        mode,
        expected,
        fix: format!(
            "chmod {:o} {}",
            expected,
            shell_quote(&path.display().to_string())
        ),
    })
}

#[cfg(not(unix))]
fn check(_path: &Path, _dir: bool) -> Option<Loose> {
    None
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

/// `s` as one word for a POSIX shell (single-quoted when it has anything but plain
/// characters).
fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("/tmp/a-b_c.d"), "/tmp/a-b_c.d");
        assert_eq!(shell_quote("/tmp/my home"), "'/tmp/my home'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[cfg(unix)]
    #[test]
    fn creates_private_and_reports_loose() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::TempDir::new().unwrap();
        let home = dir.path().join("a/b/home");
        create_home(&home, false).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&home), 0o700);
        let store = home.join("store.sqlite");
        create_private_file(&store).unwrap();
        assert_eq!(mode(&store), 0o600);
        assert!(
            create_private_file(&store).is_err(),
            "refuses an existing file"
        );
        assert!(loose(&home, Some(&store)).is_empty());

        let other = home.join("other");
        std::fs::write(&other, b"x").unwrap();
        set_mode(&other, 0o644).unwrap();
        write_private(&other, b"y").unwrap();
        assert_eq!(mode(&other), 0o600);
        assert_eq!(std::fs::read(&other).unwrap(), b"y");

        set_mode(&home, 0o755).unwrap();
        set_mode(&store, 0o640).unwrap();
        let l = loose(&home, Some(&store));
        assert_eq!(l.len(), 2, "{l:?}");
        assert!(l[0].dir && l[0].mode == 0o755 && l[0].fix.starts_with("chmod 700 "));
        assert!(!l[1].dir && l[1].mode == 0o640 && l[1].fix.starts_with("chmod 600 "));
    }
}

//! `pfs completions SHELL` and `pfs man`: a shell completion script and a roff man page,
//! both generated from the tool's clap definitions.

use std::io::Write;
use std::path::Path;

use crate::error::CliError;

/// Prints the completion script for `shell` of the command `cmd` (named `pfs`).
pub fn completions(shell: clap_complete::Shell, mut cmd: clap::Command) -> Result<(), CliError> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "pfs", &mut script);
    write_stdout(&script)
}

/// Prints the man page (roff) of the command `cmd` (its subcommands listed with their
/// summary), or with `dir` writes one page per command and subcommand into `dir`.
pub fn man(cmd: clap::Command, dir: Option<&Path>) -> Result<(), CliError> {
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| CliError::io(format!("cannot create {}", dir.display()), e))?;
        return clap_mangen::generate_to(cmd, dir).map_err(|e| {
            CliError::io(
                format!("cannot write the man pages to {}", dir.display()),
                e,
            )
        });
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut page)
        .map_err(|e| CliError::io("cannot render the man page", e))?;
    write_stdout(&page)
}

fn write_stdout(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        // the reader left (`pfs man | head`): not an error
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.map_err(|e| CliError::io("cannot write standard output", e)),
    }
}

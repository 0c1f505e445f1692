//! Human-checkable pictures of chat keys (identicon, colour hash, zQ3 key, three-word
//! name, emoji hash) and small formatting helpers.

use std::path::PathBuf;

use pfs_crypto::secp256k1::PublicKey;
use pfs_identity::{RingPalette, TerminalStyle, Visuals, WordLists};

use crate::error::CliError;

/// Word lists and palette, when the user pointed us at them.
#[derive(Debug, Default)]
pub struct Pictures {
    words: Option<WordLists>,
    palette: Option<RingPalette>,
    color: bool,
}

/// How to enable the three-word name and the emoji hash.
pub const IDENTITY_DATA_HINT: &str = "three-word name and emoji hash: not shown; point --identity-data DIR (or PFS_IDENTITY_DATA) at a directory with adjectives.json, animals.json, emojis.json and ring-colors.json to see them";

impl Pictures {
    /// Loads the lists from `dir` (when given). Colours when stdout is a terminal and
    /// `NO_COLOR` is not set.
    pub fn load(dir: Option<&PathBuf>) -> Result<Self, CliError> {
        use std::io::IsTerminal as _;
        // colours only for a terminal: never escape codes into a pipe or a file
        let color = std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal();
        let Some(dir) = dir else {
            return Ok(Self {
                color,
                ..Self::default()
            });
        };
        let words = WordLists::load_dir(dir)
            .map_err(|e| CliError::Usage(format!("identity data in {}: {e}", dir.display())))?;
        let palette = RingPalette::load_dir(dir).ok();
        Ok(Self {
            words: Some(words),
            palette,
            color,
        })
    }

    /// Every representation of `pk`.
    pub fn visuals(&self, pk: &PublicKey) -> Visuals {
        Visuals::for_key(pk, self.words.as_ref(), self.palette.as_ref())
    }

    /// The colour hash as a row of coloured blocks (one block per unit).
    pub fn color_hash_blocks(&self, v: &Visuals) -> String {
        let mut out = String::new();
        for (i, [units, color]) in v.color_hash.iter().enumerate() {
            let rgb = v
                .ring_colors
                .as_ref()
                .and_then(|c| c.get(i))
                .and_then(|hex| parse_hex_color(hex))
                .unwrap_or_else(|| hue_color(*color));
            let cell = "\u{2588}".repeat(usize::from(*units));
            if self.color {
                let [r, g, b] = rgb;
                out.push_str(&format!("\x1b[38;2;{r};{g};{b}m{cell}\x1b[0m"));
            } else {
                out.push_str(&format!("[{units}x{color}]"));
            }
        }
        out
    }

    /// A multi-line block describing a key, each line prefixed by `indent`.
    pub fn describe(&self, pk: &PublicKey, indent: &str) -> String {
        let v = self.visuals(pk);
        let mut lines = vec![
            format!("chat key     {}", v.public_key_string),
            format!("zQ3 key      {}", v.compressed_key_zq3),
            format!(
                "colour hash  {}{}",
                self.color_hash_blocks(&v),
                if v.ring_colors.is_none() && self.color {
                    "  (approximate colours without identity data)"
                } else {
                    ""
                }
            ),
        ];
        match (&v.alias, &v.emoji_hash) {
            (Some(alias), Some(emoji)) => {
                lines.push(format!("name         {alias}"));
                lines.push(format!("emoji hash   {}", emoji.concat()));
            }
            _ => lines.push(IDENTITY_DATA_HINT.to_owned()),
        }
        lines.push("identicon".to_owned());
        let style = if self.color {
            TerminalStyle::TrueColor
        } else {
            TerminalStyle::Plain
        };
        for row in v.identicon.render_terminal(style).lines() {
            lines.push(format!("  {row}"));
        }
        let mut out = String::new();
        for l in lines {
            out.push_str(indent);
            out.push_str(&l);
            out.push('\n');
        }
        out
    }
}

fn parse_hex_color(s: &str) -> Option<[u8; 3]> {
    let h = s.strip_prefix('#')?;
    let b = hex::decode(h).ok()?;
    Some([*b.first()?, *b.get(1)?, *b.get(2)?])
}

/// An evenly spaced hue for colour index `c` (0..32), used without a palette.
fn hue_color(c: u8) -> [u8; 3] {
    let h = f64::from(c % 32) / 32.0 * 6.0;
    let x = 1.0 - ((h % 2.0) - 1.0).abs();
    let (r, g, b) = match h as u32 {
        0 => (1.0, x, 0.0),
        1 => (x, 1.0, 0.0),
        2 => (0.0, 1.0, x),
        3 => (0.0, x, 1.0),
        4 => (x, 0.0, 1.0),
        _ => (1.0, 0.0, x),
    };
    let to8 = |v: f64| (v * 200.0 + 30.0) as u8;
    [to8(r), to8(g), to8(b)]
}

/// `zQ3sh…` key shortened to its first 8 and last 4 characters.
pub fn short(pk: &PublicKey) -> String {
    let z = pfs_identity::to_zq3(pk);
    let head: String = z.chars().take(8).collect();
    let tail: String = z
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("{head}…{tail}")
}

/// The first 8 characters of an installation id.
pub fn short_id(id: impl AsRef<str>) -> String {
    id.as_ref().chars().take(8).collect()
}

/// [`short_id`] of an installation a message names (empty when it names none).
pub fn short_installation(id: &Option<pfs_store::InstallationId>) -> String {
    id.as_ref().map(short_id).unwrap_or_default()
}

/// `0x04…` hex of a key.
pub fn key_hex(pk: &PublicKey) -> String {
    pfs_identity::public_key_string(pk)
}

/// A session's state for a text line: `active|expired  created T  last used T  skipped keys N`.
pub fn session_state(s: &pfs_protocol::SessionView) -> String {
    format!(
        "{}  created {}  last used {}  skipped keys {}",
        if s.active { "active" } else { "expired" },
        time(s.created_at),
        time(s.last_used),
        s.skipped_keys
    )
}

/// A nanosecond timestamp as `YYYY-MM-DD HH:MM:SS` UTC.
pub fn time(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // civil from days (Howard Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::time;

    #[test]
    fn civil_time() {
        // 2000-03-01T00:00:00Z = 951868800 (a well-known epoch value)
        assert_eq!(time(951_868_800 * 1_000_000_000), "2000-03-01 00:00:00");
        assert_eq!(time(0), "1970-01-01 00:00:00");
        // 2024-02-29T12:34:56Z = 1709210096
        assert_eq!(time(1_709_210_096 * 1_000_000_000), "2024-02-29 12:34:56");
    }
}

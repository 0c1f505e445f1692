//! The word, emoji and colour lists the representations index into.
//!
//! They are data, not code: the caller loads them from a directory in the format of
//! status-go's lists as exported to JSON (`adjectives.json`, `animals.json`,
//! `emojis.json`, `ring-colors.json`), or builds them from vectors. Order and duplicates
//! matter (indices depend on them), so lists are kept exactly as given; only their
//! lengths are checked.

use std::path::{Path, PathBuf};

/// Number of adjectives in status-go's alias list.
pub const ADJECTIVES_LEN: usize = 1389;
/// Number of animals in status-go's alias list.
pub const ANIMALS_LEN: usize = 1704;
/// Number of emojis used by the emoji hash (the first 2757 lines of `emojis.txt`).
pub const EMOJIS_LEN: usize = 2757;
/// Number of colours in the identity-ring palette.
pub const RING_COLORS_LEN: usize = 32;

/// File names inside a data directory.
pub const ADJECTIVES_FILE: &str = "adjectives.json";
/// See [`ADJECTIVES_FILE`].
pub const ANIMALS_FILE: &str = "animals.json";
/// See [`ADJECTIVES_FILE`].
pub const EMOJIS_FILE: &str = "emojis.json";
/// See [`ADJECTIVES_FILE`].
pub const RING_COLORS_FILE: &str = "ring-colors.json";

/// Why word lists or a palette could not be loaded.
///
/// ```
/// use pfs_identity::{DataError, RingPalette, WordLists};
/// let short = RingPalette::from_vec(vec!["#000000".into(); 31]);
/// assert!(matches!(short, Err(DataError::WrongLength { expected: 32, actual: 31, .. })));
/// let missing = WordLists::load_dir("/nonexistent/identity-data");
/// assert!(matches!(missing, Err(DataError::Read { .. })));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file could not be read (missing, unreadable).
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file was not JSON of the expected shape.
    #[error("{path} is malformed: {source}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A list had the wrong number of entries.
    #[error("{list} has {actual} entries, expected {expected}")]
    WrongLength {
        /// Which list.
        list: &'static str,
        /// The length status-go uses.
        expected: usize,
        /// The length received.
        actual: usize,
    },
    /// A palette entry is not a `#RRGGBB` colour.
    #[error("ring colour {index} is not #RRGGBB: {value:?}")]
    BadColor {
        /// Position in the palette.
        index: usize,
        /// The entry.
        value: String,
    },
}

fn read_json<T: serde::de::DeserializeOwned>(path: PathBuf) -> Result<T, DataError> {
    let text = std::fs::read_to_string(&path).map_err(|source| DataError::Read {
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| DataError::Malformed { path, source })
}

fn check_len(list: &'static str, v: &[String], expected: usize) -> Result<(), DataError> {
    if v.len() == expected {
        Ok(())
    } else {
        Err(DataError::WrongLength {
            list,
            expected,
            actual: v.len(),
        })
    }
}

/// The alias word lists and the emoji-hash alphabet.
///
/// ```
/// use pfs_identity::WordLists;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let list = |len| vec!["w".to_string(); len];
/// let words = WordLists::from_vecs(list(1389), list(1704), list(2757))?;
/// let lens = (words.adjectives().len(), words.animals().len(), words.emojis().len());
/// assert_eq!(lens, (1389, 1704, 2757));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordLists {
    adjectives: Vec<String>,
    animals: Vec<String>,
    emojis: Vec<String>,
}

impl WordLists {
    /// Builds the lists from memory, checking the lengths 1389 / 1704 / 2757.
    ///
    /// ```
    /// use pfs_identity::{DataError, WordLists};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let list = |len| vec!["w".to_string(); len];
    /// let words = WordLists::from_vecs(list(1389), list(1704), list(2757))?;
    /// assert_eq!(words.animals().len(), 1704);
    /// let short = WordLists::from_vecs(list(1389), list(1703), list(2757));
    /// assert!(matches!(
    ///     short,
    ///     Err(DataError::WrongLength {
    ///         list: "animals",
    ///         expected: 1704,
    ///         actual: 1703
    ///     })
    /// ));
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_vecs(
        adjectives: Vec<String>,
        animals: Vec<String>,
        emojis: Vec<String>,
    ) -> Result<Self, DataError> {
        check_len("adjectives", &adjectives, ADJECTIVES_LEN)?;
        check_len("animals", &animals, ANIMALS_LEN)?;
        check_len("emojis", &emojis, EMOJIS_LEN)?;
        Ok(Self {
            adjectives,
            animals,
            emojis,
        })
    }

    /// Loads `adjectives.json`, `animals.json` and `emojis.json` (each a JSON array of
    /// strings) from `dir`.
    ///
    /// ```
    /// use pfs_identity::{DataError, WordLists};
    /// let missing = WordLists::load_dir("/nonexistent/identity-data");
    /// let Err(DataError::Read { path, .. }) = missing else {
    ///     panic!("expected a read error");
    /// };
    /// assert!(path.ends_with("adjectives.json"));
    /// ```
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Self, DataError> {
        let dir = dir.as_ref();
        Self::from_vecs(
            read_json(dir.join(ADJECTIVES_FILE))?,
            read_json(dir.join(ANIMALS_FILE))?,
            read_json(dir.join(EMOJIS_FILE))?,
        )
    }

    /// The adjectives (first and second alias word).
    ///
    /// ```
    /// use pfs_identity::WordLists;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use pfs_identity::words::{ADJECTIVES_LEN, ANIMALS_LEN, EMOJIS_LEN};
    /// let list = |name: &str, len| (0..len).map(|i| format!("{name}{i}")).collect::<Vec<_>>();
    /// let words = WordLists::from_vecs(
    ///     list("Adj", ADJECTIVES_LEN),
    ///     list("Animal", ANIMALS_LEN),
    ///     list("e", EMOJIS_LEN),
    /// )?;
    /// assert_eq!(words.adjectives()[0], "Adj0");
    /// assert_eq!(words.adjectives().len(), 1389);
    /// # Ok(())
    /// # }
    /// ```
    pub fn adjectives(&self) -> &[String] {
        &self.adjectives
    }

    /// The animals (third alias word).
    ///
    /// ```
    /// use pfs_identity::WordLists;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use pfs_identity::words::{ADJECTIVES_LEN, ANIMALS_LEN, EMOJIS_LEN};
    /// let list = |name: &str, len| (0..len).map(|i| format!("{name}{i}")).collect::<Vec<_>>();
    /// let words = WordLists::from_vecs(
    ///     list("Adj", ADJECTIVES_LEN),
    ///     list("Animal", ANIMALS_LEN),
    ///     list("e", EMOJIS_LEN),
    /// )?;
    /// assert_eq!(words.animals()[1703], "Animal1703");
    /// # Ok(())
    /// # }
    /// ```
    pub fn animals(&self) -> &[String] {
        &self.animals
    }

    /// The emoji-hash alphabet.
    ///
    /// ```
    /// use pfs_identity::WordLists;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # use pfs_identity::words::{ADJECTIVES_LEN, ANIMALS_LEN, EMOJIS_LEN};
    /// let list = |name: &str, len| (0..len).map(|i| format!("{name}{i}")).collect::<Vec<_>>();
    /// let words = WordLists::from_vecs(
    ///     list("Adj", ADJECTIVES_LEN),
    ///     list("Animal", ANIMALS_LEN),
    ///     list("e", EMOJIS_LEN),
    /// )?;
    /// assert_eq!(words.emojis().len(), 2757);
    /// assert_eq!(words.emojis()[42], "e42"); // kept in the order given
    /// # Ok(())
    /// # }
    /// ```
    pub fn emojis(&self) -> &[String] {
        &self.emojis
    }
}

/// The 32 identity-ring colours (`#RRGGBB`), indexed by a colour-hash colour index.
///
/// ```
/// use pfs_identity::RingPalette;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let colors: Vec<String> = (0..32).map(|i| format!("#0000{i:02x}")).collect();
/// let palette = RingPalette::from_vec(colors.clone())?;
/// assert_eq!(palette.colors(), colors.as_slice());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RingPalette {
    colors: Vec<String>,
}

#[derive(serde::Deserialize)]
struct RingColorsFile {
    light: Vec<String>,
}

impl RingPalette {
    /// Builds a palette from memory: exactly 32 `#RRGGBB` strings.
    ///
    /// ```
    /// use pfs_identity::{DataError, RingPalette};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mut colors = vec!["#4360DF".to_string(); 32];
    /// assert_eq!(RingPalette::from_vec(colors.clone())?.colors().len(), 32);
    /// colors[5] = "4360DF".into(); // no '#'
    /// assert!(matches!(
    ///     RingPalette::from_vec(colors),
    ///     Err(DataError::BadColor { index: 5, .. })
    /// ));
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_vec(colors: Vec<String>) -> Result<Self, DataError> {
        check_len("ring colours", &colors, RING_COLORS_LEN)?;
        for (index, c) in colors.iter().enumerate() {
            let ok = c.len() == 7
                && c.starts_with('#')
                && c.bytes().skip(1).all(|b| b.is_ascii_hexdigit());
            if !ok {
                return Err(DataError::BadColor {
                    index,
                    value: c.clone(),
                });
            }
        }
        Ok(Self { colors })
    }

    /// Loads the `light` palette of a `ring-colors.json` file
    /// (`{"light": [32 "#RRGGBB"], "dark": [...]}`; status-go's two are identical).
    ///
    /// ```
    /// use pfs_identity::{DataError, RingPalette};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let name = format!("pfs-identity-doc-{}-file", std::process::id());
    /// let dir = std::env::temp_dir().join(name);
    /// std::fs::create_dir_all(&dir)?;
    /// let colors: Vec<String> = (0..32).map(|i| format!("#0000{i:02x}")).collect();
    /// let json = serde_json::json!({ "light": colors, "dark": colors });
    /// std::fs::write(dir.join("ring-colors.json"), json.to_string())?;
    /// let palette = RingPalette::load_file(dir.join("ring-colors.json"))?;
    /// assert_eq!(palette.colors(), colors.as_slice());
    /// std::fs::write(dir.join("bad.json"), "[1, 2]")?;
    /// let bad = RingPalette::load_file(dir.join("bad.json"));
    /// assert!(matches!(bad, Err(DataError::Malformed { .. })));
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn load_file(path: impl AsRef<Path>) -> Result<Self, DataError> {
        let f: RingColorsFile = read_json(path.as_ref().to_path_buf())?;
        Self::from_vec(f.light)
    }

    /// Loads `ring-colors.json` from a data directory.
    ///
    /// ```
    /// use pfs_identity::RingPalette;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let name = format!("pfs-identity-doc-{}-dir", std::process::id());
    /// let dir = std::env::temp_dir().join(name);
    /// std::fs::create_dir_all(&dir)?;
    /// let colors: Vec<String> = (0..32).map(|i| format!("#0000{i:02x}")).collect();
    /// let json = serde_json::json!({ "light": colors, "dark": colors });
    /// std::fs::write(dir.join("ring-colors.json"), json.to_string())?;
    /// assert_eq!(RingPalette::load_dir(&dir)?.colors()[31], "#00001f");
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Self, DataError> {
        Self::load_file(dir.as_ref().join(RING_COLORS_FILE))
    }

    /// The colours.
    ///
    /// ```
    /// use pfs_identity::RingPalette;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let palette = RingPalette::from_vec(vec!["#4360DF".to_string(); 32])?;
    /// assert!(palette.colors().iter().all(|c| c == "#4360DF")); // kept exactly as given
    /// # Ok(())
    /// # }
    /// ```
    pub fn colors(&self) -> &[String] {
        &self.colors
    }
}

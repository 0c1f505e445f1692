//! The legacy block identicon (§3): MD5 of the public-key string, a mirrored 5×5 grid
//! and one HSL colour, drawn into a 50×50 RGBA image with a transparent background.
//!
//! The grid carries 15 bits and the hue one of 766 values: trivially grindable, so the
//! identicon is a label, not a verification.
//!
//! PNG bytes are an encoder artefact (Go's `image/png` and the `png` crate write
//! different bytes for the same pixels); compare decoded pixels.

use base64::Engine as _;
use md5::{Digest, Md5};
use pfs_crypto::secp256k1::PublicKey;
use std::fmt::Write as _;

/// Image width and height in pixels.
pub const IMAGE_SIZE: u32 = 50;
/// Cells per row and per column.
pub const GRID: usize = 5;
/// Width of the transparent border around the grid.
pub const MARGIN: u32 = 10;
/// Side of one cell in pixels.
pub const CELL: u32 = 6;

/// Why an identicon image could not be encoded or decoded.
///
/// ```
/// use pfs_identity::IdenticonError;
/// use pfs_identity::identicon::decode_png_rgba8;
/// assert!(matches!(decode_png_rgba8(b"not a png"), Err(IdenticonError::Decode(_))));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum IdenticonError {
    /// The PNG encoder failed.
    #[error("PNG encoding failed: {0}")]
    Encode(String),
    /// The PNG bytes could not be decoded.
    #[error("PNG decoding failed: {0}")]
    Decode(String),
    /// The PNG decoded to a pixel format other than 8-bit RGB/RGBA.
    #[error("unsupported PNG pixel format: {0}")]
    Unsupported(String),
}

/// How [`Identicon::render_terminal`] draws.
///
/// ```
/// use pfs_identity::{Identicon, TerminalStyle};
/// let icon = Identicon::from_string("Culona"); // first row: . . # . .
/// let plain = icon.render_terminal(TerminalStyle::Plain);
/// assert!(plain.starts_with("....##....\n"));
/// let color = icon.render_terminal(TerminalStyle::TrueColor);
/// assert!(color.contains("\x1b[") && !color.contains('#'));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TerminalStyle {
    /// Filled cells as two full blocks in the identicon colour (24-bit ANSI escapes).
    TrueColor,
    /// Plain ASCII: `##` for a filled cell, `..` for an empty one.
    Plain,
}

/// An identicon and its intermediate values.
///
/// ```
/// use pfs_identity::Identicon;
/// // status-go's values for "Culona": the pattern is the MD5 bytes, mirrored per row.
/// let icon = Identicon::from_string("Culona");
/// assert_eq!(icon.pattern()[..5], [129, 201, 130, 201, 129]);
/// assert_eq!(icon.pattern()[..3], icon.md5()[..3]);
/// let [r, g, b] = icon.color_float(); // HSL with saturation 0.5 and lightness 0.7
/// let lightness = (r.max(g).max(b) + r.min(g).min(b)) / 2.0;
/// assert!((lightness - 0.7).abs() < 1e-9);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Identicon {
    input: String,
    md5: [u8; 16],
    pattern: [u8; GRID * GRID],
    bitmap: [bool; GRID * GRID],
    color_float: [f64; 3],
    color16: [u16; 3],
    color8: [u8; 3],
}

/// go-colorful `Hsl(h, s, l)` (v1.0.2/1.0.3), operation for operation.
///
/// ```
/// use pfs_identity::identicon::go_colorful_hsl;
/// // Full saturation at half lightness: the primaries; no saturation: a grey.
/// assert_eq!(go_colorful_hsl(0.0, 1.0, 0.5), [1.0, 0.0, 0.0]);
/// assert_eq!(go_colorful_hsl(120.0, 1.0, 0.5), [0.0, 1.0, 0.0]);
/// assert_eq!(go_colorful_hsl(240.0, 1.0, 0.5), [0.0, 0.0, 1.0]);
/// assert_eq!(go_colorful_hsl(77.0, 0.0, 0.25), [0.25, 0.25, 0.25]);
/// ```
pub fn go_colorful_hsl(h: f64, s: f64, l: f64) -> [f64; 3] {
    if s == 0.0 {
        return [l, l, l];
    }
    let t1 = if l < 0.5 {
        l * (1.0 + s)
    } else {
        l + s - l * s
    };
    let t2 = 2.0 * l - t1;
    let h = h / 360.0;
    let wrap = |mut t: f64| {
        if t < 0.0 {
            t += 1.0;
        }
        if t > 1.0 {
            t -= 1.0;
        }
        t
    };
    let channel = |t: f64| {
        if 6.0 * t < 1.0 {
            t2 + (t1 - t2) * 6.0 * t
        } else if 2.0 * t < 1.0 {
            t1
        } else if 3.0 * t < 2.0 {
            t2 + (t1 - t2) * (2.0 / 3.0 - t) * 6.0
        } else {
            t2
        }
    };
    [
        channel(wrap(h + 1.0 / 3.0)),
        channel(wrap(h)),
        channel(wrap(h - 1.0 / 3.0)),
    ]
}

/// Go's `colorful.Color.RGBA()` channel: `uint32(v*65535.0 + 0.5)`.
fn to_16(v: f64) -> u16 {
    // `as` saturates; the HSL output lies in [0, 1].
    (v * 65535.0 + 0.5) as u16
}

impl Identicon {
    /// The identicon of an arbitrary string, hashed as its raw bytes
    /// (`identicon.Generate(s)`); status-go passes the public-key string, so case and
    /// the `0x` prefix change the picture.
    ///
    /// ```
    /// use pfs_identity::Identicon;
    /// // status-go's `identicon_test.go` input.
    /// let icon = Identicon::from_string("Culona");
    /// assert_eq!(hex::encode(icon.md5()), "81c982389df4e8bbf1b73da5956cb345");
    /// let bitmap = [
    ///     0, 0, 1, 0, 0, 1, 0, 1, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0,
    /// ];
    /// assert_eq!(icon.bitmap().map(u8::from), bitmap);
    /// assert_eq!(icon.color_rgba16(), [36044, 55705, 51618, 65535]);
    /// // A cell is filled when its pattern byte is even; the grid is mirrored.
    /// assert!(
    ///     icon.pattern()
    ///         .chunks(5)
    ///         .all(|r| r[0] == r[4] && r[1] == r[3])
    /// );
    /// ```
    pub fn from_string(s: &str) -> Self {
        let md5: [u8; 16] = Md5::digest(s.as_bytes()).into();
        let mut pattern = [0u8; GRID * GRID];
        for (k, p) in pattern.iter_mut().enumerate() {
            let (i, j) = (k / GRID, k % GRID);
            let c = if j <= 2 { j } else { 4 - j };
            *p = md5.get(3 * i + c).copied().unwrap_or(0);
        }
        let bitmap = pattern.map(|p| p % 2 == 0);
        let sum: u32 = md5.iter().skip(13).map(|&b| u32::from(b)).sum();
        let hue = (f64::from(sum) / 765.0) * 360.0;
        let color_float = go_colorful_hsl(hue, 0.5, 0.7);
        let color16 = color_float.map(to_16);
        let color8 = color16.map(|v| (v >> 8) as u8);
        Self {
            input: s.to_owned(),
            md5,
            pattern,
            bitmap,
            color_float,
            color16,
            color8,
        }
    }

    /// The identicon of a key, from its canonical lowercase public-key string.
    ///
    /// ```
    /// use pfs_identity::{Identicon, public_key_string};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // The generator G (the chat key of the secret key 1); expected values from status-go.
    /// let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")?;
    /// let pk = pfs_identity::parse_key_bytes(&g)?;
    /// let icon = Identicon::for_key(&pk);
    /// assert_eq!(icon.input(), public_key_string(&pk));
    /// assert_eq!(hex::encode(icon.md5()), "d586bd87f69f4c810b556893e47c842d");
    /// assert_eq!(
    ///     (icon.color_hex(), icon.color_rgba8()),
    ///     ("#8cd9a8".to_string(), [140, 217, 168, 255])
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn for_key(pk: &PublicKey) -> Self {
        Self::from_string(&crate::key::public_key_string(pk))
    }

    /// The hashed string.
    ///
    /// ```
    /// use pfs_identity::Identicon;
    /// let icon = Identicon::from_string("Culona"); // status-go's `identicon_test.go` input
    /// assert_eq!(icon.input(), "Culona");
    /// ```
    pub fn input(&self) -> &str {
        &self.input
    }

    /// MD5 of the input.
    ///
    /// ```
    /// use pfs_identity::Identicon;
    /// let icon = Identicon::from_string("Culona"); // status-go's `identicon_test.go` input
    /// assert_eq!(hex::encode(icon.md5()), "81c982389df4e8bbf1b73da5956cb345");
    /// ```
    pub fn md5(&self) -> &[u8; 16] {
        &self.md5
    }

    /// The 25 mirrored pattern bytes, row-major.
    ///
    /// ```
    /// use pfs_identity::Identicon;
    /// let icon = Identicon::from_string("Culona"); // status-go's `identicon_test.go` input
    /// // Row i is MD5 bytes 3i, 3i+1, 3i+2, mirrored: 81 c9 82 c9 81.
    /// assert_eq!(icon.pattern()[..5], [0x81, 0xc9, 0x82, 0xc9, 0x81]);
    /// ```
    pub fn pattern(&self) -> &[u8; GRID * GRID] {
        &self.pattern
    }

    /// The 25 cells, row-major; `true` = filled.
    ///
    /// ```
    /// use pfs_identity::Identicon;
    /// let icon = Identicon::from_string("Culona"); // status-go's `identicon_test.go` input
    /// // A cell is filled when its pattern byte is even: only 0x82 in the first row.
    /// assert_eq!(icon.bitmap()[..5], [false, false, true, false, false]);
    /// ```
    pub fn bitmap(&self) -> &[bool; GRID * GRID] {
        &self.bitmap
    }

    /// The float RGB colour from go-colorful `Hsl`.
    ///
    /// ```
    /// use pfs_identity::Identicon;
    /// let icon = Identicon::from_string("Culona"); // status-go's `identicon_test.go` input
    /// // go-colorful's `RGBA()` rounds each channel to 16 bits: status-go's 36044, 55705, 51618.
    /// let to16 = |c: f64| (c * 65535.0 + 0.5) as u16;
    /// assert_eq!(icon.color_float().map(to16), [36044, 55705, 51618]);
    /// ```
    pub fn color_float(&self) -> [f64; 3] {
        self.color_float
    }

    /// The 16-bit RGBA colour (`color.RGBA()`, alpha 65535).
    ///
    /// ```
    /// use pfs_identity::Identicon;
    /// let icon = Identicon::from_string("Culona"); // status-go's `identicon_test.go` input
    /// assert_eq!(icon.color_rgba16(), [36044, 55705, 51618, 65535]);
    /// ```
    pub fn color_rgba16(&self) -> [u16; 4] {
        let [r, g, b] = self.color16;
        [r, g, b, u16::MAX]
    }

    /// The 8-bit RGBA colour written into the image (`v16 >> 8`, alpha 255).
    ///
    /// ```
    /// use pfs_identity::Identicon;
    /// let icon = Identicon::from_string("Culona"); // status-go's `identicon_test.go` input
    /// // The 16-bit channels shifted right by 8 (36044 >> 8 = 140, ...).
    /// assert_eq!(icon.color_rgba8(), [140, 217, 201, 255]);
    /// ```
    pub fn color_rgba8(&self) -> [u8; 4] {
        let [r, g, b] = self.color8;
        [r, g, b, u8::MAX]
    }

    /// The colour as `#rrggbb`.
    ///
    /// ```
    /// use pfs_identity::Identicon;
    /// let icon = Identicon::from_string("Culona"); // status-go's `identicon_test.go` input
    /// assert_eq!(icon.color_hex(), "#8cd9c9");
    /// ```
    pub fn color_hex(&self) -> String {
        let [r, g, b] = self.color8;
        format!("#{r:02x}{g:02x}{b:02x}")
    }

    /// Whether pixel (x, y) of the 50×50 image lies in a filled cell.
    ///
    /// ```
    /// use pfs_identity::Identicon;
    /// let icon = Identicon::from_string("Culona"); // first row: . . # . .
    /// assert!(icon.is_filled(22, 10) && icon.is_filled(27, 15)); // cell (2, 0) spans 22..28
    /// assert!(!icon.is_filled(21, 10) && !icon.is_filled(28, 10));
    /// assert!(!icon.is_filled(9, 9)); // the margin
    /// ```
    pub fn is_filled(&self, x: u32, y: u32) -> bool {
        let end = MARGIN + CELL * GRID as u32;
        if !(MARGIN..end).contains(&x) || !(MARGIN..end).contains(&y) {
            return false;
        }
        let col = ((x - MARGIN) / CELL) as usize;
        let row = ((y - MARGIN) / CELL) as usize;
        self.bitmap.get(row * GRID + col).copied().unwrap_or(false)
    }

    /// The 50×50 image as RGBA8 rows (transparent background, no blending).
    ///
    /// ```
    /// use pfs_identity::Identicon;
    /// let icon = Identicon::from_string("Culona");
    /// let px = icon.rgba_pixels();
    /// assert_eq!(px.len(), 50 * 50 * 4);
    /// let at = |x: usize, y: usize| &px[(y * 50 + x) * 4..][..4];
    /// assert_eq!(at(22, 10), icon.color_rgba8());
    /// assert_eq!(at(0, 0), [0, 0, 0, 0]); // transparent
    /// ```
    pub fn rgba_pixels(&self) -> Vec<u8> {
        let n = (IMAGE_SIZE * IMAGE_SIZE) as usize;
        let mut out = vec![0u8; n * 4];
        let color = self.color_rgba8();
        for (i, px) in out.chunks_exact_mut(4).enumerate() {
            let i = i as u32;
            if self.is_filled(i % IMAGE_SIZE, i / IMAGE_SIZE) {
                px.copy_from_slice(&color);
            }
        }
        out
    }

    /// The image as PNG (8-bit RGBA). Same pixels as status-go's, different bytes.
    ///
    /// ```
    /// use pfs_identity::Identicon;
    /// use pfs_identity::identicon::decode_png_rgba8;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let icon = Identicon::from_string("Culona");
    /// let png = icon.to_png()?;
    /// assert_eq!(png[..8], *b"\x89PNG\r\n\x1a\n");
    /// assert_eq!(decode_png_rgba8(&png)?, (50, 50, icon.rgba_pixels()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_png(&self) -> Result<Vec<u8>, IdenticonError> {
        let mut buf = Vec::new();
        let mut enc = png::Encoder::new(&mut buf, IMAGE_SIZE, IMAGE_SIZE);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc
            .write_header()
            .map_err(|e| IdenticonError::Encode(e.to_string()))?;
        w.write_image_data(&self.rgba_pixels())
            .map_err(|e| IdenticonError::Encode(e.to_string()))?;
        w.finish()
            .map_err(|e| IdenticonError::Encode(e.to_string()))?;
        Ok(buf)
    }

    /// `"data:image/png;base64,…"` of [`Self::to_png`].
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let uri = pfs_identity::Identicon::from_string("Culona").to_data_uri()?;
    /// // Base64 of the PNG signature 89 50 4e 47 0d 0a 1a 0a begins "iVBORw0KGgo".
    /// assert!(uri.starts_with("data:image/png;base64,iVBORw0KGgo"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_data_uri(&self) -> Result<String, IdenticonError> {
        let png = self.to_png()?;
        Ok(format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(png)
        ))
    }

    /// The grid as 5 lines of text, two characters per cell.
    ///
    /// ```
    /// use pfs_identity::{Identicon, TerminalStyle};
    /// let text = Identicon::from_string("Culona").render_terminal(TerminalStyle::Plain);
    /// assert_eq!(
    ///     text,
    ///     "....##....\n##..##..##\n##......##\n..........\n..##..##..\n"
    /// );
    /// ```
    pub fn render_terminal(&self, style: TerminalStyle) -> String {
        let [r, g, b] = self.color8;
        let mut out = String::new();
        for row in self.bitmap.chunks_exact(GRID) {
            for &filled in row {
                let cell = match (style, filled) {
                    (TerminalStyle::TrueColor, true) => {
                        format!("\x1b[38;2;{r};{g};{b}m\u{2588}\u{2588}\x1b[0m")
                    }
                    (TerminalStyle::TrueColor, false) => "  ".to_owned(),
                    (TerminalStyle::Plain, true) => "##".to_owned(),
                    (TerminalStyle::Plain, false) => "..".to_owned(),
                };
                out.push_str(&cell);
            }
            out.push('\n');
        }
        out
    }
}

impl serde::Serialize for Identicon {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut bitmap = String::with_capacity(GRID * (GRID + 1));
        for row in self.bitmap.chunks_exact(GRID) {
            for &f in row {
                let _ = write!(bitmap, "{}", u8::from(f));
            }
        }
        let mut st = s.serialize_struct("Identicon", 5)?;
        st.serialize_field("input_string", &self.input)?;
        st.serialize_field("md5_hex", &hex::encode(self.md5))?;
        st.serialize_field("bitmap", &self.bitmap.map(u8::from))?;
        st.serialize_field("color_rgba8", &self.color_rgba8())?;
        st.serialize_field("color_hex", &self.color_hex())?;
        st.end()
    }
}

/// Decodes PNG bytes into `(width, height, RGBA8 pixels)`; 8-bit RGB is widened with
/// alpha 255. Used to compare images by pixels.
///
/// ```
/// use pfs_identity::identicon::decode_png_rgba8;
/// use pfs_identity::{Identicon, IdenticonError};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let png = Identicon::from_string("x").to_png()?;
/// let (w, h, px) = decode_png_rgba8(&png)?;
/// assert_eq!((w, h, px.len()), (50, 50, 50 * 50 * 4));
/// assert!(matches!(
///     decode_png_rgba8(b"not a png"),
///     Err(IdenticonError::Decode(_))
/// ));
/// # Ok(())
/// # }
/// ```
pub fn decode_png_rgba8(bytes: &[u8]) -> Result<(u32, u32, Vec<u8>), IdenticonError> {
    let dec = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = dec
        .read_info()
        .map_err(|e| IdenticonError::Decode(e.to_string()))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| IdenticonError::Decode("image too large".into()))?;
    let mut buf = vec![0u8; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| IdenticonError::Decode(e.to_string()))?;
    let data = buf.get(..info.buffer_size()).unwrap_or(&[]);
    let rgba = match (info.color_type, info.bit_depth) {
        (png::ColorType::Rgba, png::BitDepth::Eight) => data.to_vec(),
        (png::ColorType::Rgb, png::BitDepth::Eight) => data
            .chunks_exact(3)
            .flat_map(|p| p.iter().copied().chain([u8::MAX]))
            .collect(),
        (c, d) => return Err(IdenticonError::Unsupported(format!("{c:?} {d:?}"))),
    };
    Ok((info.width, info.height, rgba))
}

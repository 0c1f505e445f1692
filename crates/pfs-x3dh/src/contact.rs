//! Contact codes (a bundle as standard base64 with padding) and their QR codes.
//!
//! status-go's `ToBase64`/`FromBase64` (commit A904): the contact code is
//! `base64.StdEncoding` of the protobuf `Bundle`, with no prefix. Parsing trims
//! surrounding whitespace, bounds the length before decoding, decodes with
//! `pfs_wire::decode_bundle` (structural limits) and then verifies the signature.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use pfs_wire::{Limits, WireError, pb};

use crate::bundle::{BundleError, VerifiedBundle, verify_bundle};

/// Longest accepted contact code, in characters after trimming. A bundle within the
/// default wire limits (16 installations with 256-byte ids) encodes to under 8 KiB.
pub const MAX_CONTACT_CODE_LEN: usize = 16 * 1024;

/// Why a contact code was refused.
///
/// A caller pasting a code gets the reason:
///
/// ```
/// use pfs_x3dh::contact::MAX_CONTACT_CODE_LEN;
/// use pfs_x3dh::{BundleError, ContactCodeError};
/// assert_eq!(pfs_x3dh::parse_contact_code("").err(), Some(ContactCodeError::Empty));
/// let long = "A".repeat(MAX_CONTACT_CODE_LEN + 4);
/// assert!(matches!(pfs_x3dh::parse_contact_code(&long), Err(ContactCodeError::TooLong { .. })));
/// // "KA==" is the two bytes 28 00 cut to one: field 5's varint is missing.
/// assert!(matches!(pfs_x3dh::parse_contact_code("KA=="), Err(ContactCodeError::Wire(_))));
/// // "KAE=" is a bundle with a timestamp and nothing else: no identity to verify.
/// assert!(matches!(
///     pfs_x3dh::parse_contact_code("KAE="),
///     Err(ContactCodeError::Bundle(BundleError::InvalidIdentity { len: 0 }))
/// ));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContactCodeError {
    /// The code is empty.
    #[error("contact code is empty")]
    Empty,
    /// The code is longer than [`MAX_CONTACT_CODE_LEN`].
    #[error("contact code of {len} characters exceeds the maximum of {max}")]
    TooLong {
        /// Its length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// Not valid standard base64 with padding.
    #[error("contact code is not valid base64: {0}")]
    Base64(String),
    /// The bytes are not a valid bundle.
    #[error("contact code is not a valid bundle: {0}")]
    Wire(#[from] WireError),
    /// The bundle does not verify.
    #[error("contact code bundle does not verify: {0}")]
    Bundle(#[from] BundleError),
}

/// The contact code of a bundle: standard base64 (with `=` padding) of its protobuf.
///
/// ```
/// use pfs_wire::pb;
/// // Field 5 (timestamp) = 1 is the two bytes 28 01, "KAE=" in base64.
/// let bundle = pb::Bundle {
///     timestamp: 1,
///     ..Default::default()
/// };
/// assert_eq!(pfs_x3dh::contact_code(&bundle), "KAE=");
/// ```
pub fn contact_code(bundle: &pb::Bundle) -> String {
    STANDARD.encode(pfs_wire::encode(bundle))
}

/// Decodes a contact code into a bundle without verifying its signature (for
/// diagnostics; use [`parse_contact_code`] to accept a contact).
///
/// ```
/// use pfs_x3dh::ContactCodeError;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Surrounding whitespace is trimmed; the signature is not checked here.
/// assert_eq!(pfs_x3dh::decode_contact_code(" KAE=\n")?.timestamp, 1);
/// assert_eq!(
///     pfs_x3dh::decode_contact_code("  "),
///     Err(ContactCodeError::Empty)
/// );
/// assert!(matches!(
///     pfs_x3dh::decode_contact_code("KAE"),
///     Err(ContactCodeError::Base64(_))
/// ));
/// # Ok(())
/// # }
/// ```
pub fn decode_contact_code(code: &str) -> Result<pb::Bundle, ContactCodeError> {
    let code = code.trim();
    if code.is_empty() {
        return Err(ContactCodeError::Empty);
    }
    if code.len() > MAX_CONTACT_CODE_LEN {
        return Err(ContactCodeError::TooLong {
            len: code.len(),
            max: MAX_CONTACT_CODE_LEN,
        });
    }
    let bytes = STANDARD
        .decode(code)
        .map_err(|e| ContactCodeError::Base64(e.to_string()))?;
    Ok(pfs_wire::decode_bundle(&bytes, &Limits::default())?)
}

/// Parses and verifies a contact code.
///
/// ```
/// use pfs_crypto::OsRandom;
/// use pfs_x3dh::{BundleEntry, BundleError, ContactCodeError, IdentityKeyPair, SignedPreKeyPair};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let identity = IdentityKeyPair::generate(&mut OsRandom)?;
/// let spk = SignedPreKeyPair::generate(&mut OsRandom, 1, 0)?;
/// let bundle =
///     pfs_x3dh::sign_bundle(&identity, &[BundleEntry::own("phone".parse()?, &spk, 1)], 7)?;
/// let code = pfs_x3dh::contact_code(&bundle);
/// assert_eq!(
///     pfs_x3dh::parse_contact_code(&code)?.identity(),
///     identity.public()
/// );
///
/// // A well-formed bundle without a signature is refused with a typed error.
/// assert!(matches!(
///     pfs_x3dh::parse_contact_code("KAE="),
///     Err(ContactCodeError::Bundle(BundleError::InvalidIdentity {
///         len: 0
///     }))
/// ));
/// # Ok(())
/// # }
/// ```
pub fn parse_contact_code(code: &str) -> Result<VerifiedBundle, ContactCodeError> {
    let bundle = decode_contact_code(code)?;
    Ok(verify_bundle(&bundle)?)
}

/// Why a QR code could not be made or rendered.
///
/// ```
/// use pfs_x3dh::QrError;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Version 40 at level M holds 2331 bytes.
/// assert!(matches!(pfs_x3dh::contact_code_qr(&"x".repeat(2332)), Err(QrError::Encode(_))));
/// let qr = pfs_x3dh::contact_code_qr("hello")?;
/// assert_eq!(qr.to_png(65), Err(QrError::BadScale { scale: 65, max: 64 }));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QrError {
    /// The text does not fit in a QR code.
    #[error("cannot encode the QR code: {0}")]
    Encode(String),
    /// The PNG scale is 0 or the image would be too large.
    #[error("invalid PNG scale {scale} (1..={max})")]
    BadScale {
        /// The requested scale.
        scale: u32,
        /// The largest accepted scale.
        max: u32,
    },
    /// The PNG encoder failed.
    #[error("PNG encoding failed: {0}")]
    Png(String),
}

/// A QR code of a contact code (error correction level M), with a 4-module quiet zone
/// in every rendering.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Five bytes fit a version 1 symbol: 21 × 21 modules.
/// let qr = pfs_x3dh::contact_code_qr("hello")?;
/// let dark = (0..21).flat_map(|y| (0..21).map(move |x| (x, y)));
/// let dark = dark.filter(|&(x, y)| qr.is_dark(x, y)).count();
/// assert!(dark > 0 && dark < 21 * 21);
/// assert!(format!("{qr:?}").contains("width: 21"));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ContactCodeQr {
    width: usize,
    dark: Vec<bool>,
    code: qrcode::QrCode,
}

impl core::fmt::Debug for ContactCodeQr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ContactCodeQr")
            .field("width", &self.width)
            .finish_non_exhaustive()
    }
}

/// Width of the quiet zone around the code, in modules.
pub const QR_QUIET_ZONE: usize = 4;

/// Largest accepted PNG scale (pixels per module).
pub const QR_MAX_PNG_SCALE: u32 = 64;

/// The QR code of `code` (usually a contact code).
///
/// ```
/// use pfs_x3dh::contact::QR_QUIET_ZONE;
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // Five bytes fit a version 1 symbol (21 × 21 modules) at level M.
/// let qr = pfs_x3dh::contact_code_qr("hello")?;
/// assert_eq!(qr.width(), 21);
/// assert_eq!(qr.padded_width(), 21 + 2 * QR_QUIET_ZONE);
/// // The finder pattern's outer ring is dark, its separator light.
/// assert!(qr.is_dark(0, 0) && qr.is_dark(6, 6) && !qr.is_dark(7, 7));
/// # Ok(())
/// # }
/// ```
pub fn contact_code_qr(code: &str) -> Result<ContactCodeQr, QrError> {
    ContactCodeQr::new(code)
}

impl ContactCodeQr {
    /// Encodes `text` (byte mode as needed, error correction level M).
    ///
    /// ```
    /// use pfs_x3dh::{ContactCodeQr, QrError};
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // At level M, version 5 (37 modules) holds 84 bytes, version 6 (41 modules) 106.
    /// assert_eq!(ContactCodeQr::new(&"x".repeat(84))?.width(), 37);
    /// assert_eq!(ContactCodeQr::new(&"x".repeat(85))?.width(), 41);
    /// // Over 2331 bytes (version 40, level M) cannot be encoded.
    /// assert!(matches!(
    ///     ContactCodeQr::new(&"x".repeat(3000)),
    ///     Err(QrError::Encode(_))
    /// ));
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(text: &str) -> Result<Self, QrError> {
        let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M)
            .map_err(|e| QrError::Encode(e.to_string()))?;
        let width = code.width();
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == qrcode::Color::Dark)
            .collect();
        Ok(Self { width, dark, code })
    }

    /// Number of modules per side, without the quiet zone.
    ///
    /// ```
    /// use pfs_x3dh::ContactCodeQr;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// // Version v has 17 + 4v modules per side: 21 for version 1, 25 for version 2.
    /// // At level M, version 1 holds 14 bytes.
    /// assert_eq!(ContactCodeQr::new(&"x".repeat(14))?.width(), 21);
    /// assert_eq!(ContactCodeQr::new(&"x".repeat(15))?.width(), 25);
    /// # Ok(())
    /// # }
    /// ```
    pub fn width(&self) -> usize {
        self.width
    }

    /// Whether module (`x`, `y`) is dark; `false` outside the code (the quiet zone).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let qr = pfs_x3dh::contact_code_qr("hello")?;
    /// // The top-left finder pattern: a dark 7 × 7 ring, a light ring, a dark 3 × 3 centre.
    /// assert!((0..7).all(|i| qr.is_dark(i, 0) && qr.is_dark(0, i) && qr.is_dark(6, i)));
    /// assert!(!qr.is_dark(1, 1) && qr.is_dark(3, 3));
    /// assert!(!qr.is_dark(7, 0)); // the separator
    /// // Timing pattern on row 6, alternating from column 8.
    /// assert!(qr.is_dark(8, 6) && !qr.is_dark(9, 6) && qr.is_dark(10, 6));
    /// assert!(!qr.is_dark(21, 0) && !qr.is_dark(0, 100)); // outside the code
    /// # Ok(())
    /// # }
    /// ```
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        if x >= self.width || y >= self.width {
            return false;
        }
        self.dark.get(y * self.width + x).copied().unwrap_or(false)
    }

    /// Whether the module at (`x`, `y`) of the picture *with* its quiet zone is dark.
    fn is_dark_padded(&self, x: usize, y: usize) -> bool {
        match (x.checked_sub(QR_QUIET_ZONE), y.checked_sub(QR_QUIET_ZONE)) {
            (Some(x), Some(y)) => self.is_dark(x, y),
            _ => false,
        }
    }

    /// Side of the picture with its quiet zone, in modules.
    ///
    /// ```
    /// use pfs_x3dh::contact::QR_QUIET_ZONE;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let qr = pfs_x3dh::contact_code_qr("hello")?;
    /// assert_eq!(qr.padded_width(), 21 + 2 * QR_QUIET_ZONE);
    /// # Ok(())
    /// # }
    /// ```
    pub fn padded_width(&self) -> usize {
        self.width + 2 * QR_QUIET_ZONE
    }

    /// Text for a terminal, two module rows per line with Unicode half blocks
    /// (`█ ▀ ▄` and space), quiet zone included. Block characters draw the **light**
    /// modules, so the code reads correctly on a terminal with a dark background and a
    /// light foreground (the common case); lines end with `\n`.
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let text = pfs_x3dh::contact_code_qr("hello")?.to_terminal_string();
    /// let lines: Vec<&str> = text.lines().collect();
    /// assert_eq!(lines.len(), 15); // 29 module rows, two per line
    /// assert!(lines.iter().all(|l| l.chars().count() == 29));
    /// assert!(lines[0].chars().all(|c| c == '█')); // the light quiet zone
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_terminal_string(&self) -> String {
        let w = self.padded_width();
        let mut out = String::with_capacity((w + 1) * w.div_ceil(2) * 3);
        let mut y = 0;
        while y < w {
            for x in 0..w {
                let top_light = !self.is_dark_padded(x, y);
                // A missing bottom row (odd height) is drawn as the background (dark).
                let bottom_light = y + 1 < w && !self.is_dark_padded(x, y + 1);
                out.push(match (top_light, bottom_light) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                });
            }
            out.push('\n');
            y += 2;
        }
        out
    }

    /// An SVG document (black on white, quiet zone included).
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let svg = pfs_x3dh::contact_code_qr("hello")?.to_svg();
    /// assert!(svg.contains("<svg") && svg.contains("#000000") && svg.contains("#ffffff"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_svg(&self) -> String {
        self.code
            .render::<qrcode::render::svg::Color<'_>>()
            .quiet_zone(true)
            .module_dimensions(8, 8)
            .dark_color(qrcode::render::svg::Color("#000000"))
            .light_color(qrcode::render::svg::Color("#ffffff"))
            .build()
    }

    /// A grayscale 8-bit PNG, black on white, `scale` pixels per module, quiet zone
    /// included. `scale` must be in `1..=`[`QR_MAX_PNG_SCALE`].
    ///
    /// ```
    /// use pfs_x3dh::QrError;
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let qr = pfs_x3dh::contact_code_qr("hello")?;
    /// let png = qr.to_png(4)?;
    /// assert_eq!(
    ///     png[..8],
    ///     [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n']
    /// );
    /// // The IHDR width and height: 29 modules × 4 pixels.
    /// assert_eq!(png[16..24], [0, 0, 0, 116, 0, 0, 0, 116]);
    /// assert_eq!(qr.to_png(0), Err(QrError::BadScale { scale: 0, max: 64 }));
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_png(&self, scale: u32) -> Result<Vec<u8>, QrError> {
        if scale == 0 || scale > QR_MAX_PNG_SCALE {
            return Err(QrError::BadScale {
                scale,
                max: QR_MAX_PNG_SCALE,
            });
        }
        let s = scale as usize;
        let side = self.padded_width() * s;
        let side_u32 = u32::try_from(side).map_err(|_| QrError::BadScale {
            scale,
            max: QR_MAX_PNG_SCALE,
        })?;
        let mut pixels = Vec::with_capacity(side * side);
        for py in 0..side {
            for px in 0..side {
                pixels.push(if self.is_dark_padded(px / s, py / s) {
                    0u8
                } else {
                    255u8
                });
            }
        }
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, side_u32, side_u32);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_depth(png::BitDepth::Eight);
            let mut writer = enc
                .write_header()
                .map_err(|e| QrError::Png(e.to_string()))?;
            writer
                .write_image_data(&pixels)
                .map_err(|e| QrError::Png(e.to_string()))?;
            writer.finish().map_err(|e| QrError::Png(e.to_string()))?;
        }
        Ok(out)
    }
}

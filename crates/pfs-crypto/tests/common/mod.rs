//! Helpers shared by the integration tests (each test file includes this module).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// Decodes lowercase or uppercase hex, ignoring spaces and newlines (so long RFC values can be
/// typed in blocks as printed).
pub fn h(s: &str) -> Vec<u8> {
    let clean: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(clean).unwrap()
}

/// Decodes hex of exactly `N` bytes.
pub fn ha<const N: usize>(s: &str) -> [u8; N] {
    let v = h(s);
    <[u8; N]>::try_from(v.as_slice())
        .unwrap_or_else(|_| panic!("expected {N} bytes, got {}", v.len()))
}

/// The secp256k1 group order n, big-endian.
pub const SECP256K1_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
];

/// ⌊n/2⌋ for secp256k1, big-endian: a signature is "high-S" when S > this.
pub const SECP256K1_HALF_N: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
];

/// The secp256k1 field prime p, big-endian.
pub const SECP256K1_P: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xfc, 0x2f,
];

/// Reads a vector file from the shared directory next to the repository
/// (`<repo>/../shared/vectors/NAME`).
pub fn vector_file(name: &str) -> serde_json::Value {
    let path = format!(
        "{}/../../../shared/vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// The hex string field `key` of a JSON object, decoded.
pub fn hexf(v: &serde_json::Value, key: &str) -> Vec<u8> {
    let s = v[key]
        .as_str()
        .unwrap_or_else(|| panic!("field {key} missing or not a string in {v}"));
    hex::decode(s).unwrap()
}

/// Like [`hexf`], for a field of exactly `N` bytes.
pub fn hexa<const N: usize>(v: &serde_json::Value, key: &str) -> [u8; N] {
    let b = hexf(v, key);
    <[u8; N]>::try_from(b.as_slice())
        .unwrap_or_else(|_| panic!("{key}: expected {N} bytes, got {}", b.len()))
}

//! Known answers from status-go (`shared/vectors/identity-visuals.json`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use pfs_identity::identicon::{IMAGE_SIZE, decode_png_rgba8};
use pfs_identity::{Alias, Identicon, Lfsr, TerminalStyle, Visuals, WordLists};
use serde_json::Value;

const VECTORS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/vectors/identity-visuals.json"
);
const DATA_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/reference/identity-data"
);

fn doc() -> Value {
    serde_json::from_str(&std::fs::read_to_string(VECTORS).unwrap()).unwrap()
}

fn records(doc: &Value) -> Vec<&Value> {
    ["cases", "upstream_test_keys"]
        .iter()
        .flat_map(|k| doc[*k].as_array().unwrap())
        .collect()
}

fn u8s(v: &Value) -> Vec<u8> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| u8::try_from(x.as_u64().unwrap()).unwrap())
        .collect()
}

/// Decodes the PNG we write and compares every pixel with the recorded grid and colour.
#[test]
fn our_png_has_the_recorded_grid_and_colour() {
    let doc = doc();
    let recs = records(&doc);
    assert_eq!(recs.len(), 26);
    for rec in recs {
        let ic = &rec["identicon"];
        let icon = Identicon::from_string(ic["input_string"].as_str().unwrap());
        let bitmap = u8s(&ic["bitmap"]);
        let color = u8s(&ic["color_rgba8"]);
        let (w, h, px) = decode_png_rgba8(&icon.to_png().unwrap()).unwrap();
        assert_eq!((w, h), (IMAGE_SIZE, IMAGE_SIZE));
        let mut filled_pixels = 0;
        for y in 0..50usize {
            for x in 0..50usize {
                let p = &px[(y * 50 + x) * 4..][..4];
                let in_grid = (10..40).contains(&x) && (10..40).contains(&y);
                let filled = in_grid && bitmap[(y - 10) / 6 * 5 + (x - 10) / 6] == 1;
                if filled {
                    filled_pixels += 1;
                    assert_eq!(p, &color[..], "{} pixel ({x},{y})", rec["label"]);
                } else {
                    assert_eq!(p, &[0, 0, 0, 0], "{} pixel ({x},{y})", rec["label"]);
                }
            }
        }
        let cells = bitmap.iter().filter(|&&b| b == 1).count();
        assert_eq!(filled_pixels, cells * 36);
    }
}

/// The recorded Go PNG decodes to the same pixels as ours.
#[test]
fn go_png_decodes_to_our_pixels() {
    use base64::Engine as _;
    let doc = doc();
    for rec in records(&doc) {
        let ic = &rec["identicon"];
        let go_png = base64::engine::general_purpose::STANDARD
            .decode(ic["png_base64"].as_str().unwrap())
            .unwrap();
        let (_, _, go_px) = decode_png_rgba8(&go_png).unwrap();
        let icon = Identicon::from_string(ic["input_string"].as_str().unwrap());
        assert_eq!(go_px, icon.rgba_pixels(), "{}", rec["label"]);
    }
}

#[test]
fn visuals_match_all_records() {
    let doc = doc();
    let words = WordLists::load_dir(DATA_DIR).unwrap();
    let palette = pfs_identity::RingPalette::load_dir(DATA_DIR).unwrap();
    for rec in records(&doc) {
        let s = rec["public_key_string"].as_str().unwrap();
        let v = Visuals::from_public_key_string(s, Some(&words), Some(&palette)).unwrap();
        let label = &rec["label"];
        assert_eq!(v.alias.as_deref(), rec["alias"]["name"].as_str(), "{label}");
        assert_eq!(
            v.compressed_key_zq3,
            rec["compressed_key_zq3"].as_str().unwrap()
        );
        let emojis: Vec<String> =
            serde_json::from_value(rec["emoji_hash"]["emojis"].clone()).unwrap();
        assert_eq!(v.emoji_hash, Some(emojis), "{label}");
        let hash: Vec<[u8; 2]> = serde_json::from_value(rec["color_hash"]["hash"].clone()).unwrap();
        assert_eq!(v.color_hash, hash, "{label}");
        let rings: Vec<String> =
            serde_json::from_value(rec["color_hash"]["ring_hex_colors"].clone()).unwrap();
        assert_eq!(v.ring_colors, Some(rings), "{label}");
        assert_eq!(u64::from(v.color_id), rec["color_id"].as_u64().unwrap());
        assert_eq!(
            v.identicon.color_hex(),
            rec["identicon"]["color_hex"].as_str().unwrap()
        );
        // The JSON form carries the same values.
        let j = serde_json::to_value(&v).unwrap();
        assert_eq!(j["compressed_key_zq3"], rec["compressed_key_zq3"]);
        assert_eq!(j["identicon"]["md5_hex"], rec["identicon"]["md5_hex"]);
        assert_eq!(j["identicon"]["bitmap"], rec["identicon"]["bitmap"]);
        // Without word lists the word-based fields are absent, the rest unchanged.
        let bare = Visuals::from_public_key_string(s, None, None).unwrap();
        assert_eq!(bare.alias, None);
        assert_eq!(bare.emoji_hash, None);
        assert_eq!(bare.ring_colors, None);
        assert_eq!(bare.emoji_hash_indices, v.emoji_hash_indices);
    }
}

#[test]
fn lfsr_seed_zero_is_able_able_aardvark() {
    let words = WordLists::load_dir(DATA_DIR).unwrap();
    let mut l = Lfsr::new(0);
    assert_eq!([l.next_state(), l.next_state(), l.next_state()], [0, 0, 0]);
    let a = Alias::from_seed(0, &words);
    assert_eq!(a.indices, [0, 0, 0]);
    // upstream_test_keys record with seed 0.
    let doc = doc();
    let rec = doc["upstream_test_keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["alias"]["seed_hex"] == "0000000000000000")
        .unwrap();
    assert_eq!(a.name, rec["alias"]["name"].as_str().unwrap());
    assert_eq!(a.name, "Able Able Aardvark");
}

#[test]
fn lfsr_seed_42_is_hard_tame_brownbutterfly() {
    let words = WordLists::load_dir(DATA_DIR).unwrap();
    let a = Alias::from_seed(42, &words);
    assert_eq!(a.name, "Hard Tame Brownbutterfly");
    let doc = doc();
    let case = &doc["alias_seed_case"];
    assert_eq!(a.name, case["name"].as_str().unwrap());
    let idx: Vec<usize> = serde_json::from_value(case["indices"].clone()).unwrap();
    assert_eq!(a.indices.to_vec(), idx);
}

#[test]
fn culona_identicon() {
    let doc = doc();
    let case = &doc["identicon_string_case"];
    let icon = Identicon::from_string(case["input_string"].as_str().unwrap());
    assert_eq!(hex::encode(icon.md5()), case["md5_hex"].as_str().unwrap());
    assert_eq!(icon.pattern().to_vec(), u8s(&case["pattern"]));
    let bitmap: Vec<u8> = icon.bitmap().iter().map(|&b| u8::from(b)).collect();
    assert_eq!(bitmap, u8s(&case["bitmap"]));
    let rgba16: Vec<u16> = serde_json::from_value(case["color_rgba16"].clone()).unwrap();
    assert_eq!(icon.color_rgba16().to_vec(), rgba16);
    // Terminal renderings show the recorded grid.
    let plain = icon.render_terminal(TerminalStyle::Plain);
    let expect: String = u8s(&case["bitmap"])
        .chunks(5)
        .map(|row| {
            let mut line: String = row
                .iter()
                .map(|&b| if b == 1 { "##" } else { ".." })
                .collect();
            line.push('\n');
            line
        })
        .collect();
    assert_eq!(plain, expect);
    let [r, g, b, _] = icon.color_rgba8();
    let colored = icon.render_terminal(TerminalStyle::TrueColor);
    let cells = u8s(&case["bitmap"]).iter().filter(|&&b| b == 1).count();
    assert_eq!(
        colored.matches(&format!("\x1b[38;2;{r};{g};{b}m")).count(),
        cells
    );
    assert_eq!(colored.lines().count(), 5);
}

#[test]
fn word_list_errors_are_typed() {
    use pfs_identity::DataError;
    let missing = WordLists::load_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/no-such-dir"));
    assert!(matches!(missing, Err(DataError::Read { .. })));
    let short = WordLists::from_vecs(vec!["A".into()], vec![], vec![]);
    assert!(matches!(
        short,
        Err(DataError::WrongLength {
            list: "adjectives",
            expected: 1389,
            actual: 1
        })
    ));
    let tmp = std::env::temp_dir().join(format!("pfs-identity-test-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(tmp.join("adjectives.json"), "{not json").unwrap();
    let bad = WordLists::load_dir(&tmp);
    std::fs::remove_dir_all(&tmp).unwrap();
    assert!(matches!(bad, Err(DataError::Malformed { .. })));
    let bad_palette = pfs_identity::RingPalette::from_vec(vec!["#12345".into(); 32]);
    assert!(matches!(
        bad_palette,
        Err(DataError::BadColor { index: 0, .. })
    ));
}

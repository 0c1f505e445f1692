//! Verifier for `identity-visuals.json` (schema: `shared/reference/identity-visuals.md` §10).
//!
//! Every record (`cases` and `upstream_test_keys`) is recomputed from its public-key
//! string with `pfs-identity` and every recorded intermediate value is compared. PNG
//! bytes are an encoder artefact, so images are compared by decoded pixels: our PNG
//! against the recorded bitmap and colour, and the recorded Go PNG against our pixels.
//! The word lists come from `<vectors dir>/../reference/identity-data`.

use super::{Report, text_or_unknown};
use base64::Engine as _;
use pfs_crypto::secp256k1::SecretKey;
use pfs_identity::identicon::{IMAGE_SIZE, decode_png_rgba8};
use pfs_identity::{
    Alias, ColorHash, EmojiHash, Identicon, RingPalette, Slices, Visuals, WordLists, color_id,
    color_id_from_str, parse_chat_key, parse_key_bytes, parse_public_key_string, parse_zq3,
    public_key_string, to_zq3,
};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Verifies the document, loading the word lists from the `shared` directory next to
/// the repository (the layout CI uses).
pub fn verify(doc: &Value, report: &mut Report) {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/reference/identity-data"
    ));
    verify_with_data(doc, &dir, report);
}

/// Verifies the document read from `vector_file`, loading the word lists from
/// `<dir of vector_file>/../reference/identity-data` (or, when that directory does not
/// exist, from the default location of [`verify`]).
pub fn verify_at(doc: &Value, vector_file: &Path, report: &mut Report) {
    let dir = vector_file
        .parent()
        .unwrap_or(Path::new("."))
        .join("../reference/identity-data");
    if dir.is_dir() {
        verify_with_data(doc, &dir, report);
    } else {
        // A vector file copied elsewhere: use the lists of the sibling `shared` checkout.
        verify(doc, report);
    }
}

struct Data {
    words: Option<WordLists>,
    palette: Option<RingPalette>,
}

fn verify_with_data(doc: &Value, data_dir: &Path, report: &mut Report) {
    let words = match WordLists::load_dir(data_dir) {
        Ok(w) => {
            report.pass("identity-data word lists load");
            Some(w)
        }
        Err(e) => {
            report.fail("identity-data word lists load", &e.to_string());
            None
        }
    };
    let palette = match RingPalette::load_dir(data_dir) {
        Ok(p) => {
            report.pass("identity-data ring palette load");
            Some(p)
        }
        Err(e) => {
            report.fail("identity-data ring palette load", &e.to_string());
            None
        }
    };
    let data = Data { words, palette };

    let mut n = 0;
    for section in ["cases", "upstream_test_keys"] {
        let recs = doc.get(section).and_then(Value::as_array);
        match recs {
            Some(recs) => {
                for (i, rec) in recs.iter().enumerate() {
                    let label = text_or_unknown(rec, "label");
                    record(&format!("{section}[{i}] {label}"), rec, &data, report);
                    n += 1;
                }
            }
            None => report.fail(section, "missing array"),
        }
    }
    report.check("identity records count", n == 26, || {
        format!("{n} records, expected 26")
    });

    match doc.get("identicon_string_case") {
        Some(c) => identicon_string_case(c, report),
        None => report.fail("identicon_string_case", "missing"),
    }
    match doc.get("alias_seed_case") {
        Some(c) => alias_seed_case(c, &data, report),
        None => report.fail("alias_seed_case", "missing"),
    }
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    get(v, path).and_then(Value::as_str)
}

fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(k))
}

fn u64s(v: &Value, path: &[&str]) -> Option<Vec<u64>> {
    get(v, path)?
        .as_array()?
        .iter()
        .map(Value::as_u64)
        .collect()
}

fn strs(v: &Value, path: &[&str]) -> Option<Vec<String>> {
    get(v, path)?
        .as_array()?
        .iter()
        .map(|x| x.as_str().map(str::to_owned))
        .collect()
}

fn check_opt<T: PartialEq + std::fmt::Debug>(
    report: &mut Report,
    name: &str,
    got: T,
    want: Option<T>,
) {
    match want {
        Some(w) => report.check_eq(name, got, w),
        None => report.fail(name, "field missing or malformed in the vector file"),
    }
}

/// The 50×50 RGBA image that a bitmap and a colour describe (§3 step 5), built from the
/// vector's values, independently of the code under test.
fn expected_image(bitmap: &[u64], rgba8: &[u64]) -> Vec<u8> {
    let size = IMAGE_SIZE as usize;
    let mut out = vec![0u8; size * size * 4];
    let color: Vec<u8> = rgba8.iter().map(|&c| c as u8).collect();
    for (k, &cell) in bitmap.iter().enumerate() {
        if cell != 1 {
            continue;
        }
        let (row, col) = (k / 5, k % 5);
        for y in 10 + 6 * row..16 + 6 * row {
            for x in 10 + 6 * col..16 + 6 * col {
                let i = (y * size + x) * 4;
                if let Some(px) = out.get_mut(i..i + 4) {
                    px.copy_from_slice(&color);
                }
            }
        }
    }
    out
}

fn check_png_pixels(report: &mut Report, name: &str, png: &[u8], want: &[u8]) {
    match decode_png_rgba8(png) {
        Ok((w, h, px)) => report.check(
            name,
            w == IMAGE_SIZE && h == IMAGE_SIZE && px == want,
            || {
                let diff = px.iter().zip(want).filter(|(a, b)| a != b).count();
                format!(
                    "{w}x{h}, {diff} differing bytes (len {} vs {})",
                    px.len(),
                    want.len()
                )
            },
        ),
        Err(e) => report.fail(name, &e.to_string()),
    }
}

fn check_identicon(report: &mut Report, name: &str, icon: &Identicon, rec: &Value) {
    check_opt(
        report,
        &format!("{name} identicon.md5_hex"),
        hex::encode(icon.md5()),
        s(rec, &["md5_hex"]).map(str::to_owned),
    );
    let pattern: Vec<u64> = icon.pattern().iter().map(|&p| u64::from(p)).collect();
    check_opt(
        report,
        &format!("{name} identicon.pattern"),
        pattern,
        u64s(rec, &["pattern"]),
    );
    let bitmap: Vec<u64> = icon.bitmap().iter().map(|&b| u64::from(b)).collect();
    check_opt(
        report,
        &format!("{name} identicon.bitmap"),
        bitmap,
        u64s(rec, &["bitmap"]),
    );
    let rgba16: Vec<u64> = icon.color_rgba16().iter().map(|&c| u64::from(c)).collect();
    check_opt(
        report,
        &format!("{name} identicon.color_rgba16"),
        rgba16,
        u64s(rec, &["color_rgba16"]),
    );
    if rec.get("color_rgba8").is_some() {
        let rgba8: Vec<u64> = icon.color_rgba8().iter().map(|&c| u64::from(c)).collect();
        check_opt(
            report,
            &format!("{name} identicon.color_rgba8"),
            rgba8,
            u64s(rec, &["color_rgba8"]),
        );
    }
    if rec.get("color_hex").is_some() {
        check_opt(
            report,
            &format!("{name} identicon.color_hex"),
            icon.color_hex(),
            s(rec, &["color_hex"]).map(str::to_owned),
        );
    }
    if let Some(want) = get(rec, &["color_float_rgb"]).and_then(Value::as_array) {
        let want: Option<Vec<f64>> = want.iter().map(Value::as_f64).collect();
        check_opt(
            report,
            &format!("{name} identicon.color_float_rgb"),
            icon.color_float().to_vec(),
            want,
        );
    }

    // Pixels. The expected image is built from the vector's bitmap and 8-bit colour
    // (for the Culona case, which has no rgba8, from rgba16 >> 8).
    let bitmap = u64s(rec, &["bitmap"]).unwrap_or_default();
    let rgba8 = u64s(rec, &["color_rgba8"])
        .or_else(|| u64s(rec, &["color_rgba16"]).map(|v| v.iter().map(|c| c >> 8).collect()))
        .unwrap_or_default();
    let want = expected_image(&bitmap, &rgba8);
    report.check_eq(
        &format!("{name} identicon pixels vs bitmap+colour"),
        icon.rgba_pixels() == want,
        true,
    );
    match icon.to_png() {
        Ok(png) => check_png_pixels(
            report,
            &format!("{name} identicon our PNG decoded"),
            &png,
            &want,
        ),
        Err(e) => report.fail(&format!("{name} identicon our PNG"), &e.to_string()),
    }
    let ours = icon.rgba_pixels();
    match s(rec, &["png_base64"]).map(|b| base64::engine::general_purpose::STANDARD.decode(b)) {
        Some(Ok(go_png)) => check_png_pixels(
            report,
            &format!("{name} identicon Go PNG pixels"),
            &go_png,
            &ours,
        ),
        Some(Err(e)) => report.fail(&format!("{name} identicon.png_base64"), &e.to_string()),
        None => report.fail(&format!("{name} identicon.png_base64"), "missing"),
    }
    if let Some(uri) = s(rec, &["data_uri"]) {
        match uri
            .strip_prefix("data:image/png;base64,")
            .map(|b| base64::engine::general_purpose::STANDARD.decode(b))
        {
            Some(Ok(go_png)) => check_png_pixels(
                report,
                &format!("{name} identicon data_uri pixels"),
                &go_png,
                &ours,
            ),
            Some(Err(e)) => report.fail(&format!("{name} identicon.data_uri"), &e.to_string()),
            None => report.fail(&format!("{name} identicon.data_uri"), "not a PNG data URI"),
        }
    }
}

fn record(name: &str, rec: &Value, data: &Data, report: &mut Report) {
    let Some(pks) = s(rec, &["public_key_string"]) else {
        report.fail(name, "missing public_key_string");
        return;
    };
    let pk = match parse_public_key_string(pks) {
        Ok(pk) => {
            report.pass(&format!("{name} parse public_key_string"));
            pk
        }
        Err(e) => {
            report.fail(&format!("{name} parse public_key_string"), &e.to_string());
            return;
        }
    };
    let want_un = s(rec, &["public_key_uncompressed_hex"]).map(str::to_owned);
    let want_c = s(rec, &["public_key_compressed_hex"]).map(str::to_owned);
    check_opt(
        report,
        &format!("{name} pub65"),
        hex::encode(pk.to_uncompressed()),
        want_un.clone(),
    );
    check_opt(
        report,
        &format!("{name} pub33"),
        hex::encode(pk.to_compressed()),
        want_c.clone(),
    );
    check_opt(
        report,
        &format!("{name} canonical string"),
        public_key_string(&pk),
        want_un.as_ref().map(|h| format!("0x{h}")),
    );
    if let Some(priv_hex) = s(rec, &["private_key_hex"]) {
        let derived = hex::decode(priv_hex)
            .map_err(|e| e.to_string())
            .and_then(|b| SecretKey::from_bytes(&b).map_err(|e| e.to_string()))
            .map(|sk| sk.public_key());
        match derived {
            Ok(p) => report.check_eq(&format!("{name} private key -> public key"), p == pk, true),
            Err(e) => report.fail(&format!("{name} private key"), &e),
        }
    }
    for (form, h) in [("compressed", &want_c), ("uncompressed", &want_un)] {
        let r = h
            .as_deref()
            .ok_or_else(|| "missing".to_owned())
            .and_then(|h| hex::decode(h).map_err(|e| e.to_string()))
            .and_then(|b| parse_key_bytes(&b).map_err(|e| e.to_string()));
        match r {
            Ok(p) => report.check_eq(&format!("{name} parse {form} bytes"), p == pk, true),
            Err(e) => report.fail(&format!("{name} parse {form} bytes"), &e),
        }
    }

    // zQ3
    let zq3 = s(rec, &["compressed_key_zq3"]).map(str::to_owned);
    check_opt(
        report,
        &format!("{name} compressed_key_zq3"),
        to_zq3(&pk),
        zq3.clone(),
    );
    match zq3.as_deref().map(parse_zq3) {
        Some(Ok(p)) => report.check_eq(&format!("{name} zQ3 parses back"), p == pk, true),
        Some(Err(e)) => report.fail(&format!("{name} zQ3 parses back"), &e.to_string()),
        None => report.fail(&format!("{name} zQ3"), "missing"),
    }
    match zq3.as_deref().map(parse_chat_key) {
        Some(Ok(p)) => report.check_eq(&format!("{name} parse_chat_key(zQ3)"), p == pk, true),
        Some(Err(e)) => report.fail(&format!("{name} parse_chat_key(zQ3)"), &e.to_string()),
        None => {}
    }

    // Alias
    match &data.words {
        Some(w) => match Alias::from_public_key_string(pks, w) {
            Ok(a) => {
                check_opt(
                    report,
                    &format!("{name} alias.name"),
                    a.name.clone(),
                    s(rec, &["alias", "name"]).map(str::to_owned),
                );
                check_opt(
                    report,
                    &format!("{name} alias.seed_hex"),
                    format!("{:016x}", a.seed),
                    s(rec, &["alias", "seed_hex"]).map(str::to_owned),
                );
                let outs: Vec<String> =
                    a.lfsr_outputs.iter().map(|o| format!("{o:016x}")).collect();
                check_opt(
                    report,
                    &format!("{name} alias.lfsr_outputs_hex"),
                    outs,
                    strs(rec, &["alias", "lfsr_outputs_hex"]),
                );
                let idx: Vec<u64> = a.indices.iter().map(|&i| i as u64).collect();
                check_opt(
                    report,
                    &format!("{name} alias.indices"),
                    idx,
                    u64s(rec, &["alias", "indices"]),
                );
            }
            Err(e) => report.fail(&format!("{name} alias"), &e.to_string()),
        },
        None => report.fail(&format!("{name} alias"), "no word lists"),
    }

    // Identicon (of the string exactly as given)
    match get(rec, &["identicon"]) {
        Some(ic) => {
            check_opt(
                report,
                &format!("{name} identicon.input_string"),
                pks.to_owned(),
                s(ic, &["input_string"]).map(str::to_owned),
            );
            let icon = Identicon::from_string(s(ic, &["input_string"]).unwrap_or(pks));
            check_identicon(report, name, &icon, ic);
            report.check_eq(
                &format!("{name} identicon.pixels_check"),
                s(ic, &["pixels_check"]),
                Some("ok"),
            );
        }
        None => report.fail(&format!("{name} identicon"), "missing"),
    }

    // Emoji hash
    let emoji = EmojiHash::for_key(&pk);
    let idx: Vec<u64> = emoji.indices.iter().map(|&i| u64::from(i)).collect();
    check_opt(
        report,
        &format!("{name} emoji_hash.indices"),
        idx,
        u64s(rec, &["emoji_hash", "indices"]),
    );
    check_opt(
        report,
        &format!("{name} emoji_hash.value_hex"),
        emoji.value_hex(),
        s(rec, &["emoji_hash", "value_hex"]).map(str::to_owned),
    );
    match &data.words {
        Some(w) => check_opt(
            report,
            &format!("{name} emoji_hash.emojis"),
            emoji.emojis(w),
            strs(rec, &["emoji_hash", "emojis"]),
        ),
        None => report.fail(&format!("{name} emoji_hash.emojis"), "no word lists"),
    }

    // Colour hash
    let ch = ColorHash::for_key(&pk);
    let segs: Vec<Vec<u64>> = ch
        .segments
        .iter()
        .map(|[u, c]| vec![u64::from(*u), u64::from(*c)])
        .collect();
    let want_segs: Option<Vec<Vec<u64>>> = get(rec, &["color_hash", "hash"])
        .and_then(Value::as_array)
        .and_then(|a| {
            a.iter()
                .map(|seg| {
                    seg.as_array()
                        .and_then(|p| p.iter().map(Value::as_u64).collect())
                })
                .collect()
        });
    check_opt(report, &format!("{name} color_hash.hash"), segs, want_segs);
    let raw: Vec<u64> = ch.raw_digits.iter().map(|&d| u64::from(d)).collect();
    check_opt(
        report,
        &format!("{name} color_hash.raw_digits_base160"),
        raw,
        u64s(rec, &["color_hash", "raw_digits_base160"]),
    );
    check_opt(
        report,
        &format!("{name} color_hash.value_hex"),
        ch.value_hex(),
        s(rec, &["color_hash", "value_hex"]).map(str::to_owned),
    );
    match &data.palette {
        Some(p) => check_opt(
            report,
            &format!("{name} color_hash.ring_hex_colors"),
            ch.ring_colors(p),
            strs(rec, &["color_hash", "ring_hex_colors"]),
        ),
        None => report.fail(
            &format!("{name} color_hash.ring_hex_colors"),
            "no ring palette",
        ),
    }

    // Colour ID, slices
    let want_id = get(rec, &["color_id"]).and_then(Value::as_u64);
    check_opt(
        report,
        &format!("{name} color_id (key)"),
        u64::from(color_id(&pk)),
        want_id,
    );
    check_opt(
        report,
        &format!("{name} color_id (string)"),
        color_id_from_str(pks).map(u64::from).ok(),
        want_id.map(Some),
    );
    let slices: Vec<String> = Slices::for_key(&pk).to_hex().to_vec();
    check_opt(
        report,
        &format!("{name} slices_hex"),
        slices,
        strs(rec, &["slices_hex"]),
    );

    // The bundle agrees with the pieces.
    match Visuals::from_public_key_string(pks, data.words.as_ref(), data.palette.as_ref()) {
        Ok(v) => {
            let ok = Some(v.compressed_key_zq3.as_str()) == s(rec, &["compressed_key_zq3"])
                && v.alias.as_deref() == s(rec, &["alias", "name"])
                && v.emoji_hash == strs(rec, &["emoji_hash", "emojis"])
                && v.ring_colors == strs(rec, &["color_hash", "ring_hex_colors"])
                && Some(u64::from(v.color_id)) == want_id
                && Some(hex::encode(v.identicon.md5()).as_str())
                    == s(rec, &["identicon", "md5_hex"]);
            report.check(&format!("{name} Visuals bundle"), ok, || format!("{v:?}"));
        }
        Err(e) => report.fail(&format!("{name} Visuals bundle"), &e.to_string()),
    }
}

fn identicon_string_case(c: &Value, report: &mut Report) {
    let name = "identicon_string_case";
    match s(c, &["input_string"]) {
        Some(input) => check_identicon(report, name, &Identicon::from_string(input), c),
        None => report.fail(name, "missing input_string"),
    }
}

fn alias_seed_case(c: &Value, data: &Data, report: &mut Report) {
    let name = "alias_seed_case";
    let (Some(seed), Some(w)) = (get(c, &["seed"]).and_then(Value::as_u64), &data.words) else {
        report.fail(name, "missing seed or word lists");
        return;
    };
    let a = Alias::from_seed(seed, w);
    check_opt(
        report,
        &format!("{name} name"),
        a.name.clone(),
        s(c, &["name"]).map(str::to_owned),
    );
    let outs: Vec<String> = a.lfsr_outputs.iter().map(|o| format!("{o:016x}")).collect();
    check_opt(
        report,
        &format!("{name} lfsr_outputs_hex"),
        outs,
        strs(c, &["lfsr_outputs_hex"]),
    );
    let idx: Vec<u64> = a.indices.iter().map(|&i| i as u64).collect();
    check_opt(
        report,
        &format!("{name} indices"),
        idx,
        u64s(c, &["indices"]),
    );
}

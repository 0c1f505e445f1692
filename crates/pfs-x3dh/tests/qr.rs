//! QR codes of a real contact code, decoded back with an independent reader (rqrr).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers

mod common;

use common::{hexf, vectors};
use pfs_x3dh::*;

fn real_contact_code() -> String {
    let doc = vectors("status-go-v0-primitives.json");
    doc["primitives"]["bundle_signature"][2]["contact_code_base64"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn decode_grey(w: usize, h: usize, pixel: impl Fn(usize, usize) -> u8) -> Vec<String> {
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, pixel);
    img.detect_grids()
        .into_iter()
        .map(|g| g.decode().unwrap().1)
        .collect()
}

#[test]
fn png_decodes_to_the_contact_code() {
    let code = real_contact_code();
    assert!(parse_contact_code(&code).is_ok());
    let qr = contact_code_qr(&code).unwrap();
    let png_bytes = qr.to_png(4).unwrap();
    assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n");
    let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let (w, h) = (info.width as usize, info.height as usize);
    assert_eq!(w, qr.padded_width() * 4);
    let texts = decode_grey(w, h, |x, y| buf[y * w + x]);
    assert_eq!(texts, vec![code.clone()]);
    // And the decoded text is still a valid contact code of the same bundle.
    let doc = vectors("status-go-v0-primitives.json");
    let view = &doc["primitives"]["bundle_signature"][2]["bundle"];
    assert_eq!(
        parse_contact_code(&texts[0])
            .unwrap()
            .identity()
            .to_compressed()
            .to_vec(),
        hexf(view, "identity")
    );
}

#[test]
fn terminal_rendering_decodes_to_the_contact_code() {
    let code = real_contact_code();
    let qr = contact_code_qr(&code).unwrap();
    let text = qr.to_terminal_string();
    // Rebuild the picture from the half blocks: a block is a light module (drawn in the
    // terminal's light foreground), a space is dark.
    let lines: Vec<Vec<char>> = text.lines().map(|l| l.chars().collect()).collect();
    let w = qr.padded_width();
    assert_eq!(lines.len(), w.div_ceil(2));
    assert!(lines.iter().all(|l| l.len() == w));
    let scale = 4;
    let light = |x: usize, y: usize| -> bool {
        let (mx, my) = (x / scale, y / scale);
        let c = lines[my / 2][mx];
        matches!((c, my % 2), ('█', _) | ('▀', 0) | ('▄', 1))
    };
    let side = w * scale;
    // Light modules are white in the reconstructed picture, except the odd last half row.
    let texts = decode_grey(side, side, |x, y| if light(x, y) { 255 } else { 0 });
    assert_eq!(texts, vec![code]);
    // The quiet zone is light: the first line is all full blocks.
    assert!(lines[0].iter().all(|&c| c == '█'));
}

#[test]
fn module_matrix_and_svg() {
    let code = real_contact_code();
    let qr = contact_code_qr(&code).unwrap();
    let w = qr.width();
    // Finder pattern corners are dark; outside the code is light.
    assert!(qr.is_dark(0, 0) && qr.is_dark(w - 1, 0) && qr.is_dark(0, w - 1));
    assert!(!qr.is_dark(w, 0) && !qr.is_dark(usize::MAX, usize::MAX));
    let scale = 3;
    let side = (w + 8) * scale;
    let texts = decode_grey(side, side, |x, y| {
        let (mx, my) = (x / scale, y / scale);
        match (mx.checked_sub(4), my.checked_sub(4)) {
            (Some(a), Some(b)) if qr.is_dark(a, b) => 0,
            _ => 255,
        }
    });
    assert_eq!(texts, vec![code]);
    let svg = qr.to_svg();
    assert!(svg.contains("<svg") && svg.contains("</svg>"));
    assert!(svg.contains("#000000"));
}

#[test]
fn png_scale_is_bounded() {
    let qr = contact_code_qr("hello").unwrap();
    assert!(matches!(
        qr.to_png(0),
        Err(QrError::BadScale { scale: 0, .. })
    ));
    assert!(matches!(qr.to_png(65), Err(QrError::BadScale { .. })));
    assert!(qr.to_png(1).is_ok());
    assert!(matches!(
        contact_code_qr(&"x".repeat(10_000)),
        Err(QrError::Encode(_))
    ));
}

//! A small ICC v2 sRGB display profile built from the published sRGB definition (IEC 61966-2-1:
//! primaries, D65 white point, piecewise transfer curve), for the PDF/A output intent.
//!
//! No input reaches this module: it is 3×3 matrix arithmetic on constants, with indices from fixed ranges
//! (0..3) into fixed-size arrays, so the crate's ban on indexing is lifted here.
#![allow(clippy::indexing_slicing)]

use std::sync::OnceLock;

type Xyz = [f64; 3];

fn xy_to_xyz(x: f64, y: f64) -> Xyz {
    [x / y, 1.0, (1.0 - x - y) / y]
}

fn mat_mul(a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut r = [[0.0; 3]; 3];
    for i in 0..3 {
        for j in 0..3 {
            r[i][j] = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    r
}

fn mat_vec(a: &[[f64; 3]; 3], v: Xyz) -> Xyz {
    [0, 1, 2].map(|i| a[i][0] * v[0] + a[i][1] * v[1] + a[i][2] * v[2])
}

fn inverse(m: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    let c = |r0: usize, c0: usize, r1: usize, c1: usize| m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
    [
        [c(1, 1, 2, 2) / det, -c(0, 1, 2, 2) / det, c(0, 1, 1, 2) / det],
        [-c(1, 0, 2, 2) / det, c(0, 0, 2, 2) / det, -c(0, 0, 1, 2) / det],
        [c(1, 0, 2, 1) / det, -c(0, 0, 2, 1) / det, c(0, 0, 1, 1) / det],
    ]
}

/// Columns: the XYZ of the red, green and blue colorants, adapted to the D50 PCS with Bradford.
fn colorants() -> (Xyz, [Xyz; 3]) {
    let prim = [
        xy_to_xyz(0.64, 0.33),
        xy_to_xyz(0.30, 0.60),
        xy_to_xyz(0.15, 0.06),
    ];
    let white = xy_to_xyz(0.3127, 0.3290);
    let p = [
        [prim[0][0], prim[1][0], prim[2][0]],
        [prim[0][1], prim[1][1], prim[2][1]],
        [prim[0][2], prim[1][2], prim[2][2]],
    ];
    let s = mat_vec(&inverse(&p), white);
    let rgb_to_xyz = [0, 1, 2].map(|i| [p[i][0] * s[0], p[i][1] * s[1], p[i][2] * s[2]]);
    // Bradford chromatic adaptation D65 -> D50.
    let bradford = [
        [0.8951, 0.2664, -0.1614],
        [-0.7502, 1.7135, 0.0367],
        [0.0389, -0.0685, 1.0296],
    ];
    let d50 = [0.9642, 1.0, 0.8249];
    let src = mat_vec(&bradford, white);
    let dst = mat_vec(&bradford, d50);
    let scale = [
        [dst[0] / src[0], 0.0, 0.0],
        [0.0, dst[1] / src[1], 0.0],
        [0.0, 0.0, dst[2] / src[2]],
    ];
    let adapt = mat_mul(&inverse(&bradford), &mat_mul(&scale, &bradford));
    let m = mat_mul(&adapt, &rgb_to_xyz);
    (white, [0, 1, 2].map(|c| [m[0][c], m[1][c], m[2][c]]))
}

fn s15f16(v: f64) -> [u8; 4] {
    ((v * 65536.0).round() as i32).to_be_bytes()
}

fn xyz_tag(v: Xyz) -> Vec<u8> {
    let mut t = b"XYZ \0\0\0\0".to_vec();
    for c in v {
        t.extend_from_slice(&s15f16(c));
    }
    t
}

fn text_desc(s: &str) -> Vec<u8> {
    let mut t = b"desc\0\0\0\0".to_vec();
    t.extend_from_slice(&(s.len() as u32 + 1).to_be_bytes());
    t.extend_from_slice(s.as_bytes());
    t.push(0);
    t.extend_from_slice(&[0; 8]); // Unicode language code and count
    t.extend_from_slice(&[0; 3]); // ScriptCode code and count
    t.extend_from_slice(&[0; 67]);
    t
}

fn curve() -> Vec<u8> {
    const N: usize = 1024;
    let mut t = b"curv\0\0\0\0".to_vec();
    t.extend_from_slice(&(N as u32).to_be_bytes());
    for i in 0..N {
        let v = i as f64 / (N - 1) as f64;
        let lin = if v <= 0.04045 {
            v / 12.92
        } else {
            ((v + 0.055) / 1.055).powf(2.4)
        };
        t.extend_from_slice(&((lin * 65535.0).round() as u16).to_be_bytes());
    }
    t
}

/// The profile bytes (built once).
pub(crate) fn srgb_profile() -> &'static [u8] {
    static P: OnceLock<Vec<u8>> = OnceLock::new();
    P.get_or_init(build)
}

fn build() -> Vec<u8> {
    let (white, [r, g, b]) = colorants();
    let white = [white[0] / white[1], 1.0, white[2] / white[1]];
    let trc = curve();
    let tags: Vec<(&[u8; 4], Vec<u8>)> = vec![
        (b"desc", text_desc("sRGB IEC61966-2.1 (banso)")),
        (b"cprt", {
            let mut t = b"text\0\0\0\0".to_vec();
            t.extend_from_slice(b"No copyright, use freely\0");
            t
        }),
        (b"wtpt", xyz_tag(white)),
        (b"rXYZ", xyz_tag(r)),
        (b"gXYZ", xyz_tag(g)),
        (b"bXYZ", xyz_tag(b)),
        (b"rTRC", trc),
    ];
    let count = tags.len() + 2; // gTRC and bTRC share rTRC's data
    let mut offset = 128 + 4 + 12 * count;
    let mut table = Vec::new();
    let mut data = Vec::new();
    let mut trc_at = (0, 0);
    for (sig, t) in &tags {
        table.extend_from_slice(*sig);
        table.extend_from_slice(&(offset as u32).to_be_bytes());
        table.extend_from_slice(&(t.len() as u32).to_be_bytes());
        if *sig == b"rTRC" {
            trc_at = (offset, t.len());
        }
        data.extend_from_slice(t);
        while data.len() % 4 != 0 {
            data.push(0);
        }
        offset = 128 + 4 + 12 * count + data.len();
    }
    for sig in [b"gTRC", b"bTRC"] {
        table.extend_from_slice(sig);
        table.extend_from_slice(&(trc_at.0 as u32).to_be_bytes());
        table.extend_from_slice(&(trc_at.1 as u32).to_be_bytes());
    }
    let size = 128 + 4 + table.len() + data.len();
    let mut p = Vec::with_capacity(size);
    p.extend_from_slice(&(size as u32).to_be_bytes());
    p.extend_from_slice(&[0; 4]); // preferred CMM
    p.extend_from_slice(&[2, 0x10, 0, 0]); // version 2.1
    p.extend_from_slice(b"mntrRGB XYZ ");
    for v in [2024u16, 1, 1, 0, 0, 0] {
        p.extend_from_slice(&v.to_be_bytes());
    }
    p.extend_from_slice(b"acsp");
    p.extend_from_slice(&[0; 4]); // platform
    p.extend_from_slice(&[0; 4]); // flags
    p.extend_from_slice(&[0; 8]); // manufacturer, model
    p.extend_from_slice(&[0; 8]); // attributes
    p.extend_from_slice(&[0; 4]); // rendering intent: perceptual
    for v in [0.9642, 1.0, 0.8249] {
        p.extend_from_slice(&s15f16(v));
    }
    p.extend_from_slice(&[0; 4]); // creator
    p.extend_from_slice(&[0; 44]); // profile id + reserved
    debug_assert_eq!(p.len(), 128);
    p.extend_from_slice(&(count as u32).to_be_bytes());
    p.extend_from_slice(&table);
    p.extend_from_slice(&data);
    p
}

#[cfg(test)]
mod tests {
    #[test]
    fn colorants_match_the_published_d50_values() {
        let (_, [r, g, b]) = super::colorants();
        let close = |a: [f64; 3], e: [f64; 3]| a.iter().zip(e).all(|(x, y)| (x - y).abs() < 0.0015);
        assert!(close(r, [0.4361, 0.2225, 0.0139]), "{r:?}");
        assert!(close(g, [0.3851, 0.7169, 0.0971]), "{g:?}");
        assert!(close(b, [0.1431, 0.0606, 0.7141]), "{b:?}");
        let p = super::srgb_profile();
        assert_eq!(u32::from_be_bytes(p[0..4].try_into().unwrap()) as usize, p.len());
        assert_eq!(&p[36..40], b"acsp");
    }
}

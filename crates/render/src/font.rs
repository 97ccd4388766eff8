//! The one embedded font, DejaVu Sans, subset once to a fixed character set (printable ASCII, every
//! Vietnamese letter, a few punctuation marks) and cached: a copy only embeds the cached bytes.
//!
//! The subset keeps glyph ids (glyphs outside the set are emptied), so text is written as glyph ids with
//! /Identity-H and /CIDToGIDMap /Identity.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::sync::OnceLock;

use crate::writer::deflate;
use crate::RenderError;

static FONT_TTF: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/DejaVuSans.ttf"));

/// Lower-case Vietnamese letters beyond ASCII (upper case is derived).
const VIETNAMESE_LOWER: &str = "àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ";
/// Extra punctuation.
const PUNCTUATION: &str = "–—“”‘’…·°«»×№\u{00A0}";

/// Characters the embedded font can show.
pub fn charset() -> impl Iterator<Item = char> {
    (' '..='~')
        .chain(VIETNAMESE_LOWER.chars())
        .chain(VIETNAMESE_LOWER.chars().flat_map(char::to_uppercase))
        .chain(PUNCTUATION.chars())
}

/// The subset font and everything derived from it, computed once per process.
pub(crate) struct Font {
    /// Deflated subset TrueType (for /FontFile2), and its uncompressed length (/Length1).
    pub file_z: Vec<u8>,
    pub file_len: usize,
    /// `/W` array contents and the deflated /ToUnicode CMap.
    pub widths: String,
    pub to_unicode_z: Vec<u8>,
    /// char → (glyph id, advance in 1/1000 em)
    glyphs: HashMap<char, (u16, f32)>,
    pub ascent: i32,
    pub descent: i32,
    pub cap_height: i32,
    pub bbox: [i32; 4],
}

pub(crate) fn font() -> &'static Font {
    static FONT: OnceLock<Font> = OnceLock::new();
    // The font is DejaVu Sans, embedded at build time and subset by this module: a failure here is a broken
    // build, never input, and the render tests exercise it on every run.
    #[allow(clippy::expect_used)]
    FONT.get_or_init(|| build().expect("the DejaVu Sans copied at build time is a valid TrueType font"))
}

impl Font {
    /// Appends `text` as a hex string of glyph ids; returns its advance in 1/1000 em.
    pub fn encode(&self, text: &str, out: &mut String) -> Result<f32, RenderError> {
        let text = compose_vietnamese(text);
        let mut width = 0.0;
        out.push('<');
        for c in text.chars() {
            let c = if c == '\t' { ' ' } else { c };
            let &(gid, w) = self.glyphs.get(&c).ok_or(RenderError::Glyph(c))?;
            let _ = write!(out, "{gid:04X}");
            width += w;
        }
        out.push('>');
        Ok(width)
    }

    /// Advance of `text` in 1/1000 em; unknown characters count as zero here (they fail in `encode`).
    pub fn width(&self, text: &str) -> f32 {
        compose_vietnamese(text)
            .chars()
            .map(|c| self.glyphs.get(&c).map_or(0.0, |g| g.1))
            .sum()
    }

    /// Whether every character of `text` can be shown.
    pub fn check(&self, text: &str) -> Result<(), RenderError> {
        match compose_vietnamese(text)
            .chars()
            .find(|c| *c != '\t' && !self.glyphs.contains_key(c))
        {
            Some(c) => Err(RenderError::Glyph(c)),
            None => Ok(()),
        }
    }
}

/// Tone marks in the order the letters are listed in [`VIETNAMESE_LOWER`]: grave, acute, hook above,
/// tilde, dot below.
const TONES: [char; 5] = ['\u{300}', '\u{301}', '\u{309}', '\u{303}', '\u{323}'];
/// The vowels of [`VIETNAMESE_LOWER`] in order, with their own decomposition (letter, marks).
const VOWELS: [(char, char, &[char]); 12] = [
    ('a', 'a', &[]),
    ('ă', 'a', &['\u{306}']),
    ('â', 'a', &['\u{302}']),
    ('e', 'e', &[]),
    ('ê', 'e', &['\u{302}']),
    ('i', 'i', &[]),
    ('o', 'o', &[]),
    ('ô', 'o', &['\u{302}']),
    ('ơ', 'o', &['\u{31B}']),
    ('u', 'u', &[]),
    ('ư', 'u', &['\u{31B}']),
    ('y', 'y', &[]),
];

type Decomposition = (char, Vec<char>);

/// Precomposed Vietnamese letter ↔ (base letter, sorted combining marks), both cases.
fn vietnamese_tables() -> &'static (HashMap<Decomposition, char>, HashMap<char, Decomposition>) {
    static T: OnceLock<(HashMap<Decomposition, char>, HashMap<char, Decomposition>)> = OnceLock::new();
    T.get_or_init(|| {
        let mut compose = HashMap::new();
        let mut decompose = HashMap::new();
        let mut add = |pre: char, base: char, mut marks: Vec<char>| {
            marks.sort_unstable();
            for upper in [false, true] {
                let (p, b) = if upper {
                    (
                        pre.to_uppercase().next().unwrap_or(pre),
                        base.to_uppercase().next().unwrap_or(base),
                    )
                } else {
                    (pre, base)
                };
                compose.insert((b, marks.clone()), p);
                decompose.insert(p, (b, marks.clone()));
            }
        };
        let mut letters = VIETNAMESE_LOWER.chars();
        for (vowel, base, marks) in VOWELS {
            if !marks.is_empty() {
                let listed = letters.next();
                debug_assert_eq!(listed, Some(vowel));
                add(vowel, base, marks.to_vec());
            }
            for tone in TONES {
                if let Some(pre) = letters.next() {
                    let mut m = marks.to_vec();
                    m.push(tone);
                    add(pre, base, m);
                }
            }
        }
        add('đ', 'd', vec!['\u{335}']);
        (compose, decompose)
    })
}

/// Composes Vietnamese letters written with combining marks (NFD, as some keyboards and systems produce)
/// into the precomposed letters the font subset holds. Marks that form no Vietnamese letter stay as they
/// are (and are then reported as missing glyphs).
pub(crate) fn compose_vietnamese(text: &str) -> std::borrow::Cow<'_, str> {
    let is_mark = |c: char| ('\u{300}'..='\u{36F}').contains(&c);
    if !text.chars().any(is_mark) {
        return std::borrow::Cow::Borrowed(text);
    }
    let (compose, decompose) = vietnamese_tables();
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let mut marks: Vec<char> = Vec::new();
        while let Some(m) = chars.next_if(|m| is_mark(*m)) {
            marks.push(m);
        }
        let marks = marks.as_slice();
        if marks.is_empty() {
            out.push(c);
        } else {
            let (base, mut all) = decompose.get(&c).cloned().unwrap_or((c, Vec::new()));
            all.extend_from_slice(marks);
            all.sort_unstable();
            match compose.get(&(base, all)) {
                Some(&p) => out.push(p),
                None => {
                    out.push(c);
                    out.extend(marks);
                }
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

fn build() -> Result<Font, String> {
    let face = ttf_parser::Face::parse(FONT_TTF, 0).map_err(|e| e.to_string())?;
    let upem = f32::from(face.units_per_em());
    let scale = 1000.0 / upem;
    let mut glyphs = HashMap::new();
    let mut by_gid: BTreeMap<u16, (char, f32)> = BTreeMap::new();
    for c in charset() {
        let Some(gid) = face.glyph_index(c) else { continue };
        let adv = f32::from(face.glyph_hor_advance(gid).unwrap_or(0)) * scale;
        let adv = adv.round();
        glyphs.insert(c, (gid.0, adv));
        by_gid.entry(gid.0).or_insert((c, adv));
    }
    let keep: BTreeSet<u16> = by_gid.keys().copied().collect();
    let subset = subset(FONT_TTF, &keep)?;

    // /W: runs of consecutive glyph ids.
    let mut widths = String::new();
    let mut prev: Option<u16> = None;
    for (&gid, &(_, w)) in &by_gid {
        if prev.is_some_and(|p| p + 1 == gid) {
            let _ = write!(widths, " {w}");
        } else {
            if prev.is_some() {
                widths.push(']');
            }
            let _ = write!(widths, " {gid} [{w}");
        }
        prev = Some(gid);
    }
    if prev.is_some() {
        widths.push(']');
    }

    // /ToUnicode: one bfchar per glyph.
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n\
         /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
         /CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n\
         1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    let entries: Vec<_> = by_gid.iter().collect();
    for chunk in entries.chunks(100) {
        let _ = writeln!(cmap, "{} beginbfchar", chunk.len());
        for (gid, (c, _)) in chunk {
            let mut u = [0u16; 2];
            let hex: String = c
                .encode_utf16(&mut u)
                .iter()
                .map(|v| format!("{v:04X}"))
                .collect();
            let _ = writeln!(cmap, "<{gid:04X}> <{hex}>");
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");

    let s = |v: i16| (f32::from(v) * scale).round() as i32;
    let bb = face.global_bounding_box();
    Ok(Font {
        file_z: deflate(&subset),
        file_len: subset.len(),
        widths,
        to_unicode_z: deflate(cmap.as_bytes()),
        glyphs,
        ascent: s(face.ascender()),
        descent: s(face.descender()),
        cap_height: face.capital_height().map_or(729, s),
        bbox: [s(bb.x_min), s(bb.y_min), s(bb.x_max), s(bb.y_max)],
    })
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

fn checksum(data: &[u8]) -> u32 {
    let mut sum = 0u32;
    for c in data.chunks(4) {
        let mut w = [0u8; 4];
        for (to, from) in w.iter_mut().zip(c) {
            *to = *from;
        }
        sum = sum.wrapping_add(u32::from_be_bytes(w));
    }
    sum
}

/// Subsets a TrueType font keeping glyph ids: glyphs outside `keep` (and not components of kept composite
/// glyphs) become empty; only the tables a PDF viewer needs for a CIDFontType2 are kept.
pub(crate) fn subset(ttf: &[u8], keep: &BTreeSet<u16>) -> Result<Vec<u8>, String> {
    let bad = || "malformed TrueType font".to_string();
    let num_tables = usize::from(be16(ttf, 4).ok_or_else(bad)?);
    let mut tables: BTreeMap<[u8; 4], &[u8]> = BTreeMap::new();
    for i in 0..num_tables {
        let rec = 12 + 16 * i;
        let tag: [u8; 4] = ttf
            .get(rec..rec + 4)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?;
        let off = be32(ttf, rec + 8).ok_or_else(bad)? as usize;
        let len = be32(ttf, rec + 12).ok_or_else(bad)? as usize;
        tables.insert(tag, ttf.get(off..off + len).ok_or_else(bad)?);
    }
    let head = *tables.get(b"head").ok_or_else(bad)?;
    let maxp = *tables.get(b"maxp").ok_or_else(bad)?;
    let loca = *tables.get(b"loca").ok_or_else(bad)?;
    let glyf = *tables.get(b"glyf").ok_or_else(bad)?;
    let num_glyphs = usize::from(be16(maxp, 4).ok_or_else(bad)?);
    let long_loca = be16(head, 50).ok_or_else(bad)? == 1;
    let glyph_range = |g: usize| -> Option<(usize, usize)> {
        if long_loca {
            Some((be32(loca, 4 * g)? as usize, be32(loca, 4 * g + 4)? as usize))
        } else {
            Some((
                usize::from(be16(loca, 2 * g)?) * 2,
                usize::from(be16(loca, 2 * g + 2)?) * 2,
            ))
        }
    };

    // Close the set over composite glyph components; glyph 0 (.notdef) is always kept.
    let mut kept: BTreeSet<u16> = keep
        .iter()
        .copied()
        .filter(|&g| usize::from(g) < num_glyphs)
        .collect();
    kept.insert(0);
    let mut todo: Vec<u16> = kept.iter().copied().collect();
    while let Some(g) = todo.pop() {
        let (s, e) = glyph_range(usize::from(g)).ok_or_else(bad)?;
        let data = glyf.get(s..e).ok_or_else(bad)?;
        if data.len() < 10 || (be16(data, 0).ok_or_else(bad)? as i16) >= 0 {
            continue;
        }
        let mut p = 10;
        loop {
            let flags = be16(data, p).ok_or_else(bad)?;
            let comp = be16(data, p + 2).ok_or_else(bad)?;
            if usize::from(comp) < num_glyphs && kept.insert(comp) {
                todo.push(comp);
            }
            p += 4;
            p += if flags & 0x0001 != 0 { 4 } else { 2 };
            if flags & 0x0008 != 0 {
                p += 2;
            } else if flags & 0x0040 != 0 {
                p += 4;
            } else if flags & 0x0080 != 0 {
                p += 8;
            }
            if flags & 0x0020 == 0 {
                break;
            }
        }
    }

    // New glyf and long loca.
    let mut new_glyf = Vec::new();
    let mut new_loca = Vec::with_capacity(4 * (num_glyphs + 1));
    for g in 0..num_glyphs {
        new_loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());
        if kept.contains(&(g as u16)) {
            let (s, e) = glyph_range(g).ok_or_else(bad)?;
            new_glyf.extend_from_slice(glyf.get(s..e).ok_or_else(bad)?);
            while new_glyf.len() % 4 != 0 {
                new_glyf.push(0);
            }
        }
    }
    new_loca.extend_from_slice(&(new_glyf.len() as u32).to_be_bytes());
    let mut new_head = head.to_vec();
    new_head.get_mut(8..12).ok_or_else(bad)?.copy_from_slice(&[0; 4]); // checkSumAdjustment
    new_head
        .get_mut(50..52)
        .ok_or_else(bad)?
        .copy_from_slice(&1u16.to_be_bytes()); // long loca

    let mut out_tables: Vec<([u8; 4], Vec<u8>)> = Vec::new();
    for tag in [
        b"cvt ", b"fpgm", b"glyf", b"head", b"hhea", b"hmtx", b"loca", b"maxp", b"prep",
    ] {
        let data = match tag {
            b"glyf" => std::mem::take(&mut new_glyf),
            b"loca" => std::mem::take(&mut new_loca),
            b"head" => std::mem::take(&mut new_head),
            _ => match tables.get(tag) {
                Some(t) => t.to_vec(),
                None if matches!(tag, b"cvt " | b"fpgm" | b"prep") => continue,
                None => return Err(bad()),
            },
        };
        out_tables.push((*tag, data));
    }
    // Tags are already in ascending order.
    let n = out_tables.len();
    let mut entry_selector = 0u16;
    while (2usize << entry_selector) <= n {
        entry_selector += 1;
    }
    let search_range = (1u16 << entry_selector) * 16;
    let mut font = Vec::new();
    font.extend_from_slice(&0x0001_0000u32.to_be_bytes());
    font.extend_from_slice(&(n as u16).to_be_bytes());
    font.extend_from_slice(&search_range.to_be_bytes());
    font.extend_from_slice(&entry_selector.to_be_bytes());
    font.extend_from_slice(&((n as u16) * 16 - search_range).to_be_bytes());
    let mut offset = 12 + 16 * n;
    let mut head_offset = 0;
    for (tag, data) in &out_tables {
        if tag == b"head" {
            head_offset = offset;
        }
        font.extend_from_slice(tag);
        font.extend_from_slice(&checksum(data).to_be_bytes());
        font.extend_from_slice(&(offset as u32).to_be_bytes());
        font.extend_from_slice(&(data.len() as u32).to_be_bytes());
        offset += data.len().div_ceil(4) * 4;
    }
    for (_, data) in &out_tables {
        font.extend_from_slice(data);
        while font.len() % 4 != 0 {
            font.push(0);
        }
    }
    let adjust = 0xB1B0_AFBAu32.wrapping_sub(checksum(&font));
    font.get_mut(head_offset + 8..head_offset + 12)
        .ok_or("the head table lies outside the subset font")?
        .copy_from_slice(&adjust.to_be_bytes());
    Ok(font)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vietnamese_letter_is_in_the_font() {
        let f = font();
        for c in charset() {
            assert!(f.glyphs.contains_key(&c), "missing {c:?}");
        }
        assert!(f.file_z.len() < 150_000, "subset is {} bytes", f.file_z.len());
        assert!(matches!(f.check("Hà Nội ✓"), Err(RenderError::Glyph('✓'))));
    }

    #[test]
    fn decomposed_vietnamese_is_composed() {
        // NFD forms, including canonical order (dot below before breve/circumflex, horn before dot below).
        assert_eq!(compose_vietnamese("Nguye\u{302}\u{303}n"), "Nguyễn");
        assert_eq!(compose_vietnamese("a\u{323}\u{306}"), "ặ");
        assert_eq!(compose_vietnamese("a\u{306}\u{323}"), "ặ");
        assert_eq!(compose_vietnamese("u\u{31B}\u{323}"), "ự");
        assert_eq!(compose_vietnamese("\u{1EA0}\u{306}"), "Ặ"); // Ạ + breve
        assert_eq!(compose_vietnamese("Ha\u{300} Nô\u{323}i"), "Hà Nội");
        assert!(matches!(
            compose_vietnamese("Hà Nội"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(compose_vietnamese("x\u{301}"), "x\u{301}");
        assert!(matches!(
            font().check("x\u{301}"),
            Err(RenderError::Glyph('\u{301}'))
        ));
        let mut out = String::new();
        assert!(font().encode("Tr\u{1EA7}n Va\u{306}n", &mut out).is_ok());
    }

    #[test]
    fn subset_parses_and_keeps_glyph_ids() {
        let face = ttf_parser::Face::parse(FONT_TTF, 0).unwrap();
        let gid = face.glyph_index('ộ').unwrap();
        let keep: BTreeSet<u16> = [gid.0].into_iter().collect();
        let sub = subset(FONT_TTF, &keep).unwrap();
        let sface = ttf_parser::Face::parse(&sub, 0).unwrap();
        assert_eq!(sface.number_of_glyphs(), face.number_of_glyphs());
        assert!(sface.glyph_bounding_box(gid).is_some());
        // checksum of the whole font with the adjustment is the magic number
        assert_eq!(checksum(&sub), 0xB1B0_AFBA);
        // an unkept glyph is empty
        let other = face.glyph_index('Q').unwrap();
        assert!(sface.glyph_bounding_box(other).is_none());
    }
}

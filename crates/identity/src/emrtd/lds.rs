//! The eMRTD logical data structure (ICAO 9303 Part 10): a BER-TLV reader, EF.COM, DG1
//! (MRZ), DG2 (face image), a raw data-group reader and EF.SOD (the CMS SignedData whose
//! encapsulated content is the LDSSecurityObject).

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use const_oid::ObjectIdentifier;
use der::asn1::{OctetString, PrintableString};
use der::{Decode, Sequence};
use spki::AlgorithmIdentifierOwned;

/// LDS parsing failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LdsError {
    /// The BER-TLV structure is truncated or malformed.
    #[error("malformed BER-TLV: {0}")]
    Tlv(&'static str),
    /// The outer tag is not the one expected for this file.
    #[error("unexpected tag {found:X}, expected {expected:X}")]
    UnexpectedTag {
        /// The tag expected.
        expected: u32,
        /// The tag found.
        found: u32,
    },
    /// A mandatory element is missing.
    #[error("missing element: {0}")]
    Missing(&'static str),
    /// A text element is not valid ASCII/UTF-8.
    #[error("invalid text in {0}")]
    Text(&'static str),
    /// DER decoding of the SOD failed.
    #[error("EF.SOD DER: {0}")]
    Der(String),
    /// The SOD does not carry an LDSSecurityObject.
    #[error("EF.SOD: {0}")]
    Sod(&'static str),
}

impl From<der::Error> for LdsError {
    fn from(e: der::Error) -> Self {
        LdsError::Der(e.to_string())
    }
}

/// One BER-TLV element borrowed from its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag, with all its bytes (e.g. `0x5F1F`, `0x7F61`).
    pub tag: u32,
    /// The value bytes.
    pub value: &'a [u8],
    /// The whole element, tag and length included.
    pub raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// `true` if bit 6 of the first tag byte marks a constructed element.
    pub fn is_constructed(&self) -> bool {
        self.raw.first().is_some_and(|b| b & 0x20 != 0)
    }

    /// Parses the children of a constructed element.
    pub fn children(&self) -> Result<Vec<Tlv<'a>>, LdsError> {
        parse_all(self.value)
    }
}

/// Reads the tag and length of a BER-TLV header: (tag, value length, header length).
pub fn read_header(input: &[u8]) -> Result<(u32, usize, usize), LdsError> {
    let mut pos = 0usize;
    let next = |pos: &mut usize| -> Result<u8, LdsError> {
        let b = *input.get(*pos).ok_or(LdsError::Tlv("truncated header"))?;
        *pos += 1;
        Ok(b)
    };
    let first = next(&mut pos)?;
    let mut tag = u32::from(first);
    if first & 0x1F == 0x1F {
        loop {
            let b = next(&mut pos)?;
            if tag > 0x00FF_FFFF {
                return Err(LdsError::Tlv("tag longer than 4 bytes"));
            }
            tag = (tag << 8) | u32::from(b);
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let l = next(&mut pos)?;
    let len = match l {
        0..=0x7F => usize::from(l),
        0x81..=0x84 => {
            let mut len = 0usize;
            for _ in 0..(l & 0x7F) {
                len = (len << 8) | usize::from(next(&mut pos)?);
            }
            len
        }
        _ => return Err(LdsError::Tlv("unsupported length form")),
    };
    Ok((tag, len, pos))
}

/// The total length (header + value) of the TLV whose beginning is `prefix`: lets a
/// reader learn a file's size from its first few bytes.
pub fn total_length(prefix: &[u8]) -> Result<usize, LdsError> {
    let (_, len, hdr) = read_header(prefix)?;
    hdr.checked_add(len).ok_or(LdsError::Tlv("length overflow"))
}

/// Parses one TLV and returns it with the remaining input.
pub fn parse_tlv(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), LdsError> {
    let (tag, len, hdr) = read_header(input)?;
    let end = hdr.checked_add(len).ok_or(LdsError::Tlv("length overflow"))?;
    let raw = input.get(..end).ok_or(LdsError::Tlv("value truncated"))?;
    let value = input.get(hdr..end).ok_or(LdsError::Tlv("value truncated"))?;
    let rest = input.get(end..).ok_or(LdsError::Tlv("value truncated"))?;
    Ok((Tlv { tag, value, raw }, rest))
}

/// Parses a concatenation of TLVs (trailing `00`/`FF` filler is not accepted).
pub fn parse_all(mut input: &[u8]) -> Result<Vec<Tlv<'_>>, LdsError> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (t, rest) = parse_tlv(input)?;
        out.push(t);
        input = rest;
    }
    Ok(out)
}

/// Parses a single TLV with the given tag, ignoring bytes after it (files read by
/// READ BINARY may be followed by padding).
pub fn expect_tlv(input: &[u8], tag: u32) -> Result<Tlv<'_>, LdsError> {
    let (t, _) = parse_tlv(input)?;
    if t.tag != tag {
        return Err(LdsError::UnexpectedTag {
            expected: tag,
            found: t.tag,
        });
    }
    Ok(t)
}

/// First direct child with `tag`.
pub fn find_child<'a>(parent: &Tlv<'a>, tag: u32) -> Result<Option<Tlv<'a>>, LdsError> {
    Ok(parent.children()?.into_iter().find(|t| t.tag == tag))
}

/// The LDS file tag of data group `dg` (1..=16), e.g. DG1 → `0x61`, DG2 → `0x75`.
pub fn dg_tag(dg: u8) -> Option<u8> {
    const TAGS: [u8; 16] = [
        0x61, 0x75, 0x63, 0x76, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F, 0x70,
    ];
    TAGS.get(usize::from(dg).checked_sub(1)?).copied()
}

/// The data group number of an LDS file tag, inverse of [`dg_tag`].
pub fn dg_number(tag: u8) -> Option<u8> {
    (1..=16).find(|&n| dg_tag(n) == Some(tag))
}

/// The elementary file identifier of data group `dg` (DG1 = `0101` … DG16 = `0110`).
pub fn dg_file_id(dg: u8) -> Option<u16> {
    (1..=16).contains(&dg).then(|| 0x0100 | u16::from(dg))
}

/// File identifier of EF.COM.
pub const EF_COM: u16 = 0x011E;
/// File identifier of EF.SOD.
pub const EF_SOD: u16 = 0x011D;

/// EF.COM: LDS and Unicode versions and the list of present data groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EfCom {
    /// LDS version as stored, e.g. `"0107"` for LDS 1.7.
    pub lds_version: String,
    /// Unicode version as stored, e.g. `"040000"`.
    pub unicode_version: String,
    /// The data-group tags listed in `5C`.
    pub tags: Vec<u8>,
    /// The same list as data group numbers (unknown tags are dropped).
    pub data_groups: Vec<u8>,
}

fn ascii(bytes: &[u8], what: &'static str) -> Result<String, LdsError> {
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| LdsError::Text(what))
}

/// Parses EF.COM (tag `60`).
pub fn parse_ef_com(bytes: &[u8]) -> Result<EfCom, LdsError> {
    let com = expect_tlv(bytes, 0x60)?;
    let mut lds_version = None;
    let mut unicode_version = None;
    let mut tags = None;
    for child in com.children()? {
        match child.tag {
            0x5F01 => lds_version = Some(ascii(child.value, "LDS version")?),
            0x5F36 => unicode_version = Some(ascii(child.value, "Unicode version")?),
            0x5C => tags = Some(child.value.to_vec()),
            _ => {}
        }
    }
    let tags = tags.ok_or(LdsError::Missing("tag list 5C"))?;
    Ok(EfCom {
        lds_version: lds_version.ok_or(LdsError::Missing("LDS version 5F01"))?,
        unicode_version: unicode_version.ok_or(LdsError::Missing("Unicode version 5F36"))?,
        data_groups: tags.iter().filter_map(|&t| dg_number(t)).collect(),
        tags,
    })
}

/// Parses DG1 (tag `61`) and returns the MRZ as stored in `5F1F` (90 characters for TD1,
/// without line breaks).
pub fn parse_dg1(bytes: &[u8]) -> Result<String, LdsError> {
    let dg1 = expect_tlv(bytes, 0x61)?;
    let mrz = find_child(&dg1, 0x5F1F)?.ok_or(LdsError::Missing("MRZ 5F1F"))?;
    ascii(mrz.value, "MRZ")
}

/// A raw data group: its number, outer tag and exact bytes (trailing padding removed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawDataGroup {
    /// Data group number (1..=16).
    pub number: u8,
    /// The outer LDS tag.
    pub tag: u8,
    /// The full TLV bytes, exactly what the SOD hash covers.
    pub bytes: Vec<u8>,
}

/// Checks the outer TLV of a data group and returns its exact bytes.
pub fn read_data_group(bytes: &[u8]) -> Result<RawDataGroup, LdsError> {
    let (t, _) = parse_tlv(bytes)?;
    let tag = u8::try_from(t.tag).map_err(|_| LdsError::Tlv("data group tag is not 1 byte"))?;
    let number = dg_number(tag).ok_or(LdsError::UnexpectedTag {
        expected: 0x61,
        found: t.tag,
    })?;
    Ok(RawDataGroup {
        number,
        tag,
        bytes: t.raw.to_vec(),
    })
}

/// Image encoding of a face image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// JPEG (`FF D8 FF`).
    Jpeg,
    /// JPEG 2000, JP2 file (`00 00 00 0C 6A 50 20 20`) or raw codestream (`FF 4F FF 51`).
    Jpeg2000,
}

/// Detects JPEG or JPEG 2000 by magic bytes.
pub fn detect_image_format(data: &[u8]) -> Option<ImageFormat> {
    const JP2: [u8; 8] = [0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20];
    if data.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(ImageFormat::Jpeg)
    } else if data.starts_with(&JP2) || data.starts_with(&[0xFF, 0x4F, 0xFF, 0x51]) {
        Some(ImageFormat::Jpeg2000)
    } else {
        None
    }
}

/// The face image found in DG2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaceImage {
    /// JPEG or JPEG 2000.
    pub format: ImageFormat,
    /// Image width from the ISO/IEC 19794-5 image information, when present.
    pub width: Option<u16>,
    /// Image height, when present.
    pub height: Option<u16>,
    /// The encoded image.
    pub data: Vec<u8>,
}

/// Parses DG2 (tag `75`): biometric information group template `7F61`, first biometric
/// information template `7F60`, biometric data block `5F2E` (ISO/IEC 19794-5) or `7F2E`
/// (ISO/IEC 39794-5), and returns the first face image.
pub fn parse_dg2(bytes: &[u8]) -> Result<FaceImage, LdsError> {
    let dg2 = expect_tlv(bytes, 0x75)?;
    let group = find_child(&dg2, 0x7F61)?.ok_or(LdsError::Missing("7F61"))?;
    let bit = find_child(&group, 0x7F60)?.ok_or(LdsError::Missing("7F60"))?;
    let block = bit
        .children()?
        .into_iter()
        .find(|t| t.tag == 0x5F2E || t.tag == 0x7F2E)
        .ok_or(LdsError::Missing("biometric data block 5F2E/7F2E"))?;
    if block.tag == 0x5F2E {
        if let Some(face) = parse_iso19794_5(block.value) {
            return Ok(face);
        }
    }
    // ISO/IEC 39794-5 (or a 19794-5 record we could not walk): locate the image by magic.
    scan_for_image(block.value).ok_or(LdsError::Missing("JPEG or JPEG 2000 image"))
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<usize> {
    let v = u32::from_be_bytes([*b.get(at)?, *b.get(at + 1)?, *b.get(at + 2)?, *b.get(at + 3)?]);
    usize::try_from(v).ok()
}

/// Walks an ISO/IEC 19794-5:2005 facial record to the first image.
fn parse_iso19794_5(rec: &[u8]) -> Option<FaceImage> {
    if !rec.starts_with(b"FAC\0") {
        return None;
    }
    // Facial record header: 14 bytes. Facial information: 20 bytes.
    let info = 14usize;
    let block_len = be32(rec, info)?;
    let feature_points = usize::from(be16(rec, info + 4)?);
    let image_info = info + 20 + feature_points * 8;
    let width = be16(rec, image_info + 2)?;
    let height = be16(rec, image_info + 4)?;
    let start = image_info + 12;
    let end = info.checked_add(block_len)?;
    let data = rec.get(start..end.min(rec.len()))?;
    let format = detect_image_format(data)?;
    Some(FaceImage {
        format,
        width: Some(width),
        height: Some(height),
        data: data.to_vec(),
    })
}

fn scan_for_image(data: &[u8]) -> Option<FaceImage> {
    (0..data.len()).find_map(|i| {
        let tail = data.get(i..)?;
        let format = detect_image_format(tail)?;
        Some(FaceImage {
            format,
            width: None,
            height: None,
            data: tail.to_vec(),
        })
    })
}

/// OID of the LDSSecurityObject content type (id-icao-mrtd-security-ldsSecurityObject).
pub const ID_LDS_SECURITY_OBJECT: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.23.136.1.1.1");
/// OID of CMS SignedData.
pub const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");

/// `LDSVersionInfo ::= SEQUENCE { ldsVersion PrintableString, unicodeVersion PrintableString }`
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub struct LdsVersionInfo {
    /// LDS version, e.g. "0108".
    pub lds_version: PrintableString,
    /// Unicode version.
    pub unicode_version: PrintableString,
}

/// `DataGroupHash ::= SEQUENCE { dataGroupNumber INTEGER, dataGroupHashValue OCTET STRING }`
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub struct DataGroupHash {
    /// Data group number.
    pub data_group_number: u8,
    /// Hash of the whole data group file.
    pub data_group_hash_value: OctetString,
}

/// `LDSSecurityObject` (ICAO 9303 Part 10 §4.6.2).
#[derive(Debug, Clone, PartialEq, Eq, Sequence)]
pub struct LdsSecurityObject {
    /// 0 (V0) or 1 (V1, with `ldsVersionInfo`).
    pub version: u8,
    /// Hash algorithm for the data group hashes.
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// The hashes, one per data group.
    pub data_group_hash_values: Vec<DataGroupHash>,
    /// Present in V1.
    pub lds_version_info: Option<LdsVersionInfo>,
}

/// A parsed EF.SOD.
#[derive(Debug, Clone)]
pub struct Sod {
    /// The CMS SignedData.
    pub signed_data: SignedData,
    /// The DER of the encapsulated LDSSecurityObject (what `messageDigest` covers).
    pub econtent: Vec<u8>,
    /// The decoded LDSSecurityObject.
    pub lds: LdsSecurityObject,
}

impl Sod {
    /// The hash stored for data group `dg`, if any.
    pub fn hash_of(&self, dg: u8) -> Option<&[u8]> {
        self.lds
            .data_group_hash_values
            .iter()
            .find(|h| h.data_group_number == dg)
            .map(|h| h.data_group_hash_value.as_bytes())
    }
}

/// Parses EF.SOD: tag `77` wrapping a CMS ContentInfo of SignedData whose encapsulated
/// content is an LDSSecurityObject.
pub fn parse_sod(bytes: &[u8]) -> Result<Sod, LdsError> {
    let outer = expect_tlv(bytes, 0x77)?;
    let ci = ContentInfo::from_der(outer.value)?;
    if ci.content_type != ID_SIGNED_DATA {
        return Err(LdsError::Sod("content is not SignedData"));
    }
    let signed_data: SignedData = ci.content.decode_as()?;
    let eci = &signed_data.encap_content_info;
    if eci.econtent_type != ID_LDS_SECURITY_OBJECT {
        return Err(LdsError::Sod("encapsulated content is not an LDSSecurityObject"));
    }
    let econtent = eci
        .econtent
        .as_ref()
        .ok_or(LdsError::Sod("no encapsulated content"))?
        .decode_as::<OctetString>()?
        .as_bytes()
        .to_vec();
    let lds = LdsSecurityObject::from_der(&econtent)?;
    Ok(Sod {
        signed_data,
        econtent,
        lds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ef_com_from_appendix_d() {
        let com = parse_ef_com(&[
            0x60, 0x14, 0x5F, 0x01, 0x04, 0x30, 0x31, 0x30, 0x36, 0x5F, 0x36, 0x06, 0x30, 0x34, 0x30, 0x30,
            0x30, 0x30, 0x5C, 0x02, 0x61, 0x75,
        ])
        .unwrap();
        assert_eq!(com.lds_version, "0106");
        assert_eq!(com.unicode_version, "040000");
        assert_eq!(com.tags, vec![0x61, 0x75]);
        assert_eq!(com.data_groups, vec![1, 2]);
        assert_eq!(total_length(&[0x60, 0x14, 0x5F, 0x01]).unwrap(), 22);
    }

    #[test]
    fn tlv_edge_cases() {
        assert!(parse_tlv(&[0x61, 0x05, 1, 2]).is_err());
        assert!(parse_tlv(&[0x5F]).is_err());
        assert!(parse_tlv(&[0x61, 0x85, 0, 0, 0, 0, 1]).is_err());
        let (t, rest) = parse_tlv(&[0x7F, 0x61, 0x81, 0x01, 0xAA, 0xBB]).unwrap();
        assert_eq!(t.tag, 0x7F61);
        assert_eq!(t.value, &[0xAA]);
        assert!(t.is_constructed());
        assert_eq!(rest, &[0xBB]);
        assert_eq!(dg_tag(2), Some(0x75));
        assert_eq!(dg_number(0x6E), Some(14));
        assert_eq!(dg_tag(0), None);
        assert_eq!(dg_file_id(13), Some(0x010D));
    }
}

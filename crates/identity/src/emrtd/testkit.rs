//! Test card issuance: a test CSCA → Document Signer (ECDSA P-256) → EF.SOD over DG1, DG2,
//! DG13, DG14 and DG15, a synthetic JPEG face, Vietnamese DG13 data, and a
//! [`VirtualCard`] holding it all. Options produce the negative cards the verifier must
//! reject. Test-only keys and certificates: never trust them outside tests.

use std::collections::BTreeMap;

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use der::asn1::{Any, OctetString, SetOfVec};
use der::{Decode, Encode};
use p256::ecdsa::SigningKey;
use p256::pkcs8::{DecodePrivateKey, EncodePublicKey};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use sha2::{Digest, Sha256};
use signature::Signer;
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::Certificate;

use super::dg13::Dg13;
use super::lds::{DataGroupHash, LdsSecurityObject, EF_COM, EF_SOD, ID_LDS_SECURITY_OBJECT, ID_SIGNED_DATA};
use super::secinfo::{
    build_dg14, build_dg15, build_security_infos, random_scalar, tlv, SecurityInfo, ECDSA_PLAIN_SHA256,
    ID_CA_ECDH_AES_128, ID_PACE_ECDH_GM_AES_128, ID_PK_ECDH, PARAM_ID_P256,
};
use super::vcard::{VirtualCard, VirtualCardConfig, EF_CARD_ACCESS};
use crate::cccd::Sex;
use crate::mrz::{Mrz, Td1Fields};

/// Test issuance failures (certificate generation, encoding).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("test card issuance: {0}")]
pub struct TestkitError(pub String);

fn err<E: std::fmt::Display>(e: E) -> TestkitError {
    TestkitError(e.to_string())
}

/// What to put on the test card, and how to break it.
#[derive(Debug, Clone)]
pub struct TestCardParams {
    /// The MRZ fields (document number, dates, names).
    pub mrz: Td1Fields,
    /// DG13 content.
    pub dg13: Dg13,
    /// Offer PACE (EF.CardAccess with PACE-ECDH-GM-AES-128 on P-256); BAC is always possible.
    pub pace: bool,
    /// Put a chip authentication key (CA-ECDH-AES-128) into DG14.
    pub chip_authentication: bool,
    /// Put an active authentication key into DG15.
    pub active_authentication: bool,
    /// Width and height of the synthetic face JPEG.
    pub face_size: (u16, u16),
    /// A real portrait for DG2 instead of the synthetic one: (JPEG or JPEG 2000 bytes, width,
    /// height).
    pub face_image: Option<(Vec<u8>, u16, u16)>,
    /// Negative card: change this data group after the SOD was signed.
    pub change_after_signing: Option<u8>,
    /// Negative card: the Document Signer is issued by a CSCA that is not in
    /// [`TestPki::csca_der`].
    pub unknown_csca: bool,
    /// Negative card: a clone whose active authentication private key does not match DG15.
    pub clone_without_aa_key: bool,
}

impl Default for TestCardParams {
    fn default() -> Self {
        TestCardParams {
            mrz: Td1Fields {
                document_code: "ID".into(),
                issuing_state: "VNM".into(),
                document_number: "080012345".into(),
                optional_data: "001080012345".into(),
                birth_date: "800115".into(),
                sex: Some(Sex::Male),
                expiry_date: "400115".into(),
                nationality: "VNM".into(),
                optional_data_2: String::new(),
                primary_identifier: "NGUYEN".into(),
                secondary_identifier: "VAN ANH".into(),
            },
            dg13: Dg13 {
                id_number: "001080012345".into(),
                full_name: "Nguyễn Văn Ánh".into(),
                birth_date: "15/01/1980".into(),
                sex: "Nam".into(),
                nationality: "Việt Nam".into(),
                ethnicity: "Kinh".into(),
                religion: "Không".into(),
                home_town: "Xã Phú Xuân, Huyện Phú Vang, Thừa Thiên Huế".into(),
                residence: "Số 12 Phố Hàng Bạc, Phường Hàng Bạc, Quận Hoàn Kiếm, Hà Nội".into(),
                identifying_marks: "Nốt ruồi C:1cm trên trước mép phải".into(),
                issue_date: "10/07/2021".into(),
                expiry_date: "15/01/2040".into(),
                father_name: "Nguyễn Văn Bình".into(),
                mother_name: "Trần Thị Cúc".into(),
                spouse_name: "Lê Thị Dung".into(),
                old_id_number: "012345678".into(),
                other: Vec::new(),
            },
            pace: true,
            chip_authentication: true,
            active_authentication: true,
            face_size: (240, 320),
            face_image: None,
            change_after_signing: None,
            unknown_csca: false,
            clone_without_aa_key: false,
        }
    }
}

/// What the verifier side needs to know about an issued test card.
#[derive(Debug, Clone)]
pub struct TestPki {
    /// The trusted test CSCA certificate (DER) — the trust list to pass to `verify`.
    pub csca_der: Vec<u8>,
    /// The Document Signer certificate (DER).
    pub ds_der: Vec<u8>,
    /// The MRZ as printed (three lines joined by newlines).
    pub mrz_text: String,
    /// The MRZ information string (BAC/PACE secret).
    pub mrz_information: String,
    /// The face JPEG stored in DG2.
    pub face_jpeg: Vec<u8>,
    /// DG13 as issued (before any negative-card change).
    pub dg13: Dg13,
    /// All files as loaded on the card.
    pub files: BTreeMap<u16, Vec<u8>>,
}

fn ca(cn: &str) -> Result<(rcgen::Certificate, KeyPair), TestkitError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(err)?;
    let mut params = CertificateParams::new(vec![]).map_err(err)?;
    params.distinguished_name.push(DnType::CountryName, "VN");
    params.distinguished_name.push(DnType::CommonName, cn);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    Ok((params.self_signed(&key).map_err(err)?, key))
}

fn document_signer(
    issuer: &rcgen::Certificate,
    issuer_key: &KeyPair,
) -> Result<(Certificate, SigningKey), TestkitError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(err)?;
    let mut params = CertificateParams::new(vec![]).map_err(err)?;
    params.distinguished_name.push(DnType::CountryName, "VN");
    params
        .distinguished_name
        .push(DnType::CommonName, "Test Document Signer");
    let cert = params.signed_by(&key, issuer, issuer_key).map_err(err)?;
    let sk = SigningKey::from_pkcs8_der(&key.serialize_der()).map_err(err)?;
    Ok((Certificate::from_der(cert.der()).map_err(err)?, sk))
}

fn alg(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// Builds EF.SOD (`77` ‖ ContentInfo(SignedData(LDSSecurityObject))) with SHA-256 hashes
/// of `dgs` signed by the Document Signer key (ECDSA P-256, signed attributes).
pub fn build_sod(
    dgs: &[(u8, Vec<u8>)],
    ds: &Certificate,
    ds_key: &SigningKey,
) -> Result<Vec<u8>, TestkitError> {
    let lso = LdsSecurityObject {
        version: 0,
        hash_algorithm: alg(SHA256),
        data_group_hash_values: dgs
            .iter()
            .map(|(n, b)| {
                Ok(DataGroupHash {
                    data_group_number: *n,
                    data_group_hash_value: OctetString::new(Sha256::digest(b).to_vec()).map_err(err)?,
                })
            })
            .collect::<Result<_, TestkitError>>()?,
        lds_version_info: None,
    };
    let econtent = lso.to_der().map_err(err)?;
    let attr = |oid: &str, value: Any| -> Result<Attribute, TestkitError> {
        Ok(Attribute {
            oid: ObjectIdentifier::new(oid).map_err(err)?,
            values: SetOfVec::try_from(vec![value]).map_err(err)?,
        })
    };
    let md = OctetString::new(Sha256::digest(&econtent).to_vec()).map_err(err)?;
    let signed_attrs = SetOfVec::try_from(vec![
        attr(
            "1.2.840.113549.1.9.3",
            Any::encode_from(&ID_LDS_SECURITY_OBJECT).map_err(err)?,
        )?,
        attr("1.2.840.113549.1.9.4", Any::encode_from(&md).map_err(err)?)?,
    ])
    .map_err(err)?;
    let sig: p256::ecdsa::Signature = ds_key.sign(&signed_attrs.to_der().map_err(err)?);
    let signer = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: ds.tbs_certificate.issuer.clone(),
            serial_number: ds.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: alg(SHA256),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: alg(ECDSA_SHA256),
        signature: OctetString::new(sig.to_der().as_bytes().to_vec()).map_err(err)?,
        unsigned_attrs: None,
    };
    let sd = SignedData {
        version: CmsVersion::V3,
        digest_algorithms: SetOfVec::try_from(vec![alg(SHA256)]).map_err(err)?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_LDS_SECURITY_OBJECT,
            econtent: Some(Any::encode_from(&OctetString::new(econtent).map_err(err)?).map_err(err)?),
        },
        certificates: Some(CertificateSet(
            SetOfVec::try_from(vec![CertificateChoices::Certificate(ds.clone())]).map_err(err)?,
        )),
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer]).map_err(err)?),
    };
    let ci = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&sd).map_err(err)?,
    };
    Ok(tlv(&[0x77], &ci.to_der().map_err(err)?))
}

/// A synthetic face-like JPEG (smooth gradients plus a deterministic texture, so that it
/// compresses to roughly the size of a real DG2 portrait: ~15 kB at 240×320).
pub fn synthetic_face_jpeg(width: u16, height: u16) -> Result<Vec<u8>, TestkitError> {
    let (w, h) = (usize::from(width), usize::from(height));
    let mut pixels = Vec::with_capacity(w * h * 3);
    let mut seed: u32 = 0x1234_5678;
    for y in 0..h {
        for x in 0..w {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let noise = (seed >> 24) as i32 % 24 - 12;
            let dx = x as i32 - w as i32 / 2;
            let dy = y as i32 - h as i32 * 2 / 5;
            let face = dx * dx * 4 / 3 + dy * dy < (w as i32 * w as i32) / 8;
            let base: [i32; 3] = if face { [224, 182, 150] } else { [90, 120, 170] };
            let shade = (y as i32 * 40 / h as i32) - 20;
            for c in base {
                pixels.push((c + shade + noise).clamp(0, 255) as u8);
            }
        }
    }
    let mut out = Vec::new();
    let enc = jpeg_encoder::Encoder::new(&mut out, 80);
    enc.encode(&pixels, width, height, jpeg_encoder::ColorType::Rgb)
        .map_err(err)?;
    Ok(out)
}

/// DG2 with one ISO/IEC 19794-5 facial record around `image`.
pub fn build_dg2(image: &[u8], width: u16, height: u16) -> Vec<u8> {
    let block_len = (20 + 12 + image.len()) as u32;
    let mut rec = b"FAC\x00010\x00".to_vec();
    rec.extend((14 + block_len).to_be_bytes());
    rec.extend([0, 1]); // one facial image
    rec.extend(block_len.to_be_bytes());
    rec.extend([0, 0]); // no feature points
    rec.extend([0; 14]); // gender, eyes, hair, features, expression, pose
    rec.extend([1, 0]); // face image type, image data type JPEG
    rec.extend(width.to_be_bytes());
    rec.extend(height.to_be_bytes());
    rec.extend([1, 2, 0, 0, 0, 0]);
    rec.extend_from_slice(image);
    let header = tlv(&[0xA1], &tlv(&[0x80], &[1, 1]));
    let bit = tlv(&[0x7F, 0x60], &[header, tlv(&[0x5F, 0x2E], &rec)].concat());
    let group = tlv(&[0x7F, 0x61], &[tlv(&[0x02], &[1]), bit].concat());
    tlv(&[0x75], &group)
}

impl VirtualCard {
    /// Issues a test card: see [`TestCardParams`] for the options.
    pub fn issue_test_card(params: TestCardParams) -> Result<(VirtualCard, TestPki), TestkitError> {
        let mrz_text = params.mrz.to_text().map_err(err)?;
        let mrz = Mrz::parse(&mrz_text).map_err(err)?;
        let mrz_information = mrz.bac_seed_fields();
        let dg1 = tlv(
            &[0x61],
            &tlv(&[0x5F, 0x1F], mrz_text.replace('\n', "").as_bytes()),
        );
        let (face_jpeg, w, h) = match params.face_image.clone() {
            Some(face) => face,
            None => {
                let (w, h) = params.face_size;
                (synthetic_face_jpeg(w, h)?, w, h)
            }
        };
        let dg2 = build_dg2(&face_jpeg, w, h);
        let dg13 = params.dg13.encode();

        let mut dgs = vec![(1u8, dg1), (2, dg2), (13, dg13)];
        let mut ca_key = None;
        let mut infos = Vec::new();
        if params.chip_authentication {
            let sk = random_scalar();
            let pk = p256::PublicKey::from_secret_scalar(&sk);
            let spki = pk.to_public_key_der().map_err(err)?;
            infos.push(SecurityInfo::ChipAuthentication {
                protocol: ID_CA_ECDH_AES_128,
                version: 1,
                key_id: None,
            });
            infos.push(SecurityInfo::ChipAuthenticationPublicKey {
                protocol: ID_PK_ECDH,
                public_key: spki.as_bytes().to_vec(),
                key_id: None,
            });
            ca_key = Some((ID_CA_ECDH_AES_128, sk));
        }
        let mut aa_key = None;
        if params.active_authentication {
            let sk = SigningKey::random(&mut rand::rngs::OsRng);
            let spki = sk.verifying_key().to_public_key_der().map_err(err)?;
            infos.push(SecurityInfo::ActiveAuthentication {
                version: 1,
                signature_algorithm: ECDSA_PLAIN_SHA256,
            });
            dgs.push((15, build_dg15(spki.as_bytes())));
            aa_key = Some(if params.clone_without_aa_key {
                SigningKey::random(&mut rand::rngs::OsRng)
            } else {
                sk
            });
        }
        if !infos.is_empty() {
            dgs.push((14, build_dg14(&infos).map_err(err)?));
        }
        dgs.sort_by_key(|(n, _)| *n);

        let (csca, csca_key) = ca("Test CSCA Viet Nam")?;
        let (ds, ds_key) = if params.unknown_csca {
            let (rogue, rogue_key) = ca("Rogue CSCA")?;
            document_signer(&rogue, &rogue_key)?
        } else {
            document_signer(&csca, &csca_key)?
        };
        let sod = build_sod(&dgs, &ds, &ds_key)?;

        if let Some(n) = params.change_after_signing {
            for (dg, bytes) in dgs.iter_mut().filter(|(dg, _)| *dg == n) {
                if *dg == 13 {
                    let mut d = params.dg13.clone();
                    d.full_name = "Trần Thị Giả".into();
                    *bytes = d.encode();
                } else if let Some(last) = bytes.last_mut() {
                    *last ^= 0x01;
                }
            }
        }

        let mut files = BTreeMap::new();
        let tags: Vec<u8> = dgs.iter().filter_map(|(n, _)| super::lds::dg_tag(*n)).collect();
        let com_body = [
            tlv(&[0x5F, 0x01], b"0107"),
            tlv(&[0x5F, 0x36], b"040000"),
            tlv(&[0x5C], &tags),
        ]
        .concat();
        files.insert(EF_COM, tlv(&[0x60], &com_body));
        for (n, bytes) in &dgs {
            files.insert(0x0100 | u16::from(*n), bytes.clone());
        }
        files.insert(EF_SOD, sod);
        let pace_protocol = params.pace.then_some(ID_PACE_ECDH_GM_AES_128);
        if params.pace {
            files.insert(
                EF_CARD_ACCESS,
                build_security_infos(&[SecurityInfo::Pace {
                    protocol: ID_PACE_ECDH_GM_AES_128,
                    version: 2,
                    parameter_id: Some(PARAM_ID_P256),
                }])
                .map_err(err)?,
            );
        }
        let card = VirtualCard::new(VirtualCardConfig {
            files: files.clone(),
            mrz_information: mrz_information.clone(),
            pace_protocol,
            chip_authentication: ca_key,
            active_authentication: aa_key,
        });
        Ok((
            card,
            TestPki {
                csca_der: csca.der().to_vec(),
                ds_der: ds.to_der().map_err(err)?,
                mrz_text,
                mrz_information,
                face_jpeg,
                dg13: params.dg13,
                files,
            },
        ))
    }
}

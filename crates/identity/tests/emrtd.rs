//! ICAO Doc 9303 Part 11 Appendix D worked example (BAC and 3DES secure messaging),
//! reproduced byte for byte, plus LDS parsing and passive authentication tests.

use banso_identity::emrtd::bac::GET_CHALLENGE;
use banso_identity::emrtd::crypto::{kdf, pad, retail_mac, tdes_cbc_encrypt, Cipher};
use banso_identity::emrtd::{mrz_information, Apdu, BacKeys, BacSession, Response};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).unwrap()
}

fn arr<const N: usize>(s: &str) -> [u8; N] {
    h(s).try_into().unwrap()
}

// D.2 — document basic access keys.
#[test]
fn appendix_d2_key_derivation() {
    let info = mrz_information("L898902C", "690806", "940623").unwrap();
    assert_eq!(info, "L898902C<369080619406236");
    let keys = BacKeys::from_mrz_information(&info);
    assert_eq!(keys.seed.to_vec(), h("239AB9CB282DAF66231DC5A4DF6BFBAE"));
    assert_eq!(keys.enc, h("AB94FDECF2674FDFB9B391F85D7F76F2"));
    assert_eq!(keys.mac, h("7962D9ECE03D1ACD4C76089DCE131543"));
}

fn appendix_session() -> BacSession {
    let keys = BacKeys::from_mrz_information("L898902C<369080619406236");
    BacSession::new(
        keys,
        arr("781723860C06C226"),
        arr("0B795240CB7049B01C19B33E32804F0B"),
    )
}

const CARD_RESPONSE: &str = "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F\
                             2F2D235D074D7449";

// D.3 — authentication and establishment of session keys.
#[test]
fn appendix_d3_mutual_authentication() {
    assert_eq!(GET_CHALLENGE.to_vec(), h("0084000008"));
    let rnd_ic: [u8; 8] = arr("4608F91988702212");
    let mut session = appendix_session();
    assert_eq!(
        session.s(&rnd_ic).to_vec(),
        h("781723860C06C2264608F919887022120B795240CB7049B01C19B33E32804F0B")
    );
    // E_IFD and M_IFD recomputed from the primitives, then the command data as a whole.
    let keys = BacKeys::from_mrz_information("L898902C<369080619406236");
    let e_ifd = tdes_cbc_encrypt(&keys.enc, &[0; 8], &session.s(&rnd_ic)).unwrap();
    assert_eq!(
        e_ifd,
        h("72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2")
    );
    assert_eq!(
        retail_mac(&keys.mac, &pad(&e_ifd, 8)).unwrap().to_vec(),
        h("5F1448EEA8AD90A7")
    );
    let cmd_data = session.external_authenticate_data(rnd_ic).unwrap();
    assert_eq!(
        cmd_data,
        h("72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2 5F1448EEA8AD90A7")
    );
    let mut session2 = appendix_session();
    let apdu = session2.external_authenticate_apdu(rnd_ic).unwrap();
    assert_eq!(
        apdu,
        h(
            "0082000028 72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2 \
           5F1448EEA8AD90A7 28"
        )
    );

    // The card's response: MAC verified, decrypted, nonces checked.
    let result = session.finish(&h(CARD_RESPONSE)).unwrap();
    assert_eq!(result.k_ic.to_vec(), h("0B4F80323EB3191CB04970CB4052790B"));
    assert_eq!(
        result.session_seed.to_vec(),
        h("0036D272F5C350ACAC50C3F572D23600")
    );
    assert_eq!(result.channel.cipher, Cipher::ThreeDes);
    assert_eq!(result.channel.enc, h("979EC13B1CBFE9DCD01AB0FED307EAE5"));
    assert_eq!(result.channel.mac, h("F1CB1F1FB5ADF208806B89DC579DC1F8"));
    assert_eq!(result.channel.ssc, h("887022120C06C226"));
    // The session keys are the KDF of K_seed'.
    assert_eq!(kdf(&result.session_seed, 1, Cipher::ThreeDes), result.channel.enc);
}

#[test]
fn bac_rejects_bad_card_responses() {
    let rnd_ic: [u8; 8] = arr("4608F91988702212");
    // MAC broken.
    let mut s = appendix_session();
    s.external_authenticate_data(rnd_ic).unwrap();
    let mut bad = h(CARD_RESPONSE);
    *bad.last_mut().unwrap() ^= 1;
    assert!(matches!(
        s.finish(&bad),
        Err(banso_identity::emrtd::BacError::Mac)
    ));
    // Wrong length.
    assert!(s.finish(&bad[..32]).is_err());
    // A different RND.IC than the one the card encrypted: nonce check fails.
    let mut s = appendix_session();
    s.external_authenticate_data(arr("4608F91988702213")).unwrap();
    assert!(matches!(
        s.finish(&h(CARD_RESPONSE)),
        Err(banso_identity::emrtd::BacError::Challenge)
    ));
    // finish before the challenge.
    assert!(appendix_session().finish(&h(CARD_RESPONSE)).is_err());
}

// D.4 — secure messaging: SELECT EF.COM, READ BINARY 4 bytes, READ BINARY the rest.
#[test]
fn appendix_d4_secure_messaging() {
    let mut session = appendix_session();
    session
        .external_authenticate_data(arr("4608F91988702212"))
        .unwrap();
    let mut sm = session.finish(&h(CARD_RESPONSE)).unwrap().channel;

    // SELECT EF.COM.
    let select = Apdu::select_ef(0x011E);
    assert_eq!(select.to_bytes().unwrap(), h("00A4020C02011E"));
    let protected = sm.protect(&select).unwrap();
    assert_eq!(sm.ssc, h("887022120C06C227"));
    assert_eq!(
        protected.to_bytes().unwrap(),
        h("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800")
    );
    let resp = sm.unprotect(&h("990290008E08FA855A5D4C50A8ED9000")).unwrap();
    assert_eq!(sm.ssc, h("887022120C06C228"));
    assert_eq!(
        resp,
        Response {
            data: vec![],
            sw: 0x9000
        }
    );

    // READ BINARY of the first four bytes.
    let rb = sm
        .protect_bytes(&Apdu::read_binary(0, 4).to_bytes().unwrap())
        .unwrap();
    assert_eq!(sm.ssc, h("887022120C06C229"));
    assert_eq!(rb, h("0CB000000D9701048E08ED6705417E96BA5500"));
    let resp = sm
        .unprotect(&h("8709019FF0EC34F9922651990290008E08AD55CC17140B2DED9000"))
        .unwrap();
    assert_eq!(sm.ssc, h("887022120C06C22A"));
    assert_eq!(resp.data, h("60145F01"));
    assert!(resp.is_ok());

    // READ BINARY of the remaining 0x12 bytes from offset 4.
    let rb = sm.protect(&Apdu::read_binary(4, 0x12)).unwrap();
    assert_eq!(sm.ssc, h("887022120C06C22B"));
    assert_eq!(
        rb.to_bytes().unwrap(),
        h("0CB000040D9701128E082EA28A70F3C7B53500")
    );
    let resp = sm
        .unprotect(&h(
            "871901FB9235F4E4037F2327DCC8964F1F9B8C30F42C8E2FFF224A990290008E08C8B2787EAEA07D749000",
        ))
        .unwrap();
    assert_eq!(sm.ssc, h("887022120C06C22C"));
    assert_eq!(resp.data, h("04303130365F36063034303030305C026175"));

    let mut ef_com = h("60145F01");
    ef_com.extend(resp.data);
    assert_eq!(ef_com, h("60145F0104303130365F36063034303030305C026175"));
}

#[test]
fn sm_rejects_replayed_response() {
    let mut session = appendix_session();
    session
        .external_authenticate_data(arr("4608F91988702212"))
        .unwrap();
    let mut sm = session.finish(&h(CARD_RESPONSE)).unwrap().channel;
    sm.protect(&Apdu::select_ef(0x011E)).unwrap();
    let select_resp = h("990290008E08FA855A5D4C50A8ED9000");
    sm.unprotect(&select_resp).unwrap();
    sm.protect(&Apdu::read_binary(0, 4)).unwrap();
    // Replaying the SELECT answer to the READ BINARY fails: the SSC moved on.
    assert_eq!(
        sm.unprotect(&select_resp),
        Err(banso_identity::emrtd::SmError::Mac)
    );
}

// ---------------------------------------------------------------------------------------
// LDS and passive authentication with a SOD built here: test CSCA → Document Signer.

mod pa {
    use banso_identity::emrtd::lds::{
        parse_dg1, parse_dg2, parse_sod, read_data_group, ImageFormat, ID_LDS_SECURITY_OBJECT, ID_SIGNED_DATA,
    };
    use banso_identity::emrtd::pa::{passive_authentication, CheckStatus};
    use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
    use cms::content_info::{CmsVersion, ContentInfo};
    use cms::signed_data::{
        CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
    };
    use const_oid::ObjectIdentifier;
    use der::asn1::{Any, OctetString, SetOfVec};
    use der::{Decode, Encode};
    use p256::pkcs8::DecodePrivateKey;
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
    use sha2::{Digest, Sha256};
    use signature::Signer;
    use spki::AlgorithmIdentifierOwned;
    use x509_cert::attr::Attribute;
    use x509_cert::Certificate;

    const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
    const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

    fn tlv(tag: &[u8], value: &[u8]) -> Vec<u8> {
        let mut out = tag.to_vec();
        let n = value.len();
        if n < 0x80 {
            out.push(n as u8);
        } else if n < 0x100 {
            out.extend([0x81, n as u8]);
        } else {
            out.extend([0x82, (n >> 8) as u8, n as u8]);
        }
        out.extend_from_slice(value);
        out
    }

    const MRZ: &str =
        "IDVNM0123456789000123456789<<<8001014M3001012VNM<<<<<<<<<<<0NGUYEN<<VAN<A<<<<<<<<<<<<<<<<<<";

    fn dg1() -> Vec<u8> {
        tlv(&[0x61], &tlv(&[0x5F, 0x1F], MRZ.as_bytes()))
    }

    fn fake_jpeg() -> Vec<u8> {
        let mut j = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F'];
        j.extend([0x42; 40]);
        j.extend([0xFF, 0xD9]);
        j
    }

    /// DG2 with an ISO/IEC 19794-5 facial record around `image`.
    fn dg2(image: &[u8]) -> Vec<u8> {
        let mut face_info = Vec::new();
        let block_len = (20 + 12 + image.len()) as u32;
        face_info.extend(block_len.to_be_bytes());
        face_info.extend([0, 0]); // no feature points
        face_info.extend([0; 14]); // gender .. pose uncertainty
        let mut image_info = vec![1, 0];
        image_info.extend(480u16.to_be_bytes());
        image_info.extend(640u16.to_be_bytes());
        image_info.extend([1, 2, 0, 0, 0, 0]);
        let mut rec = b"FAC\x00010\x00".to_vec();
        rec.extend((14 + block_len).to_be_bytes());
        rec.extend([0, 1]);
        rec.extend(face_info);
        rec.extend(image_info);
        rec.extend_from_slice(image);
        let header = tlv(&[0xA1], &tlv(&[0x80], &[1, 1]));
        let bit = tlv(&[0x7F, 0x60], &[header, tlv(&[0x5F, 0x2E], &rec)].concat());
        let group = tlv(&[0x7F, 0x61], &[tlv(&[0x02], &[1]), bit].concat());
        tlv(&[0x75], &group)
    }

    fn ca(cn: &str) -> (rcgen::Certificate, KeyPair) {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::new(vec![]).unwrap();
        params.distinguished_name.push(DnType::CountryName, "VN");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        (params.self_signed(&key).unwrap(), key)
    }

    fn document_signer(
        issuer: &rcgen::Certificate,
        issuer_key: &KeyPair,
    ) -> (Certificate, p256::ecdsa::SigningKey) {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::new(vec![]).unwrap();
        params.distinguished_name.push(DnType::CountryName, "VN");
        params
            .distinguished_name
            .push(DnType::CommonName, "Test Document Signer");
        let cert = params.signed_by(&key, issuer, issuer_key).unwrap();
        let sk = p256::ecdsa::SigningKey::from_pkcs8_der(&key.serialize_der()).unwrap();
        (Certificate::from_der(cert.der()).unwrap(), sk)
    }

    fn alg(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid,
            parameters: None,
        }
    }

    /// Builds EF.SOD: `77` ‖ ContentInfo(SignedData(LDSSecurityObject over `dgs`)).
    fn build_sod(dgs: &[(u8, Vec<u8>)], ds: &Certificate, ds_key: &p256::ecdsa::SigningKey) -> Vec<u8> {
        // LDSSecurityObject V0 written by hand with the lds types.
        let lso = banso_identity::emrtd::lds::LdsSecurityObject {
            version: 0,
            hash_algorithm: alg(SHA256),
            data_group_hash_values: dgs
                .iter()
                .map(|(n, b)| banso_identity::emrtd::lds::DataGroupHash {
                    data_group_number: *n,
                    data_group_hash_value: OctetString::new(Sha256::digest(b).to_vec()).unwrap(),
                })
                .collect(),
            lds_version_info: None,
        };
        let econtent = lso.to_der().unwrap();
        let attr = |oid: &str, value: Any| Attribute {
            oid: ObjectIdentifier::new_unwrap(oid),
            values: SetOfVec::try_from(vec![value]).unwrap(),
        };
        let signed_attrs = SetOfVec::try_from(vec![
            attr(
                "1.2.840.113549.1.9.3",
                Any::encode_from(&ID_LDS_SECURITY_OBJECT).unwrap(),
            ),
            attr(
                "1.2.840.113549.1.9.4",
                Any::encode_from(&OctetString::new(Sha256::digest(&econtent).to_vec()).unwrap()).unwrap(),
            ),
        ])
        .unwrap();
        let sig: p256::ecdsa::Signature = ds_key.sign(&signed_attrs.to_der().unwrap());
        let signer = SignerInfo {
            version: CmsVersion::V1,
            sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
                issuer: ds.tbs_certificate.issuer.clone(),
                serial_number: ds.tbs_certificate.serial_number.clone(),
            }),
            digest_alg: alg(SHA256),
            signed_attrs: Some(signed_attrs),
            signature_algorithm: alg(ECDSA_SHA256),
            signature: OctetString::new(sig.to_der().as_bytes().to_vec()).unwrap(),
            unsigned_attrs: None,
        };
        let sd = SignedData {
            version: CmsVersion::V3,
            digest_algorithms: SetOfVec::try_from(vec![alg(SHA256)]).unwrap(),
            encap_content_info: EncapsulatedContentInfo {
                econtent_type: ID_LDS_SECURITY_OBJECT,
                econtent: Some(Any::encode_from(&OctetString::new(econtent).unwrap()).unwrap()),
            },
            certificates: Some(CertificateSet(
                SetOfVec::try_from(vec![CertificateChoices::Certificate(ds.clone())]).unwrap(),
            )),
            crls: None,
            signer_infos: SignerInfos(SetOfVec::try_from(vec![signer]).unwrap()),
        };
        let ci = ContentInfo {
            content_type: ID_SIGNED_DATA,
            content: Any::encode_from(&sd).unwrap(),
        };
        tlv(&[0x77], &ci.to_der().unwrap())
    }

    struct Fixture {
        csca_der: Vec<u8>,
        sod: Vec<u8>,
        dgs: Vec<(u8, Vec<u8>)>,
    }

    fn fixture() -> Fixture {
        let (csca, csca_key) = ca("Test CSCA Viet Nam");
        let (ds, ds_key) = document_signer(&csca, &csca_key);
        let dgs = vec![(1, dg1()), (2, dg2(&fake_jpeg()))];
        let sod = build_sod(&dgs, &ds, &ds_key);
        Fixture {
            csca_der: csca.der().to_vec(),
            sod,
            dgs,
        }
    }

    #[test]
    fn lds_parsers_read_the_constructed_files() {
        let f = fixture();
        assert_eq!(parse_dg1(&f.dgs[0].1).unwrap(), MRZ);
        let face = parse_dg2(&f.dgs[1].1).unwrap();
        assert_eq!(face.format, ImageFormat::Jpeg);
        assert_eq!(face.data, fake_jpeg());
        assert_eq!((face.width, face.height), (Some(480), Some(640)));
        // JPEG 2000 by magic.
        let mut jp2 = vec![0, 0, 0, 0x0C, 0x6A, 0x50, 0x20, 0x20, 0x0D, 0x0A, 0x87, 0x0A];
        jp2.extend([7; 20]);
        assert_eq!(parse_dg2(&dg2(&jp2)).unwrap().format, ImageFormat::Jpeg2000);
        // Raw reader trims trailing bytes and knows the DG number.
        let mut padded = f.dgs[1].1.clone();
        padded.extend([0xFF; 5]);
        let raw = read_data_group(&padded).unwrap();
        assert_eq!((raw.number, raw.tag), (2, 0x75));
        assert_eq!(raw.bytes, f.dgs[1].1);
        let sod = parse_sod(&f.sod).unwrap();
        assert_eq!(sod.lds.data_group_hash_values.len(), 2);
        assert_eq!(
            sod.hash_of(1).unwrap(),
            Sha256::digest(&f.dgs[0].1).to_vec().as_slice()
        );
        assert!(parse_sod(&f.dgs[0].1).is_err());
    }

    #[test]
    fn passive_authentication_passes_for_a_genuine_sod() {
        let f = fixture();
        let report = passive_authentication(&f.sod, &f.dgs, std::slice::from_ref(&f.csca_der));
        assert!(report.passed(), "{report:#?}");
        assert_eq!(report.data_groups.len(), 2);
        assert!(report.document_signer.unwrap().contains("Test Document Signer"));
        assert!(report.csca.unwrap().contains("Test CSCA Viet Nam"));
    }

    #[test]
    fn changed_data_group_fails_the_hash_check_only() {
        let f = fixture();
        let mut dgs = f.dgs.clone();
        let last = dgs[0].1.len() - 2;
        dgs[0].1[last] = b'X'; // alter the MRZ after signing
        let report = passive_authentication(&f.sod, &dgs, std::slice::from_ref(&f.csca_der));
        assert!(!report.passed());
        assert_eq!(
            report.data_group_hashes,
            CheckStatus::Failed("DG1 hash does not match the SOD".into())
        );
        assert!(report.data_groups[1].status.is_passed());
        assert!(report.sod_signature.is_passed());
        assert!(report.certificate_chain.is_passed());
        // A data group the SOD does not list, and DG contents swapped between numbers.
        let report = passive_authentication(&f.sod, &[(3, dg1())], std::slice::from_ref(&f.csca_der));
        assert!(!report.data_group_hashes.is_passed());
        let report = passive_authentication(&f.sod, &[], std::slice::from_ref(&f.csca_der));
        assert!(!report.data_group_hashes.is_passed());
    }

    #[test]
    fn unknown_csca_fails_the_chain_check_only() {
        let f = fixture();
        let (other, other_key) = ca("Rogue CSCA");
        let (ds, ds_key) = document_signer(&other, &other_key);
        let sod = build_sod(&f.dgs, &ds, &ds_key);
        let report = passive_authentication(&sod, &f.dgs, std::slice::from_ref(&f.csca_der));
        assert!(!report.passed());
        assert!(report.data_group_hashes.is_passed());
        assert!(report.sod_signature.is_passed());
        assert!(
            matches!(&report.certificate_chain, CheckStatus::Failed(r) if r.contains("no CSCA root")),
            "{report:#?}"
        );
        // Same subject name as the trusted CSCA but a different key: signature check fails.
        let (impostor, impostor_key) = ca("Test CSCA Viet Nam");
        let (ds, ds_key) = document_signer(&impostor, &impostor_key);
        let sod = build_sod(&f.dgs, &ds, &ds_key);
        let report = passive_authentication(&sod, &f.dgs, std::slice::from_ref(&f.csca_der));
        assert!(
            matches!(&report.certificate_chain, CheckStatus::Failed(r) if r.contains("does not verify")),
            "{report:#?}"
        );
    }

    #[test]
    fn tampered_signature_fails_the_signature_check() {
        let f = fixture();
        // Flip a byte inside the LDSSecurityObject hash of DG2 and recompute nothing:
        // messageDigest no longer matches.
        let sod = parse_sod(&f.sod).unwrap();
        let h2 = sod.hash_of(2).unwrap().to_vec();
        let pos = f.sod.windows(h2.len()).position(|w| w == h2.as_slice()).unwrap();
        let mut bad = f.sod.clone();
        bad[pos] ^= 1;
        let report = passive_authentication(&bad, &f.dgs[..1], std::slice::from_ref(&f.csca_der));
        assert!(report.data_group_hashes.is_passed());
        assert!(
            matches!(&report.sod_signature, CheckStatus::Failed(r) if r.contains("message-digest")),
            "{report:#?}"
        );
        // Garbage is reported as a parse failure, the other checks not run.
        let report = passive_authentication(&[0x77, 0x02, 0x30, 0x00], &f.dgs, &[]);
        assert!(!report.sod_parsed.is_passed());
        assert!(matches!(report.sod_signature, CheckStatus::NotRun(_)));
    }
}

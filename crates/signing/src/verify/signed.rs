//! The CMS SignedData of a signature, read with the `cms` crate, and its integrity: the message digest and the
//! signature value over the signed attributes.
use super::*;

/// A CMS SignedData read with the `cms` crate: its first SignerInfo, and the certificates and CRLs it
/// carries as DER.
pub(super) struct Cms {
    pub(super) signed: SignedData,
    pub(super) info: SignerInfo,
    pub(super) certificates: Vec<Vec<u8>>,
    pub(super) crls: Vec<Vec<u8>>,
}

impl Cms {
    pub(super) fn sig_alg(&self) -> &[u8] {
        self.info.signature_algorithm.oid.as_bytes()
    }

    pub(super) fn signature(&self) -> &[u8] {
        self.info.signature.as_bytes()
    }
}

/// The first DER element of `bytes`: a /Contents value is zero-padded after its CMS.
pub fn first_element(bytes: &[u8]) -> Option<&[u8]> {
    use der::Reader as _;
    der::SliceReader::new(bytes).ok()?.tlv_bytes().ok()
}

/// The certificates a CMS SignedData carries (e.g. a signature's /Contents, padding allowed), as received:
/// listed without decoding the SignedData.
pub fn cms_certificates(der: &[u8]) -> Vec<Vec<u8>> {
    let Some(der) = first_element(der) else {
        return Vec::new();
    };
    crate::bounds::cms_certificate_elements(der)
        .unwrap_or_default()
        .into_iter()
        // A certificate is a SEQUENCE; the other choices are tagged.
        .filter(|c| c.first().and_then(|&b| der::Tag::try_from(b).ok()) == Some(der::Tag::Sequence))
        .map(<[u8]>::to_vec)
        .collect()
}

pub(super) fn parse_cms(padded: &[u8]) -> Option<Cms> {
    let der = first_element(padded)?;
    crate::bounds::check(der).ok()?;
    let content_info = cms::content_info::ContentInfo::from_der(der).ok()?;
    if content_info.content_type != oid::SIGNED_DATA {
        return None;
    }
    let signed: SignedData = content_info.content.decode_as().ok()?;
    let info = signed.signer_infos.0.iter().next()?.clone();
    let certificates = signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|choice| match choice {
            CertificateChoices::Certificate(cert) => cert.to_der().ok(),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    let crls = signed
        .crls
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|choice| match choice {
            RevocationInfoChoice::Crl(crl) => crl.to_der().ok(),
            RevocationInfoChoice::Other(_) => None,
        })
        .collect();
    Some(Cms {
        signed,
        info,
        certificates,
        crls,
    })
}

/// The first value of attribute `id`.
pub(super) fn attribute(attrs: &Attributes, id: Oid) -> Option<&der::Any> {
    attrs.iter().find(|a| a.oid == id)?.values.iter().next()
}

pub(super) fn find_signer<'a>(cms: &Cms, certs: &[CertView<'a>]) -> Option<CertView<'a>> {
    let found = match &cms.info.sid {
        SignerIdentifier::IssuerAndSerialNumber(id) => {
            let serial = id.serial_number.as_bytes();
            certs
                .iter()
                .find(|c| *c.issuer() == id.issuer && c.serial() == serial)
        }
        SignerIdentifier::SubjectKeyIdentifier(id) => certs
            .iter()
            .find(|c| c.subject_key_id.as_deref() == Some(id.0.as_bytes())),
    };
    found.cloned()
}

pub(super) fn check_integrity(
    cms: &Cms,
    signer: Option<&CertView<'_>>,
    digest_alg: Option<HashAlg>,
    content_digest: Option<&[u8]>,
) -> Check {
    let Some(digest_alg) = digest_alg else {
        return Check::fail(
            reason::UNSUPPORTED_ALGORITHM,
            "the digest algorithm is not supported",
        );
    };
    if cms.signed.encap_content_info.econtent.is_some() {
        return Check::fail(
            reason::UNSUPPORTED_ALGORITHM,
            "the signature encapsulates its content (not detached)",
        );
    }
    let Some(content_digest) = content_digest else {
        return Check::fail(
            reason::DIGEST_MISMATCH,
            "the ByteRange cannot be read from this file",
        );
    };
    let Some(signer) = signer else {
        return Check::fail(
            reason::BAD_SIGNATURE,
            "the signer certificate is not in the signature",
        );
    };
    let Some(key) = signer.public_key() else {
        return Check::fail(
            reason::UNSUPPORTED_ALGORITHM,
            "the signer's public key type is not supported",
        );
    };
    let sig_hash = hash_of_signature_alg(cms.sig_alg()).unwrap_or(digest_alg);
    match &cms.info.signed_attrs {
        Some(attrs) => {
            let Some(md) = attribute(attrs, oid::ATTR_MESSAGE_DIGEST) else {
                return Check::fail(
                    reason::MALFORMED_SIGNATURE,
                    "the message-digest attribute is missing",
                );
            };
            if md.tag() != der::Tag::OctetString || md.value() != content_digest {
                return Check::fail(
                    reason::DIGEST_MISMATCH,
                    "the signed digest differs from the digest of the signed bytes: the file was changed",
                );
            }
            // The signature covers the DER of the attributes as a SET OF, not with their [0] tag
            // (RFC 5652 §5.4). DER has one encoding per value, so re-encoding gives the signed octets;
            // attributes sent in another encoding fail the check below.
            let Ok(to_verify) = attrs.to_der() else {
                return Check::fail(reason::MALFORMED_SIGNATURE, "the signed attributes do not encode");
            };
            if !key.verify(cms.sig_alg(), sig_hash, &to_verify, cms.signature()) {
                return Check::fail(
                    reason::BAD_SIGNATURE,
                    "the signature value does not verify with the signer's key",
                );
            }
            if let Some(v2) = attribute(attrs, oid::ATTR_SIGNING_CERTIFICATE_V2) {
                if let Err(detail) = crate::ess::check_signing_certificate_v2(v2, signer) {
                    return Check::fail(reason::SIGNING_CERTIFICATE_MISMATCH, detail);
                }
            }
        }
        None => {
            if sig_hash != digest_alg
                || !key.verify_prehashed(cms.sig_alg(), sig_hash, content_digest, cms.signature())
            {
                return Check::fail(
                    reason::BAD_SIGNATURE,
                    "the signature value does not verify with the signer's key",
                );
            }
        }
    }
    Check::pass("the signed bytes are unchanged and the signature value verifies")
}

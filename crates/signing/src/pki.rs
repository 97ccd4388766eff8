//! The development PKI generated on first start.
use crate::verify::TrustStore;
use crate::{SigningError, SoftwareSigner};

/// Names used in the generated certificates.
#[derive(Debug, Clone)]
pub struct PkiNames {
    pub country: String,
    pub organization: String,
    pub root_cn: String,
    pub issuing_cn: String,
    pub seal_cn: String,
}

/// A generated hierarchy, all as PEM. Private keys are PKCS#8.
#[derive(Clone)]
pub struct DevPki {
    pub root_cert_pem: String,
    pub root_key_pem: String,
    pub issuing_cert_pem: String,
    pub issuing_key_pem: String,
    pub seal_cert_pem: String,
    pub seal_key_pem: String,
}

impl std::fmt::Debug for DevPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevPki").finish_non_exhaustive()
    }
}

impl DevPki {
    /// Root CA (20 years) → issuing CA (10 years) → organisation seal (3 years, keyUsage digitalSignature +
    /// nonRepudiation), ECDSA P-256, valid from `now` minus one hour.
    pub fn generate(names: &PkiNames, now: time::OffsetDateTime) -> Result<Self, SigningError> {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair, KeyUsagePurpose};
        let not_before = now - time::Duration::hours(1);
        let base = |cn: &str, years: i64| -> Result<CertificateParams, SigningError> {
            let mut params = CertificateParams::default();
            params.not_before = not_before;
            params.not_after = not_before + time::Duration::days(years * 365 + years / 4);
            params.serial_number = Some(random_serial());
            params.distinguished_name = distinguished_name(names, cn)?;
            Ok(params)
        };
        let err = |what: &str| {
            let what = what.to_string();
            move |e: rcgen::Error| SigningError::Certificate(format!("{what}: {e}"))
        };

        let root_key = KeyPair::generate().map_err(err("root key"))?;
        let mut root = base(&names.root_cn, 20)?;
        root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let root_cert = root.self_signed(&root_key).map_err(err("root certificate"))?;

        let issuing_key = KeyPair::generate().map_err(err("issuing key"))?;
        let mut issuing = base(&names.issuing_cn, 10)?;
        issuing.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        issuing.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        issuing.use_authority_key_identifier_extension = true;
        let issuing_cert = issuing
            .signed_by(&issuing_key, &root_cert, &root_key)
            .map_err(err("issuing certificate"))?;

        let seal_key = KeyPair::generate().map_err(err("seal key"))?;
        let mut seal = base(&names.seal_cn, 3)?;
        seal.is_ca = IsCa::ExplicitNoCa;
        seal.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ];
        seal.use_authority_key_identifier_extension = true;
        let seal_cert = seal
            .signed_by(&seal_key, &issuing_cert, &issuing_key)
            .map_err(err("seal certificate"))?;

        Ok(Self {
            root_cert_pem: root_cert.pem(),
            root_key_pem: root_key.serialize_pem(),
            issuing_cert_pem: issuing_cert.pem(),
            issuing_key_pem: issuing_key.serialize_pem(),
            seal_cert_pem: seal_cert.pem(),
            seal_key_pem: seal_key.serialize_pem(),
        })
    }

    /// The seal certificate chain as PEM: seal, issuing CA, root.
    pub fn seal_chain_pem(&self) -> String {
        format!(
            "{}{}{}",
            self.seal_cert_pem, self.issuing_cert_pem, self.root_cert_pem
        )
    }

    /// A software signer with the seal key and its full chain.
    pub fn seal_signer(&self) -> Result<SoftwareSigner, SigningError> {
        SoftwareSigner::from_pem(&self.seal_key_pem, &self.seal_chain_pem())
    }

    /// A trust store holding only this hierarchy's root.
    pub fn trust_store(&self) -> Result<TrustStore, SigningError> {
        TrustStore::from_pem(&self.root_cert_pem)
    }

    /// The DER of the root certificate.
    pub fn root_cert_der(&self) -> Result<Vec<u8>, SigningError> {
        first_certificate(&self.root_cert_pem)
    }

    /// The DER of the seal certificate.
    pub fn seal_cert_der(&self) -> Result<Vec<u8>, SigningError> {
        first_certificate(&self.seal_cert_pem)
    }
}

fn first_certificate(pem_text: &str) -> Result<Vec<u8>, SigningError> {
    crate::pem::decode_certificates(pem_text)
        .map_err(SigningError::Certificate)?
        .into_iter()
        .next()
        .ok_or_else(|| SigningError::Certificate("no CERTIFICATE block".into()))
}

fn distinguished_name(names: &PkiNames, cn: &str) -> Result<rcgen::DistinguishedName, SigningError> {
    use rcgen::{DnType, DnValue};
    let mut dn = rcgen::DistinguishedName::new();
    if !names.country.is_empty() {
        let country = rcgen::PrintableString::try_from(names.country.as_str())
            .map_err(|e| SigningError::Certificate(format!("country {:?}: {e}", names.country)))?;
        dn.push(DnType::CountryName, DnValue::PrintableString(country));
    }
    if !names.organization.is_empty() {
        dn.push(
            DnType::OrganizationName,
            DnValue::Utf8String(names.organization.clone()),
        );
    }
    dn.push(DnType::CommonName, DnValue::Utf8String(cn.to_string()));
    Ok(dn)
}

/// A random positive 128-bit serial number.
fn random_serial() -> rcgen::SerialNumber {
    use rand::RngCore as _;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    rcgen::SerialNumber::from_slice(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::CertView;
    use crate::Signer as _;

    fn names() -> PkiNames {
        PkiNames {
            country: "VN".into(),
            organization: "Sở Tư pháp Thành phố Hà Nội".into(),
            root_cn: "Banso Dev Root CA".into(),
            issuing_cn: "Banso Dev Issuing CA".into(),
            seal_cn: "Trung tâm Phục vụ hành chính công".into(),
        }
    }

    #[test]
    fn hierarchy_is_well_formed() {
        let now = time::OffsetDateTime::now_utc();
        let pki = DevPki::generate(&names(), now).unwrap();
        let root_der = pki.root_cert_der().unwrap();
        let issuing_der = first_certificate(&pki.issuing_cert_pem).unwrap();
        let seal_der = pki.seal_cert_der().unwrap();
        let root = CertView::parse(&root_der).unwrap();
        let issuing = CertView::parse(&issuing_der).unwrap();
        let seal = CertView::parse(&seal_der).unwrap();

        assert!(root.is_ca && issuing.is_ca && !seal.is_ca);
        assert_eq!(issuing.path_len, Some(0));
        assert!(root.signed_by(&root.public_key().unwrap()));
        assert!(issuing.signed_by(&root.public_key().unwrap()));
        assert!(seal.signed_by(&issuing.public_key().unwrap()));
        assert!(!seal.signed_by(&root.public_key().unwrap()));
        assert_eq!(seal.issuer, issuing.subject);
        assert_eq!(issuing.issuer, root.subject);
        assert_eq!(seal.key_usage, Some(0x8000 | 0x4000));
        assert_eq!(root.key_usage, Some(crate::cert::KU_KEY_CERT_SIGN | 0x0200));
        assert_eq!(
            seal.subject_common_name().as_deref(),
            Some("Trung tâm Phục vụ hành chính công")
        );
        assert_eq!(
            seal.subject_string(),
            "CN=Trung tâm Phục vụ hành chính công, O=Sở Tư pháp Thành phố Hà Nội, C=VN"
        );
        let t = now.unix_timestamp();
        assert!(seal.valid_at(t) && seal.valid_at(t - 3000) && !seal.valid_at(t - 4000));
        assert!(seal.valid_at(t + 3 * 365 * 86400 - 7200) && !seal.valid_at(t + 4 * 365 * 86400));
        assert!(root.valid_at(t + 19 * 365 * 86400));
        assert_ne!(root.serial, issuing.serial);
        assert!(pki.root_key_pem.contains("BEGIN PRIVATE KEY"));

        let signer = pki.seal_signer().unwrap();
        assert_eq!(signer.chain().len(), 3);
        assert_eq!(signer.chain()[0], seal_der);
        // A key that does not match the certificate is refused.
        assert!(SoftwareSigner::from_pem(&pki.root_key_pem, &pki.seal_chain_pem()).is_err());
    }
}

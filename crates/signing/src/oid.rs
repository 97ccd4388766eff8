//! The object identifiers this crate reads and writes, named once (RustCrypto's `const-oid` values).
pub use const_oid::ObjectIdentifier as Oid;

macro_rules! oids {
    ($($name:ident = $dotted:literal;)*) => {
        $(#[allow(missing_docs)] pub const $name: Oid = Oid::new_unwrap($dotted);)*
    };
}

oids! {
    // CMS content types.
    SIGNED_DATA = "1.2.840.113549.1.7.2";
    DATA = "1.2.840.113549.1.7.1";
    CT_TST_INFO = "1.2.840.113549.1.9.16.1.4";
    // Digests.
    SHA1 = "1.3.14.3.2.26";
    SHA256 = "2.16.840.1.101.3.4.2.1";
    SHA384 = "2.16.840.1.101.3.4.2.2";
    SHA512 = "2.16.840.1.101.3.4.2.3";
    // Signature algorithms and key types.
    ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2";
    ECDSA_WITH_SHA384 = "1.2.840.10045.4.3.3";
    ECDSA_WITH_SHA512 = "1.2.840.10045.4.3.4";
    EC_PUBLIC_KEY = "1.2.840.10045.2.1";
    CURVE_P256 = "1.2.840.10045.3.1.7";
    CURVE_P384 = "1.3.132.0.34";
    RSA_ENCRYPTION = "1.2.840.113549.1.1.1";
    SHA256_WITH_RSA = "1.2.840.113549.1.1.11";
    SHA384_WITH_RSA = "1.2.840.113549.1.1.12";
    SHA512_WITH_RSA = "1.2.840.113549.1.1.13";
    // CMS signed attributes.
    ATTR_CONTENT_TYPE = "1.2.840.113549.1.9.3";
    ATTR_MESSAGE_DIGEST = "1.2.840.113549.1.9.4";
    ATTR_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47";
    // Unsigned attribute: id-aa-signatureTimeStampToken.
    ATTR_SIGNATURE_TIME_STAMP = "1.2.840.113549.1.9.16.2.14";
    // Certificate and CRL extensions.
    EXT_SUBJECT_KEY_ID = "2.5.29.14";
    EXT_KEY_USAGE = "2.5.29.15";
    EXT_BASIC_CONSTRAINTS = "2.5.29.19";
    EXT_CRL_NUMBER = "2.5.29.20";
    EXT_REASON_CODE = "2.5.29.21";
    EXT_CRL_DP = "2.5.29.31";
    EXT_AUTHORITY_KEY_ID = "2.5.29.35";
    EXT_EXT_KEY_USAGE = "2.5.29.37";
    EXT_AIA = "1.3.6.1.5.5.7.1.1";
    // Extended key usages and access methods.
    KP_TIME_STAMPING = "1.3.6.1.5.5.7.3.8";
    KP_OCSP_SIGNING = "1.3.6.1.5.5.7.3.9";
    AD_OCSP = "1.3.6.1.5.5.7.48.1";
    AD_CA_ISSUERS = "1.3.6.1.5.5.7.48.2";
    // OCSP.
    OCSP_BASIC = "1.3.6.1.5.5.7.48.1.1";
    OCSP_NONCE = "1.3.6.1.5.5.7.48.1.2";
    OCSP_NOCHECK = "1.3.6.1.5.5.7.48.1.5";
    // Name attributes.
    AT_COMMON_NAME = "2.5.4.3";
    AT_SURNAME = "2.5.4.4";
    AT_SERIAL_NUMBER = "2.5.4.5";
    AT_COUNTRY = "2.5.4.6";
    AT_LOCALITY = "2.5.4.7";
    AT_STATE = "2.5.4.8";
    AT_STREET = "2.5.4.9";
    AT_ORGANIZATION = "2.5.4.10";
    AT_ORGANIZATIONAL_UNIT = "2.5.4.11";
    AT_TITLE = "2.5.4.12";
    AT_GIVEN_NAME = "2.5.4.42";
    AT_EMAIL = "1.2.840.113549.1.9.1";
    AT_UID = "0.9.2342.19200300.100.1.1";
}

//! PEM text: decoding every block, and encoding one.
use base64::Engine as _;

/// One PEM block: its label (e.g. `CERTIFICATE`) and its DER content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PemBlock {
    pub label: String,
    pub der: Vec<u8>,
}

/// Decodes every `-----BEGIN X-----` … `-----END X-----` block in `text`, in order. Text outside blocks is
/// ignored. Fails on a block that is not closed or whose base64 does not decode.
pub fn decode_all(text: &str) -> Result<Vec<PemBlock>, String> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = line.trim();
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut b64 = String::new();
        let mut closed = false;
        for inner in lines.by_ref() {
            let inner = inner.trim();
            if inner == end {
                closed = true;
                break;
            }
            // Skip RFC 1421 headers such as "Proc-Type:".
            if inner.contains(':') {
                continue;
            }
            b64.push_str(inner);
        }
        if !closed {
            return Err(format!("PEM block {label} is not closed"));
        }
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|e| format!("PEM block {label}: {e}"))?;
        blocks.push(PemBlock {
            label: label.to_string(),
            der,
        });
    }
    Ok(blocks)
}

/// The DER of every `CERTIFICATE` block in `text`.
pub fn decode_certificates(text: &str) -> Result<Vec<Vec<u8>>, String> {
    Ok(decode_all(text)?
        .into_iter()
        .filter(|b| b.label == "CERTIFICATE")
        .map(|b| b.der)
        .collect())
}

/// Encodes `der` as one PEM block with 64-character lines.
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_several_blocks() {
        let a = encode("CERTIFICATE", &[1u8; 100]);
        let b = encode("PRIVATE KEY", &[2u8; 3]);
        let text = format!("junk\n{a}between\r\n{b}");
        let blocks = decode_all(&text).unwrap();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].der, vec![1u8; 100]);
        assert_eq!(blocks[1].label, "PRIVATE KEY");
        assert_eq!(decode_certificates(&text).unwrap().len(), 1);
        assert!(decode_all("-----BEGIN X-----\nAAAA\n").is_err());
    }
}

//! What clients send, parsed without I/O: multipart forms, JSON issuance requests, and the client a trusted
//! proxy names ([`forwarded`]).
//!
//! The edge has already read each body whole under its route's cap (`server::http::edge`), so nothing here
//! reads more than it is given, and nothing here waits: a parser is a function of the bytes. That makes each
//! one a fuzz target of its own (`fuzz/`), and the server's handlers thin.

pub mod forwarded;

use std::fmt;
use std::future::Future;
use std::task::{Context, Poll, Waker};

use base64::Engine;
use bytes::Bytes;

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The body is not the format it says it is (REQ-0001).
    Malformed(String),
    /// A field holds a value it may not (ISS-0005).
    InvalidField(String),
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Malformed(m) | WireError::InvalidField(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for WireError {}

fn malformed(message: impl Into<String>) -> WireError {
    WireError::Malformed(message.into())
}

/// The names under which a part is a file even without a file name.
pub const FILE_PARTS: [&str; 4] = ["page", "pages", "file", "frame"];

/// A multipart form: its text fields in order, and its files in order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Form {
    pub fields: Vec<(String, String)>,
    pub files: Vec<Vec<u8>>,
}

impl Form {
    /// The first field of that name, or "".
    pub fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// True when `content_type` names a multipart form.
pub fn is_multipart(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|v| {
        v.trim_start()
            .get(..19)
            .is_some_and(|head| head.eq_ignore_ascii_case("multipart/form-data"))
    })
}

/// Reads a whole multipart/form-data body sent with `content_type`.
pub fn read_form(content_type: &str, body: Bytes) -> Result<Form, WireError> {
    let boundary = multer::parse_boundary(content_type)
        .map_err(|e| malformed(format!("the form has no usable boundary: {e}")))?;
    let chunks = futures_util::stream::once(async move { Ok::<Bytes, std::convert::Infallible>(body) });
    let mut parts = multer::Multipart::new(chunks, boundary);
    at_once(async move {
        let unreadable = |e: multer::Error| malformed(format!("the form could not be read: {e}"));
        let mut form = Form::default();
        while let Some(field) = parts.next_field().await.map_err(unreadable)? {
            let name = field.name().unwrap_or_default().to_string();
            let is_file = field.file_name().is_some() || FILE_PARTS.contains(&name.as_str());
            let data = field.bytes().await.map_err(unreadable)?;
            if is_file {
                form.files.push(data.to_vec());
            } else {
                let text = String::from_utf8(data.to_vec()).map_err(|_| {
                    WireError::InvalidField(format!("the field {name} is not valid UTF-8 text"))
                })?;
                form.fields.push((name, text));
            }
        }
        Ok(form)
    })?
}

/// Runs a future whose every input is already in memory. It never waits on anything; were it to (a defect
/// in a parser), the body is refused rather than the thread spun.
fn at_once<F: Future>(future: F) -> Result<F::Output, WireError> {
    let mut future = std::pin::pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..64 {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return Ok(out);
        }
    }
    Err(malformed("the form could not be read"))
}

/// What a request for a copy says, whichever way it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueBody {
    /// An officer names the holder; a kiosk's holder comes from its identity session.
    pub holder_id: String,
    pub holder_name: String,
    pub document_type: String,
    pub copies: u32,
    /// The page files, as sent.
    pub files: Vec<Vec<u8>>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueJson {
    #[serde(default)]
    holder_id: String,
    #[serde(default)]
    holder_name: String,
    document_type: String,
    #[serde(default = "one")]
    copies: u32,
    /// Page files, base64.
    pages: Vec<String>,
}

fn one() -> u32 {
    1
}

/// `POST /api/v1/copies`: multipart (fields holder_id, holder_name, document_type, copies; files `page`) or
/// JSON with base64 pages.
pub fn issue_body(content_type: Option<&str>, body: Bytes) -> Result<IssueBody, WireError> {
    if let Some(content_type) = content_type.filter(|c| is_multipart(Some(c))) {
        let form = read_form(content_type, body)?;
        let copies = match form.get("copies").trim() {
            "" => 1,
            c => c
                .parse()
                .map_err(|_| WireError::InvalidField("copies must be a number".into()))?,
        };
        return Ok(IssueBody {
            holder_id: form.get("holder_id").to_string(),
            holder_name: form.get("holder_name").to_string(),
            document_type: form.get("document_type").to_string(),
            copies,
            files: form.files,
        });
    }
    let parsed: IssueJson = serde_json::from_slice(&body)
        .map_err(|e| malformed(format!("the JSON body is not an issuance request: {e}")))?;
    let files = parsed
        .pages
        .iter()
        .enumerate()
        .map(|(i, p)| {
            base64::engine::general_purpose::STANDARD
                .decode(p.trim())
                .map_err(|_| malformed(format!("page {} is not base64", i + 1)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(IssueBody {
        holder_id: parsed.holder_id,
        holder_name: parsed.holder_name,
        document_type: parsed.document_type,
        copies: parsed.copies,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CT: &str = "multipart/form-data; boundary=XyZ";

    fn form(parts: &[(&str, Option<&str>, &[u8])]) -> Bytes {
        let mut body = Vec::new();
        for (name, file, data) in parts {
            body.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"");
            body.extend_from_slice(name.as_bytes());
            body.push(b'"');
            if let Some(f) = file {
                body.extend_from_slice(format!("; filename=\"{f}\"").as_bytes());
            }
            body.extend_from_slice(b"\r\n\r\n");
            body.extend_from_slice(data);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--XyZ--\r\n");
        Bytes::from(body)
    }

    #[test]
    fn a_multipart_request_gives_its_fields_and_pages_in_order() {
        let body = form(&[
            ("holder_id", None, b"001099012345"),
            ("holder_name", None, "Đỗ Thị Hằng".as_bytes()),
            ("document_type", None, b"Giay khai sinh"),
            ("copies", None, b" 2 "),
            ("page", None, b"\x89PNG one"),
            ("scan", Some("b.jpg"), b"\xff\xd8 two"),
        ]);
        let got = issue_body(Some(CT), body).unwrap();
        assert_eq!(got.holder_name, "Đỗ Thị Hằng");
        assert_eq!(got.copies, 2);
        assert_eq!(got.files, vec![b"\x89PNG one".to_vec(), b"\xff\xd8 two".to_vec()]);
    }

    #[test]
    fn bad_forms_are_refused_with_their_reason() {
        let cut = form(&[("page", None, b"abc")]).slice(..20);
        assert!(matches!(issue_body(Some(CT), cut), Err(WireError::Malformed(_))));
        let no_boundary = issue_body(Some("multipart/form-data"), form(&[]));
        assert!(matches!(no_boundary, Err(WireError::Malformed(m)) if m.contains("boundary")));
        let latin1 = issue_body(Some(CT), form(&[("holder_name", None, b"\xd0\xe9")]));
        assert!(matches!(latin1, Err(WireError::InvalidField(m)) if m.contains("holder_name")));
        let copies = issue_body(Some(CT), form(&[("copies", None, b"many")]));
        assert_eq!(
            copies,
            Err(WireError::InvalidField("copies must be a number".into()))
        );
    }

    #[test]
    fn a_json_request_decodes_its_pages() {
        let body = br#"{"document_type":"CCCD","pages":["aGVsbG8=", " d29ybGQ= "]}"#;
        let got = issue_body(Some("application/json"), Bytes::from_static(body)).unwrap();
        assert_eq!(
            (got.copies, got.files),
            (1, vec![b"hello".to_vec(), b"world".to_vec()])
        );
        let bad = br#"{"document_type":"CCCD","pages":["%%%"]}"#;
        assert_eq!(
            issue_body(None, Bytes::from_static(bad)),
            Err(WireError::Malformed("page 1 is not base64".into()))
        );
        assert!(matches!(
            issue_body(None, Bytes::from_static(b"{")),
            Err(WireError::Malformed(_))
        ));
    }
}

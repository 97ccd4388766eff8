//! Printing at the kiosk: an IPP/1.1 Print-Job (RFC 8011 §4.2.1) of a PDF to the kiosk's printer queue (CUPS,
//! `ipp://HOST:PORT/printers/NAME`), over HTTP. The request is small enough to write here: the operation
//! attributes, then the document.

use anyhow::{anyhow, bail, Context, Result};
use std::time::Duration;

/// Value tags (RFC 8010 §3.5.2) this request uses.
const TAG_OPERATION: u8 = 0x01;
const TAG_JOB: u8 = 0x02;
const TAG_END: u8 = 0x03;
const TAG_INTEGER: u8 = 0x21;
const TAG_URI: u8 = 0x45;
const TAG_NAME: u8 = 0x42;
const TAG_CHARSET: u8 = 0x47;
const TAG_LANGUAGE: u8 = 0x48;
const TAG_MIME: u8 = 0x49;
const PRINT_JOB: u16 = 0x0002;

fn attribute(out: &mut Vec<u8>, tag: u8, name: &str, value: &[u8]) -> Result<()> {
    out.push(tag);
    out.extend_from_slice(&u16::try_from(name.len())?.to_be_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(
        &u16::try_from(value.len())
            .context("an IPP value over 64 KiB")?
            .to_be_bytes(),
    );
    out.extend_from_slice(value);
    Ok(())
}

/// The Print-Job request for `pdf` on the queue `printer_uri`, named `job_name`.
pub fn print_job_request(
    printer_uri: &str,
    job_name: &str,
    request_id: u32,
    format: &str,
    document: &[u8],
) -> Result<Vec<u8>> {
    let pdf = document;
    let mut out = Vec::with_capacity(pdf.len() + 256);
    out.extend_from_slice(&[1, 1]);
    out.extend_from_slice(&PRINT_JOB.to_be_bytes());
    out.extend_from_slice(&request_id.to_be_bytes());
    out.push(TAG_OPERATION);
    attribute(&mut out, TAG_CHARSET, "attributes-charset", b"utf-8")?;
    attribute(&mut out, TAG_LANGUAGE, "attributes-natural-language", b"vi")?;
    attribute(&mut out, TAG_URI, "printer-uri", printer_uri.as_bytes())?;
    attribute(&mut out, TAG_NAME, "requesting-user-name", b"banso-kiosk")?;
    attribute(&mut out, TAG_NAME, "job-name", job_name.as_bytes())?;
    attribute(&mut out, TAG_MIME, "document-format", format.as_bytes())?;
    out.push(TAG_END);
    out.extend_from_slice(pdf);
    Ok(out)
}

/// The printer's answer: its status code and the job's id when it took the job.
pub fn print_job_response(bytes: &[u8]) -> Result<(u16, Option<u32>)> {
    let status = bytes
        .get(2..4)
        .map(|s| u16::from_be_bytes([s[0], s[1]]))
        .ok_or_else(|| anyhow!("the printer's answer is too short"))?;
    // Walk the attribute groups for `job-id` in the job group; anything malformed ends the walk.
    let mut i = 8;
    let mut group = 0u8;
    let mut job_id = None;
    while let Some(&tag) = bytes.get(i) {
        if tag == TAG_END {
            break;
        }
        if tag < 0x10 {
            group = tag;
            i += 1;
            continue;
        }
        let len = |at: usize| {
            bytes
                .get(at..at + 2)
                .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        };
        let Some(name_len) = len(i + 1) else { break };
        let name = bytes.get(i + 3..i + 3 + name_len);
        let Some(value_len) = len(i + 3 + name_len) else {
            break;
        };
        let value_at = i + 5 + name_len;
        let Some(value) = bytes.get(value_at..value_at + value_len) else {
            break;
        };
        if group == TAG_JOB && tag == TAG_INTEGER && name == Some(b"job-id".as_slice()) && value.len() == 4 {
            job_id = Some(u32::from_be_bytes([value[0], value[1], value[2], value[3]]));
        }
        i = value_at + value_len;
    }
    Ok((status, job_id))
}

/// The kiosk's printer queue.
pub struct Printer {
    uri: String,
    http_url: String,
    http: reqwest::Client,
}

impl Printer {
    /// `ipp://HOST:PORT/printers/NAME` (IPP over HTTP to that address).
    pub fn new(uri: &str) -> Result<Self> {
        let rest = uri
            .strip_prefix("ipp://")
            .ok_or_else(|| anyhow!("the printer is ipp://HOST:PORT/printers/NAME, not {uri}"))?;
        Ok(Self {
            uri: uri.to_string(),
            http_url: format!("http://{rest}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
        })
    }

    /// `HOST:PORT` of the printer's IPP endpoint (port 631 when none is named).
    pub fn authority(&self) -> String {
        let host = self.uri["ipp://".len()..].split('/').next().unwrap_or_default();
        if host.contains(':') {
            host.to_string()
        } else {
            format!("{host}:631")
        }
    }

    /// Sends `document` (of MIME type `format`: `application/pdf`, or `text/plain` for a
    /// receipt, UTF-8) to the printer as the job `job_name`; the printer's job id.
    pub async fn print(&self, document: &[u8], format: &str, job_name: &str) -> Result<u32> {
        let request = print_job_request(&self.uri, job_name, 1, format, document)?;
        let answer = self
            .http
            .post(&self.http_url)
            .header("content-type", "application/ipp")
            .body(request)
            .send()
            .await
            .map_err(|e| anyhow!("the printer cannot be reached: {e}"))?;
        if !answer.status().is_success() {
            bail!("the printer answered HTTP {}", answer.status());
        }
        let bytes = answer.bytes().await?;
        match print_job_response(&bytes)? {
            (status, Some(id)) if status < 0x0100 => Ok(id),
            (status, _) => bail!("the printer refused the job (IPP status 0x{status:04x})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_print_job_carries_its_attributes_then_the_document() {
        let r = print_job_request(
            "ipp://127.0.0.1:631/printers/kiosk",
            "ABCD",
            7,
            "application/pdf",
            b"%PDF-1.7",
        )
        .unwrap();
        assert_eq!(&r[..8], &[1, 1, 0, 2, 0, 0, 0, 7]);
        assert_eq!(r[8], TAG_OPERATION);
        // charset first, then language, as RFC 8011 §4.1.4 orders them.
        assert_eq!(&r[9..12], &[TAG_CHARSET, 0, 18]);
        assert_eq!(&r[12..30], b"attributes-charset");
        assert!(r.windows(8).any(|w| w == b"job-name"));
        assert!(r.ends_with(&[TAG_END, b'%', b'P', b'D', b'F', b'-', b'1', b'.', b'7']));
    }

    #[test]
    fn the_answer_gives_the_status_and_the_job_id_and_nonsense_is_not_read_past() {
        let mut a = vec![1, 1, 0, 0, 0, 0, 0, 1, TAG_OPERATION];
        let mut attr = Vec::new();
        attribute(&mut attr, TAG_CHARSET, "attributes-charset", b"utf-8").unwrap();
        a.extend(attr);
        a.push(TAG_JOB);
        let mut id = Vec::new();
        attribute(&mut id, TAG_INTEGER, "job-id", &42u32.to_be_bytes()).unwrap();
        a.extend(id);
        a.push(TAG_END);
        assert_eq!(print_job_response(&a).unwrap(), (0, Some(42)));
        // Cut anywhere: never a panic, never a job id read from outside the answer.
        for n in 0..a.len() {
            let _ = print_job_response(&a[..n]);
        }
        assert_eq!(
            print_job_response(&[1, 1, 0x04, 0x06, 0, 0, 0, 1, 3]).unwrap(),
            (0x0406, None)
        );
        assert!(print_job_response(&[1]).is_err());
    }
}

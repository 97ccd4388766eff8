//! Printing at the kiosk: an IPP/1.1 Print-Job (RFC 8011 §4.2.1) of a PDF to the kiosk's printer queue (CUPS,
//! `ipp://HOST:PORT/printers/NAME`), over HTTP, and Get-Printer-Attributes (§4.2.5) for the heartbeat: the
//! printer's state, its state reasons (paper, toner) and its marker levels. The requests are small enough to write
//! here: the operation attributes, then the document.

use anyhow::{anyhow, bail, Context, Result};
use std::time::Duration;

/// Value tags (RFC 8010 §3.5.2) this request uses.
const TAG_OPERATION: u8 = 0x01;
const TAG_JOB: u8 = 0x02;
const TAG_END: u8 = 0x03;
const TAG_PRINTER: u8 = 0x04;
const TAG_INTEGER: u8 = 0x21;
const TAG_ENUM: u8 = 0x23;
const TAG_KEYWORD: u8 = 0x44;
const TAG_URI: u8 = 0x45;
const TAG_NAME: u8 = 0x42;
const TAG_CHARSET: u8 = 0x47;
const TAG_LANGUAGE: u8 = 0x48;
const TAG_MIME: u8 = 0x49;
const PRINT_JOB: u16 = 0x0002;
const GET_PRINTER_ATTRIBUTES: u16 = 0x000b;

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

/// An IPP/1.1 request's head: the version, the operation and the request id, then the operation attributes every
/// request carries (charset and language first, as RFC 8011 §4.1.4 orders them; the printer; the user).
fn operation(out: &mut Vec<u8>, operation: u16, request_id: u32, printer_uri: &str) -> Result<()> {
    out.extend_from_slice(&[1, 1]);
    out.extend_from_slice(&operation.to_be_bytes());
    out.extend_from_slice(&request_id.to_be_bytes());
    out.push(TAG_OPERATION);
    attribute(out, TAG_CHARSET, "attributes-charset", b"utf-8")?;
    attribute(out, TAG_LANGUAGE, "attributes-natural-language", b"vi")?;
    attribute(out, TAG_URI, "printer-uri", printer_uri.as_bytes())?;
    attribute(out, TAG_NAME, "requesting-user-name", b"banso-kiosk")
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
    operation(&mut out, PRINT_JOB, request_id, printer_uri)?;
    attribute(&mut out, TAG_NAME, "job-name", job_name.as_bytes())?;
    attribute(&mut out, TAG_MIME, "document-format", format.as_bytes())?;
    out.push(TAG_END);
    out.extend_from_slice(pdf);
    Ok(out)
}

/// The printer's answer: its status code and the job's id when it took the job.
pub fn print_job_response(bytes: &[u8]) -> Result<(u16, Option<u32>)> {
    let mut job_id = None;
    let status = walk(bytes, |group, tag, name, value| {
        if group == TAG_JOB && tag == TAG_INTEGER && name == b"job-id" && value.len() == 4 {
            job_id = Some(u32::from_be_bytes([value[0], value[1], value[2], value[3]]));
        }
    })?;
    Ok((status, job_id))
}

/// The Get-Printer-Attributes request for the queue `printer_uri`: its state, state reasons and markers.
pub fn printer_attributes_request(printer_uri: &str, request_id: u32) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(256);
    operation(&mut out, GET_PRINTER_ATTRIBUTES, request_id, printer_uri)?;
    // requested-attributes, a set of keywords: the first value named, the others with an empty name.
    for (i, keyword) in [
        "printer-state",
        "printer-state-reasons",
        "marker-names",
        "marker-levels",
    ]
    .iter()
    .enumerate()
    {
        let name = if i == 0 { "requested-attributes" } else { "" };
        attribute(&mut out, TAG_KEYWORD, name, keyword.as_bytes())?;
    }
    out.push(TAG_END);
    Ok(out)
}

/// What a printer says of itself.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PrinterState {
    /// 3 idle, 4 processing, 5 stopped.
    pub state: u32,
    /// `printer-state-reasons`, e.g. `none`, `media-empty-error`, `toner-low-report`, `paused`.
    pub reasons: Vec<String>,
    /// (marker name, level in percent; negative: unknown).
    pub markers: Vec<(String, i32)>,
}

/// Reads a Get-Printer-Attributes answer.
pub fn printer_attributes_response(bytes: &[u8]) -> Result<(u16, PrinterState)> {
    let mut out = PrinterState::default();
    let (mut names, mut levels) = (Vec::new(), Vec::new());
    let mut last = Vec::new();
    let status = walk(bytes, |group, tag, name, value| {
        if group != TAG_PRINTER {
            return;
        }
        // An additional value of a set carries an empty name: it belongs to the attribute before it.
        if !name.is_empty() {
            last = name.to_vec();
        }
        let text = || String::from_utf8_lossy(value).into_owned();
        let int = || (value.len() == 4).then(|| i32::from_be_bytes([value[0], value[1], value[2], value[3]]));
        match (last.as_slice(), tag) {
            (b"printer-state", TAG_ENUM) => out.state = int().map_or(0, |v| v.max(0) as u32),
            (b"printer-state-reasons", TAG_KEYWORD) if out.reasons.len() < 32 => out.reasons.push(text()),
            (b"marker-names", _) if names.len() < 32 => names.push(text()),
            (b"marker-levels", TAG_INTEGER) if levels.len() < 32 => levels.extend(int()),
            _ => {}
        }
    })?;
    out.markers = names.into_iter().zip(levels).collect();
    Ok((status, out))
}

impl PrinterState {
    /// The heartbeat's word for it: `ok`, or what an officer must see to (out of paper, toner low, stopped).
    pub fn summary(&self) -> String {
        let mut problems: Vec<String> = Vec::new();
        let has = |word: &str| self.reasons.iter().any(|r| r.starts_with(word));
        for (word, said) in [
            ("media-empty", "out of paper"),
            ("media-needed", "out of paper"),
            ("media-low", "paper low"),
            ("media-jam", "paper jam"),
            ("toner-empty", "out of toner"),
            ("marker-supply-empty", "out of toner"),
            ("toner-low", "toner low"),
            ("marker-supply-low", "toner low"),
            ("door-open", "door open"),
            ("offline", "offline"),
        ] {
            if has(word) && !problems.iter().any(|p| p == said) {
                problems.push(said.to_string());
            }
        }
        for (name, level) in &self.markers {
            if (0..=10).contains(level) && !problems.iter().any(|p| p.contains("toner")) {
                problems.push(format!("{name} {level} %"));
            }
        }
        if self.state == 5 {
            let why: Vec<&str> = self
                .reasons
                .iter()
                .map(String::as_str)
                .filter(|r| *r != "none")
                .collect();
            problems.insert(0, format!("stopped ({})", why.join(", ")));
        }
        if problems.is_empty() {
            "ok".to_string()
        } else {
            problems.join("; ")
        }
    }
}

/// Walks an IPP answer's attributes, calling `each(group, value tag, name, value)`; its status code. Anything
/// malformed ends the walk: nothing is read outside the answer.
fn walk(bytes: &[u8], mut each: impl FnMut(u8, u8, &[u8], &[u8])) -> Result<u16> {
    let status = bytes
        .get(2..4)
        .map(|s| u16::from_be_bytes([s[0], s[1]]))
        .ok_or_else(|| anyhow!("the printer's answer is too short"))?;
    let mut i = 8;
    let mut group = 0u8;
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
        let (Some(name), Some(value)) = (name, bytes.get(value_at..value_at + value_len)) else {
            break;
        };
        each(group, tag, name, value);
        i = value_at + value_len;
    }
    Ok(status)
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

    /// What the printer says of itself (Get-Printer-Attributes), asked within `within`.
    pub async fn state(&self, within: Duration) -> Result<PrinterState> {
        let request = printer_attributes_request(&self.uri, 2)?;
        let answer = tokio::time::timeout(
            within,
            self.http
                .post(&self.http_url)
                .header("content-type", "application/ipp")
                .body(request)
                .send(),
        )
        .await
        .map_err(|_| anyhow!("the printer did not answer in time"))?
        .map_err(|e| anyhow!("the printer cannot be reached: {e}"))?;
        if !answer.status().is_success() {
            bail!("the printer answered HTTP {}", answer.status());
        }
        // A printer's attributes are a few hundred bytes; an answer past 64 KiB is not read.
        let bytes = answer.bytes().await?;
        if bytes.len() > 64 << 10 {
            bail!("the printer's answer is too long");
        }
        match printer_attributes_response(&bytes)? {
            (status, state) if status < 0x0100 => Ok(state),
            (status, _) => bail!("the printer refused (IPP status 0x{status:04x})"),
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

    /// A printer's answer with `attrs` (tag, name, value) in the printer group.
    fn printer_answer(attrs: &[(u8, &str, Vec<u8>)]) -> Vec<u8> {
        let mut a = vec![1, 1, 0, 0, 0, 0, 0, 2, TAG_OPERATION];
        attribute(&mut a, TAG_CHARSET, "attributes-charset", b"utf-8").unwrap();
        a.push(TAG_PRINTER);
        for (tag, name, value) in attrs {
            attribute(&mut a, *tag, name, value).unwrap();
        }
        a.push(TAG_END);
        a
    }

    #[test]
    fn the_printers_state_reasons_and_markers_are_read_and_summed_up() {
        let r = printer_attributes_request("ipp://127.0.0.1:631/printers/kiosk", 2).unwrap();
        assert_eq!(&r[..8], &[1, 1, 0, 0x0b, 0, 0, 0, 2]);
        assert!(r.windows(20).any(|w| w == b"requested-attributes"));
        let idle = printer_answer(&[
            (TAG_ENUM, "printer-state", 3u32.to_be_bytes().to_vec()),
            (TAG_KEYWORD, "printer-state-reasons", b"none".to_vec()),
        ]);
        let (status, state) = printer_attributes_response(&idle).unwrap();
        assert_eq!((status, state.state, state.summary().as_str()), (0, 3, "ok"));
        let wanting = printer_answer(&[
            (TAG_ENUM, "printer-state", 5u32.to_be_bytes().to_vec()),
            (
                TAG_KEYWORD,
                "printer-state-reasons",
                b"media-empty-error".to_vec(),
            ),
            (TAG_KEYWORD, "", b"paused".to_vec()),
            (TAG_NAME, "marker-names", b"Black Toner".to_vec()),
            (TAG_NAME, "", b"Drum".to_vec()),
            (TAG_INTEGER, "marker-levels", 7i32.to_be_bytes().to_vec()),
            (TAG_INTEGER, "", (-3i32).to_be_bytes().to_vec()),
        ]);
        let (_, state) = printer_attributes_response(&wanting).unwrap();
        assert_eq!(state.reasons, ["media-empty-error", "paused"]);
        assert_eq!(
            state.markers,
            [("Black Toner".to_string(), 7), ("Drum".to_string(), -3)]
        );
        assert_eq!(
            state.summary(),
            "stopped (media-empty-error, paused); out of paper; Black Toner 7 %"
        );
        let low = printer_answer(&[
            (TAG_ENUM, "printer-state", 3u32.to_be_bytes().to_vec()),
            (TAG_KEYWORD, "printer-state-reasons", b"toner-low-report".to_vec()),
        ]);
        assert_eq!(
            printer_attributes_response(&low).unwrap().1.summary(),
            "toner low"
        );
        for n in 0..wanting.len() {
            let _ = printer_attributes_response(&wanting[..n]);
        }
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

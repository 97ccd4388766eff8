//! The `Composer` port: banso-render lays the copy out, banso-signing signs it (PAdES, with the officer and the
//! seal), and the long-term levels extend it.

use crate::longterm::Level;
use crate::pki::TrustServices;
use async_trait::async_trait;
use banso_core::error::{Code, Error};
use banso_core::ports::{ComposeRequest, ComposedCopy, Composer};
use banso_core::service::WATERMARK;
use banso_render::{InputError, RenderError};
use banso_signing::Signer;
use std::sync::Arc;

/// Composes copies with banso-render and signs them with a [`Signer`] (PAdES B-T: with a signature
/// timestamp from the configured TSA).
pub struct PdfComposer {
    pub trust: Arc<TrustServices>,
    /// Where the CA's revocations are kept: read before each copy, for the validation data it embeds.
    pub registry: Arc<dyn banso_core::ports::Registry>,
    pub level: Level,
    pub default_dpi: f32,
    pub signer_name: String,
}

fn input_error(e: &InputError) -> Error {
    let code = match e {
        InputError::Unsupported => Code::Iss0002UnsupportedPage,
        InputError::Corrupt { .. } => Code::Iss0003CorruptPage,
        InputError::Empty => Code::Iss0001NoPages,
        InputError::TooLarge { .. } => Code::Iss0004TooLarge,
    };
    Error::new(code, e.to_string())
}

/// Signs a prepared PDF in place (B-B, or B-T with a timestamp source) and returns its SHA-256; shared by
/// issuance and the benchmark.
pub fn sign_prepared(
    prepared: &mut banso_render::PreparedPdf,
    signer: &dyn Signer,
    timestamps: Option<&dyn banso_signing::tsa::TimestampSource>,
) -> Result<[u8; 32], Error> {
    banso_signing::pades::sign_prepared_with(
        &mut prepared.bytes,
        prepared.byte_range,
        prepared.contents_hex.clone(),
        signer,
        timestamps,
    )
    .map_err(signing_error)
}

fn signing_error(e: banso_signing::SigningError) -> Error {
    match e {
        banso_signing::SigningError::TimestampsDown { retry_after_secs, .. } => {
            Error::new(Code::Sys0004TimestampsDown, e.to_string()).retry_after(retry_after_secs)
        }
        e => Error::new(Code::Sys0002Signing, e.to_string()),
    }
}

/// Renders and signs one copy: with an officer, the officer signs the copy and the organisation seal
/// countersigns it in a second revision; both carry signature timestamps (B-T). Then the copy is extended to
/// the configured level (B-LT: DSS with validation data; B-LTA: plus a document timestamp).
pub fn compose_signed(
    request: &ComposeRequest,
    trust: &TrustServices,
    level: Level,
    dpi: f32,
) -> Result<ComposedCopy, Error> {
    use Level;
    let timestamps = (level >= Level::BT).then_some(trust.timestamps.as_ref());
    let mut prepared = render_copy(request, dpi)?;
    let officer = match &request.officer {
        Some(name) => Some(trust.officers.get(name).cloned().ok_or_else(|| {
            Error::new(
                Code::Iss0005InvalidField,
                format!("the officer {name:?} has no signing certificate"),
            )
        })?),
        None => None,
    };
    let first: &dyn Signer = officer.as_deref().unwrap_or(trust.seal.as_ref());
    // Signing hashes the whole file and returns that hash; it is reused unless a later step changes the file.
    let mut sha256 = Some(sign_prepared(&mut prepared, first, timestamps)?);
    let pdf_pages = prepared.page_count as u32;
    let mut pdf = prepared.bytes;
    if officer.is_some() {
        let c = &request.certification;
        let meta = banso_signing::incremental::SignatureMeta {
            name: Some(c.issuing_body.clone()),
            reason: Some("Đóng dấu của cơ quan chứng thực / Seal of the certifying body".into()),
            location: Some(c.place.clone()),
            signing_time: Some(request.issued_at),
        };
        let mut seal = banso_signing::incremental::prepare_signature(
            &pdf,
            "Seal",
            banso_signing::pades::DEFAULT_PLACEHOLDER,
            &meta,
        )
        .map_err(signing_error)?;
        sha256 = Some(
            banso_signing::pades::sign_prepared_with(
                &mut seal.bytes,
                seal.byte_range,
                seal.contents_hex.clone(),
                trust.seal.as_ref(),
                timestamps,
            )
            .map_err(signing_error)?,
        );
        pdf = seal.bytes;
    }
    if level >= Level::BLT {
        pdf = crate::longterm::extend(&pdf, level, trust, trust.timestamps.as_ref(), request.issued_at)
            .map_err(signing_error)?;
        sha256 = None;
    }
    let sha256 = sha256.unwrap_or_else(|| <sha2::Sha256 as sha2::Digest>::digest(&pdf).into());
    Ok(ComposedCopy {
        pdf,
        sha256,
        pdf_pages,
    })
}

/// Renders one copy (no signature yet).
pub fn render_copy(request: &ComposeRequest, default_dpi: f32) -> Result<banso_render::PreparedPdf, Error> {
    let inputs: Vec<&[u8]> = request.files.iter().map(Vec::as_slice).collect();
    let text_layers: Vec<Option<banso_render::PageText>> = request
        .text_layers
        .iter()
        .map(|layer| {
            layer.as_ref().map(|t| banso_render::PageText {
                width: t.width,
                height: t.height,
                words: t
                    .words
                    .iter()
                    .map(|w| banso_render::PageWord {
                        text: w.text.clone(),
                        x: w.x,
                        y: w.y,
                        w: w.w,
                        h: w.h,
                    })
                    .collect(),
            })
        })
        .collect();
    let c = &request.certification;
    let doc = banso_render::CopyDocument {
        inputs: &inputs,
        default_dpi,
        code_display: request.code_display.clone(),
        qr_url: request.qr_url.clone(),
        watermark: WATERMARK.to_string(),
        certification: banso_render::Certification {
            statement: c.statement.clone(),
            number_line: c.number_line.clone(),
            date_line: c.date_line.clone(),
            issuing_body: c.issuing_body.clone(),
            place: c.place.clone(),
            signer_name: c.signer_name.clone(),
            signer_title: c.signer_title.clone(),
            document_type: c.document_type.clone(),
            holder_name: c.holder_name.clone(),
            original_pages: c.original_pages as usize,
            fee_line: c.fee_line.clone(),
            english_lines: c.english_lines.clone(),
        },
        title: request.title.clone(),
        issued_at: request.issued_at,
        signature: banso_render::SignatureSlot {
            placeholder_size: banso_signing::pades::DEFAULT_PLACEHOLDER,
            name: c.issuing_body.clone(),
            reason: c.statement.clone(),
            location: c.place.clone(),
            signing_time: request.issued_at,
        },
        text_layers: &text_layers,
    };
    banso_render::render(&doc).map_err(render_error)
}

/// A rendering failure as a domain error (copies and notices alike).
fn render_error(e: RenderError) -> Error {
    match e {
        RenderError::Input { index, source } => {
            let inner = input_error(&source);
            Error::new(inner.code, format!("page file {}: {}", index + 1, inner.message))
        }
        RenderError::NoPages => Error::new(Code::Iss0001NoPages, "no page to render"),
        RenderError::QrCode(m) => Error::new(
            Code::Iss0005InvalidField,
            format!("the QR code cannot hold the URL: {m}"),
        ),
        RenderError::Glyph(c) => Error::new(
            Code::Iss0007Unprintable,
            format!("the character {c:?} cannot be printed"),
        ),
        RenderError::Layout(m) => Error::new(
            Code::Sys0003Internal,
            format!("the document cannot be laid out: {m}"),
        ),
    }
}

/// Runs signing work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::new(Code::Sys0003Internal, format!("signing task: {e}")))?
}

/// Notices (the appointment slip) are laid out by banso-render and signed with the organisation seal, with a
/// signature timestamp; a result an officer made is sealed in a new revision, its pages untouched.
#[async_trait]
impl banso_core::ports::Notices for PdfComposer {
    async fn notice(&self, n: banso_core::ports::Notice) -> Result<Vec<u8>, Error> {
        let trust = self.trust.clone();
        blocking(move || {
            let doc = banso_render::NoticeDocument {
                signature: banso_render::SignatureSlot {
                    placeholder_size: banso_signing::pades::DEFAULT_PLACEHOLDER,
                    name: n.signer_name.clone(),
                    reason: n.title.clone(),
                    location: n.issuer.clone(),
                    signing_time: n.issued_at,
                },
                issuer: n.issuer,
                form: n.form,
                title: n.title,
                rows: n.rows,
                paragraphs: n.paragraphs,
                qr: n.qr,
                date_line: n.date_line,
                signer_title: n.signer_title,
                signer_name: n.signer_name,
                doc_title: n.doc_title,
                issued_at: n.issued_at,
            };
            let mut prepared = banso_render::render_notice(&doc).map_err(render_error)?;
            sign_prepared(
                &mut prepared,
                trust.seal.as_ref(),
                Some(trust.timestamps.as_ref()),
            )?;
            Ok(prepared.bytes)
        })
        .await
    }

    async fn book(&self, b: banso_core::ports::Book) -> Result<Vec<u8>, Error> {
        let trust = self.trust.clone();
        blocking(move || {
            let doc = banso_render::BookDocument {
                signature: banso_render::SignatureSlot {
                    placeholder_size: banso_signing::pades::DEFAULT_PLACEHOLDER,
                    name: b.signer_name.clone(),
                    reason: b.title.clone(),
                    location: b.issuer.clone(),
                    signing_time: b.issued_at,
                },
                issuer: b.issuer,
                title: b.title,
                subtitle: b.subtitle,
                columns: b.columns,
                rows: b.rows,
                closing: b.closing,
                date_line: b.date_line,
                signer_title: b.signer_title,
                signer_name: b.signer_name,
                doc_title: b.doc_title,
                issued_at: b.issued_at,
            };
            let mut prepared = banso_render::render_book(&doc).map_err(render_error)?;
            sign_prepared(
                &mut prepared,
                trust.seal.as_ref(),
                Some(trust.timestamps.as_ref()),
            )?;
            Ok(prepared.bytes)
        })
        .await
    }

    async fn seal(&self, pdf: Vec<u8>, reason: &str, at: time::OffsetDateTime) -> Result<Vec<u8>, Error> {
        let trust = self.trust.clone();
        let (reason, name) = (reason.to_string(), self.signer_name.clone());
        blocking(move || {
            let meta = banso_signing::incremental::SignatureMeta {
                name: Some(name),
                reason: Some(reason),
                location: None,
                signing_time: Some(at),
            };
            let mut seal = banso_signing::incremental::prepare_signature(
                &pdf,
                "KetQuaGiaiQuyet",
                banso_signing::pades::DEFAULT_PLACEHOLDER,
                &meta,
            )
            .map_err(|e| {
                Error::new(
                    Code::Iss0003CorruptPage,
                    format!("the result PDF cannot be sealed: {e}"),
                )
            })?;
            banso_signing::pades::sign_prepared_with(
                &mut seal.bytes,
                seal.byte_range,
                seal.contents_hex.clone(),
                trust.seal.as_ref(),
                Some(trust.timestamps.as_ref()),
            )
            .map_err(signing_error)?;
            Ok(seal.bytes)
        })
        .await
    }
}

#[async_trait]
impl Composer for PdfComposer {
    fn inspect(&self, file: &[u8]) -> Result<u32, Error> {
        banso_render::inspect(file)
            .map(|i| i.pages as u32)
            .map_err(|e| input_error(&e))
    }

    async fn compose(&self, request: ComposeRequest) -> Result<ComposedCopy, Error> {
        if self.level >= Level::BLT {
            self.trust.refresh_revocations(self.registry.as_ref()).await?;
        }
        let trust = self.trust.clone();
        let level = self.level;
        let dpi = self.default_dpi;
        tokio::task::spawn_blocking(move || compose_signed(&request, &trust, level, dpi))
            .await
            .map_err(|e| Error::new(Code::Sys0003Internal, format!("composition task: {e}")))?
    }

    fn printable(&self, text: &str) -> Result<(), Error> {
        banso_render::printable(text).map_err(|e| match e {
            RenderError::Glyph(c) => Error::new(
                Code::Iss0007Unprintable,
                format!("the character {c:?} cannot be printed"),
            ),
            other => Error::new(Code::Sys0003Internal, other.to_string()),
        })
    }

    fn signer_names(&self, officer: Option<&str>) -> Result<String, Error> {
        match officer {
            None => Ok(self.signer_name.clone()),
            Some(name) if self.trust.officers.contains_key(name) => {
                Ok(format!("{name}; {}", self.signer_name))
            }
            Some(name) => Err(Error::new(
                Code::Iss0005InvalidField,
                format!("the officer {name:?} has no signing certificate in this installation's PKI"),
            )),
        }
    }
}

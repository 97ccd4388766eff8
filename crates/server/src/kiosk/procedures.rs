//! Filing a procedure's dossier at the kiosk: find the procedure by typing (without diacritics is fine), the
//! form with the identity's fields filled in and locked (labelled with where they came from), the documents
//! (a certified copy from the citizen's wallet, or pages scanned here), a review, then the dossier code, the
//! lookup code and the appointment slip (printed here; e-mailed by the central service when the form gives an
//! address), and the rating.
//!
//! When the central service cannot be reached at the moment of filing (a mobile service vehicle's link drops),
//! the submission goes to the kiosk's offline queue (`queue.rs`) with the grant the central service gave when
//! the form opened, and the screen says it is kept and will be sent; the dossier code and the slip come by
//! e-mail (or from the one-stop desk) once the queue is sent.

use super::screens::{gate, peek_visit, problem, refused, render, see, unreachable, with_visit, Frame};
use super::Kiosk;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Pages one scanned document may have at the kiosk.
const MAX_DOC_PAGES: usize = 10;

/// A dossier being prepared in a visit.
#[derive(Default)]
pub struct Draft {
    /// The procedure as the central service described it (its form and documents).
    pub spec: Value,
    /// The identity's fields: (key, value, where from).
    pub prefilled: Vec<(String, String, String)>,
    pub form: BTreeMap<String, String>,
    /// A wallet copy chosen for a document.
    pub wallet: BTreeMap<String, String>,
    /// Pages scanned for a document.
    pub scans: BTreeMap<String, Vec<Vec<u8>>>,
    /// The central service's answer to the submission.
    pub submitted: Option<Value>,
    pub printed: Option<(bool, String)>,
    pub rated: bool,
    /// The last refusal of the submission (shown on the form).
    pub error: Option<String>,
    /// The fee's payment, once the gateway confirmed it (named by every later submission of this draft).
    pub paid: Option<String>,
    /// The draft's idempotency key: every try of it, and its replay from the offline queue, files one dossier.
    pub key: String,
    /// The central service's grant to file this draft from the offline queue (none: it gave none, and a
    /// submission that cannot reach it is not queued).
    pub grant: Option<String>,
    /// The offline queue's reference, once the submission waits there.
    pub queued: Option<String>,
}

pub fn routes(router: Router<Arc<Kiosk>>) -> Router<Arc<Kiosk>> {
    router
        .route("/procedures", get(search))
        .route("/procedures/choose", post(choose))
        .route("/procedures/form", get(form).post(keep_form))
        .route("/procedures/documents", get(documents))
        .route("/procedures/documents/{key}/scan", post(scan))
        .route("/procedures/documents/{key}/wallet", post(pick_copy))
        .route("/procedures/review", get(review))
        .route("/procedures/submit", post(submit))
        .route("/procedures/done", get(done))
        .route("/procedures/queued", get(queued))
        .route("/procedures/print", post(print))
        .route("/procedures/rate", post(rate))
        .route("/static/dossier-qr.png", get(dossier_qr))
        .route("/track", get(track))
        .route("/track/documents", post(track_scan))
}

struct Found {
    id: String,
    code: String,
    name: String,
    time: String,
    fee: String,
}

#[derive(Template)]
#[template(path = "kiosk/procedures.html")]
struct Search {
    f: Frame,
    q: String,
    found: Option<Vec<Found>>,
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// The procedure screen: a search box with the on-screen keyboard, and what the words found.
async fn search(
    State(kiosk): State<Arc<Kiosk>>,
    headers: HeaderMap,
    Query(q): Query<SearchQuery>,
) -> Response {
    let f = match gate(&kiosk, &headers, 3, true) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let q: String = q.q.chars().take(60).collect();
    let found = if q.trim().is_empty() {
        None
    } else {
        match kiosk.central.procedures(&q).await {
            Ok(a) if a.ok() => Some(
                a.body["procedures"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .take(8)
                    .map(|p| Found {
                        id: text(&p["id"]),
                        code: text(&p["code"]),
                        name: text(&p["name"]),
                        time: text(&p["time"]),
                        fee: text(&p["fee"]),
                    })
                    .collect(),
            ),
            Ok(a) => {
                return refused(
                    &kiosk,
                    &headers,
                    3,
                    ("Chưa tìm được thủ tục", "The search failed"),
                    &a,
                    "/procedures",
                )
            }
            Err(e) => return unreachable(&kiosk, &headers, 3, &e, "/procedures"),
        }
    };
    render(&Search { f, q, found })
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

#[derive(Deserialize)]
struct Choose {
    id: String,
}

/// A procedure chosen: its form and documents, and the fields the citizen's identity fills.
async fn choose(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap, Form(c): Form<Choose>) -> Response {
    if let Err(r) = gate(&kiosk, &headers, 3, true) {
        return r.into_response();
    }
    let Some(Some(session)) = with_visit(&kiosk, &headers, |v| v.identity.clone()) else {
        return see("/identify");
    };
    let id: String =
        c.id.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '.')
            .take(80)
            .collect();
    match kiosk.central.procedure(&session, &id).await {
        Ok((spec, prefill)) if spec.ok() && prefill.ok() => {
            let prefilled = prefill.body["prefilled"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| (text(&p["key"]), text(&p["value"]), text(&p["from"])))
                .collect();
            // Asked now, while the identity session is verified: should the link drop by the time the citizen
            // files, the dossier can still be queued.
            let grant = match kiosk.central.submission_grant(&session, &id).await {
                Ok(a) if a.ok() => a.body["grant"].as_str().map(str::to_string),
                Ok(a) => {
                    tracing::warn!(
                        status = a.status,
                        code = a.code().unwrap_or(""),
                        "no submission grant: this draft is not queued offline"
                    );
                    None
                }
                Err(e) => {
                    tracing::warn!(error = %e, "no submission grant: this draft is not queued offline");
                    None
                }
            };
            let mut key = [0u8; 12];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
            with_visit(&kiosk, &headers, |v| {
                v.procedure = Some(Draft {
                    spec: spec.body,
                    prefilled,
                    key: format!("dossier-{}", hex::encode(key)),
                    grant,
                    ..Default::default()
                })
            });
            see("/procedures/form")
        }
        Ok((spec, prefill)) => {
            let a = if spec.ok() { prefill } else { spec };
            refused(
                &kiosk,
                &headers,
                3,
                ("Chưa mở được thủ tục", "The procedure could not be opened"),
                &a,
                "/procedures",
            )
        }
        Err(e) => unreachable(&kiosk, &headers, 3, &e, "/procedures"),
    }
}

/// One field of the form as shown.
struct Field {
    key: String,
    label: String,
    kind: String,
    required: bool,
    value: String,
    /// Filled from the identity: locked, with where it came from.
    locked: Option<&'static str>,
    choices: Vec<(String, String)>,
    help: String,
}

#[derive(Template)]
#[template(path = "kiosk/procedure_form.html")]
struct FormScreen {
    f: Frame,
    name: String,
    fields: Vec<Field>,
    error: Option<String>,
}

fn source_label(from: &str, en: bool) -> &'static str {
    match (from, en) {
        ("chip", false) => "Từ thẻ Căn cước gắn chip",
        ("chip", true) => "From the chip ID card",
        (_, false) => "Từ ứng dụng định danh quốc gia",
        (_, true) => "From the national ID app",
    }
}

/// The procedure's name in the visit's language.
fn name_of(spec: &Value, en: bool) -> String {
    text(if en { &spec["name_en"] } else { &spec["name"] })
}

/// The draft's procedure, or the way back to choosing one.
fn draft<R>(kiosk: &Kiosk, headers: &HeaderMap, f: impl FnOnce(&mut Draft, bool) -> R) -> Option<R> {
    with_visit(kiosk, headers, |v| {
        let en = v.english;
        v.procedure.as_mut().map(|d| f(d, en))
    })
    .flatten()
}

async fn form(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    let f = match gate(&kiosk, &headers, 4, true) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let Some((name, fields, error)) = draft(&kiosk, &headers, |d, en| {
        let fields = d.spec["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|x| {
                let key = text(&x["key"]);
                let pre = d.prefilled.iter().find(|p| p.0 == key);
                Field {
                    label: text(if en { &x["label_en"] } else { &x["label"] }),
                    kind: text(&x["type"]),
                    required: x["required"].as_bool().unwrap_or(false),
                    value: pre
                        .map(|p| p.1.clone())
                        .or_else(|| d.form.get(&key).cloned())
                        .unwrap_or_default(),
                    locked: pre.map(|p| source_label(&p.2, en)),
                    choices: x["choices"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|c| {
                            (
                                text(&c["value"]),
                                text(if en { &c["label_en"] } else { &c["label"] }),
                            )
                        })
                        .collect(),
                    help: text(if en { &x["help_en"] } else { &x["help"] }),
                    key,
                }
            })
            .collect();
        (name_of(&d.spec, en), fields, d.error.take())
    }) else {
        return see("/procedures");
    };
    render(&FormScreen {
        f,
        name,
        fields,
        error,
    })
}

/// Keeps what was typed (the identity's fields are not taken from the screen: the central service fills them).
async fn keep_form(
    State(kiosk): State<Arc<Kiosk>>,
    headers: HeaderMap,
    Form(values): Form<Vec<(String, String)>>,
) -> Response {
    if let Err(r) = gate(&kiosk, &headers, 4, true) {
        return r.into_response();
    }
    let kept = draft(&kiosk, &headers, |d, _| {
        let known: Vec<String> = d.spec["fields"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|x| text(&x["key"]))
            .collect();
        d.form = values
            .into_iter()
            .filter(|(k, v)| {
                known.contains(k) && !d.prefilled.iter().any(|p| &p.0 == k) && !v.trim().is_empty()
            })
            .map(|(k, v)| (k, v.chars().take(300).collect()))
            .collect();
    });
    match kept {
        Some(()) => see("/procedures/documents"),
        None => see("/procedures"),
    }
}

/// One document as shown.
struct Doc {
    key: String,
    name: String,
    when: String,
    required: bool,
    can_scan: bool,
    /// The wallet's copies that may stand for it: (code, what it is, chosen).
    copies: Vec<(String, String, bool)>,
    pages: usize,
}

#[derive(Template)]
#[template(path = "kiosk/procedure_documents.html")]
struct DocumentsScreen {
    f: Frame,
    name: String,
    docs: Vec<Doc>,
    error: Option<String>,
}

async fn documents(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    let error = draft(&kiosk, &headers, |d, _| d.error.take()).flatten();
    documents_screen(&kiosk, &headers, error).await
}

async fn documents_screen(kiosk: &Kiosk, headers: &HeaderMap, error: Option<String>) -> Response {
    let f = match gate(kiosk, headers, 5, true) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let Some(Some(session)) = with_visit(kiosk, headers, |v| v.identity.clone()) else {
        return see("/identify");
    };
    // The wallet's copies (a failure only hides them: the documents can still be scanned).
    let wallet: Vec<(String, String)> = match kiosk.central.wallet(&session).await {
        Ok(a) if a.ok() => a.body["copies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["status"] == "valid")
            .map(|c| (text(&c["code"]), text(&c["document_type"])))
            .collect(),
        _ => Vec::new(),
    };
    let Some((name, docs)) = draft(kiosk, headers, |d, en| {
        let docs = d.spec["documents"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|x| {
                let key = text(&x["key"]);
                let source = text(&x["source"]);
                let chosen = d.wallet.get(&key).cloned();
                Doc {
                    name: text(if en { &x["name_en"] } else { &x["name"] }),
                    when: text(if en { &x["when_en"] } else { &x["when"] }),
                    required: x["required"].as_bool().unwrap_or(false),
                    can_scan: source != "wallet",
                    copies: if source == "scan" {
                        Vec::new()
                    } else {
                        wallet
                            .iter()
                            .map(|(c, t)| (c.clone(), t.clone(), chosen.as_deref() == Some(c)))
                            .collect()
                    },
                    pages: d.scans.get(&key).map_or(0, Vec::len),
                    key,
                }
            })
            .collect();
        (name_of(&d.spec, en), docs)
    }) else {
        return see("/procedures");
    };
    render(&DocumentsScreen { f, name, docs, error })
}

/// The document `key` of the draft's procedure, if it has one.
fn has_document(d: &Draft, key: &str) -> bool {
    d.spec["documents"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|x| x["key"] == key)
}

/// Scans one more page for the document `key`.
async fn scan(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap, Path(key): Path<String>) -> Response {
    if let Err(r) = gate(&kiosk, &headers, 5, true) {
        return r.into_response();
    }
    let room = draft(&kiosk, &headers, |d, _| {
        has_document(d, &key) && d.scans.get(&key).map_or(0, Vec::len) < MAX_DOC_PAGES
    });
    if room != Some(true) {
        return documents_screen(
            &kiosk,
            &headers,
            Some(format!(
                "Tối đa {MAX_DOC_PAGES} trang mỗi giấy tờ. / At most {MAX_DOC_PAGES} pages a document."
            )),
        )
        .await;
    }
    match kiosk.scanner.scan().await {
        Ok(png) => {
            draft(&kiosk, &headers, |d, _| {
                d.wallet.remove(&key);
                d.scans.entry(key.clone()).or_default().push(png)
            });
            see("/procedures/documents")
        }
        Err(e) => documents_screen(&kiosk, &headers, Some(format!("Máy quét chưa quét được trang: hãy thử lại hoặc gọi cán bộ. / The scanner failed: try again or call an officer. ({e:#})"))).await,
    }
}

#[derive(Deserialize)]
struct Pick {
    copy: String,
}

/// A wallet copy stands for the document `key`.
async fn pick_copy(
    State(kiosk): State<Arc<Kiosk>>,
    headers: HeaderMap,
    Path(key): Path<String>,
    Form(p): Form<Pick>,
) -> Response {
    if let Err(r) = gate(&kiosk, &headers, 5, true) {
        return r.into_response();
    }
    draft(&kiosk, &headers, |d, _| {
        if has_document(d, &key) {
            d.scans.remove(&key);
            d.wallet.insert(key, p.copy.chars().take(40).collect());
        }
    });
    see("/procedures/documents")
}

#[derive(Template)]
#[template(path = "kiosk/procedure_review.html")]
struct Review {
    f: Frame,
    name: String,
    rows: Vec<(String, String)>,
    docs: Vec<(String, String)>,
    /// The fee, and whether it was paid.
    fee: String,
    error: Option<String>,
}

async fn review(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    let f = match gate(&kiosk, &headers, 6, true) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let Some((name, rows, docs, fee, error)) = draft(&kiosk, &headers, |d, en| {
        let label = |key: &str| {
            d.spec["fields"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|x| x["key"] == key)
                .map(|x| text(if en { &x["label_en"] } else { &x["label"] }))
                .unwrap_or_else(|| key.to_string())
        };
        let mut rows: Vec<(String, String)> =
            d.prefilled.iter().map(|p| (label(&p.0), p.1.clone())).collect();
        // A choice reads as its label ("Ký"), not its value ("ky").
        let shown = |key: &str, value: &str| {
            d.spec["fields"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|x| x["key"] == key)
                .and_then(|x| x["choices"].as_array())
                .and_then(|cs| cs.iter().find(|c| c["value"] == value))
                .map(|c| text(if en { &c["label_en"] } else { &c["label"] }))
                .unwrap_or_else(|| value.to_string())
        };
        rows.extend(d.form.iter().map(|(k, v)| (label(k), shown(k, v))));
        let doc_name = |key: &str| {
            d.spec["documents"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|x| x["key"] == key)
                .map(|x| text(if en { &x["name_en"] } else { &x["name"] }))
                .unwrap_or_else(|| key.to_string())
        };
        let mut docs: Vec<(String, String)> = d
            .wallet
            .iter()
            .map(|(k, c)| {
                (
                    doc_name(k),
                    if en {
                        format!("certified copy {c} from the wallet")
                    } else {
                        format!("bản sao điện tử {c} trong ví")
                    },
                )
            })
            .collect();
        docs.extend(d.scans.iter().map(|(k, p)| {
            (
                doc_name(k),
                if en {
                    format!("scanned, {} page(s)", p.len())
                } else {
                    format!("bản quét, {} trang", p.len())
                },
            )
        }));
        (name_of(&d.spec, en), rows, docs, fee_of(d, en), d.error.take())
    }) else {
        return see("/procedures");
    };
    render(&Review {
        f,
        name,
        rows,
        docs,
        fee,
        error,
    })
}

/// The procedure's fee as the review states it: a fixed one is paid by QR before the dossier is received (when
/// the central service has a payment gateway; else at the office).
fn fee_of(d: &Draft, en: bool) -> String {
    let fee = &d.spec["fee"];
    let say = |vi: String, english: String| if en { english } else { vi };
    match (fee["kind"].as_str(), fee["vnd"].as_u64(), &d.paid) {
        (Some("free"), ..) | (Some("fixed"), Some(0), _) => say("Miễn phí".into(), "Free".into()),
        (Some("fixed"), Some(v), Some(r)) => {
            let v = banso_core::rules::format_vnd(v);
            say(
                format!("{v} — đã nộp (mã thanh toán {r})"),
                format!("{v} — paid (payment {r})"),
            )
        }
        (Some("fixed"), Some(v), None) => {
            let v = banso_core::rules::format_vnd(v);
            say(
                format!("{v} — nộp trước khi hồ sơ được tiếp nhận"),
                format!("{v} — paid before the dossier is received"),
            )
        }
        (Some("per_page"), ..) => say("Theo số trang".into(), "By the number of pages".into()),
        _ => say(
            "Theo mức của tỉnh; nộp khi nhận kết quả".into(),
            "Set by the province; paid when the result is collected".into(),
        ),
    }
}

/// The submission of the visit's draft: its identity session, its key and grant, and the body the central service
/// takes.
struct Submission {
    session: String,
    key: String,
    grant: Option<String>,
    body: Value,
}

fn submission(v: &super::Visit) -> Option<Submission> {
    use base64::Engine;
    let session = v.identity.clone()?;
    let d = v.procedure.as_ref()?;
    let b64 = |p: &Vec<u8>| base64::engine::general_purpose::STANDARD.encode(p);
    let mut attachments: Vec<Value> = d
        .wallet
        .iter()
        .map(|(k, c)| json!({"document": k, "copy": c}))
        .collect();
    attachments.extend(
        d.scans
            .iter()
            .map(|(k, pages)| json!({"document": k, "pages": pages.iter().map(b64).collect::<Vec<_>>()})),
    );
    Some(Submission {
        session,
        key: d.key.clone(),
        grant: d.grant.clone(),
        body: json!({
            "procedure": d.spec["id"],
            "form": d.form,
            "attachments": attachments,
            "email": d.form.get("email"),
            "payment": d.paid,
        }),
    })
}

/// Keeps a submission that could not reach the central service in the offline queue; the screen that says so,
/// or none when it cannot be queued (no grant, the queue full or the disk failing).
fn queue_it(kiosk: &Kiosk, headers: &HeaderMap, s: Submission) -> Option<Response> {
    let grant = s.grant?;
    let kept = kiosk.queue.push(&super::queue::Queued {
        key: s.key,
        grant,
        body: s.body,
        queued_at: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
    });
    match kept {
        Ok(reference) => {
            tracing::info!(%reference, "the central service cannot be reached: the dossier is queued");
            draft(kiosk, headers, |d, _| d.queued = Some(reference));
            Some(see("/procedures/queued"))
        }
        Err(e) => {
            tracing::error!(error = %e, "the dossier could not be queued");
            None
        }
    }
}

/// Keeps what the central service said of a refused submission for the screen it goes back to (the
/// documents for a missing document, the form for other bad input, the review otherwise), and names that screen.
fn back_with(d: &mut Draft, a: &super::central::Answer) -> &'static str {
    d.error = Some(format!("{} ({})", a.message(), a.code().unwrap_or("")));
    match (a.status, a.code()) {
        (_, Some("PRO-0004")) => "/procedures/documents",
        (422 | 404, _) => "/procedures/form",
        _ => "/procedures/review",
    }
}

/// Files the dossier with the central service.
async fn submit(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    if let Err(r) = gate(&kiosk, &headers, 6, true) {
        return r.into_response();
    }
    let Some(Some(s)) = with_visit(&kiosk, &headers, |v| submission(v)) else {
        return see("/procedures");
    };
    let answer = kiosk.central.submit_dossier(&s.session, &s.key, &s.body).await;
    // The link is down (or a gateway before the central service says it is): queued, when the draft has a grant.
    let down = match &answer {
        Err(_) => true,
        Ok(a) => matches!(a.status, 502..=504),
    };
    if down {
        kiosk.reached(false);
        if let Some(screen) = queue_it(&kiosk, &headers, s) {
            return screen;
        }
    }
    match answer {
        Ok(a) if a.ok() => {
            draft(&kiosk, &headers, |d, _| d.submitted = Some(a.body));
            see("/procedures/done")
        }
        // The procedure's fee first, by the gateway's QR.
        Ok(a) if super::pay::due(&a).is_some() => {
            with_visit(&kiosk, &headers, |v| v.payment = super::pay::due(&a));
            see("/pay")
        }
        // Bad input goes back to the form (or the documents) with what the central service said.
        Ok(a) if a.status == 422 || a.status == 404 => {
            see(draft(&kiosk, &headers, |d, _| back_with(d, &a)).unwrap_or("/procedures"))
        }
        Ok(a) => refused(
            &kiosk,
            &headers,
            6,
            ("Chưa nộp được hồ sơ", "The dossier could not be filed"),
            &a,
            "/procedures/review",
        ),
        Err(e) => unreachable(&kiosk, &headers, 6, &e, "/procedures/review"),
    }
}

/// The gateway confirmed the fee's payment `reference`: the dossier is filed naming it. The next screen (the
/// dossier's, or back to what the central service refused with the payment kept for the next try), or none
/// to keep waiting.
pub(super) async fn file_paid(kiosk: &Kiosk, headers: &HeaderMap, reference: &str) -> Option<&'static str> {
    let s = peek_visit(kiosk, headers, |v| {
        if let Some(d) = v.procedure.as_mut() {
            d.paid = Some(reference.to_string());
        }
        submission(v)
    })
    .flatten()?;
    let a = kiosk
        .central
        .submit_dossier(&s.session, &s.key, &s.body)
        .await
        .ok()?;
    // Not a touch: the payment screen asked.
    peek_visit(kiosk, headers, |v| {
        v.payment = None;
        let d = v.procedure.as_mut()?;
        if a.ok() {
            d.submitted = Some(a.body);
            Some("/procedures/done")
        } else {
            Some(back_with(d, &a))
        }
    })
    .flatten()
}

#[derive(Template)]
#[template(path = "kiosk/procedure_done.html")]
struct Done {
    f: Frame,
    name: String,
    code: String,
    lookup: String,
    due: String,
    email: Option<String>,
    can_print: bool,
    printed: Option<(bool, String)>,
    rated: bool,
}

async fn done(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    let f = match gate(&kiosk, &headers, 6, true) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let Some(Some(screen)) = draft(&kiosk, &headers, |d, en| {
        let s = d.submitted.as_ref()?;
        Some((
            name_of(&d.spec, en),
            text(&s["dossier"]["code"]),
            text(&s["lookup_code"]),
            text(&s["dossier"]["due_day"]),
            d.form.get("email").cloned(),
            d.printed.clone(),
            d.rated,
        ))
    }) else {
        return see("/procedures/review");
    };
    let (name, code, lookup, due, email, printed, rated) = screen;
    render(&Done {
        f,
        name,
        code,
        lookup,
        due,
        email,
        can_print: kiosk.printer.is_some(),
        printed,
        rated,
    })
}

#[derive(Template)]
#[template(path = "kiosk/procedure_queued.html")]
struct Queued {
    f: Frame,
    name: String,
    reference: String,
    email: Option<String>,
    fee: bool,
}

/// The dossier waits in the offline queue: what that means for the citizen.
async fn queued(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    let f = match gate(&kiosk, &headers, 6, true) {
        Ok(f) => f,
        Err(r) => return r.into_response(),
    };
    let Some(Some(screen)) = draft(&kiosk, &headers, |d, en| {
        Some((
            name_of(&d.spec, en),
            d.queued.clone()?,
            d.form.get("email").cloned().filter(|e| !e.trim().is_empty()),
            d.spec["fee"]["vnd"].as_u64().unwrap_or(0) > 0 && d.paid.is_none(),
        ))
    }) else {
        return see("/procedures/review");
    };
    let (name, reference, email, fee) = screen;
    render(&Queued {
        f,
        name,
        reference,
        email,
        fee,
    })
}

/// The submitted dossier's code, lookup code and tracking address.
fn submitted(kiosk: &Kiosk, headers: &HeaderMap) -> Option<(String, String, String)> {
    draft(kiosk, headers, |d, _| {
        let s = d.submitted.as_ref()?;
        Some((
            text(&s["dossier"]["code"]),
            text(&s["lookup_code"]),
            text(&s["tracking_url"]),
        ))
    })
    .flatten()
}

/// Prints the signed appointment slip on the kiosk's printer.
async fn print(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    if let Err(r) = gate(&kiosk, &headers, 6, true) {
        return r.into_response();
    }
    let (Some(printer), Some((code, lookup, _))) = (kiosk.printer.as_ref(), submitted(&kiosk, &headers))
    else {
        return see("/procedures/done");
    };
    let job = async {
        let pdf = kiosk
            .central
            .pdf(&format!("/api/v1/dossiers/{code}/slip.pdf?k={lookup}"))
            .await?;
        printer
            .print(&pdf, "application/pdf", &format!("giay-hen-{code}"))
            .await
    };
    let said = match job.await {
        Ok(_) => (true, "Đã in giấy tiếp nhận hồ sơ và hẹn trả kết quả, mời ông/bà nhận tại khay máy in. / The appointment slip has been printed.".to_string()),
        Err(e) => (false, format!("Máy in chưa in được: mời gọi cán bộ hỗ trợ. / The printer failed: please call an officer. ({e:#})")),
    };
    draft(&kiosk, &headers, |d, _| d.printed = Some(said));
    see("/procedures/done")
}

#[derive(Deserialize)]
struct RateForm {
    level: String,
}

/// The citizen's rating of the service they just had; then the visit ends.
async fn rate(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap, Form(r): Form<RateForm>) -> Response {
    if let Err(r) = gate(&kiosk, &headers, 6, true) {
        return r.into_response();
    }
    let Some((code, lookup, _)) = submitted(&kiosk, &headers) else {
        return see("/procedures/done");
    };
    match kiosk
        .central
        .rate_dossier(&code, &lookup, "service", &r.level)
        .await
    {
        Ok(a) if a.ok() || a.code() == Some("DOS-0004") => {
            draft(&kiosk, &headers, |d, _| d.rated = true);
            see("/procedures/done")
        }
        Ok(a) => problem(
            &kiosk,
            &headers,
            6,
            ("Chưa ghi được đánh giá", "The rating was not recorded"),
            Some(&a),
            None,
            "/procedures/done",
        ),
        Err(e) => unreachable(&kiosk, &headers, 6, &e, "/procedures/done"),
    }
}

/// The QR of the dossier's tracking address (with its lookup code), as a PNG.
async fn dossier_qr(State(kiosk): State<Arc<Kiosk>>, headers: HeaderMap) -> Response {
    let Some((_, _, url)) = submitted(&kiosk, &headers) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    super::screens::qr_image(&url, 8)
}

#[derive(Deserialize)]
struct TrackQuery {
    #[serde(default)]
    code: String,
    #[serde(default)]
    k: String,
    /// What the last step did (`sent`: the documents asked for were sent).
    #[serde(default)]
    done: String,
}

/// One step of a dossier's timeline as shown.
struct Step {
    status: String,
    at: String,
    note: String,
}

#[derive(Template)]
#[template(path = "kiosk/track.html")]
struct Track {
    f: Frame,
    code: String,
    /// The lookup code, kept in the forms that send the documents asked for.
    k: String,
    found: Option<(String, String, String, Vec<Step>)>,
    /// The documents an officer asked for: (key, name).
    requested: Vec<(String, String)>,
    notice: Option<String>,
    error: Option<String>,
}

/// Following a dossier at the kiosk: its code and lookup code (typed on the screen's keyboard), then where it
/// stands and its timeline. No identity is needed and nothing is kept: the lookup code opens the dossier.
async fn track(State(kiosk): State<Arc<Kiosk>>, Query(q): Query<TrackQuery>) -> Response {
    let f = Frame::of(&kiosk, None, 0);
    let (code, k) = (plain(&q.code, 40), plain(&q.k, 12));
    let mut screen = Track {
        f,
        code: code.clone(),
        k: k.clone(),
        found: None,
        requested: Vec::new(),
        notice: (q.done == "sent").then(|| {
            "Đã gửi giấy tờ bổ sung; hồ sơ được chuyển lại cán bộ. / The documents were sent; the dossier is back with the officer."
                .to_string()
        }),
        error: match q.done.as_str() {
            "scan-failed" => Some("Máy quét chưa quét được: hãy thử lại hoặc gọi cán bộ. / The scanner failed: try again or call an officer.".to_string()),
            "refused" => Some("Giấy tờ chưa gửi được: mời gọi cán bộ hỗ trợ. / The document was not taken: please call an officer.".to_string()),
            "unreachable" => Some("Mất kết nối, giấy tờ chưa gửi được: hãy thử lại. / No connection; the document was not sent: try again.".to_string()),
            _ => None,
        },
    };
    if code.is_empty() || k.is_empty() {
        return render(&screen);
    }
    let (found, error) = match kiosk.central.dossier(&code, &k).await {
        Ok(a) if a.ok() => {
            let b = &a.body;
            // The documents asked for, by their names in the procedure.
            let asked: Vec<String> = b["requested"].as_array().into_iter().flatten().map(text).collect();
            if !asked.is_empty() {
                let spec = kiosk
                    .central
                    .procedures_one(&text(&b["procedure"]))
                    .await
                    .ok()
                    .filter(|a| a.ok())
                    .map(|a| a.body)
                    .unwrap_or_default();
                screen.requested = asked
                    .into_iter()
                    .map(|key| {
                        let name = spec["documents"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .find(|d| d["key"] == key.as_str())
                            .map_or(key.clone(), |d| text(&d["name"]));
                        (key, name)
                    })
                    .collect();
            }
            let steps = b["timeline"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| Step {
                    status: text(&e["status_vi"]),
                    at: local_time(&text(&e["at"])),
                    note: text(&e["note"]),
                })
                .collect();
            (Some((text(&b["procedure_name"]), text(&b["status_vi"]), text(&b["due_day"]), steps)), None)
        }
        Ok(a) if a.code() == Some("DOS-0001") || a.code() == Some("DOS-0002") => (
            None,
            Some("Mã hồ sơ hoặc mã tra cứu chưa đúng, mời nhập lại. / The dossier code or the lookup code is not right: please type them again.".to_string()),
        ),
        Ok(a) => (None, Some(format!("{} ({})", a.message(), a.code().unwrap_or("")))),
        Err(e) => (None, Some(format!("{e:#}"))),
    };
    screen.found = found;
    screen.error = error.or(screen.error);
    render(&screen)
}

/// Letters, digits and dashes of a typed code, at most `max`.
fn plain(typed: &str, max: usize) -> String {
    typed
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(max)
        .collect()
}

#[derive(Deserialize)]
struct TrackScan {
    code: String,
    k: String,
    document: String,
}

/// Scans the document an officer asked for and sends it (with the lookup code the citizen typed); back to the
/// dossier with what became of it.
async fn track_scan(State(kiosk): State<Arc<Kiosk>>, Form(t): Form<TrackScan>) -> Response {
    use base64::Engine;
    let (code, k, document) = (plain(&t.code, 40), plain(&t.k, 12), plain(&t.document, 80));
    let back = |done: &str| see(&format!("/track?code={code}&k={k}&done={done}"));
    let page = match kiosk.scanner.scan().await {
        Ok(png) => png,
        Err(e) => {
            tracing::warn!(error = %e, "the scanner failed");
            return back("scan-failed");
        }
    };
    let body = json!({"k": k, "attachments": [{"document": document, "pages": [base64::engine::general_purpose::STANDARD.encode(page)]}]});
    match kiosk.central.add_documents(&code, &body).await {
        Ok(a) if a.ok() => back("sent"),
        Ok(a) => {
            tracing::info!(code = a.code(), "the documents were not taken");
            back("refused")
        }
        Err(_) => back("unreachable"),
    }
}

/// An RFC 3339 moment as the time and day it was in Việt Nam, `HH:MM dd/mm/yyyy`.
fn local_time(rfc3339: &str) -> String {
    match time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339) {
        Ok(t) => crate::output::time_in_viet_nam(t),
        Err(_) => rfc3339.to_string(),
    }
}

//! Spoken guidance: one short prompt per step, in the visit's language, spoken by espeak-ng (Vietnamese and
//! English voices ship with Debian's package) into a WAV the screen plays when it opens and again on request.
//! Prompts are made once and kept; without espeak-ng the screens stay silent (the button hides itself).

use super::Kiosk;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;

/// A spoken prompt, as a WAV file.
pub type Wav = Arc<Vec<u8>>;

/// What each step says: (Vietnamese, English), by the step bar's index.
pub const PROMPTS: &[(&str, &str)] = &[
    (
        "Xin chào. Mời ông bà chọn thủ tục cần làm trên màn hình.",
        "Welcome. Please choose what you would like to do.",
    ),
    (
        "Mời ông bà đọc nội dung về dữ liệu cá nhân, sau đó bấm Tôi đồng ý.",
        "Please read how your personal data is used, then press I agree.",
    ),
    (
        "Mời ông bà chọn cách xác thực: thẻ căn cước gắn chíp và khuôn mặt, hoặc ứng dụng định danh quốc gia.",
        "Please choose how to prove who you are: the chip ID card and your face, or the national ID app.",
    ),
    (
        "Mời ông bà chọn loại giấy tờ và số bản sao, sau đó bấm Tiếp tục.",
        "Please choose the document and the number of copies, then press Continue.",
    ),
    (
        "Mời ông bà đặt từng trang giấy tờ úp xuống mặt kính máy quét, rồi bấm Quét.",
        "Please place each page face down on the scanner glass, then press Scan.",
    ),
    (
        "Mời ông bà quét mã QR bằng ứng dụng ngân hàng để nộp lệ phí.",
        "Please scan the QR code with your banking app to pay the fee.",
    ),
    (
        "Đã có kết quả. Mời ông bà xem trên màn hình.",
        "Your result is on the screen.",
    ),
];

/// What the steps of filing a procedure after the identity say (the step bar's 3 to 6, asked for as 10 + the
/// index; the first three are those of [`PROMPTS`]).
pub const PROCEDURE_PROMPTS: &[(&str, &str)] = &[
    (
        "Mời ông bà gõ vài chữ về thủ tục cần làm, không cần dấu, rồi bấm Tìm thủ tục.",
        "Please type a few words about the procedure you need, then press Search.",
    ),
    (
        "Mời ông bà điền tờ khai. Các ô có khoá đã lấy từ thông tin định danh.",
        "Please fill in the form. The locked fields come from your verified identity.",
    ),
    (
        "Mời ông bà chọn giấy tờ trong ví, hoặc đặt giấy tờ úp xuống máy quét rồi bấm Quét.",
        "Please choose a document from your wallet, or place the paper face down on the scanner and press Scan.",
    ),
    (
        "Mời ông bà kiểm tra hồ sơ, rồi bấm Nộp hồ sơ. Sau đó nhận giấy hẹn trả kết quả.",
        "Please check your dossier, then press File the dossier, and take your appointment slip.",
    ),
];

#[derive(Deserialize)]
pub(super) struct Lang {
    #[serde(default)]
    l: String,
}

/// `GET /static/voice/{step}?l=vi|en`: the step's prompt as a WAV.
pub(super) async fn prompt(
    State(kiosk): State<Arc<Kiosk>>,
    Path(step): Path<usize>,
    Query(lang): Query<Lang>,
) -> Response {
    let english = lang.l == "en";
    let prompt = match step.checked_sub(10) {
        Some(i) if i >= 3 => PROCEDURE_PROMPTS.get(i - 3),
        Some(i) => PROMPTS.get(i),
        None => PROMPTS.get(step),
    };
    let Some(&(vi, en)) = prompt else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let key = (step, english);
    let cached = kiosk
        .voices
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
        .cloned();
    let wav = match cached {
        Some(wav) => wav,
        None => {
            let out = tokio::process::Command::new("espeak-ng")
                .args(["-v", if english { "en" } else { "vi" }, "-s", "140", "--stdout"])
                .arg(if english { en } else { vi })
                .kill_on_drop(true)
                .output()
                .await;
            match out {
                Ok(o) if o.status.success() && o.stdout.starts_with(b"RIFF") => {
                    let wav = Arc::new(o.stdout);
                    kiosk
                        .voices
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(key, wav.clone());
                    wav
                }
                _ => return StatusCode::NOT_FOUND.into_response(),
            }
        }
    };
    (
        [
            (header::CONTENT_TYPE, "audio/wav"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        wav.as_ref().clone(),
    )
        .into_response()
}

//! The certification book of a year (Decree 23/2015 Art. 13, 14: kept permanently): every number the book
//! gave, in order — the copies certified under it, or why it was voided — as a PDF/A sealed by the body and as
//! CSV, both from the registry alone.

use super::{Service, SignedIn};
use crate::error::{Code, Error, Result};
use crate::model::{CopyRecord, CopyStatus};
use crate::office::OfficeRole;
use crate::ports::{Book, BookLineStatus};
use crate::rules::{format_vnd, vietnamese_date, CertificationNumber};

/// A year's book, as the PDF and the CSV give it.
#[derive(Debug, Clone)]
pub struct YearBook {
    pub year: i32,
    /// Its lines (one per number), each with its cells in the order of [`BOOK_COLUMNS`].
    pub lines: Vec<Vec<String>>,
    pub pdf: Vec<u8>,
}

/// The book's columns (as Circular 01/2020/TT-BTP's form of the book names them) and their shares of the page.
pub const BOOK_COLUMNS: [(&str, f32); 9] = [
    ("Số TT / Số chứng thực", 0.13),
    ("Ngày chứng thực", 0.08),
    ("Họ tên người yêu cầu", 0.15),
    ("Tên bản chính giấy tờ", 0.15),
    ("Người ký chứng thực", 0.15),
    ("Số bản sao", 0.06),
    ("Số trang", 0.05),
    ("Lệ phí", 0.08),
    ("Ghi chú", 0.15),
];

/// The CSV's header (ASCII, one name per column of [`BOOK_COLUMNS`] and the copies' codes).
pub const BOOK_CSV_HEADER: &str =
    "so_chung_thuc,ngay,nguoi_yeu_cau,giay_to,nguoi_ky,so_ban_sao,so_trang,le_phi,ghi_chu,ma_ban_sao";

/// The day of `t` in Việt Nam, dd/mm/yyyy.
fn day_vn(t: time::OffsetDateTime) -> String {
    let d = t.to_offset(crate::rules::VIETNAM).date();
    format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
}

fn status_note(copies: &[&CopyRecord]) -> String {
    let ended: Vec<String> = copies
        .iter()
        .filter(|c| c.status != CopyStatus::Valid)
        .map(|c| {
            let mut s = format!("bản {}: {}", c.copy_index, c.status.label_vi());
            if let Some(d) = &c.decision_number {
                s.push_str(&format!(" (QĐ {d})"));
            }
            s
        })
        .collect();
    if ended.is_empty() {
        "Đã cấp".to_string()
    } else {
        ended.join("; ")
    }
}

/// A cell as CSV writes it: quoted when it must be, and a cell a spreadsheet would run as a formula made text.
pub fn csv_cell(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

impl YearBook {
    /// The book as CSV (UTF-8, a header line, one line per number).
    pub fn csv(&self, codes: &[String]) -> String {
        let mut out = String::from(BOOK_CSV_HEADER);
        out.push('\n');
        for (line, codes) in self.lines.iter().zip(codes) {
            let cells: Vec<String> = line
                .iter()
                .chain(std::iter::once(codes))
                .map(|c| csv_cell(c))
                .collect();
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }
}

impl Service {
    /// The book of `year`: its lines, the copies' codes of each, and the sealed PDF. For supervisors,
    /// administrators and auditors (OFF-0004 otherwise); written to the audit log.
    pub async fn office_book(&self, by: &SignedIn, year: i32, from: &str) -> Result<(YearBook, Vec<String>)> {
        by.require(|r| r != OfficeRole::Officer)?;
        let now = self.clock.now();
        if !(2015..=crate::rules::legal_year(now)).contains(&year) {
            return Err(Error::new(
                Code::Iss0005InvalidField,
                format!("there is no book of {year}"),
            ));
        }
        let suffix = &self.settings.numbering.suffix;
        let numbers = self.registry.book_lines(year, suffix).await?;
        let copies = self.registry.book_copies(year, suffix).await?;
        // Each number's copies, found once (a year's book may hold many thousands of numbers).
        let mut by_number: std::collections::BTreeMap<u32, Vec<&CopyRecord>> =
            std::collections::BTreeMap::new();
        for c in &copies {
            by_number.entry(c.sequence).or_default().push(c);
        }
        let mut lines = Vec::with_capacity(numbers.len());
        let mut codes = Vec::with_capacity(numbers.len());
        let (mut used, mut voided) = (0u32, 0u32);
        for n in &numbers {
            let label = CertificationNumber::new(n.sequence, year, &self.settings.numbering).label();
            let of: &[&CopyRecord] = by_number.get(&n.sequence).map_or(&[], Vec::as_slice);
            let line = match (n.status, of.first()) {
                (BookLineStatus::Used, Some(first)) => {
                    used += 1;
                    vec![
                        label,
                        day_vn(first.issued_at),
                        first.holder_name.clone(),
                        first.document_type.clone(),
                        first.signer.clone(),
                        of.len().to_string(),
                        first.original_pages.to_string(),
                        format_vnd(of.iter().map(|c| c.fee_vnd).sum()),
                        status_note(of),
                    ]
                }
                (BookLineStatus::Voided, _) => {
                    voided += 1;
                    let mut line = vec![String::new(); BOOK_COLUMNS.len()];
                    line[0] = label;
                    line[1] = day_vn(n.reserved_at);
                    line[8] = format!(
                        "Số đã hủy, không cấp bản sao: {}",
                        n.void_reason.as_deref().unwrap_or("-")
                    );
                    line
                }
                // A number being given now, or one whose copies the registry does not show (never expected).
                (status, _) => {
                    let mut line = vec![String::new(); BOOK_COLUMNS.len()];
                    line[0] = label;
                    line[1] = day_vn(n.reserved_at);
                    line[8] = match status {
                        BookLineStatus::Pending => "Đang cấp".to_string(),
                        _ => "Không có bản sao trong sổ đăng ký".to_string(),
                    };
                    line
                }
            };
            codes.push(of.iter().map(|c| c.code.as_str()).collect::<Vec<_>>().join(" "));
            lines.push(line);
        }
        let pdf = self
            .dossier_settings()?
            .notices
            .book(Book {
                issuer: self.settings.issuing_body.to_uppercase(),
                title: format!("SỔ CHỨNG THỰC BẢN SAO TỪ BẢN CHÍNH NĂM {year}"),
                subtitle: vec![
                    format!("Quyển số: {year}-{suffix} · Certification book of {year}"),
                    "Lưu trữ vĩnh viễn (Điều 13, 14 Nghị định số 23/2015/NĐ-CP) / Kept permanently".into(),
                ],
                columns: BOOK_COLUMNS
                    .iter()
                    .map(|(h, w)| (h.to_string(), *w))
                    .collect(),
                rows: lines.clone(),
                closing: vec![format!(
                    "Sổ có {} số: {used} số đã cấp bản sao, {voided} số đã hủy. The book holds {} numbers: {used} \
                     used, {voided} voided. Trích xuất lúc {}.",
                    numbers.len(),
                    numbers.len(),
                    super::dossier::local_time(now)
                )],
                date_line: format!("{}, {}", self.settings.place, vietnamese_date(now).to_lowercase()),
                signer_title: self.settings.signer_title.to_uppercase(),
                signer_name: self.settings.issuing_body.clone(),
                issued_at: now,
                doc_title: format!("Sổ chứng thực {year}-{suffix}"),
            })
            .await?;
        self.audit(&by.officer.username, "book_export", &year.to_string(), from)
            .await?;
        Ok((YearBook { year, lines, pdf }, codes))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cell_is_quoted_when_it_must_be_and_never_runs_as_a_formula() {
        assert_eq!(super::csv_cell("Giấy khai sinh"), "Giấy khai sinh");
        assert_eq!(super::csv_cell("a, b"), "\"a, b\"");
        assert_eq!(super::csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(super::csv_cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(super::csv_cell("-1"), "'-1");
    }
}

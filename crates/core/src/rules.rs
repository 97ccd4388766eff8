//! Legal rules: certification numbers (Decree 23/2015 Art. 13), fees (Circular 226/2016), the local calendar.

use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, UtcOffset};

/// Vietnam's time zone (UTC+7, no daylight saving). The legal year and date of a certification are local.
pub const VIETNAM: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// The local (Vietnam) year of an instant: numbering restarts at 01 on 1 January local time.
pub fn legal_year(at: OffsetDateTime) -> i32 {
    at.to_offset(VIETNAM).year()
}

/// "Ngày 21 tháng 11 năm 2026" for the certification page.
pub fn vietnamese_date(at: OffsetDateTime) -> String {
    let d = at.to_offset(VIETNAM);
    format!(
        "Ngày {:02} tháng {:02} năm {}",
        d.day(),
        u8::from(d.month()),
        d.year()
    )
}

/// How certification numbers are formed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NumberingPolicy {
    /// The book symbol: "SCT/BS" by Decree 23; some provinces keep e-copies in their own book ("SCTĐT/BS").
    pub suffix: String,
    /// Entries per book; the number runs on across books within a year.
    pub book_capacity: u32,
}

impl Default for NumberingPolicy {
    fn default() -> Self {
        Self {
            suffix: "SCT/BS".into(),
            book_capacity: 1000,
        }
    }
}

/// A certification number: the sequence within the year, the book it falls in, the year and the symbol.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificationNumber {
    pub sequence: u32,
    pub book: u32,
    pub year: i32,
    pub suffix: String,
}

impl CertificationNumber {
    /// The number for the `sequence`-th certification of `year` (sequence starts at 1).
    pub fn new(sequence: u32, year: i32, policy: &NumberingPolicy) -> Self {
        let capacity = policy.book_capacity.max(1);
        Self {
            sequence,
            book: (sequence.saturating_sub(1)) / capacity + 1,
            year,
            suffix: policy.suffix.clone(),
        }
    }

    /// "Số: 15, Quyển số: 01/2026-SCT/BS".
    pub fn label(&self) -> String {
        format!(
            "Số: {:02}, Quyển số: {:02}/{}-{}",
            self.sequence, self.book, self.year, self.suffix
        )
    }
}

/// The fee schedule for certifying copies (Circular 226/2016/TT-BTC by default).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FeeSchedule {
    /// How many leading pages pay `first_pages_vnd` each.
    pub first_pages: u32,
    pub first_pages_vnd: u64,
    /// Price of each further page.
    pub later_pages_vnd: u64,
    /// Ceiling per copy.
    pub max_per_copy_vnd: u64,
}

impl Default for FeeSchedule {
    fn default() -> Self {
        Self {
            first_pages: 2,
            first_pages_vnd: 2_000,
            later_pages_vnd: 1_000,
            max_per_copy_vnd: 200_000,
        }
    }
}

impl FeeSchedule {
    /// The fee of one copy of an original with `pages` pages.
    pub fn per_copy(&self, pages: u32) -> u64 {
        let first = pages.min(self.first_pages) as u64 * self.first_pages_vnd;
        let later = pages.saturating_sub(self.first_pages) as u64 * self.later_pages_vnd;
        (first + later).min(self.max_per_copy_vnd)
    }
}

/// "4.000 đồng": Vietnamese thousands separator.
pub fn format_vnd(amount: u64) -> String {
    let digits = amount.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    format!("{out} đồng")
}

/// The clauses of Decree 23/2015/NĐ-CP Art. 22: originals that cannot be the basis of a certified copy.
pub const ARTICLE_22: [&str; 6] = [
    "Bản chính bị tẩy xoá, sửa chữa, thêm, bớt nội dung không hợp lệ.",
    "Bản chính bị hư hỏng, cũ nát, không xác định được nội dung.",
    "Bản chính đóng dấu mật của cơ quan, tổ chức có thẩm quyền hoặc không đóng dấu mật nhưng ghi rõ không được sao chụp.",
    "Bản chính có nội dung trái pháp luật, đạo đức xã hội.",
    "Bản chính do cơ quan, tổ chức có thẩm quyền của nước ngoài cấp, công chứng hoặc chứng nhận chưa được hợp pháp hoá lãnh sự.",
    "Giấy tờ, văn bản do cá nhân tự lập nhưng không có xác nhận, chứng nhận của cơ quan, tổ chức có thẩm quyền.",
];

/// The clause of Art. 22 (1–6) a refusal's words name (`… Art. 22(3) …`), if any.
pub fn article_22_clause(reason: &str) -> Option<u8> {
    let rest = reason.split("Art. 22(").nth(1)?;
    rest.split(')')
        .next()?
        .trim()
        .parse()
        .ok()
        .filter(|n| (1..=ARTICLE_22.len() as u8).contains(n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn circular_226_fees() {
        let f = FeeSchedule::default();
        assert_eq!(f.per_copy(1), 2_000);
        assert_eq!(f.per_copy(2), 4_000);
        assert_eq!(f.per_copy(3), 5_000);
        assert_eq!(f.per_copy(10), 12_000);
        assert_eq!(f.per_copy(198), 200_000);
        assert_eq!(f.per_copy(500), 200_000);
    }

    #[test]
    fn numbering_runs_across_books_and_formats_art_13() {
        let p = NumberingPolicy {
            suffix: "SCT/BS".into(),
            book_capacity: 500,
        };
        assert_eq!(CertificationNumber::new(1, 2026, &p).book, 1);
        assert_eq!(CertificationNumber::new(500, 2026, &p).book, 1);
        assert_eq!(CertificationNumber::new(501, 2026, &p).book, 2);
        assert_eq!(
            CertificationNumber::new(7, 2026, &p).label(),
            "Số: 07, Quyển số: 01/2026-SCT/BS"
        );
    }

    #[test]
    fn the_legal_year_is_local() {
        assert_eq!(legal_year(datetime!(2026-12-31 17:30 UTC)), 2027);
        assert_eq!(legal_year(datetime!(2026-12-31 16:59 UTC)), 2026);
        assert_eq!(
            vietnamese_date(datetime!(2026-11-21 01:00 UTC)),
            "Ngày 21 tháng 11 năm 2026"
        );
    }

    #[test]
    fn vnd_is_grouped() {
        assert_eq!(format_vnd(4000), "4.000 đồng");
        assert_eq!(format_vnd(200000), "200.000 đồng");
        assert_eq!(format_vnd(500), "500 đồng");
    }
}

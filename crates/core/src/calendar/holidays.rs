//! One year's days off: the Labour Code's holidays, their substitute days and the government's yearly
//! decisions (the data file `crates/core/calendar/vn-days-off.txt`).

use super::lunar::{self, LunarDate};
use crate::{Code, Error, Result};
use time::{Date, Month, Weekday};

/// The Labour Code 2019, 45/2019/QH14 (in force since 1 January 2021).
const LABOUR_CODE: &str = "Bộ luật Lao động 2019";

/// Why a day is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayOffKind {
    /// A holiday of the Labour Code's Art. 112(1) (Tết's five days and the second National Day holiday as the
    /// Prime Minister chose them, or as the code's default when no decision is known).
    Holiday,
    /// The day off owed for a holiday that fell on Saturday or Sunday: the next working day (Art. 111(3)).
    Substitute,
    /// A working day made a day off by a government decision, made up on a working Saturday.
    Swapped,
}

impl DayOffKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DayOffKind::Holiday => "holiday",
            DayOffKind::Substitute => "substitute",
            DayOffKind::Swapped => "swapped",
        }
    }
}

/// A day off, with its names and where the rule or decision comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayOff {
    pub date: Date,
    pub kind: DayOffKind,
    pub name_vi: String,
    pub name_en: String,
    pub source: String,
}

/// A Saturday or Sunday made a working day by a decision (làm bù).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingWeekend {
    pub date: Date,
    pub name_vi: String,
    pub name_en: String,
    pub source: String,
}

/// The days off and working weekend days of one Gregorian year.
#[derive(Debug, Clone)]
pub struct Year {
    pub year: i32,
    /// Whether the data holds the government's decisions for this year. When false the year is the Labour
    /// Code's alone — an estimate until the decisions are published.
    pub decided: bool,
    /// Every day off but the ordinary weekends, in date order (a holiday on a weekend is listed, with its
    /// substitute day).
    pub days_off: Vec<DayOff>,
    pub working_weekends: Vec<WorkingWeekend>,
    /// Bit n: day n+1 of the year is a working day.
    working: [u64; 6],
}

impl Year {
    /// Whether `date` (a day of this year) is a working day.
    pub fn is_working_day(&self, date: Date) -> bool {
        let n = usize::from(date.ordinal() - 1);
        self.working[n / 64] & (1 << (n % 64)) != 0
    }
}

/// One line of the data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Decision {
    Tet { date: Date, source: String },
    NationalDay { date: Date, source: String },
    Off(DayOff),
    Work(WorkingWeekend),
}

impl Decision {
    fn date(&self) -> Date {
        match self {
            Decision::Tet { date, .. } | Decision::NationalDay { date, .. } => *date,
            Decision::Off(d) => d.date,
            Decision::Work(w) => w.date,
        }
    }
}

/// Reads the data file's lines (see the file's header for the format) and checks each decision's shape: five
/// Tết days a year or none, the National Day's second day on 1 or 3 September, days made off on weekdays and
/// days made working on weekends.
pub(super) fn parse(text: &str) -> Result<Vec<Decision>> {
    let mut decisions = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: &str| {
            Error::new(
                Code::Cal0001BadInput,
                format!("days-off data, line {}: {why}", i + 1),
            )
        };
        let fields: Vec<&str> = line.split('|').map(str::trim).collect();
        let date = fields
            .get(1)
            .and_then(|d| parse_date(d))
            .ok_or_else(|| bad("no YYYY-MM-DD date in the second field"))?;
        let weekend = is_weekend(date);
        let decision = match (fields[0], fields.as_slice()) {
            ("tet", [_, _, source]) => Decision::Tet {
                date,
                source: source.to_string(),
            },
            ("national-day", [_, _, source]) => {
                if date.month() != Month::September || !(date.day() == 1 || date.day() == 3) {
                    return Err(bad("the National Day's second day is 1 or 3 September"));
                }
                Decision::NationalDay {
                    date,
                    source: source.to_string(),
                }
            }
            ("off", [_, _, vi, en, source]) if !weekend => Decision::Off(DayOff {
                date,
                kind: DayOffKind::Swapped,
                name_vi: vi.to_string(),
                name_en: en.to_string(),
                source: source.to_string(),
            }),
            ("work", [_, _, vi, en, source]) if weekend => Decision::Work(WorkingWeekend {
                date,
                name_vi: vi.to_string(),
                name_en: en.to_string(),
                source: source.to_string(),
            }),
            ("off", [_, _, _, _, _]) => return Err(bad("a day made off must be a weekday")),
            ("work", [_, _, _, _, _]) => return Err(bad("a day made working must be a weekend day")),
            _ => {
                return Err(bad(
                    "expected `tet|DATE|source`, `national-day|DATE|source`, `off|DATE|vi|en|source` or \
                     `work|DATE|vi|en|source`",
                ))
            }
        };
        decisions.push(decision);
    }
    let mut years: Vec<i32> = decisions.iter().map(|d| d.date().year()).collect();
    years.sort_unstable();
    years.dedup();
    for year in years {
        let tet = decisions
            .iter()
            .filter(|d| matches!(d, Decision::Tet { date, .. } if date.year() == year))
            .count();
        if tet != 0 && tet != 5 {
            return Err(Error::new(
                Code::Cal0001BadInput,
                format!("days-off data: {year} has {tet} Tết days; the Labour Code gives 5"),
            ));
        }
    }
    Ok(decisions)
}

fn parse_date(s: &str) -> Option<Date> {
    let mut parts = s.splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
}

fn is_weekend(date: Date) -> bool {
    matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday)
}

fn day(year: i32, month: Month, day: u8) -> Result<Date> {
    Date::from_calendar_date(year, month, day).map_err(|e| Error::new(Code::Cal0001BadInput, e.to_string()))
}

fn holiday(date: Date, name_vi: String, name_en: String, source: String) -> DayOff {
    DayOff {
        date,
        kind: DayOffKind::Holiday,
        name_vi,
        name_en,
        source,
    }
}

/// The Tết day's name from its lunar date: "Tết Nguyên đán (30 tháng Chạp)", "Tết Nguyên đán (mùng 1 tháng
/// Giêng)".
fn tet_names(date: Date) -> Result<(String, String)> {
    let lunar = lunar::solar_to_lunar(date)?;
    let (vi, en) = match (lunar.month, lunar.day) {
        (12, d) => (
            format!("{d} tháng Chạp"),
            format!("day {d} of the 12th lunar month"),
        ),
        (1, d) if d <= 10 => (
            format!("mùng {d} tháng Giêng"),
            format!("day {d} of the 1st lunar month"),
        ),
        (1, d) => (
            format!("{d} tháng Giêng"),
            format!("day {d} of the 1st lunar month"),
        ),
        _ => (lunar.to_string(), format!("lunar {lunar}")),
    };
    Ok((format!("Tết Nguyên đán ({vi})"), format!("Lunar New Year ({en})")))
}

/// The second National Day holiday when no decision names it (Art. 112(1)(đ): "2 September and one day before
/// or after"): the neighbour that is a weekday and joins the holiday to a weekend, as the decisions since 2021
/// chose it (Friday 1 September 2023 before a Saturday 2nd, Monday 1 September 2025 before a Tuesday 2nd,
/// Friday 3 September 2027 after a Thursday 2nd); for a Wednesday 2nd the day before, as in 2026.
fn default_national_day_neighbour(year: i32) -> Result<Date> {
    let second = day(year, Month::September, 2)?;
    let after = matches!(
        second.weekday(),
        Weekday::Monday | Weekday::Thursday | Weekday::Sunday
    );
    day(year, Month::September, if after { 3 } else { 1 })
}

/// Builds `year` from the Labour Code and the decisions dated in that year.
pub(super) fn build(year: i32, decisions: &[Decision]) -> Result<Year> {
    let mine: Vec<&Decision> = decisions.iter().filter(|d| d.date().year() == year).collect();
    let decided = !mine.is_empty();
    let art = |point: &str| {
        let estimate = if decided {
            ""
        } else {
            " (estimate: no decision for this year in the data)"
        };
        format!("{LABOUR_CODE}, điểm {point} khoản 1 Điều 112{estimate}")
    };

    let mut holidays = vec![holiday(
        day(year, Month::January, 1)?,
        "Tết Dương lịch".into(),
        "New Year's Day".into(),
        art("a"),
    )];

    // Tết: the five days the Prime Minister chose, or the code's usual ones: the last day of the old lunar year
    // and the first four of the new.
    let chosen: Vec<(Date, &str)> = mine
        .iter()
        .filter_map(|d| match d {
            Decision::Tet { date, source } => Some((*date, source.as_str())),
            _ => None,
        })
        .collect();
    let tet_days: Vec<(Date, String)> = if chosen.is_empty() {
        let first = lunar::new_year(year)?;
        (-1..4)
            .map(|offset| (first + time::Duration::days(offset), art("b")))
            .collect()
    } else {
        chosen
            .iter()
            .map(|(date, source)| {
                (
                    *date,
                    format!("{LABOUR_CODE}, điểm b khoản 1 và khoản 3 Điều 112; {source}"),
                )
            })
            .collect()
    };
    for (date, source) in tet_days {
        let (vi, en) = tet_names(date)?;
        holidays.push(holiday(date, vi, en, source));
    }

    holidays.push(holiday(
        lunar::lunar_to_solar(LunarDate::new(year, 3, 10))?,
        "Giỗ Tổ Hùng Vương (10/3 âm lịch)".into(),
        "Hùng Kings' Commemoration Day (10th day of the 3rd lunar month)".into(),
        art("e"),
    ));
    holidays.push(holiday(
        day(year, Month::April, 30)?,
        "Ngày Chiến thắng".into(),
        "Reunification Day".into(),
        art("c"),
    ));
    holidays.push(holiday(
        day(year, Month::May, 1)?,
        "Ngày Quốc tế lao động".into(),
        "International Labour Day".into(),
        art("d"),
    ));
    holidays.push(holiday(
        day(year, Month::September, 2)?,
        "Quốc khánh".into(),
        "National Day".into(),
        art("đ"),
    ));
    let (neighbour, source) = match mine.iter().find_map(|d| match d {
        Decision::NationalDay { date, source } => Some((*date, source)),
        _ => None,
    }) {
        Some((date, source)) => (
            date,
            format!("{LABOUR_CODE}, điểm đ khoản 1 và khoản 3 Điều 112; {source}"),
        ),
        None => (default_national_day_neighbour(year)?, art("đ")),
    };
    holidays.push(holiday(
        neighbour,
        "Quốc khánh (ngày liền kề)".into(),
        "National Day (the day beside it)".into(),
        source,
    ));
    holidays.sort_by_key(|h| h.date);

    let swapped: Vec<DayOff> = mine
        .iter()
        .filter_map(|d| match d {
            Decision::Off(off) => Some(off.clone()),
            _ => None,
        })
        .collect();
    let working_weekends: Vec<WorkingWeekend> = mine
        .iter()
        .filter_map(|d| match d {
            Decision::Work(w) => Some(w.clone()),
            _ => None,
        })
        .collect();

    // Art. 111(3): a holiday on the weekly day off is made up on the next working day — the next weekday that is
    // not itself a holiday, a day made off, or an earlier holiday's substitute.
    let mut substitutes: Vec<DayOff> = Vec::new();
    for h in holidays.iter().filter(|h| is_weekend(h.date)) {
        let mut d = h.date;
        loop {
            d = d
                .next_day()
                .ok_or_else(|| Error::new(Code::Cal0002UnknownYear, "past the last date"))?;
            let taken = is_weekend(d)
                || holidays.iter().any(|o| o.date == d)
                || swapped.iter().any(|o| o.date == d)
                || substitutes.iter().any(|o| o.date == d);
            if !taken {
                break;
            }
        }
        substitutes.push(DayOff {
            date: d,
            kind: DayOffKind::Substitute,
            name_vi: format!("Nghỉ bù {} ({})", h.name_vi, dd_mm(h.date)),
            name_en: format!("Substitute day for {} ({})", h.name_en, h.date),
            source: format!("{LABOUR_CODE}, khoản 3 Điều 111"),
        });
    }

    let mut days_off: Vec<DayOff> = holidays.into_iter().chain(substitutes).chain(swapped).collect();
    days_off.sort_by_key(|d| d.date);

    let mut working = [0u64; 6];
    let mut date = day(year, Month::January, 1)?;
    while date.year() == year {
        let off = days_off.iter().any(|d| d.date == date);
        let made_working = working_weekends.iter().any(|w| w.date == date);
        if made_working || (!is_weekend(date) && !off) {
            let n = usize::from(date.ordinal() - 1);
            working[n / 64] |= 1 << (n % 64);
        }
        match date.next_day() {
            Some(next) => date = next,
            None => break,
        }
    }

    Ok(Year {
        year,
        decided,
        days_off,
        working_weekends,
        working,
    })
}

fn dd_mm(date: Date) -> String {
    format!("{:02}/{:02}", date.day(), u8::from(date.month()))
}

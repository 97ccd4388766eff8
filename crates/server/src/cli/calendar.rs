//! `banso calendar`: Việt Nam's days off and due dates in working days (the rules are `core::calendar`'s), and
//! `banso bench calendar`.

use crate::*;
use banso_core::calendar::{lunar, Calendar, DayOffKind, Due, DAYS_OFF_DATA, DEFAULT_CUTOFF, VIET_NAM};
use banso_core::error::Code;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

#[derive(Subcommand)]
pub enum CalendarCommand {
    /// Every day off of YEAR (1900–2199) besides ordinary weekends: the Labour Code's holidays, substitute days,
    /// days swapped by a government decision, and the Saturdays made working days. A year whose decisions are not
    /// in the data is the Labour Code's alone and says it is an estimate.
    Holidays {
        year: i32,
        #[arg(long)]
        json: bool,
    },
    /// The due date of a dossier received at --from with --working-days to answer: received on a working day
    /// before the cut-off it counts that day, else the next working day; the time allowed starts the working day
    /// after.
    Due {
        /// When the dossier was received: RFC 3339 (2026-03-09T09:00:00+07:00), or `YYYY-MM-DD HH:MM` read as
        /// Việt Nam's time (UTC+7).
        #[arg(long)]
        from: String,
        #[arg(long)]
        working_days: u32,
        /// From this hour (UTC+7, HH:MM) a dossier counts as received the next working day.
        #[arg(long, default_value = "16:00")]
        cutoff: String,
        #[arg(long)]
        json: bool,
    },
    /// The lunar months of the lunar years FROM to TO (default FROM): number, leap, first day, length.
    Lunar {
        from: i32,
        to: Option<i32>,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: CalendarCommand) -> Result<u8, Failure> {
    match command {
        CalendarCommand::Holidays { year, json } => match Calendar::viet_nam().year(year) {
            Ok(y) => {
                let out = year_json(y);
                if json {
                    println!("{out}");
                } else {
                    print_year(&out);
                }
                Ok(0)
            }
            Err(e) => Ok(output::fail(json, &e)),
        },
        CalendarCommand::Due {
            from,
            working_days,
            cutoff,
            json,
        } => {
            let due = parse_received(&from).and_then(|received| {
                let cutoff = parse_cutoff(&cutoff)?;
                let due = Calendar::viet_nam().due(received, working_days, cutoff)?;
                Ok((received, due))
            });
            match due {
                Ok((received, due)) => {
                    if json {
                        println!("{}", due_json(received, working_days, &due));
                    } else {
                        println!("due: {}", due.due);
                    }
                    Ok(0)
                }
                Err(e) => Ok(output::fail(json, &e)),
            }
        }
        CalendarCommand::Lunar { from, to, json } => {
            let months: Result<Vec<_>, Error> = (from..=to.unwrap_or(from))
                .map(lunar::months_of)
                .collect::<Result<Vec<_>, Error>>()
                .map(|years| years.into_iter().flatten().collect());
            match months {
                Ok(months) => {
                    if json {
                        let list: Vec<Value> = months
                            .iter()
                            .map(|m| {
                                json!({"year": m.year, "month": m.month, "leap": m.leap,
                                       "first_day": m.first_day.to_string(), "days": m.days})
                            })
                            .collect();
                        println!("{}", Value::Array(list));
                    } else {
                        for m in &months {
                            let leap = if m.leap { " (nhuận)" } else { "" };
                            println!(
                                "{} tháng {:>2}{leap:<9} {} {} days",
                                m.year, m.month, m.first_day, m.days
                            );
                        }
                    }
                    Ok(0)
                }
                Err(e) => Ok(output::fail(json, &e)),
            }
        }
    }
}

fn bad_input(message: String) -> Error {
    Error::new(Code::Cal0001BadInput, message)
}

/// RFC 3339, or `YYYY-MM-DD HH:MM` (a `T` may stand for the space) in Việt Nam's time.
fn parse_received(s: &str) -> Result<OffsetDateTime, Error> {
    let s = s.trim();
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(t);
    }
    let local = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    PrimitiveDateTime::parse(&s.replacen('T', " ", 1), &local)
        .map(|t| t.assume_offset(VIET_NAM))
        .map_err(|_| {
            bad_input(format!(
                "{s:?} is not a time of receipt: give RFC 3339 (2026-03-09T09:00:00+07:00) or YYYY-MM-DD HH:MM \
                 (Việt Nam's time)"
            ))
        })
}

fn parse_cutoff(s: &str) -> Result<Time, Error> {
    let format = time::macros::format_description!("[hour]:[minute]");
    Time::parse(s.trim(), &format)
        .map_err(|_| bad_input(format!("{s:?} is not a cut-off hour: give HH:MM, e.g. 16:00")))
}

fn weekday_vi(d: Date) -> &'static str {
    use time::Weekday::*;
    match d.weekday() {
        Monday => "Thứ Hai",
        Tuesday => "Thứ Ba",
        Wednesday => "Thứ Tư",
        Thursday => "Thứ Năm",
        Friday => "Thứ Sáu",
        Saturday => "Thứ Bảy",
        Sunday => "Chủ nhật",
    }
}

fn year_json(y: &banso_core::calendar::Year) -> Value {
    let days_off: Vec<Value> = y
        .days_off
        .iter()
        .map(|d| {
            json!({
                "date": d.date.to_string(),
                "weekday": d.date.weekday().to_string(),
                "kind": d.kind.as_str(),
                "name_vi": d.name_vi,
                "name_en": d.name_en,
                "source": d.source,
            })
        })
        .collect();
    let working: Vec<Value> = y
        .working_weekends
        .iter()
        .map(|w| {
            json!({
                "date": w.date.to_string(),
                "weekday": w.date.weekday().to_string(),
                "name_vi": w.name_vi,
                "name_en": w.name_en,
                "source": w.source,
            })
        })
        .collect();
    let note = if y.decided {
        "the government's decisions for this year are in the data (crates/core/calendar/vn-days-off.txt)"
    } else {
        "estimate: no government decision for this year in the data; the Labour Code's holidays and substitute \
         days only"
    };
    json!({
        "year": y.year,
        "decided": y.decided,
        "note": note,
        "days_off": days_off,
        "working_weekends": working,
    })
}

fn print_year(out: &Value) {
    println!("{} — {}", out["year"], out["note"].as_str().unwrap_or(""));
    let empty = Vec::new();
    for d in out["days_off"].as_array().unwrap_or(&empty) {
        let kind = d["kind"].as_str().unwrap_or("");
        let mark = match kind {
            k if k == DayOffKind::Substitute.as_str() => "  [nghỉ bù / substitute]",
            k if k == DayOffKind::Swapped.as_str() => "  [hoán đổi / swapped]",
            _ => "",
        };
        println!(
            "{} {:<9} {} / {}{mark}",
            d["date"].as_str().unwrap_or(""),
            d["weekday"].as_str().unwrap_or(""),
            d["name_vi"].as_str().unwrap_or(""),
            d["name_en"].as_str().unwrap_or(""),
        );
    }
    for w in out["working_weekends"].as_array().unwrap_or(&empty) {
        println!(
            "{} {:<9} {} / {}  [làm bù / working day]",
            w["date"].as_str().unwrap_or(""),
            w["weekday"].as_str().unwrap_or(""),
            w["name_vi"].as_str().unwrap_or(""),
            w["name_en"].as_str().unwrap_or(""),
        );
    }
}

fn due_json(received: OffsetDateTime, working_days: u32, due: &Due) -> Value {
    let local = received.to_offset(VIET_NAM);
    json!({
        "due": due.due.to_string(),
        "due_weekday_vi": weekday_vi(due.due),
        "received": local.format(&Rfc3339).unwrap_or_default(),
        "working_days": working_days,
        "counted_as_received": due.counted_as_received.to_string(),
        "first_counted_day": due.first_counted_day.to_string(),
    })
}

/// `banso bench calendar`: N due dates over receipts spread across ten years, by banso and by the `holidays`
/// package (the same counting rule, its days off) in the same run.
pub fn bench(n: usize, seed: u64, script: &std::path::Path) -> anyhow::Result<u8> {
    use anyhow::{bail, Context};
    use std::time::Instant;
    let mut rnd = crate::bench::xorshift(seed);
    // Receipts at any minute of 2025-01-01 to 2034-12-31 (Việt Nam's time), 1 to 60 working days.
    let start = time::macros::datetime!(2025-01-01 00:00 +7);
    let minutes = 10 * 365 * 24 * 60 + 2 * 24 * 60;
    let receipts: Vec<(OffsetDateTime, u32)> = (0..n)
        .map(|_| {
            let at = start + time::Duration::minutes((rnd() % minutes) as i64);
            (at, 1 + (rnd() % 60) as u32)
        })
        .collect();
    let cutoff = DEFAULT_CUTOFF;

    // Cold: the data parsed, the lunar table and every year met built, inside the timer (the lunar table is
    // process-wide and nothing has touched it before in this process).
    let t = Instant::now();
    let calendar = Calendar::from_data(DAYS_OFF_DATA)?;
    let mut dues = Vec::with_capacity(n);
    for (at, days) in &receipts {
        dues.push(calendar.due(*at, *days, cutoff)?.due);
    }
    let cold_ms = t.elapsed().as_secs_f64() * 1000.0;
    // Warm: the same computations on the built years, 21 runs; the median.
    let mut warm = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        for (at, days) in &receipts {
            std::hint::black_box(calendar.due(*at, *days, cutoff)?);
        }
        warm.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    warm.sort_by(|a, b| a.total_cmp(b));
    let warm_ms = warm[warm.len() / 2];

    let dir = tempfile::TempDir::new()?;
    let file = dir.path().join("receipts.txt");
    let lines: String = receipts
        .iter()
        .map(|(at, days)| format!("{} {days} {}\n", at.format(&Rfc3339).unwrap_or_default(), "16:00"))
        .collect();
    std::fs::write(&file, lines)?;
    let script = std::fs::canonicalize(script)
        .with_context(|| format!("{} (run from the repository)", script.display()))?;
    let out = std::process::Command::new("python3")
        .arg(&script)
        .arg("due")
        .arg(&file)
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!(
            "the holidays benchmark failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let figures: Value = serde_json::from_slice(&out.stdout).context("the holidays benchmark's output")?;
    let py_ms = figures["ms"].as_f64().unwrap_or(f64::NAN);
    let same = figures["dues"]
        .as_array()
        .map(|list| {
            list.iter()
                .zip(&dues)
                .filter(|(p, b)| p.as_str() == Some(b.to_string().as_str()))
                .count()
        })
        .unwrap_or(0);

    println!(
        "banso bench calendar: {n} due dates, receipts at random minutes of 2025-01-01..2034-12-31 (UTC+7), 1-60 \
         working days, cut-off 16:00"
    );
    println!(
        "{:<58} {cold_ms:>9.3} ms",
        "banso cold (parse the data, build lunar table + years, N dues)"
    );
    println!(
        "{:<58} {warm_ms:>9.3} ms  (target <= 10 ms)",
        "banso warm (N dues on built years, median of 21 runs)"
    );
    println!(
        "{:<58} {py_ms:>9.3} ms",
        "python holidays (N dues, its years filled in as met)"
    );
    println!(
        "ratio python/banso: {:.1}x warm, {:.1}x cold",
        py_ms / warm_ms,
        py_ms / cold_ms
    );
    println!(
        "same due date: {same} of {n} (the rest differ where the two calendars differ: the decisions' working \
         Saturdays, 24 November from 2026, substitute days for Tết)"
    );
    Ok(0)
}

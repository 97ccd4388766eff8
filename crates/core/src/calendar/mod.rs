//! Việt Nam's working days, and the due dates of dossiers counted in them.
//!
//! * [`lunar`]: the Vietnamese lunisolar calendar, computed from the astronomy at UTC+7 (Tết and the Hùng Kings'
//!   day are lunar dates).
//! * The days off of a year ([`Calendar::year`]): Saturdays and Sundays; the holidays of the Labour Code 2019,
//!   Art. 112(1) — 1 January, Tết (5 days), the Hùng Kings' day (10/3 lunar), 30 April, 1 May, 2 September and a
//!   day beside it; for a holiday on a Saturday or Sunday, the next working day (Art. 111(3)); and the yearly
//!   government decisions (which days are Tết, which day beside 2 September, weekdays swapped with working
//!   Saturdays), read from `crates/core/calendar/vn-days-off.txt`. A year the data has no decision for is the
//!   Labour Code's alone and says so ([`Year::decided`]).
//! * Due dates ([`Calendar::due`]): a dossier received on a working day before the cut-off counts as received
//!   that day, otherwise on the next working day; the time allowed starts the day after (Civil Code 2015,
//!   Art. 147: the day of the event is not counted) and ends with the N-th working day. Received Monday 09:00
//!   with 3 working days: due Thursday.
//!
//! Years are built on first use and kept, so a due date costs a walk over its working days.

pub mod holidays;
pub mod lunar;

pub use holidays::{DayOff, DayOffKind, WorkingWeekend, Year};
pub use lunar::{LunarDate, LunarMonth, FIRST_YEAR, LAST_YEAR};

use crate::{Code, Error, Result};
use std::sync::OnceLock;
use time::{Date, OffsetDateTime, Time, UtcOffset};

/// The yearly decisions, one a line (the file's header says how to add one).
pub const DAYS_OFF_DATA: &str = include_str!("../../calendar/vn-days-off.txt");

/// Việt Nam's time, in which receipts are dated.
pub const VIET_NAM: UtcOffset = time::macros::offset!(+7);

/// The hour from which a dossier counts as received on the next working day, unless the office sets another.
/// The product documents name no hour; 16:00 leaves an office its last hour to register the day's dossiers.
pub const DEFAULT_CUTOFF: Time = time::macros::time!(16:00);

/// The most working days a due date may be counted over (about four years).
pub const MAX_WORKING_DAYS: u32 = 1000;

/// A due date and how it was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// The day the dossier counts as received: the day of receipt (UTC+7) if it is a working day and the
    /// receipt came before the cut-off, else the next working day.
    pub counted_as_received: Date,
    /// The first working day of the time allowed: the working day after [`Due::counted_as_received`].
    pub first_counted_day: Date,
    /// The last working day of the time allowed.
    pub due: Date,
}

/// Việt Nam's calendar of working days: the Labour Code's rules and the yearly decisions.
pub struct Calendar {
    decisions: Vec<holidays::Decision>,
    years: Vec<OnceLock<Result<Year>>>,
}

impl Calendar {
    /// The calendar with the decisions shipped in `crates/core/calendar/vn-days-off.txt`.
    pub fn viet_nam() -> &'static Calendar {
        static CALENDAR: OnceLock<Calendar> = OnceLock::new();
        CALENDAR.get_or_init(|| {
            // The shipped file is checked by a unit test; were it ever unreadable, the calendar would be the
            // Labour Code's alone, and every year would say it is an estimate.
            Calendar::from_data(DAYS_OFF_DATA).unwrap_or_else(|_| Calendar::with(Vec::new()))
        })
    }

    /// A calendar with the decisions in `data` (the format of `vn-days-off.txt`).
    pub fn from_data(data: &str) -> Result<Calendar> {
        Ok(Calendar::with(holidays::parse(data)?))
    }

    fn with(decisions: Vec<holidays::Decision>) -> Calendar {
        let years = (FIRST_YEAR..=LAST_YEAR).map(|_| OnceLock::new()).collect();
        Calendar { decisions, years }
    }

    /// The days off of a Gregorian year of 1900 to 2199.
    pub fn year(&self, year: i32) -> Result<&Year> {
        let slot = usize::try_from(year - FIRST_YEAR)
            .ok()
            .and_then(|i| self.years.get(i))
            .ok_or_else(|| unknown_year(year))?;
        slot.get_or_init(|| holidays::build(year, &self.decisions))
            .as_ref()
            .map_err(Clone::clone)
    }

    pub fn is_working_day(&self, date: Date) -> Result<bool> {
        Ok(self.year(date.year())?.is_working_day(date))
    }

    /// The first working day after `date`.
    pub fn next_working_day(&self, date: Date) -> Result<Date> {
        let mut d = date;
        loop {
            d = d.next_day().ok_or_else(|| unknown_year(LAST_YEAR + 1))?;
            if self.is_working_day(d)? {
                return Ok(d);
            }
        }
    }

    /// The due date of a dossier received at `received` with `working_days` working days to answer (see the
    /// module's counting rule). Zero working days is due the day it counts as received.
    pub fn due(&self, received: OffsetDateTime, working_days: u32, cutoff: Time) -> Result<Due> {
        if working_days > MAX_WORKING_DAYS {
            return Err(Error::new(
                Code::Cal0001BadInput,
                format!("{working_days} working days is more than the {MAX_WORKING_DAYS} a due date may be counted over"),
            ));
        }
        let local = received.to_offset(VIET_NAM);
        let day = local.date();
        let counted_as_received = if self.is_working_day(day)? && local.time() < cutoff {
            day
        } else {
            self.next_working_day(day)?
        };
        let first_counted_day = self.next_working_day(counted_as_received)?;
        let mut due = counted_as_received;
        for _ in 0..working_days {
            due = self.next_working_day(due)?;
        }
        Ok(Due {
            counted_as_received,
            first_counted_day,
            due,
        })
    }
}

/// The due date in Việt Nam's calendar: [`Calendar::due`] on [`Calendar::viet_nam`].
pub fn due(received: OffsetDateTime, working_days: u32, cutoff: Time) -> Result<Date> {
    Ok(Calendar::viet_nam().due(received, working_days, cutoff)?.due)
}

fn unknown_year(year: i32) -> Error {
    Error::new(
        Code::Cal0002UnknownYear,
        format!("{year} is outside the calendar's years, {FIRST_YEAR} to {LAST_YEAR}"),
    )
}

#[cfg(test)]
mod tests;

//! The Vietnamese lunisolar calendar (âm lịch), computed from the astronomy at UTC+7.
//!
//! The rules (Việt Nam's calendar since 1968; the Chinese one applies the same rules at UTC+8, which is why the
//! two differ in some years — Tết 1985 fell on 21 January in Việt Nam and on 20 February in China):
//!
//! 1. A lunar month begins on the day (at UTC+7) that holds the new moon.
//! 2. The winter solstice (the sun at apparent longitude 270°) always falls in month 11.
//! 3. When 13 new moons begin between the start of one month 11 and the start of the next, the year has a leap
//!    month: the first month after month 11 in which no major solar term (a multiple of 30° of the sun's
//!    longitude) begins. It takes the number of the month before it.
//!
//! New moons come from Meeus, *Astronomical Algorithms* (2nd ed.), ch. 49 (the periodic terms and the planetary
//! arguments, a few seconds' accuracy); the sun's apparent longitude from ch. 25's low-accuracy theory (about
//! 0.01°, a quarter of an hour of the sun's motion); ΔT (dynamical minus universal time) from the
//! Espenak–Meeus polynomials. A month's first day is therefore wrong only when a new moon lies within seconds of
//! midnight at UTC+7, and a month's major term only when it lies within minutes of one.
//!
//! Everything is computed once, on first use, for the months of 1899 to 2200 (a table of about 3,700 months);
//! conversions are then a binary search.

use crate::{Code, Error, Result};
use std::f64::consts::PI;
use std::sync::OnceLock;
use time::Date;

/// The first Gregorian year the calendar converts.
pub const FIRST_YEAR: i32 = 1900;
/// The last Gregorian year the calendar converts.
pub const LAST_YEAR: i32 = 2199;

/// Việt Nam's standard time, UTC+7, in days.
const UTC_OFFSET_DAYS: f64 = 7.0 / 24.0;

/// A day of the Vietnamese lunar calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LunarDate {
    /// The lunar year, numbered as the Gregorian year in which most of it falls (Tết 2026 begins lunar 2026).
    pub year: i32,
    /// 1 to 12.
    pub month: u8,
    /// The leap month (tháng nhuận) that follows the ordinary month of the same number.
    pub leap: bool,
    /// 1 to 29 or 30.
    pub day: u8,
}

impl LunarDate {
    pub fn new(year: i32, month: u8, day: u8) -> Self {
        Self {
            year,
            month,
            leap: false,
            day,
        }
    }
}

impl std::fmt::Display for LunarDate {
    /// `10/3/2026` or, in a leap month, `15/6n/2028` (the Vietnamese way of writing it: day/month/year).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let leap = if self.leap { "n" } else { "" };
        write!(f, "{}/{}{leap}/{}", self.day, self.month, self.year)
    }
}

/// One lunar month of the table.
#[derive(Debug, Clone, Copy)]
struct Month {
    /// Julian day number of its first day.
    start: i32,
    year: i32,
    number: u8,
    leap: bool,
}

impl Month {
    fn key(&self) -> (i32, u8, bool) {
        (self.year, self.number, self.leap)
    }
}

struct Table {
    months: Vec<Month>,
    /// The first day after the last month.
    end: i32,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| build(FIRST_YEAR - 2, LAST_YEAR + 1))
}

/// The lunar date of a Gregorian day, for days of 1900 to 2199.
pub fn solar_to_lunar(date: Date) -> Result<LunarDate> {
    check_year(date.year())?;
    let jdn = date.to_julian_day();
    let t = table();
    // The last month that starts on or before the day; the range check above keeps it inside the table.
    let i = t.months.partition_point(|m| m.start <= jdn);
    let month = match i.checked_sub(1).and_then(|i| t.months.get(i)) {
        Some(m) => m,
        None => return Err(out_of_range(date.year())),
    };
    Ok(LunarDate {
        year: month.year,
        month: month.number,
        leap: month.leap,
        day: (jdn - month.start + 1) as u8,
    })
}

/// The Gregorian day of a lunar date of lunar years 1899 (whose last months fall in January 1900) to 2199. A
/// leap month that the year does not have, a month outside 1–12 or a day past the month's end is `CAL-0001`.
pub fn lunar_to_solar(date: LunarDate) -> Result<Date> {
    if !(FIRST_YEAR - 1..=LAST_YEAR).contains(&date.year) {
        return Err(out_of_range(date.year));
    }
    if !(1..=12).contains(&date.month) || date.day == 0 {
        return Err(bad_lunar(date));
    }
    let t = table();
    let i = t
        .months
        .binary_search_by_key(&(date.year, date.month, date.leap), Month::key)
        .map_err(|_| bad_lunar(date))?;
    let start = t.months[i].start;
    let next = t.months.get(i + 1).map_or(t.end, |m| m.start);
    if i32::from(date.day) > next - start {
        return Err(bad_lunar(date));
    }
    Date::from_julian_day(start + i32::from(date.day) - 1).map_err(|_| bad_lunar(date))
}

/// The number of days (29 or 30) of a lunar month, `leap` for the year's leap month.
pub fn month_length(year: i32, month: u8, leap: bool) -> Result<u8> {
    let first = lunar_to_solar(LunarDate {
        year,
        month,
        leap,
        day: 1,
    })?;
    let t = table();
    let jdn = first.to_julian_day();
    let i = t.months.partition_point(|m| m.start <= jdn);
    let next = t.months.get(i).map_or(t.end, |m| m.start);
    Ok((next - jdn) as u8)
}

/// The leap month of a lunar year (its number), if the year has one.
pub fn leap_month(year: i32) -> Result<Option<u8>> {
    check_year(year)?;
    Ok(table()
        .months
        .iter()
        .find(|m| m.year == year && m.leap)
        .map(|m| m.number))
}

/// A lunar month: its number, whether it is the leap month, its first day and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LunarMonth {
    pub year: i32,
    pub month: u8,
    pub leap: bool,
    pub first_day: Date,
    /// 29 or 30.
    pub days: u8,
}

/// The months of a lunar year of 1900 to 2199 (12, or 13 with a leap month), in order.
pub fn months_of(year: i32) -> Result<Vec<LunarMonth>> {
    check_year(year)?;
    let t = table();
    let first = t.months.partition_point(|m| m.year < year);
    let last = t.months.partition_point(|m| m.year <= year);
    (first..last)
        .map(|i| {
            let m = t.months[i];
            let next = t.months.get(i + 1).map_or(t.end, |n| n.start);
            Ok(LunarMonth {
                year: m.year,
                month: m.number,
                leap: m.leap,
                first_day: Date::from_julian_day(m.start)
                    .map_err(|e| Error::new(Code::Cal0002UnknownYear, e.to_string()))?,
                days: (next - m.start) as u8,
            })
        })
        .collect()
}

/// The first day of a lunar year: Tết Nguyên đán.
pub fn new_year(year: i32) -> Result<Date> {
    lunar_to_solar(LunarDate::new(year, 1, 1))
}

fn check_year(year: i32) -> Result<()> {
    if (FIRST_YEAR..=LAST_YEAR).contains(&year) {
        Ok(())
    } else {
        Err(out_of_range(year))
    }
}

fn out_of_range(year: i32) -> Error {
    Error::new(
        Code::Cal0002UnknownYear,
        format!("{year} is outside the lunar calendar's range, {FIRST_YEAR} to {LAST_YEAR}"),
    )
}

fn bad_lunar(date: LunarDate) -> Error {
    Error::new(
        Code::Cal0001BadInput,
        format!("{date} is not a day of the lunar calendar"),
    )
}

/// Builds the months from the month 11 of `first` to the one before the month 11 of `last`.
fn build(first: i32, last: i32) -> Table {
    let elevens: Vec<i32> = (first..=last).map(month_eleven).collect();
    let mut months = Vec::with_capacity(elevens.len() * 13);
    for (offset, pair) in elevens.windows(2).enumerate() {
        let (k0, k1) = (pair[0], pair[1]);
        let year = first + offset as i32;
        let count = k1 - k0;
        // A year of 13 months: the first month after month 11 without a major term is the leap month.
        let leap_at = (count == 13)
            .then(|| (1..count).find(|&i| !holds_major_term(k0 + i)))
            .flatten();
        let mut lunar_year = year;
        for i in 0..count {
            let (ordinal, leap) = match leap_at {
                Some(l) if i == l => (i - 1, true),
                Some(l) if i > l => (i - 1, false),
                _ => (i, false),
            };
            // Ordinal 0 is month 11, 1 is month 12, 2 is month 1 of the next lunar year, …
            let number = ((10 + ordinal) % 12 + 1) as u8;
            if number == 1 && !leap {
                lunar_year = year + 1;
            }
            months.push(Month {
                start: new_moon_day(k0 + i),
                year: lunar_year,
                number,
                leap,
            });
        }
    }
    let end = new_moon_day(*elevens.last().unwrap_or(&0));
    Table { months, end }
}

/// The lunation number k (Meeus: k = 0 is the new moon of 6 January 2000) of the month 11 that holds the
/// winter solstice of Gregorian `year`.
fn month_eleven(year: i32) -> i32 {
    let solstice = winter_solstice_day(year);
    let mut k = ((f64::from(solstice) - 2_451_550.1) / 29.530_588_861).floor() as i32;
    while new_moon_day(k + 1) <= solstice {
        k += 1;
    }
    while new_moon_day(k) > solstice {
        k -= 1;
    }
    k
}

/// The Julian day number of the day (at UTC+7) in which the sun reaches 270° in December of `year`.
fn winter_solstice_day(year: i32) -> i32 {
    // 19 December: the solstice is always between the 20th and the 23rd.
    let mut day = julian_day_number(year, 12, 19);
    while sector_at_start(day + 1) < 9 {
        day += 1;
    }
    day
}

/// Whether a major solar term begins during the month of lunation `k`.
fn holds_major_term(k: i32) -> bool {
    let (start, next) = (new_moon_day(k), new_moon_day(k + 1));
    sector_at_start(start) != sector_at_start(next)
}

/// Which 30° sector of the ecliptic (0 from the March equinox, 9 from the winter solstice) the sun is in at
/// midnight, UTC+7, at the start of the day with Julian day number `jdn`.
fn sector_at_start(jdn: i32) -> i32 {
    let midnight_ut = f64::from(jdn) - 0.5 - UTC_OFFSET_DAYS;
    (sun_longitude(midnight_ut + delta_t_days(midnight_ut)) / 30.0).floor() as i32
}

/// The Julian day number of the day (at UTC+7) that holds the new moon of lunation `k`.
fn new_moon_day(k: i32) -> i32 {
    let jde = new_moon_jde(f64::from(k));
    let ut = jde - delta_t_days(jde);
    (ut + 0.5 + UTC_OFFSET_DAYS).floor() as i32
}

fn julian_day_number(year: i32, month: u8, day: u8) -> i32 {
    // Only called with valid December days of years the table covers.
    time::Month::try_from(month)
        .ok()
        .and_then(|m| Date::from_calendar_date(year, m, day).ok())
        .map_or(0, Date::to_julian_day)
}

fn sin_deg(x: f64) -> f64 {
    (x * PI / 180.0).sin()
}

/// The instant of the new moon of lunation `k`, as a Julian Ephemeris Day (dynamical time): Meeus ch. 49.
fn new_moon_jde(k: f64) -> f64 {
    let t = k / 1236.85;
    let (t2, t3, t4) = (t * t, t * t * t, t * t * t * t);
    let mean = 2_451_550.097_66 + 29.530_588_861 * k + 0.000_154_37 * t2 - 0.000_000_150 * t3
        + 0.000_000_000_73 * t4;
    // Eccentricity of the Earth's orbit.
    let e = 1.0 - 0.002_516 * t - 0.000_007_4 * t2;
    // The sun's mean anomaly, the moon's, the moon's argument of latitude, the longitude of its ascending node.
    let m = 2.5534 + 29.105_356_70 * k - 0.000_001_4 * t2 - 0.000_000_11 * t3;
    let mp = 201.5643 + 385.816_935_28 * k + 0.010_758_2 * t2 + 0.000_012_38 * t3 - 0.000_000_058 * t4;
    let f = 160.7108 + 390.670_502_84 * k - 0.001_611_8 * t2 - 0.000_002_27 * t3 + 0.000_000_011 * t4;
    let om = 124.7746 - 1.563_755_88 * k + 0.002_067_2 * t2 + 0.000_002_15 * t3;
    let periodic = -0.40720 * sin_deg(mp)
        + 0.17241 * e * sin_deg(m)
        + 0.01608 * sin_deg(2.0 * mp)
        + 0.01039 * sin_deg(2.0 * f)
        + 0.00739 * e * sin_deg(mp - m)
        - 0.00514 * e * sin_deg(mp + m)
        + 0.00208 * e * e * sin_deg(2.0 * m)
        - 0.00111 * sin_deg(mp - 2.0 * f)
        - 0.00057 * sin_deg(mp + 2.0 * f)
        + 0.00056 * e * sin_deg(2.0 * mp + m)
        - 0.00042 * sin_deg(3.0 * mp)
        + 0.00042 * e * sin_deg(m + 2.0 * f)
        + 0.00038 * e * sin_deg(m - 2.0 * f)
        - 0.00024 * e * sin_deg(2.0 * mp - m)
        - 0.00017 * sin_deg(om)
        - 0.00007 * sin_deg(mp + 2.0 * m)
        + 0.00004 * sin_deg(2.0 * mp - 2.0 * f)
        + 0.00004 * sin_deg(3.0 * m)
        + 0.00003 * sin_deg(mp + m - 2.0 * f)
        + 0.00003 * sin_deg(2.0 * mp + 2.0 * f)
        - 0.00003 * sin_deg(mp + m + 2.0 * f)
        + 0.00003 * sin_deg(mp - m + 2.0 * f)
        - 0.00002 * sin_deg(mp - m - 2.0 * f)
        - 0.00002 * sin_deg(3.0 * mp + m)
        + 0.00002 * sin_deg(4.0 * mp);
    // The planetary arguments: (coefficient, argument at k = 0, degrees per lunation).
    const PLANETARY: [(f64, f64, f64); 14] = [
        (0.000_325, 299.77, 0.107_408),
        (0.000_165, 251.88, 0.016_321),
        (0.000_164, 251.83, 26.651_886),
        (0.000_126, 349.42, 36.412_478),
        (0.000_110, 84.66, 18.206_239),
        (0.000_062, 141.74, 53.303_771),
        (0.000_060, 207.14, 2.453_732),
        (0.000_056, 154.84, 7.306_860),
        (0.000_047, 34.52, 27.261_239),
        (0.000_042, 207.19, 0.121_824),
        (0.000_040, 291.34, 1.844_379),
        (0.000_037, 161.72, 24.198_154),
        (0.000_035, 239.56, 25.513_099),
        (0.000_023, 331.55, 3.592_518),
    ];
    let planetary: f64 = PLANETARY
        .iter()
        .enumerate()
        .map(|(i, &(c, a0, rate))| {
            // The first argument has a small quadratic term.
            let quadratic = if i == 0 { -0.009_173 * t2 } else { 0.0 };
            c * sin_deg(a0 + rate * k + quadratic)
        })
        .sum();
    mean + periodic + planetary
}

/// The sun's apparent geometric longitude in degrees, 0 ≤ λ < 360, at Julian Ephemeris Day `jde`: Meeus ch. 25
/// (the mean longitude and the equation of the centre, less aberration and nutation in longitude).
fn sun_longitude(jde: f64) -> f64 {
    let t = (jde - 2_451_545.0) / 36_525.0;
    let l0 = 280.466_46 + 36_000.769_83 * t + 0.000_303_2 * t * t;
    let m = 357.529_11 + 35_999.050_29 * t - 0.000_153_7 * t * t;
    let c = (1.914_602 - 0.004_817 * t - 0.000_014 * t * t) * sin_deg(m)
        + (0.019_993 - 0.000_101 * t) * sin_deg(2.0 * m)
        + 0.000_289 * sin_deg(3.0 * m);
    let omega = 125.04 - 1934.136 * t;
    let apparent = l0 + c - 0.005_69 - 0.004_78 * sin_deg(omega);
    apparent.rem_euclid(360.0)
}

/// ΔT = TT − UT in days at (about) Julian day `jd`, from the Espenak–Meeus polynomials (NASA's eclipse
/// canon); within a few seconds over 1900–2025 and a guess, as any, after.
fn delta_t_days(jd: f64) -> f64 {
    let y = 2000.0 + (jd - 2_451_545.0) / 365.25;
    let seconds = if y < 1900.0 {
        let t = y - 1860.0;
        7.62 + 0.5737 * t - 0.251_754 * t.powi(2) + 0.016_806_68 * t.powi(3) - 0.000_447_362_4 * t.powi(4)
            + t.powi(5) / 233_174.0
    } else if y < 1920.0 {
        let t = y - 1900.0;
        -2.79 + 1.494_119 * t - 0.059_893_9 * t.powi(2) + 0.006_196_6 * t.powi(3) - 0.000_197 * t.powi(4)
    } else if y < 1941.0 {
        let t = y - 1920.0;
        21.20 + 0.844_93 * t - 0.076_100 * t.powi(2) + 0.002_093_6 * t.powi(3)
    } else if y < 1961.0 {
        let t = y - 1950.0;
        29.07 + 0.407 * t - t.powi(2) / 233.0 + t.powi(3) / 2547.0
    } else if y < 1986.0 {
        let t = y - 1975.0;
        45.45 + 1.067 * t - t.powi(2) / 260.0 - t.powi(3) / 718.0
    } else if y < 2005.0 {
        let t = y - 2000.0;
        63.86 + 0.3345 * t - 0.060_374 * t.powi(2)
            + 0.001_727_5 * t.powi(3)
            + 0.000_651_814 * t.powi(4)
            + 0.000_023_735_99 * t.powi(5)
    } else if y < 2050.0 {
        let t = y - 2000.0;
        62.92 + 0.322_17 * t + 0.005_589 * t.powi(2)
    } else if y < 2150.0 {
        let u = (y - 1820.0) / 100.0;
        -20.0 + 32.0 * u * u - 0.5628 * (2150.0 - y)
    } else {
        let u = (y - 1820.0) / 100.0;
        -20.0 + 32.0 * u * u
    };
    seconds / 86_400.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn tet(year: i32) -> Date {
        new_year(year).unwrap()
    }

    #[test]
    fn tet_falls_on_the_known_days() {
        assert_eq!(tet(2024), date!(2024 - 02 - 10));
        assert_eq!(tet(2025), date!(2025 - 01 - 29));
        assert_eq!(tet(2026), date!(2026 - 02 - 17));
        assert_eq!(tet(2027), date!(2027 - 02 - 06));
        assert_eq!(tet(2028), date!(2028 - 01 - 26));
    }

    /// Where Việt Nam's calendar (UTC+7) and China's (UTC+8) part: 1985 by a whole month (the winter solstice
    /// month's new moon fell on either side of midnight), 2007 and 2030 by a day. China's dates are 20 February
    /// 1985, 18 February 2007 and 3 February 2030.
    #[test]
    fn tet_follows_viet_nam_not_china_where_they_differ() {
        assert_eq!(tet(1985), date!(1985 - 01 - 21));
        assert_eq!(tet(2007), date!(2007 - 02 - 17));
        assert_eq!(tet(2030), date!(2030 - 02 - 02));
    }

    #[test]
    fn hung_kings_day_is_the_tenth_of_the_third_month() {
        let day = |y| lunar_to_solar(LunarDate::new(y, 3, 10)).unwrap();
        assert_eq!(day(2024), date!(2024 - 04 - 18));
        assert_eq!(day(2025), date!(2025 - 04 - 07));
        assert_eq!(day(2026), date!(2026 - 04 - 26));
        assert_eq!(day(2027), date!(2027 - 04 - 16));
        assert_eq!(day(2028), date!(2028 - 04 - 04));
    }

    #[test]
    fn leap_months_are_where_the_rule_puts_them() {
        // 2023 had a leap second month, 2025 a leap sixth month; 2024 and 2026 none; 2028 a leap fifth month.
        assert_eq!(leap_month(2023).unwrap(), Some(2));
        assert_eq!(leap_month(2024).unwrap(), None);
        assert_eq!(leap_month(2025).unwrap(), Some(6));
        assert_eq!(leap_month(2026).unwrap(), None);
        assert_eq!(leap_month(2028).unwrap(), Some(5));
        let leap_day = LunarDate {
            year: 2025,
            month: 6,
            leap: true,
            day: 1,
        };
        assert_eq!(lunar_to_solar(leap_day).unwrap(), date!(2025 - 07 - 25));
        assert_eq!(solar_to_lunar(date!(2025 - 07 - 25)).unwrap(), leap_day);
        // A leap month the year does not have.
        let none = LunarDate {
            year: 2026,
            ..leap_day
        };
        assert_eq!(lunar_to_solar(none).unwrap_err().code, Code::Cal0001BadInput);
    }

    #[test]
    fn every_day_goes_to_lunar_and_back() {
        let mut day = date!(1900 - 01 - 01);
        let mut previous: Option<LunarDate> = None;
        while day.year() <= LAST_YEAR {
            let lunar = solar_to_lunar(day).unwrap();
            assert_eq!(lunar_to_solar(lunar).unwrap(), day, "{day} → {lunar}");
            if let Some(p) = previous {
                // Day after day: the next day of the month, or day 1 of the next month after day 29 or 30.
                if lunar.day == 1 {
                    assert!(p.day == 29 || p.day == 30, "{p} then {lunar}");
                } else {
                    assert_eq!(lunar.day, p.day + 1, "{p} then {lunar}");
                }
            }
            previous = Some(lunar);
            day = day.next_day().unwrap();
        }
    }

    #[test]
    fn every_year_has_twelve_months_and_at_most_one_leap_month_holding_no_major_term() {
        for year in FIRST_YEAR..=LAST_YEAR {
            let months: Vec<_> = table().months.iter().filter(|m| m.year == year).collect();
            let leaps = months.iter().filter(|m| m.leap).count();
            assert_eq!(months.len(), 12 + leaps, "{year}");
            assert!(leaps <= 1, "{year}");
            let numbers: Vec<u8> = months.iter().filter(|m| !m.leap).map(|m| m.number).collect();
            assert_eq!(numbers, (1..=12).collect::<Vec<u8>>(), "{year}");
        }
    }

    #[test]
    fn the_winter_solstice_is_in_month_eleven() {
        for year in FIRST_YEAR..=LAST_YEAR {
            let day = Date::from_julian_day(winter_solstice_day(year)).unwrap();
            assert_eq!(day.month(), time::Month::December);
            assert!((20..=23).contains(&day.day()), "{year}: {day}");
            let lunar = solar_to_lunar(day).unwrap();
            assert_eq!(lunar.month, 11, "{year}: {day} is {lunar}");
        }
    }

    #[test]
    fn outside_the_range_is_an_unknown_year() {
        assert_eq!(
            solar_to_lunar(date!(1899 - 12 - 31)).unwrap_err().code,
            Code::Cal0002UnknownYear
        );
        assert_eq!(
            solar_to_lunar(date!(2200 - 01 - 01)).unwrap_err().code,
            Code::Cal0002UnknownYear
        );
        assert_eq!(new_year(2200).unwrap_err().code, Code::Cal0002UnknownYear);
        assert!(solar_to_lunar(date!(1900 - 01 - 01)).is_ok());
        assert!(solar_to_lunar(date!(2199 - 12 - 31)).is_ok());
    }

    #[test]
    fn new_moons_are_where_meeus_puts_them() {
        // Meeus' example 49.a: the new moon of February 1977 at JDE 2443192.65118.
        assert!((new_moon_jde(-283.0) - 2_443_192.651_18).abs() < 0.000_01);
    }
}

use super::*;
use time::macros::{date, datetime, time};

fn cal() -> &'static Calendar {
    Calendar::viet_nam()
}

fn off(date: Date) -> bool {
    !cal().is_working_day(date).unwrap()
}

fn day_off(date: Date) -> DayOff {
    let year = cal().year(date.year()).unwrap();
    year.days_off
        .iter()
        .find(|d| d.date == date)
        .unwrap_or_else(|| panic!("{date} is not a day off"))
        .clone()
}

fn days(from: Date, to: Date) -> impl Iterator<Item = Date> {
    std::iter::successors(Some(from), move |d| d.next_day().filter(|n| *n <= to))
}

#[test]
fn the_shipped_decisions_parse_and_cover_2024_to_2026() {
    holidays::parse(DAYS_OFF_DATA).unwrap();
    for year in 2024..=2026 {
        assert!(cal().year(year).unwrap().decided, "{year}");
    }
    assert!(!cal().year(2027).unwrap().decided);
    assert!(!cal().year(2023).unwrap().decided);
}

#[test]
fn tet_2026_is_17_february_and_the_break_runs_saturday_14_to_sunday_22() {
    let tet = day_off(date!(2026 - 02 - 17));
    assert_eq!(tet.kind, DayOffKind::Holiday);
    assert_eq!(tet.name_vi, "Tết Nguyên đán (mùng 1 tháng Giêng)");
    assert!(tet.source.contains("9441/TB-BNV"), "{}", tet.source);
    assert_eq!(
        day_off(date!(2026 - 02 - 16)).name_vi,
        "Tết Nguyên đán (29 tháng Chạp)"
    );
    for d in days(date!(2026 - 02 - 14), date!(2026 - 02 - 22)) {
        assert!(off(d), "{d}");
    }
    assert!(!off(date!(2026 - 02 - 13)));
    assert!(!off(date!(2026 - 02 - 23)));
}

#[test]
fn hung_kings_day_2026_is_a_sunday_and_monday_27_april_is_its_substitute() {
    let hung = day_off(date!(2026 - 04 - 26));
    assert_eq!(hung.date.weekday(), time::Weekday::Sunday);
    assert!(hung.name_en.starts_with("Hùng Kings"));
    let substitute = day_off(date!(2026 - 04 - 27));
    assert_eq!(substitute.kind, DayOffKind::Substitute);
    assert!(substitute.name_vi.contains("Giỗ Tổ Hùng Vương"));
    assert!(substitute.source.contains("khoản 3 Điều 111"));
    assert!(!off(date!(2026 - 04 - 28)));
}

#[test]
fn the_2026_decisions_swap_2_january_and_31_august() {
    assert_eq!(day_off(date!(2026 - 01 - 02)).kind, DayOffKind::Swapped);
    assert!(!off(date!(2026 - 01 - 10)), "Saturday 10 January 2026 is worked");
    for d in days(date!(2026 - 08 - 29), date!(2026 - 09 - 02)) {
        assert!(off(d), "{d}");
    }
    assert!(!off(date!(2026 - 08 - 22)), "Saturday 22 August 2026 is worked");
    assert!(!off(date!(2026 - 09 - 03)));
    // Vietnam Culture Day: chosen by the Politburo, not (yet) a holiday of the Labour Code.
    assert!(!off(date!(2026 - 11 - 24)));
}

#[test]
fn the_2025_decisions_give_nine_days_of_tet_and_five_at_30_april() {
    for d in days(date!(2025 - 01 - 25), date!(2025 - 02 - 02)) {
        assert!(off(d), "{d}");
    }
    assert!(!off(date!(2025 - 02 - 03)));
    // The five Tết days are the two before Tết and three after, as decided: no substitute day.
    let year = cal().year(2025).unwrap();
    assert!(year.days_off.iter().all(|d| d.kind != DayOffKind::Substitute));
    for d in days(date!(2025 - 04 - 30), date!(2025 - 05 - 04)) {
        assert!(off(d), "{d}");
    }
    assert!(!off(date!(2025 - 04 - 26)), "Saturday 26 April 2025 is worked");
    assert!(off(date!(2025 - 09 - 01)) && off(date!(2025 - 09 - 02)));
    assert!(!off(date!(2025 - 09 - 03)));
}

#[test]
fn the_2024_decisions_put_two_substitute_days_after_tet() {
    for d in days(date!(2024 - 02 - 08), date!(2024 - 02 - 14)) {
        assert!(off(d), "{d}");
    }
    assert!(!off(date!(2024 - 02 - 15)));
    assert_eq!(day_off(date!(2024 - 02 - 13)).kind, DayOffKind::Substitute);
    assert_eq!(day_off(date!(2024 - 02 - 14)).kind, DayOffKind::Substitute);
    assert_eq!(day_off(date!(2024 - 04 - 29)).kind, DayOffKind::Swapped);
    assert!(!off(date!(2024 - 05 - 04)));
    assert!(off(date!(2024 - 09 - 03)));
}

#[test]
fn a_year_without_decisions_is_the_labour_codes_and_says_so() {
    let year = cal().year(2027).unwrap();
    let holidays: Vec<_> = year
        .days_off
        .iter()
        .filter(|d| d.kind == DayOffKind::Holiday)
        .collect();
    assert_eq!(holidays.len(), 11, "Art. 112(1): 11 days");
    assert!(holidays.iter().all(|h| h.source.contains("estimate")));
    // Tết 2027 is Saturday 6 February: the five days are Friday 5 to Tuesday 9, and the Saturday and Sunday
    // are made up on Wednesday 10 and Thursday 11.
    let substitutes: Vec<Date> = year
        .days_off
        .iter()
        .filter(|d| d.kind == DayOffKind::Substitute)
        .map(|d| d.date)
        .collect();
    assert!(substitutes.contains(&date!(2027 - 02 - 10)));
    assert!(substitutes.contains(&date!(2027 - 02 - 11)));
    // 1 May 2027 is a Saturday: Monday 3 May.
    assert!(substitutes.contains(&date!(2027 - 05 - 03)));
    // 30 April 2028 is a Sunday and 1 May a holiday: Tuesday 2 May.
    assert_eq!(day_off(date!(2028 - 05 - 02)).kind, DayOffKind::Substitute);
    // 2 September 2029 is a Sunday: the day beside it is Monday 3, the substitute Tuesday 4.
    assert_eq!(day_off(date!(2029 - 09 - 03)).kind, DayOffKind::Holiday);
    assert_eq!(day_off(date!(2029 - 09 - 04)).kind, DayOffKind::Substitute);
}

#[test]
fn every_year_has_the_eleven_holidays_of_article_112() {
    for y in FIRST_YEAR..=LAST_YEAR {
        let year = cal().year(y).unwrap();
        let holidays = year
            .days_off
            .iter()
            .filter(|d| d.kind == DayOffKind::Holiday)
            .count();
        assert_eq!(holidays, 11, "{y}");
        for d in &year.days_off {
            assert_eq!(d.date.year(), y, "{y}: {d:?}");
        }
    }
    assert_eq!(cal().year(1899).unwrap_err().code, Code::Cal0002UnknownYear);
    assert_eq!(cal().year(2200).unwrap_err().code, Code::Cal0002UnknownYear);
}

#[test]
fn due_counts_from_the_day_after_receipt() {
    // Monday 9 March 2026, 09:00 in Hà Nội, 3 working days: Tuesday, Wednesday, Thursday.
    let monday = datetime!(2026-03-09 09:00 +7);
    let due = cal().due(monday, 3, DEFAULT_CUTOFF).unwrap();
    assert_eq!(due.counted_as_received, date!(2026 - 03 - 09));
    assert_eq!(due.first_counted_day, date!(2026 - 03 - 10));
    assert_eq!(due.due, date!(2026 - 03 - 12));
    // The same instant written in UTC.
    assert_eq!(
        super::due(datetime!(2026-03-09 02:00 UTC), 3, DEFAULT_CUTOFF).unwrap(),
        date!(2026 - 03 - 12)
    );
    // Zero working days: due the day it counts as received.
    assert_eq!(
        cal().due(monday, 0, DEFAULT_CUTOFF).unwrap().due,
        date!(2026 - 03 - 09)
    );
}

#[test]
fn after_the_cutoff_or_on_a_day_off_a_dossier_counts_from_the_next_working_day() {
    let cutoff = DEFAULT_CUTOFF;
    let at = |t| cal().due(t, 3, cutoff).unwrap();
    // 15:59 counts that Monday; 16:00 and later the Tuesday.
    assert_eq!(at(datetime!(2026-03-09 15:59:59 +7)).due, date!(2026 - 03 - 12));
    assert_eq!(
        at(datetime!(2026-03-09 16:00 +7)).counted_as_received,
        date!(2026 - 03 - 10)
    );
    assert_eq!(at(datetime!(2026-03-09 16:00 +7)).due, date!(2026 - 03 - 13));
    // Saturday counts as Monday, whatever the hour.
    assert_eq!(
        at(datetime!(2026-03-07 10:00 +7)).counted_as_received,
        date!(2026 - 03 - 09)
    );
    assert_eq!(at(datetime!(2026-03-07 23:00 +7)).due, date!(2026 - 03 - 12));
    // Late Friday counts as Monday.
    assert_eq!(
        at(datetime!(2026-03-06 17:30 +7)).counted_as_received,
        date!(2026 - 03 - 09)
    );
    // A later cut-off keeps 16:30 on the Monday.
    let late = cal()
        .due(datetime!(2026-03-09 16:30 +7), 3, time!(17:00))
        .unwrap();
    assert_eq!(late.due, date!(2026 - 03 - 12));
    // Sunday 23:30 UTC is already Monday 06:30 in Việt Nam.
    assert_eq!(
        at(datetime!(2026-03-08 23:30 UTC)).counted_as_received,
        date!(2026 - 03 - 09)
    );
}

#[test]
fn due_dates_step_over_holidays_swaps_and_make_up_saturdays() {
    // Friday 13 February 2026, one working day: the Tết break runs to Sunday 22, so Monday 23.
    let before_tet = cal()
        .due(datetime!(2026-02-13 10:00 +7), 1, DEFAULT_CUTOFF)
        .unwrap();
    assert_eq!(before_tet.due, date!(2026 - 02 - 23));
    // Received on Hùng Kings' substitute Monday 27 April 2026: counts as Tuesday 28, and 30 April and 1 May are
    // holidays: Wednesday 29, Monday 4 May.
    let hung = cal()
        .due(datetime!(2026-04-27 09:00 +7), 2, DEFAULT_CUTOFF)
        .unwrap();
    assert_eq!(hung.counted_as_received, date!(2026 - 04 - 28));
    assert_eq!(hung.due, date!(2026 - 05 - 04));
    // Saturday 10 January 2026 is a working day: received Friday 9 at 10:00, one working day is that Saturday.
    let saturday = cal()
        .due(datetime!(2026-01-09 10:00 +7), 1, DEFAULT_CUTOFF)
        .unwrap();
    assert_eq!(saturday.due, date!(2026 - 01 - 10));
}

#[test]
fn due_refuses_what_it_cannot_count() {
    let err = cal()
        .due(
            datetime!(2026-03-09 09:00 +7),
            MAX_WORKING_DAYS + 1,
            DEFAULT_CUTOFF,
        )
        .unwrap_err();
    assert_eq!(err.code, Code::Cal0001BadInput);
    let err = cal()
        .due(datetime!(2199-12-30 09:00 +7), 5, DEFAULT_CUTOFF)
        .unwrap_err();
    assert_eq!(err.code, Code::Cal0002UnknownYear);
    let err = cal()
        .due(datetime!(1899-12-31 09:00 +7), 5, DEFAULT_CUTOFF)
        .unwrap_err();
    assert_eq!(err.code, Code::Cal0002UnknownYear);
}

#[test]
fn bad_data_lines_are_refused_with_their_line() {
    let four_tet = "tet | 2027-02-05 | x\ntet | 2027-02-06 | x\ntet | 2027-02-07 | x\ntet | 2027-02-08 | x\n";
    assert_eq!(
        Calendar::from_data(four_tet).err().unwrap().code,
        Code::Cal0001BadInput
    );
    let saturday_off = "off | 2027-01-02 | a | b | c";
    assert!(Calendar::from_data(saturday_off)
        .err()
        .unwrap()
        .message
        .contains("line 1"));
    assert!(Calendar::from_data("work | 2027-01-04 | a | b | c").is_err());
    assert!(Calendar::from_data("national-day | 2027-09-04 | c").is_err());
    assert!(Calendar::from_data("# a comment\n\nholiday | 2027-01-04 | a | b | c").is_err());
    assert!(Calendar::from_data("off | 2027-02-30 | a | b | c").is_err());
}

#[test]
fn the_year_2026_has_250_working_days() {
    // 365 days less 104 Saturdays and Sundays, less 13 weekdays off (1 and 2 January, the five Tết days, 27
    // April, 30 April, 1 May, 31 August, 1 and 2 September), plus the two working Saturdays (10 January, 22
    // August).
    let working = days(date!(2026 - 01 - 01), date!(2026 - 12 - 31))
        .filter(|d| !off(*d))
        .count();
    assert_eq!(working, 250);
}

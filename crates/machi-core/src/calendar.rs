//! 開庁日: the days a city hall is open — not Saturdays, Sundays, national holidays (with 振替休日
//! and 国民の休日, as the Cabinet Office lists them), 年末年始 (12/29–1/3) or the city's own
//! closures. 標準処理期間 are counted in them, 初日不算入 (the day of submission does not count),
//! as 行政手続法 第6条 practice counts them.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, Weekday};

/// The national holidays machi ships, in the Cabinet Office's `syukujitsu.csv` layout (UTF-8).
/// `machi import calendar` replaces them with a newer file from 内閣府.
pub const BUNDLED_HOLIDAYS: &[u8] = include_bytes!("../data/holidays.csv");

/// One named day off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayOff {
    pub date: NaiveDate,
    pub name: String,
}

/// A city's calendar: national holidays and its own closures.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    days_off: BTreeSet<NaiveDate>,
}

impl Calendar {
    pub fn new(days_off: impl IntoIterator<Item = NaiveDate>) -> Self {
        Self {
            days_off: days_off.into_iter().collect(),
        }
    }

    /// Whether the city hall is open on `date`.
    pub fn is_open(&self, date: NaiveDate) -> bool {
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        let year_end = matches!((date.month(), date.day()), (12, 29..=31) | (1, 1..=3));
        !weekend && !year_end && !self.days_off.contains(&date)
    }

    /// The `days`-th 開庁日 after `start` (初日不算入: `start` itself never counts).
    pub fn add_open_days(&self, start: NaiveDate, days: u32) -> NaiveDate {
        let mut date = start;
        let mut counted = 0;
        while counted < days {
            date = date.succ_opt().unwrap_or(date);
            if self.is_open(date) {
                counted += 1;
            }
        }
        date
    }

    /// How many 開庁日 lie after `from` up to and including `to` (0 when `to` is not after it).
    pub fn open_days_between(&self, from: NaiveDate, to: NaiveDate) -> u32 {
        let mut count = 0;
        let mut date = from;
        while date < to {
            date = date.succ_opt().unwrap_or(to);
            if self.is_open(date) {
                count += 1;
            }
        }
        count
    }
}

/// Reads the Cabinet Office's list of national holidays (`syukujitsu.csv`: a header, then
/// `2025/1/1,元日` per line; Shift_JIS as published, or UTF-8). All or nothing: a bad line is
/// named.
pub fn parse_holidays(bytes: &[u8]) -> Result<Vec<DayOff>, String> {
    let (text, _) = crate::text::decode_spreadsheet(bytes).map_err(|bad| {
        format!(
            "line {}: not {} (save it as Shift_JIS or UTF-8)",
            bad.line, bad.tried
        )
    })?;
    let mut days = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() || index == 0 && !line.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let (date, name) = line.split_once(',').unwrap_or((line, ""));
        let date = NaiveDate::parse_from_str(date.trim(), "%Y/%m/%d")
            .or_else(|_| NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d"))
            .map_err(|_| format!("line {}: '{date}' is not a date like 2025/1/1", index + 1))?;
        days.push(DayOff {
            date,
            name: name.trim().to_string(),
        });
    }
    if days.is_empty() {
        return Err("the file lists no holidays".into());
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn national() -> Calendar {
        Calendar::new(
            parse_holidays(BUNDLED_HOLIDAYS)
                .unwrap()
                .into_iter()
                .map(|d| d.date),
        )
    }

    #[test]
    fn the_bundled_list_has_substitute_and_citizens_holidays() {
        let days = parse_holidays(BUNDLED_HOLIDAYS).unwrap();
        let named = |y, m, d| {
            days.iter()
                .find(|h| h.date == date(y, m, d))
                .map(|h| h.name.as_str())
        };
        assert_eq!(
            named(2026, 5, 6),
            Some("休日"),
            "振替休日 for 5/3 on a Sunday"
        );
        assert_eq!(
            named(2026, 9, 22),
            Some("休日"),
            "国民の休日 between 敬老の日 and 秋分の日"
        );
        assert_eq!(named(2027, 3, 21), Some("春分の日"));
        assert!(days.iter().all(|d| (2024..=2027).contains(&d.date.year())));
    }

    #[test]
    fn days_are_counted_in_open_days_without_the_first() {
        let calendar = national();
        // Friday 2026-09-18, then 敬老の日, 国民の休日 and 秋分の日: open again on Thursday 9/24.
        assert_eq!(
            calendar.add_open_days(date(2026, 9, 18), 1),
            date(2026, 9, 24)
        );
        assert_eq!(
            calendar.add_open_days(date(2026, 9, 18), 3),
            date(2026, 9, 28)
        );
        // 12/28 (Monday in 2026): 年末年始 and the weekend, first open day Monday 1/4... 2027/1/4.
        assert_eq!(
            calendar.add_open_days(date(2026, 12, 28), 1),
            date(2027, 1, 4)
        );
        assert_eq!(
            calendar.add_open_days(date(2026, 12, 28), 14),
            date(2027, 1, 22)
        );
        assert_eq!(
            calendar.open_days_between(date(2026, 9, 18), date(2026, 9, 24)),
            1
        );
        assert_eq!(
            calendar.open_days_between(date(2026, 9, 24), date(2026, 9, 18)),
            0
        );
        let closed = Calendar::new([date(2026, 9, 24)]);
        assert!(!closed.is_open(date(2026, 9, 24)), "a city's own closure");
    }

    #[test]
    fn a_file_that_is_not_the_list_is_refused_with_its_line() {
        let shift_jis = encoding_rs::SHIFT_JIS
            .encode("国民の祝日・休日月日,国民の祝日・休日名称\r\n2028/1/1,元日\r\n")
            .0
            .into_owned();
        assert_eq!(
            parse_holidays(&shift_jis).unwrap()[0].date,
            date(2028, 1, 1)
        );
        let bad = parse_holidays("見出し\n2028/13/1,x\n".as_bytes()).unwrap_err();
        assert!(bad.starts_with("line 2"), "{bad}");
        assert!(parse_holidays(b"").is_err());
    }
}

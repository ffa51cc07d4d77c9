//! 和暦 (Japanese era calendar): parsing what residents type and showing dates the way city
//! forms do.
//!
//! Accepts 西暦 (2024-04-01, 2024/4/1, 2024年4月1日) and 和暦 in kanji or letter form (令和6年4月1日,
//! 令和元年5月1日, R6.4.1, H31/4/30, Ｒ６．４．１), and rejects a date outside its era (平成31年5月1日
//! is 令和元年). Written by hand: the era table is five lines and no maintained crate covers
//! the letter forms and boundary checks that forms need.

use chrono::{Datelike, FixedOffset, NaiveDate, Offset, Utc};

use crate::text::fold_digits_and_dashes;

/// Japan Standard Time (UTC+9, no daylight saving): the one offset every date and time of a
/// city's work is read in.
pub fn jst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| Utc.fix())
}

/// Today in Japan, where every date of a city's work is meant.
pub fn today_jst() -> NaiveDate {
    Utc::now().with_timezone(&jst()).date_naive()
}

/// Now in Japan, as a local date and time (slots and deadlines are read in Japan's time).
pub fn now_jst() -> chrono::NaiveDateTime {
    Utc::now().with_timezone(&jst()).naive_local()
}

/// The 年度 a day belongs to: a fiscal year runs from 1 April to 31 March and is named by the
/// year it starts in (2026-03-31 is in 2025年度).
pub fn fiscal_year(date: NaiveDate) -> i32 {
    if date.month() >= 4 {
        date.year()
    } else {
        date.year() - 1
    }
}

/// 「令和8年度」: the 年度 as city documents name it. A 年度 in which the era changed is named
/// by the new era, as 2019年度 is 令和元年度 (the era in effect at the end of its calendar year).
pub fn fiscal_year_label(fiscal_year: i32) -> String {
    match NaiveDate::from_ymd_opt(fiscal_year, 12, 31).map(format_wareki) {
        Some(date) => match date.find('年') {
            Some(end) => format!("{}年度", &date[..end]),
            None => format!("{fiscal_year}年度"),
        },
        None => format!("{fiscal_year}年度"),
    }
}

/// One era (元号) with the first day it was in use.
struct Era {
    kanji: &'static str,
    letter: char,
    first_day: (i32, u32, u32),
}

const ERAS: [Era; 5] = [
    Era {
        kanji: "令和",
        letter: 'R',
        first_day: (2019, 5, 1),
    },
    Era {
        kanji: "平成",
        letter: 'H',
        first_day: (1989, 1, 8),
    },
    Era {
        kanji: "昭和",
        letter: 'S',
        first_day: (1926, 12, 25),
    },
    Era {
        kanji: "大正",
        letter: 'T',
        first_day: (1912, 7, 30),
    },
    Era {
        kanji: "明治",
        letter: 'M',
        first_day: (1868, 10, 23),
    },
];

/// Why a typed date was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("not a date in a known form")]
    Unrecognised,
    #[error("no such day in the calendar")]
    NoSuchDay,
    #[error("the date is outside its era")]
    OutsideEra,
}

fn era_start(era: &Era) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(era.first_day.0, era.first_day.1, era.first_day.2)
}

/// Parses a date typed in 西暦 or 和暦, in any width.
pub fn parse_date(input: &str) -> Result<NaiveDate, DateError> {
    let folded = fold_digits_and_dashes(input);
    if folded.is_empty() {
        return Err(DateError::Unrecognised);
    }
    match split_era(&folded) {
        Some((era, rest)) => parse_era_date(era, rest),
        None => {
            let (y, m, d) = split_numbers(&folded).ok_or(DateError::Unrecognised)?;
            if y < 1000 {
                return Err(DateError::Unrecognised);
            }
            NaiveDate::from_ymd_opt(y, m, d).ok_or(DateError::NoSuchDay)
        }
    }
}

fn split_era(folded: &str) -> Option<(&'static Era, &str)> {
    ERAS.iter().find_map(|era| {
        if let Some(rest) = folded.strip_prefix(era.kanji) {
            return Some((era, rest));
        }
        let mut chars = folded.chars();
        let first = chars.next()?.to_ascii_uppercase();
        (first == era.letter).then_some((era, chars.as_str()))
    })
}

fn parse_era_date(era: &Era, rest: &str) -> Result<NaiveDate, DateError> {
    let rest = rest.replacen('元', "1", 1);
    let (era_year, m, d) = split_numbers(&rest).ok_or(DateError::Unrecognised)?;
    if era_year < 1 {
        return Err(DateError::OutsideEra);
    }
    let start = era_start(era).ok_or(DateError::Unrecognised)?;
    let date =
        NaiveDate::from_ymd_opt(start.year() + era_year - 1, m, d).ok_or(DateError::NoSuchDay)?;
    let next_era_start = ERAS
        .iter()
        .take_while(|e| e.kanji != era.kanji)
        .last()
        .and_then(era_start);
    let inside = date >= start && next_era_start.is_none_or(|next| date < next);
    if inside {
        Ok(date)
    } else {
        Err(DateError::OutsideEra)
    }
}

/// Splits "2024-4-1", "6年4月1日", "6.4.1" or "20240401" into numbers.
fn split_numbers(s: &str) -> Option<(i32, u32, u32)> {
    let s = s.trim_end_matches('日');
    let parts: Vec<&str> = s
        .split(['-', '/', '.', '年', '月'])
        .filter(|p| !p.is_empty())
        .collect();
    match parts.as_slice() {
        [y, m, d] => Some((y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)),
        [compact] if compact.len() == 8 && compact.chars().all(|c| c.is_ascii_digit()) => Some((
            compact[..4].parse().ok()?,
            compact[4..6].parse().ok()?,
            compact[6..].parse().ok()?,
        )),
        _ => None,
    }
}

/// Formats a date as 和暦 the way city documents do: 令和6年4月1日, 令和元年5月1日.
pub fn format_wareki(date: NaiveDate) -> String {
    let era = ERAS
        .iter()
        .find(|era| era_start(era).is_some_and(|start| date >= start));
    match era.and_then(|era| era_start(era).map(|start| (era, start))) {
        Some((era, start)) => {
            let year = date.year() - start.year() + 1;
            let year_text = if year == 1 {
                "元".to_string()
            } else {
                year.to_string()
            };
            format!(
                "{}{}年{}月{}日",
                era.kanji,
                year_text,
                date.month(),
                date.day()
            )
        }
        None => format!("{}年{}月{}日", date.year(), date.month(), date.day()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn reiwa_in_kanji_letters_and_full_width_all_parse() {
        for input in [
            "令和6年4月1日",
            "R6.4.1",
            "r6/4/1",
            "Ｒ６．４．１",
            "令和６年４月１日",
            "R06-04-01",
            "R６ー４ー１",
        ] {
            assert_eq!(parse_date(input), Ok(ymd(2024, 4, 1)), "{input}");
        }
    }

    #[test]
    fn gannen_is_the_first_year() {
        assert_eq!(parse_date("令和元年5月1日"), Ok(ymd(2019, 5, 1)));
    }

    #[test]
    fn heisei_31_is_valid_until_the_end_of_april_only() {
        assert_eq!(parse_date("平成31年4月30日"), Ok(ymd(2019, 4, 30)));
        assert_eq!(parse_date("H31.4.1"), Ok(ymd(2019, 4, 1)));
        assert_eq!(parse_date("平成31年5月1日"), Err(DateError::OutsideEra));
    }

    #[test]
    fn showa_64_ended_on_the_seventh_of_january() {
        assert_eq!(parse_date("S64.1.7"), Ok(ymd(1989, 1, 7)));
        assert_eq!(parse_date("S64.1.8"), Err(DateError::OutsideEra));
    }

    #[test]
    fn seireki_forms_parse() {
        for input in [
            "2024-04-01",
            "2024/4/1",
            "2024年4月1日",
            "20240401",
            "２０２４－０４－０１",
        ] {
            assert_eq!(parse_date(input), Ok(ymd(2024, 4, 1)), "{input}");
        }
    }

    #[test]
    fn impossible_days_and_noise_are_rejected() {
        assert_eq!(parse_date("2023-02-29"), Err(DateError::NoSuchDay));
        assert_eq!(parse_date("昨日"), Err(DateError::Unrecognised));
        assert_eq!(parse_date(""), Err(DateError::Unrecognised));
        assert_eq!(parse_date("R0.1.1"), Err(DateError::OutsideEra));
    }

    #[test]
    fn dates_format_as_wareki() {
        assert_eq!(format_wareki(ymd(2024, 4, 1)), "令和6年4月1日");
        assert_eq!(format_wareki(ymd(2019, 5, 1)), "令和元年5月1日");
        assert_eq!(format_wareki(ymd(2019, 4, 30)), "平成31年4月30日");
    }
}

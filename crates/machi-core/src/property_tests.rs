//! Property tests of the parsers and normalisers at machi's edges: whatever a resident or a
//! spreadsheet sends, they answer (never panic), and what they produce parses back.

use crate::procedures::{parse_catalog, CatalogFormat};
use crate::receipt::{AccessCode, ReceiptNumber};
use crate::text::{fold_digits_and_dashes, search_key, to_katakana_field};
use crate::wareki::{format_wareki, parse_date};
use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;

/// Any day from 1900 to 2099.
fn dates() -> impl Strategy<Value = NaiveDate> {
    let first = NaiveDate::from_ymd_opt(1900, 1, 1).unwrap();
    (0i64..73_049).prop_map(move |days| first + chrono::Duration::days(days))
}

fn katakana_to_hiragana(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{30A1}'..='\u{30F6}' => char::from_u32(c as u32 - 0x60).unwrap(),
            other => other,
        })
        .collect()
}

proptest! {
    #[test]
    fn every_date_written_in_wareki_or_iso_parses_back(date in dates()) {
        prop_assert_eq!(parse_date(&date.format("%Y-%m-%d").to_string()), Ok(date));
        prop_assert_eq!(parse_date(&date.format("%Y/%-m/%-d").to_string()), Ok(date));
        if date.year() >= 1873 {
            prop_assert_eq!(parse_date(&format_wareki(date)), Ok(date));
        }
    }

    #[test]
    fn date_parsing_answers_anything_without_panicking(input in "\\PC{0,24}") {
        let _ = parse_date(&input);
    }

    #[test]
    fn receipt_numbers_round_trip_and_catch_any_single_wrong_digit(
        date in dates(), sequence in 0u64..10_000_000, position in 0usize..20, digit in 0u8..9
    ) {
        let receipt = ReceiptNumber::new(date, sequence);
        prop_assert_eq!(ReceiptNumber::parse(receipt.as_str()), Some(receipt.clone()));
        let mut digits: Vec<u8> = receipt.as_str().bytes().filter(u8::is_ascii_digit).collect();
        let at = position % digits.len();
        // Another digit than the one there: shift by 1 to 9.
        digits[at] = b'0' + (digits[at] - b'0' + 1 + digit % 9) % 10;
        prop_assert_eq!(ReceiptNumber::parse(std::str::from_utf8(&digits).unwrap()), None);
    }

    #[test]
    fn typed_receipt_numbers_and_codes_never_panic(input in "\\PC{0,40}") {
        let _ = ReceiptNumber::parse(&input);
        let _ = AccessCode::parse(&input);
    }

    #[test]
    fn the_search_key_is_stable_and_blind_to_kana_kind(text in "[ァ-ヶーa-zA-Z0-9 ０-９]{0,20}") {
        let key = search_key(&text);
        prop_assert_eq!(search_key(&key), key.clone());
        prop_assert_eq!(search_key(&katakana_to_hiragana(&text)), key);
    }

    /// A half-width sound mark with nothing before it stays a (combining) mark, which the kana
    /// pattern of a form then refuses; everything else becomes full-width katakana.
    #[test]
    fn kana_answers_come_out_as_katakana(text in "[ぁ-ゖァ-ヶｦ-ﾟ ]{1,20}") {
        let field = to_katakana_field(&text);
        prop_assert!(field.chars().all(|c| matches!(c, '\u{30A1}'..='\u{30FC}' | '\u{3000}' | '\u{3099}' | '\u{309A}')), "{field}");
        prop_assert_eq!(to_katakana_field(&field), field.clone());
    }

    #[test]
    fn digits_and_dashes_fold_once_and_for_all(text in "[0-9０-９ー－‐−-]{0,16}") {
        let folded = fold_digits_and_dashes(&text);
        prop_assert!(folded.chars().all(|c| c.is_ascii_digit() || c == '-'), "{folded}");
        prop_assert_eq!(fold_digits_and_dashes(&folded), folded);
    }

    #[test]
    fn any_bytes_as_a_catalog_give_a_result_not_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        for format in [CatalogFormat::Csv, CatalogFormat::Json, CatalogFormat::Yaml] {
            let _ = parse_catalog(&bytes, format);
        }
    }
}

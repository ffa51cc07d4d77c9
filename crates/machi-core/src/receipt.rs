//! 受付番号 (receipt numbers) and access codes.
//!
//! A receipt number is read out over the phone and typed from paper, so it is digits only,
//! sortable by day, and ends in a check digit: `YYMMDD-NNNNNN-C` (JST date of receipt, the
//! city's running number for that day, Damm check digit). The access code that goes with it
//! is random, typed rarely, and stored only as its SHA-256 (it is long and random, so a slow
//! password hash would add nothing but latency).

use std::fmt;

use chrono::NaiveDate;
use rand::Rng;

use crate::text::fold_width;

/// Damm algorithm quasigroup table (order 10, weakly totally anti-symmetric). Written by hand:
/// it catches every single-digit error and every swap of neighbouring digits, which a phone
/// read-out needs, and it is a 10×10 table.
const DAMM: [[u8; 10]; 10] = [
    [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
    [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
    [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
    [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
    [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
    [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
    [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
    [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
    [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
    [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

fn damm_check_digit(digits: &str) -> u8 {
    digits
        .bytes()
        .filter(u8::is_ascii_digit)
        .fold(0u8, |interim, b| {
            DAMM[interim as usize][(b - b'0') as usize]
        })
}

/// 受付番号: `YYMMDD-NNNNNN-C`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReceiptNumber(String);

impl ReceiptNumber {
    /// Makes the receipt number for the `sequence`-th application of `day` (JST).
    pub fn new(day: NaiveDate, sequence: u64) -> Self {
        let body = format!("{}-{:06}", day.format("%y%m%d"), sequence);
        let check = damm_check_digit(&body);
        Self(format!("{body}-{check}"))
    }

    /// Parses a typed receipt number: any width, with or without hyphens or spaces.
    pub fn parse(input: &str) -> Option<Self> {
        let digits: String = fold_width(input)
            .chars()
            .filter(|c| !matches!(c, '-' | ' ' | 'ー' | '−'))
            .collect();
        if digits.len() < 13 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if damm_check_digit(&digits) != 0 {
            return None;
        }
        let (date, rest) = digits.split_at(6);
        let (sequence, check) = rest.split_at(rest.len() - 1);
        Some(Self(format!("{date}-{sequence}-{check}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReceiptNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Crockford's base32 alphabet: no I, L, O or U, so nothing reads as another character.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CODE_LEN: usize = 12;

/// The secret a resident gets with a receipt number to look up its status.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessCode(String);

impl AccessCode {
    /// A new random code (60 bits).
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let code = (0..CODE_LEN)
            .map(|_| CODE_ALPHABET[rng.random_range(0..32)] as char)
            .collect();
        Self(code)
    }

    /// A code derived from a 32-byte seed, so that a retried request can be given the same code
    /// again without the code itself ever being stored.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(
            seed.iter()
                .take(CODE_LEN)
                .map(|b| CODE_ALPHABET[(b & 31) as usize] as char)
                .collect(),
        )
    }

    /// Parses a typed code: any width and case, hyphens optional, O read as 0 and I/L as 1.
    pub fn parse(input: &str) -> Option<Self> {
        let code: String = fold_width(input)
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .map(|c| match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                other => other,
            })
            .collect();
        let valid = code.len() == CODE_LEN && code.bytes().all(|b| CODE_ALPHABET.contains(&b));
        valid.then_some(Self(code))
    }

    /// The code grouped for reading: `ABCD-EFGH-JKMN`.
    pub fn display(&self) -> String {
        let (a, rest) = self.0.split_at(4);
        let (b, c) = rest.split_at(4);
        format!("{a}-{b}-{c}")
    }

    /// SHA-256 of the code, the only form that is stored.
    pub fn digest(&self) -> String {
        crate::digest::sha256_hex(self.0.as_bytes())
    }

    /// The key that lets the applicant book the visit a procedure asks for (see
    /// [`booking_key_of`]).
    pub fn booking_key(&self) -> String {
        booking_key_of(&self.digest())
    }
}

/// A key derived one way from an application's access-code digest: it goes in the link from
/// the receipt page to the booking of the visit (转入予约 → a counter slot), which ties the
/// booking to the application without the access code itself travelling in a URL.
pub fn booking_key_of(access_digest: &str) -> String {
    crate::digest::sha256_hex(format!("booking:{access_digest}").as_bytes())[..16].to_string()
}

impl fmt::Debug for AccessCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessCode(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    #[test]
    fn receipt_numbers_read_date_sequence_and_check_digit() {
        let receipt = ReceiptNumber::new(day(), 42);
        assert!(receipt.as_str().starts_with("261123-000042-"));
        assert_eq!(ReceiptNumber::parse(receipt.as_str()), Some(receipt));
    }

    #[test]
    fn typed_receipt_numbers_parse_in_any_width_without_hyphens() {
        let receipt = ReceiptNumber::new(day(), 7);
        let typed: String = receipt.as_str().replace('-', "");
        assert_eq!(ReceiptNumber::parse(&typed), Some(receipt.clone()));
        let wide: String = receipt
            .as_str()
            .chars()
            .map(|c| {
                if c.is_ascii_digit() {
                    char::from_u32(c as u32 + 0xFEE0).unwrap()
                } else {
                    'ー'
                }
            })
            .collect();
        assert_eq!(ReceiptNumber::parse(&wide), Some(receipt));
    }

    #[test]
    fn a_single_wrong_digit_or_swapped_neighbours_fail_the_check() {
        let receipt = ReceiptNumber::new(day(), 123456).as_str().replace('-', "");
        for i in 0..receipt.len() {
            for d in b'0'..=b'9' {
                let mut bytes = receipt.clone().into_bytes();
                if bytes[i] == d {
                    continue;
                }
                bytes[i] = d;
                assert_eq!(
                    ReceiptNumber::parse(std::str::from_utf8(&bytes).unwrap()),
                    None
                );
            }
        }
        for i in 0..receipt.len() - 1 {
            let mut bytes = receipt.clone().into_bytes();
            if bytes[i] == bytes[i + 1] {
                continue;
            }
            bytes.swap(i, i + 1);
            assert_eq!(
                ReceiptNumber::parse(std::str::from_utf8(&bytes).unwrap()),
                None
            );
        }
    }

    #[test]
    fn access_codes_round_trip_and_forgive_look_alike_letters() {
        let code = AccessCode::generate();
        assert_eq!(AccessCode::parse(&code.display()), Some(code.clone()));
        assert_eq!(
            AccessCode::parse(&code.display().to_lowercase()),
            Some(code)
        );
        assert_eq!(
            AccessCode::parse("oooo-iiii-llll").map(|c| c.display()),
            Some("0000-1111-1111".to_string())
        );
        assert_eq!(AccessCode::parse("short"), None);
    }

    #[test]
    fn seeded_codes_are_stable_and_valid() {
        let seed = [7u8; 32];
        assert_eq!(AccessCode::from_seed(&seed), AccessCode::from_seed(&seed));
        let code = AccessCode::from_seed(&seed);
        assert_eq!(AccessCode::parse(&code.display()), Some(code));
    }

    #[test]
    fn access_codes_never_print_in_debug_output() {
        assert_eq!(format!("{:?}", AccessCode::generate()), "AccessCode(***)");
    }
}

//! Reminders on LINE: a resident links a booking to the city's LINE official account by
//! sending it 「予約 1234-5678 12345678」 — the booking number and a link code. The code is
//! derived from the number with the deployment's secret and shown only on the booking's own
//! page (reached with its cancel code), so only the booking's holder can have its reminders
//! sent to their LINE; it lets nobody change or cancel anything.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::text::fold_width;

/// Digits of a link code: 10⁸ codes for each booking number.
pub const LINK_CODE_DIGITS: usize = 8;

/// The link code of booking `number` in city `tenant`.
pub fn link_code(secret: &str, tenant: &str, number: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(tenant.as_bytes());
    mac.update(b"\0");
    mac.update(number.as_bytes());
    let digest = mac.finalize().into_bytes();
    let value = u64::from_be_bytes([
        digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
    ]);
    format!("{:08}", value % 100_000_000)
}

/// The message a resident sends: 「予約 {number} {code}」.
pub fn link_message(number: &str, code: &str) -> String {
    format!("予約 {number} {code}")
}

/// Reads a link message as residents type it — 全角 digits, any spaces or none, a booking
/// number with or without its hyphen (ー, −) — into `(booking number, link code)`; `None`
/// when the message is not one (an ordinary chat message).
pub fn read_link_message(text: &str) -> Option<(String, String)> {
    let folded = fold_width(text.trim());
    let rest = folded.strip_prefix("予約")?;
    let digits: String = rest
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '-' | 'ー' | '−' | '‐' | '―'))
        .collect();
    if digits.len() != 8 + LINK_CODE_DIGITS || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (number, code) = digits.split_at(8);
    Some((
        format!("{}-{}", &number[..4], &number[4..]),
        code.to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_code_belongs_to_one_booking_of_one_city() {
        let code = link_code("secret", "demo", "1234-5678");
        assert_eq!(code.len(), LINK_CODE_DIGITS);
        assert_eq!(code, link_code("secret", "demo", "1234-5678"));
        assert_ne!(code, link_code("secret", "demo", "1234-5679"));
        assert_ne!(code, link_code("secret", "other", "1234-5678"));
        assert_ne!(code, link_code("other secret", "demo", "1234-5678"));
    }

    #[test]
    fn link_messages_are_read_as_residents_type_them() {
        let expected = Some(("1234-5678".to_string(), "00112233".to_string()));
        for typed in [
            "予約 1234-5678 00112233",
            "予約　１２３４－５６７８　００１１２２３３",
            "予約12345678 00112233",
            " 予約 1234 5678 0011 2233 ",
            "予約 1234ー5678 00112233",
        ] {
            assert_eq!(read_link_message(typed), expected, "{typed}");
        }
        let message = link_message("1234-5678", "00112233");
        assert_eq!(read_link_message(&message), expected);
        for not_one in [
            "こんにちは",
            "予約 1234-5678",
            "予約 1234-5678 0011223",
            "予約 1234-5678 001122334",
            "予約 abcd-5678 00112233",
            "ごみの予約 1234-5678 00112233",
        ] {
            assert_eq!(read_link_message(not_one), None, "{not_one}");
        }
    }
}

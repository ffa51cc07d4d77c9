//! 個人番号 (My Number): checked, never kept. A form may ask for it so that a typing mistake
//! is caught at once (the 12th digit is a check digit), but machi stores only the fact that a
//! valid number was given ([`STORED_MARKER`]), never the number, and never logs it.

/// What an application keeps in place of a My Number.
pub const STORED_MARKER: &str = "checked";

/// The check digit of the first eleven digits (番号法施行令第8条): with P_n the n-th digit
/// counted from the right and Q_n = n + 1 for n ≤ 6, n − 5 for n ≥ 7, the check digit is
/// 0 when Σ P_n·Q_n mod 11 ≤ 1 and 11 − remainder otherwise. Written by hand: it is one
/// formula, and no maintained crate does it.
pub fn check_digit(first_eleven: &[u8; 11]) -> u8 {
    let sum: u32 = first_eleven
        .iter()
        .rev()
        .enumerate()
        .map(|(i, digit)| {
            let n = i as u32 + 1;
            let weight = if n <= 6 { n + 1 } else { n - 5 };
            u32::from(*digit) * weight
        })
        .sum();
    let remainder = sum % 11;
    if remainder <= 1 {
        0
    } else {
        (11 - remainder) as u8
    }
}

/// The twelve digits of `input` (全角 digits, spaces and hyphens allowed) when they form a
/// valid My Number.
pub fn parse(input: &str) -> Option<String> {
    let digits: String = crate::text::fold_width(input)
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\u{3000}'))
        .collect();
    let bytes: Vec<u8> = digits
        .chars()
        .map(|c| c.to_digit(10).map(|d| d as u8))
        .collect::<Option<_>>()?;
    let (body, check) = bytes.split_at_checked(11)?;
    let body: &[u8; 11] = body.try_into().ok()?;
    (check == [check_digit(body)]).then_some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A number made for this test: eleven digits and the check digit the formula gives.
    fn valid_number() -> String {
        let body = [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1];
        let digits: String = body.iter().map(|d| char::from(b'0' + d)).collect();
        format!("{digits}{}", check_digit(&body))
    }

    #[test]
    fn the_check_digit_catches_typing_mistakes() {
        let number = valid_number();
        assert_eq!(parse(&number).as_deref(), Some(number.as_str()));
        let spaced = format!("{} {} {}", &number[..4], &number[4..8], &number[8..]);
        assert_eq!(parse(&spaced).as_deref(), Some(number.as_str()));
        let wide: String = number
            .chars()
            .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap())
            .collect();
        assert_eq!(parse(&wide).as_deref(), Some(number.as_str()));
        // Any single changed digit or swapped neighbours are caught.
        let mut swapped: Vec<char> = number.chars().collect();
        swapped.swap(2, 3);
        assert_eq!(parse(&swapped.into_iter().collect::<String>()), None);
        let changed = format!(
            "{}{}",
            &number[..11],
            (number.as_bytes()[11] - b'0' + 1) % 10
        );
        assert_eq!(parse(&changed), None);
        assert_eq!(parse("12345678901"), None);
        assert_eq!(parse("1234567890123"), None);
        assert_eq!(parse("abcdefghijkl"), None);
    }

    #[test]
    fn check_digits_follow_the_cabinet_order() {
        // Remainder 0 and 1 give 0; otherwise 11 - remainder.
        assert_eq!(check_digit(&[0; 11]), 0);
        // 1 in the rightmost place weighs 2: remainder 2 → 9.
        assert_eq!(check_digit(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), 9);
        // 1 in the leftmost (11th from the right) weighs 6: remainder 6 → 5.
        assert_eq!(check_digit(&[1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), 5);
    }
}

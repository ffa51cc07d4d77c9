//! Numbers as Japanese pages write them.

/// With thousands separators: 2523 → 「2,523」, yen as 「12,000,000」.
pub(crate) fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_have_thousands_separators() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1_000), "1,000");
        assert_eq!(super::thousands(2523), "2,523");
        assert_eq!(super::thousands(12_345_678), "12,345,678");
        assert_eq!(super::thousands(-1_000), "-1,000");
    }
}

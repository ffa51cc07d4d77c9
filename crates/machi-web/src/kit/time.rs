//! Times as residents and staff read them: stored UTC shown in JST with the 和暦 date.

use machi_core::wareki::{format_wareki, jst};

/// Shows a stored UTC time (RFC 3339) in JST, e.g. `令和8年12月5日 18:00`; text that is not a
/// time is shown as it is.
pub(crate) fn jst_text(time: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(time)
        .map(|t| {
            let local = t.with_timezone(&jst());
            format!(
                "{} {}",
                format_wareki(local.date_naive()),
                local.format("%H:%M")
            )
        })
        .unwrap_or_else(|_| time.to_string())
}

/// A stored RFC 3339 time for a feed; one that cannot be read counts as now.
pub(crate) fn rfc3339(stored: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(stored)
        .unwrap_or_else(|_| chrono::Utc::now().fixed_offset())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_utc_is_shown_in_japan_time_with_the_era() {
        assert_eq!(jst_text("2026-12-05T09:00:00Z"), "令和8年12月5日 18:00");
        assert_eq!(jst_text("not a time"), "not a time");
    }
}

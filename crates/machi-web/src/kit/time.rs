//! Times as residents and staff read them: stored UTC shown in JST with the 和暦 date.

use machi_core::wareki::{format_wareki, jst};
use machi_store::Time;

/// Shows a time in JST with the 和暦 date, e.g. `令和8年12月5日 18:00`.
pub(crate) fn jst_text(time: Time) -> String {
    let local = time.utc().with_timezone(&jst());
    format!(
        "{} {}",
        format_wareki(local.date_naive()),
        local.format("%H:%M")
    )
}

/// The JST date of a time, with the 和暦 (`令和8年12月19日`): a due date is a day, not a moment.
pub(crate) fn jst_day(time: Time) -> String {
    format_wareki(time.utc().with_timezone(&jst()).date_naive())
}

/// [`jst_text`] for a time still kept as text (the audit chain's, a lock's end); text that is
/// not a time is shown as it is.
pub(crate) fn jst_stored(text: &str) -> String {
    Time::parse(text).map_or_else(|| text.to_string(), jst_text)
}

/// A time as a feed writes it (RFC 3339 with its offset).
pub(crate) fn rfc3339(time: Time) -> chrono::DateTime<chrono::FixedOffset> {
    time.utc().fixed_offset()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_utc_is_shown_in_japan_time_with_the_era() {
        let time = Time::parse("2026-12-05T09:00:00Z").unwrap();
        assert_eq!(jst_text(time), "令和8年12月5日 18:00");
        assert_eq!(jst_stored("2026-12-05T09:00:00Z"), "令和8年12月5日 18:00");
        assert_eq!(jst_stored("not a time"), "not a time");
        // 23:30 UTC is already the next day in Japan.
        let late = Time::parse("2026-12-04T23:30:00Z").unwrap();
        assert_eq!(jst_day(late), "令和8年12月5日");
    }
}

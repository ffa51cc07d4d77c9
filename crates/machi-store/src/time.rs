//! 時刻 (times) as the store keeps them: UTC, written as fixed-width RFC 3339 text
//! (`2026-12-05T09:00:00.000000Z`), so that text order is time order on SQLite and PostgreSQL
//! alike and one SQL text serves both. Rows hand times out as [`Time`], a `DateTime<Utc>` that
//! decodes itself from that text; nothing above the store reads a time as a string.

use std::fmt;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Serialize, Serializer};
use sqlx::any::{Any, AnyTypeInfo};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

/// A moment in UTC, to the microsecond (what the stored text holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(DateTime<Utc>);

impl Time {
    /// Now, to the microsecond, so that a time equals itself after a round trip.
    pub fn now() -> Self {
        Self(Utc::now().trunc_subsecs(6))
    }

    /// Reads RFC 3339 text with any offset (the stored form, or what a client sent).
    pub fn parse(text: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| Self(t.with_timezone(&Utc).trunc_subsecs(6)))
    }

    /// The moment as chrono's UTC time.
    pub fn utc(self) -> DateTime<Utc> {
        self.0
    }

    /// The stored text (the same as `to_string()`).
    pub fn stored(self) -> String {
        crate::format_time(self.0)
    }
}

impl From<DateTime<Utc>> for Time {
    fn from(time: DateTime<Utc>) -> Self {
        Self(time.trunc_subsecs(6))
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.stored())
    }
}

/// On the wire a time is its stored RFC 3339 text, as before times were typed.
impl Serialize for Time {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl Type<Any> for Time {
    fn type_info() -> AnyTypeInfo {
        <String as Type<Any>>::type_info()
    }
}

impl<'q> Encode<'q, Any> for Time {
    fn encode_by_ref(
        &self,
        buf: &mut <Any as Database>::ArgumentBuffer<'q>,
    ) -> Result<IsNull, BoxDynError> {
        <String as Encode<'q, Any>>::encode(self.stored(), buf)
    }
}

impl<'r> Decode<'r, Any> for Time {
    fn decode(value: <Any as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <String as Decode<'r, Any>>::decode(value)?;
        Self::parse(&text).ok_or_else(|| format!("not a stored time: {text:?}").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_is_written_as_fixed_width_utc_text_and_read_back_the_same() {
        let time = Time::parse("2026-12-05T18:00:00.5+09:00").unwrap();
        assert_eq!(time.stored(), "2026-12-05T09:00:00.500000Z");
        assert_eq!(Time::parse(&time.stored()), Some(time));
        let now = Time::now();
        assert_eq!(Time::parse(&now.to_string()), Some(now));
    }

    #[test]
    fn text_order_is_time_order() {
        let earlier = Time::parse("2026-01-02T03:04:05Z").unwrap();
        let later = Time::parse("2026-01-02T03:04:05.000001Z").unwrap();
        assert!(earlier < later);
        assert!(earlier.stored() < later.stored());
    }

    #[test]
    fn text_that_is_no_time_is_refused() {
        assert_eq!(Time::parse("2026-13-01"), None);
        assert_eq!(Time::parse(""), None);
    }

    #[test]
    fn on_the_wire_a_time_is_its_text() {
        let time = Time::parse("2026-12-05T09:00:00Z").unwrap();
        assert_eq!(
            serde_json::to_string(&time).unwrap(),
            "\"2026-12-05T09:00:00.000000Z\""
        );
    }
}

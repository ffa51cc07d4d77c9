//! machi-core: the pure domain of machi — procedures and forms, 和暦, 全角/半角 and kana
//! normalisation, receipt numbers. No I/O here: storage and HTTP live in other crates.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

/// `TryFrom<String>` for an enum kept as its text key (`Self::parse`), so that storage can
/// decode a column straight into it; the error names what the text was meant to be.
macro_rules! parsed_from_text {
    ($type:ty, $what:literal) => {
        impl TryFrom<String> for $type {
            type Error = String;

            fn try_from(text: String) -> Result<Self, String> {
                Self::parse(&text).ok_or_else(|| format!("unknown {} '{text}'", $what))
            }
        }
    };
}

pub mod applications;
pub mod areas;
pub mod assets;
pub mod calendar;
pub mod decisions;
pub mod digest;
pub mod faq;
pub mod life_events;
pub mod mynumber;
pub mod notices;
pub mod opendata;
pub mod payments;
pub mod plans;
pub mod postcodes;
pub mod procedures;
pub mod receipt;
pub mod reservations;
pub mod staff;
pub mod subscriptions;
pub mod text;
pub mod wareki;

#[cfg(test)]
mod property_tests;

//! machi-core: the pure domain of machi — procedures and forms, 和暦, 全角/半角 and kana
//! normalisation, receipt numbers. No I/O here: storage and HTTP live in other crates.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod applications;
pub mod assets;
pub mod digest;
pub mod life_events;
pub mod mynumber;
pub mod notices;
pub mod opendata;
pub mod payments;
pub mod plans;
pub mod procedures;
pub mod receipt;
pub mod staff;
pub mod subscriptions;
pub mod text;
pub mod wareki;

#[cfg(test)]
mod property_tests;

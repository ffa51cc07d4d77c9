//! machi-work: what machi does in the background, beside answering requests. The binary starts
//! it on every node: the delivery workers ([`delivery::spawn`]), which also run the asset
//! ledger's [`reminders`], the facilities' [`lotteries`], and the hourly snapshot of live KPI
//! figures ([`snapshots`]). Nodes share the work through the database (leases on the outbox, upserts of snapshots), so any
//! number of them may run it.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod delivery;
pub mod lotteries;
pub mod outbound;
pub mod reminders;
pub mod snapshots;

pub use delivery::{spawn, DeliverySettings, LineSettings, Workers};
pub use snapshots::snapshot_metrics_hourly;

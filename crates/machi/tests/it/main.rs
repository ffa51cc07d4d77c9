//! Integration tests: the real server over real HTTP, on SQLite and on PostgreSQL.
//!
//! One test binary (linking many costs minutes on 2 cores). Each scenario runs on both
//! backends through `on_both_backends!`; PostgreSQL tests fail, never skip, when
//! `MACHI_TEST_POSTGRES` is set and the server is unreachable.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;
mod receivers;
mod smtp_sink;

mod accounts;
mod acknowledgement;
mod alerts;
mod api_applications;
mod areas;
mod assets;
mod backup;
mod broadcast;
mod catalog;
mod check_answers;
mod ckan;
mod counter;
mod datastore;
mod due_dates;
mod durability;
mod editor;
mod faq;
mod groups;
mod import;
mod inventory;
mod life_events;
mod mynumber;
mod notices;
mod opendata;
mod ops;
mod pages;
mod passkeys;
mod payments;
mod plan_cycle;
mod plans;
mod postcodes;
mod reservations;
mod search;
mod staff;
mod subscriptions;
mod two_nodes;
mod uploads;

//! 年度 arithmetic for the ledger: cost per department and fiscal year, and when a deadline
//! (契約終了, サポート終了) is due a reminder.
//!
//! A Japanese fiscal year (年度) runs from 1 April to 31 March and is named by the year it
//! starts in: 2026-03-31 is in 2025年度. A yearly cost counts in full in every fiscal year the
//! contract covers, even partly, because budgets (予算) are set per 年度 for the whole year; a
//! contract with no start or no end counts up to that edge of the table.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::Asset;
use crate::procedures::Localized;

/// Days before a deadline that its reminders go, earliest first.
pub const REMINDER_DAYS: [i64; 2] = [90, 30];

pub use crate::wareki::fiscal_year;

/// One department's yearly costs, by fiscal year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CostRow {
    pub department: String,
    /// Yen per fiscal year, for each year of the table in order.
    pub per_year: Vec<i64>,
    pub total: i64,
}

/// Cost per department (rows, by code) and fiscal year (`from..=to` columns), and the total
/// of each column. Systems without a yearly cost count nothing.
pub fn cost_table(assets: &[Asset], from: i32, to: i32) -> (Vec<CostRow>, Vec<i64>) {
    let years: Vec<i32> = (from..=to).collect();
    let mut rows: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for asset in assets {
        let Some(cost) = asset.yearly_cost else {
            continue;
        };
        let first = asset.contract_start.map_or(from, fiscal_year);
        let last = asset.contract_end.map_or(to, fiscal_year);
        let row = rows
            .entry(asset.department.as_str())
            .or_insert_with(|| vec![0; years.len()]);
        for (cell, year) in row.iter_mut().zip(&years) {
            if (first..=last).contains(year) {
                *cell = cell.saturating_add(cost);
            }
        }
    }
    let mut totals = vec![0i64; years.len()];
    let rows = rows
        .into_iter()
        .map(|(department, per_year)| {
            for (total, cell) in totals.iter_mut().zip(&per_year) {
                *total = total.saturating_add(*cell);
            }
            CostRow {
                department: department.to_string(),
                total: per_year.iter().fold(0i64, |a, b| a.saturating_add(*b)),
                per_year,
            }
        })
        .collect();
    (rows, totals)
}

/// What a reminder is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Deadline {
    /// 契約終了.
    ContractEnd,
    /// サポート終了 (end of life).
    EndOfLife,
}

impl Deadline {
    pub fn as_str(self) -> &'static str {
        match self {
            Deadline::ContractEnd => "contract_end",
            Deadline::EndOfLife => "end_of_life",
        }
    }

    pub fn label(self) -> Localized {
        match self {
            Deadline::ContractEnd => Localized::new("契約終了", "Contract end"),
            Deadline::EndOfLife => Localized::new("サポート終了", "End of life"),
        }
    }
}

/// A reminder due for one deadline of one system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    pub kind: Deadline,
    pub date: NaiveDate,
    /// Which reminder this is: 90 or 30 days before.
    pub days_before: i64,
    /// Days left today.
    pub days_left: i64,
}

/// The reminder due `today` for a deadline on `date`: the tightest of [`REMINDER_DAYS`] whose
/// window has opened, until the day itself. Checking daily, the 90-day one comes first and the
/// 30-day one later; a system recorded 20 days before its deadline gets only the 30-day one.
/// Whether it was sent already is the store's bookkeeping (keyed by the deadline's date, so a
/// renewed contract is reminded of again).
pub fn due_reminder(kind: Deadline, date: NaiveDate, today: NaiveDate) -> Option<Reminder> {
    let days_left = (date - today).num_days();
    if days_left < 0 {
        return None;
    }
    REMINDER_DAYS
        .iter()
        .rev()
        .find(|days| days_left <= **days)
        .map(|days_before| Reminder {
            kind,
            date,
            days_before: *days_before,
            days_left,
        })
}

/// The e-mail for a reminder: subject and body, in Japanese (staff mail) with the key words in
/// English too.
pub fn reminder_mail(
    asset: &Asset,
    reminder: &Reminder,
    department: &str,
    link: &str,
) -> (String, String) {
    let what = reminder.kind.label();
    let subject = format!(
        "【情報資産台帳】{}まで{}日: {}（{}）",
        what.ja, reminder.days_left, asset.name, asset.id
    );
    let next = match reminder.kind {
        Deadline::ContractEnd => "契約の更新・再調達（仕様書・予算要求）の準備を進めてください。",
        Deadline::EndOfLife => "機器・ソフトウェアの更新または移行の計画を確認してください。",
    };
    let body = format!(
        "{department} 所属長 様\n\n\
         情報資産台帳のシステム「{name}」（管理番号 {id}）の{what}日は {date}（{wareki}）です。\
         あと{left}日です。\n{next}\n\n\
         事業者: {vendor}\n台帳: {link}\n\n\
         ({en} of {name} ({id}) is on {date}, in {left} days.)\n\n\
         このメールは machi の情報資産台帳から自動で送信しています。",
        name = asset.name,
        id = asset.id,
        what = what.ja,
        en = what.en,
        date = reminder.date,
        wareki = crate::wareki::format_wareki(reminder.date),
        left = reminder.days_left,
        vendor = if asset.vendor.is_empty() {
            "—"
        } else {
            &asset.vendor
        },
    );
    (subject, body)
}

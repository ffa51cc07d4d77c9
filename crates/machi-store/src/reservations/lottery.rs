//! 抽選 as stored: rounds (one per service and month; the seed made with the round and only
//! its hash shown until the draw), applications with their ranked wishes, the draw that turns
//! wins into bookings to confirm (仮予約), and the line of those waiting when a win is given back.
//!
//! The draw runs once, on whichever node gets there first: the round is marked drawn in the
//! draw's transaction, only where it was not yet. What is published is stored with the draw,
//! so the list anyone re-runs is the list that was drawn. A win given back — cancelled, or not
//! confirmed in time — goes to the next in line in the same transaction (see
//! [`offer_to_next_in_line`]); when nobody waits, the slot opens to everyone.

use std::collections::HashSet;

use chrono::{NaiveDate, NaiveDateTime};
use machi_core::reservations::lottery::{self, first_of_month, month_name, Published, Wish};
use machi_core::reservations::{Service, Slot, SlotQuery};
use sqlx::{Any, AnyPool, Row, Transaction};

use super::registrations::Registration;
use super::{parse_slot_time, slot_time};
use crate::{now_text, Result, Store, StoreError};

mod draw;
mod mails;

pub(super) use draw::offer_to_next_in_line;

/// Who the lottery's e-mails come from and where their links lead (the city's public address).
#[derive(Debug, Clone, Copy)]
pub struct CityLinks<'a> {
    pub city_name: &'a str,
    pub base: &'a str,
}

/// A round of a service's lottery.
#[derive(Debug, Clone)]
pub struct Round {
    pub service_id: String,
    /// `2027-01`.
    pub month: String,
    pub closes_at: NaiveDateTime,
    pub seed_sha256: String,
    pub drawn_at: Option<String>,
    pub applications: i64,
}

/// An application to a round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotteryApplication {
    /// `L-1234-5678`.
    pub number: String,
    pub service_id: String,
    pub month: String,
    pub registration: String,
    pub wishes: Vec<Wish>,
    pub created_at: String,
}

fn round_from_row(row: &sqlx::any::AnyRow) -> Result<Round> {
    Ok(Round {
        service_id: row.try_get("service_id")?,
        month: row.try_get("month")?,
        closes_at: parse_slot_time(&row.try_get::<String, _>("closes_at")?)?,
        seed_sha256: row.try_get("seed_sha256")?,
        drawn_at: row.try_get("drawn_at")?,
        applications: row.try_get("applications")?,
    })
}

const ROUND_SELECT: &str = "SELECT r.service_id, r.month, r.closes_at, r.seed_sha256, r.drawn_at, \
    (SELECT COUNT(*) FROM lottery_applications a WHERE a.tenant_id = r.tenant_id \
     AND a.service_id = r.service_id AND a.month = r.month AND a.state = 'applied') AS applications \
    FROM lottery_rounds r";

fn wishes_from_text(text: &str) -> Result<Vec<Wish>> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("lottery wishes: {e}")))
}

fn not_a_lottery(service: &Service) -> StoreError {
    StoreError::not_found(
        format!("「{}」は抽選の予約ではありません", service.name.ja),
        format!("'{}' has no lottery", service.id),
    )
}

impl Store {
    /// The round of `service` for `month` (its first day), made with its seed the first time
    /// it is asked for.
    pub async fn lottery_round(
        &self,
        tenant: &str,
        service: &Service,
        month: NaiveDate,
    ) -> Result<Round> {
        let rules = service
            .lottery
            .as_ref()
            .ok_or_else(|| not_a_lottery(service))?;
        let seed = lottery::new_seed();
        sqlx::query(
            "INSERT INTO lottery_rounds (tenant_id, service_id, month, closes_at, seed, \
             seed_sha256, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
        )
        .bind(tenant)
        .bind(&service.id)
        .bind(month_name(month))
        .bind(slot_time(rules.period(month).1))
        .bind(&seed)
        .bind(lottery::seed_sha256(&seed))
        .bind(now_text())
        .execute(&self.pool)
        .await?;
        self.find_lottery_round(tenant, &service.id, &month_name(month))
            .await?
            .ok_or_else(|| StoreError::NotStored("lottery round vanished".into()))
    }

    /// The round of `service` for `month` (`2027-01`), if there is one; never makes one.
    pub async fn find_lottery_round(
        &self,
        tenant: &str,
        service: &str,
        month: &str,
    ) -> Result<Option<Round>> {
        let row = sqlx::query(&format!(
            "{ROUND_SELECT} WHERE r.tenant_id = $1 AND r.service_id = $2 AND r.month = $3"
        ))
        .bind(tenant)
        .bind(service)
        .bind(month)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(round_from_row).transpose()
    }

    /// The rounds of a service, latest month first (at most 24).
    pub async fn lottery_rounds(&self, tenant: &str, service: &str) -> Result<Vec<Round>> {
        let rows = sqlx::query(&format!(
            "{ROUND_SELECT} WHERE r.tenant_id = $1 AND r.service_id = $2 ORDER BY r.month DESC LIMIT 24"
        ))
        .bind(tenant)
        .bind(service)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(round_from_row).collect()
    }

    /// What is published of a drawn round, to re-run it.
    pub async fn published_lottery(
        &self,
        tenant: &str,
        service: &str,
        month: &str,
    ) -> Result<Option<Published>> {
        let text: Option<Option<String>> = sqlx::query_scalar(
            "SELECT published FROM lottery_rounds WHERE tenant_id = $1 AND service_id = $2 \
             AND month = $3",
        )
        .bind(tenant)
        .bind(service)
        .bind(month)
        .fetch_optional(&self.pool)
        .await?;
        text.flatten()
            .map(|t| {
                serde_json::from_str(&t)
                    .map_err(|e| StoreError::Corrupt(format!("published lottery: {e}")))
            })
            .transpose()
    }

    /// Applies `registration` to the round taking applications now, with its wishes (first
    /// first); applying again in the period replaces the wishes. The applicant is e-mailed.
    /// Returns the application and whether it replaced an earlier one.
    pub async fn apply_for_lottery(
        &self,
        tenant: &str,
        service: &Service,
        registration: &Registration,
        wishes: &[Wish],
        now: NaiveDateTime,
        links: &CityLinks<'_>,
    ) -> Result<(LotteryApplication, bool)> {
        let rules = service
            .lottery
            .as_ref()
            .ok_or_else(|| not_a_lottery(service))?;
        let month = rules.month_applying(now).ok_or_else(|| {
            StoreError::conflict(
                "いまは抽選の申込期間ではありません",
                "applications are not taken now",
            )
        })?;
        service
            .eligibility
            .admits(registration.kind, registration.in_city)
            .map_err(StoreError::Conflict)?;
        let calendar = self.calendar(tenant).await?;
        check_wishes(service, &calendar, rules.wishes, month, wishes)?;
        self.lottery_round(tenant, service, month).await?;
        let wishes_text =
            serde_json::to_string(wishes).map_err(|e| StoreError::NotStored(e.to_string()))?;
        let mut tx = self.pool.begin().await?;
        let replaced = sqlx::query(
            "UPDATE lottery_applications SET wishes = $1 WHERE tenant_id = $2 AND service_id = $3 \
             AND month = $4 AND registration = $5 AND state = 'applied'",
        )
        .bind(&wishes_text)
        .bind(tenant)
        .bind(&service.id)
        .bind(month_name(month))
        .bind(&registration.number)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !replaced {
            insert_application(&mut tx, tenant, service, month, registration, &wishes_text).await?;
        }
        let application = application_in(&mut tx, tenant, service, month, registration).await?;
        let mail = mails::applied(links, service, registration, &application, replaced);
        crate::deliveries::enqueue_direct(&mut tx, tenant, &mail).await?;
        tx.commit().await?;
        Ok((application, replaced))
    }

    /// The application `registration` made to the round of `month`, if any.
    pub async fn lottery_application(
        &self,
        tenant: &str,
        service: &str,
        month: &str,
        registration: &str,
    ) -> Result<Option<LotteryApplication>> {
        let row = sqlx::query(
            "SELECT number, service_id, month, registration, wishes, created_at \
             FROM lottery_applications WHERE tenant_id = $1 AND service_id = $2 AND month = $3 \
             AND registration = $4 AND state = 'applied'",
        )
        .bind(tenant)
        .bind(service)
        .bind(month)
        .bind(registration)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(application_from_row).transpose()
    }
}

/// Wishes must be 1 to `most` different slots of the service in `month`.
fn check_wishes(
    service: &Service,
    calendar: &machi_core::calendar::Calendar,
    most: u32,
    month: NaiveDate,
    wishes: &[Wish],
) -> Result<()> {
    let count = u32::try_from(wishes.len()).unwrap_or(u32::MAX);
    if !(1..=most).contains(&count) {
        return Err(StoreError::conflict(
            format!("希望は1〜{most}件です"),
            format!("give 1 to {most} wishes"),
        ));
    }
    let distinct: HashSet<&Wish> = wishes.iter().collect();
    if distinct.len() != wishes.len() {
        return Err(StoreError::conflict(
            "同じ枠を2回希望しています",
            "the same slot is wished for twice",
        ));
    }
    let query = SlotQuery {
        service,
        calendar,
        now: month.and_time(chrono::NaiveTime::MIN),
    };
    for wish in wishes {
        if first_of_month(wish.start.date()) != month {
            return Err(StoreError::conflict(
                format!(
                    "{} は抽選の月（{}）の枠ではありません",
                    wish.start.date(),
                    month_name(month)
                ),
                format!(
                    "{} is not in the lottery's month {}",
                    wish.start.date(),
                    month_name(month)
                ),
            ));
        }
        query
            .slot_of(&wish.resource, wish.start)
            .map_err(StoreError::Conflict)?;
    }
    Ok(())
}

async fn insert_application(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    service: &Service,
    month: NaiveDate,
    registration: &Registration,
    wishes: &str,
) -> Result<()> {
    for _ in 0..5 {
        let n = rand::random::<u32>() % 100_000_000;
        let number = format!("L-{:04}-{:04}", n / 10_000, n % 10_000);
        let inserted = sqlx::query(
            "INSERT INTO lottery_applications (tenant_id, number, service_id, month, registration, \
             wishes, state, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'applied', $7) \
             ON CONFLICT DO NOTHING",
        )
        .bind(tenant)
        .bind(&number)
        .bind(&service.id)
        .bind(month_name(month))
        .bind(&registration.number)
        .bind(wishes)
        .bind(now_text())
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(());
        }
    }
    // The same registration applying twice at once lands here too: one of the two is kept.
    Err(StoreError::conflict(
        "申込を受け付けられませんでした。もう一度お試しください",
        "the application was not taken; please try again",
    ))
}

fn application_from_row(row: &sqlx::any::AnyRow) -> Result<LotteryApplication> {
    Ok(LotteryApplication {
        number: row.try_get("number")?,
        service_id: row.try_get("service_id")?,
        month: row.try_get("month")?,
        registration: row.try_get("registration")?,
        wishes: wishes_from_text(&row.try_get::<String, _>("wishes")?)?,
        created_at: row.try_get("created_at")?,
    })
}

async fn application_in(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    service: &Service,
    month: NaiveDate,
    registration: &Registration,
) -> Result<LotteryApplication> {
    let row = sqlx::query(
        "SELECT number, service_id, month, registration, wishes, created_at \
         FROM lottery_applications WHERE tenant_id = $1 AND service_id = $2 AND month = $3 \
         AND registration = $4 AND state = 'applied'",
    )
    .bind(tenant)
    .bind(&service.id)
    .bind(month_name(month))
    .bind(&registration.number)
    .fetch_one(&mut **tx)
    .await?;
    application_from_row(&row)
}

/// First-come booking of a lottery month waits for its draw: refused while the month's round
/// is not drawn (the slots' times already keep it closed until applications close; this holds
/// when the draw runs late).
pub(super) async fn refuse_before_the_draw(
    pool: &AnyPool,
    tenant: &str,
    service: &Service,
    slots: &[Slot],
) -> Result<()> {
    let months: std::collections::BTreeSet<String> = slots
        .iter()
        .map(|s| month_name(first_of_month(s.date)))
        .collect();
    for month in months {
        let waiting: Option<String> = sqlx::query_scalar(
            "SELECT month FROM lottery_rounds WHERE tenant_id = $1 AND service_id = $2 \
             AND month = $3 AND drawn_at IS NULL",
        )
        .bind(tenant)
        .bind(&service.id)
        .bind(&month)
        .fetch_optional(pool)
        .await?;
        if waiting.is_some() {
            return Err(StoreError::conflict(
                format!("{month} の枠は抽選の結果が出るまで予約できません"),
                format!("the slots of {month} can be booked once the lottery is drawn"),
            ));
        }
    }
    Ok(())
}

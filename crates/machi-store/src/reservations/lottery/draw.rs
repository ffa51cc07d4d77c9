//! The draw and what follows it: the draw itself (once, on whichever node gets there first),
//! wins confirmed (本予約) or released when their deadline passes, and a win given back going
//! to the next in line.

use std::collections::{BTreeMap, HashSet};

use chrono::{Duration, NaiveDateTime};
use machi_core::reservations::lottery::{
    self, first_of_month, month_name, Application, Published, Wish,
};
use machi_core::reservations::{Booker, Service, Slot};
use sqlx::{Any, Row, Transaction};

use super::{mails, not_a_lottery, wishes_from_text, CityLinks};
use crate::reservations::{
    booking_from_row, give_up, locked_booking, new_booking_number, new_cancel_code, set_state,
    slot_time, take_first_free, Booking, Fee, NewRow, BOOKING_COLUMNS,
};
use crate::{now_text, Result, Store, StoreError};

impl Store {
    /// Draws every round of the city whose applications closed by `now` and that is not drawn
    /// yet; returns how many were drawn.
    pub async fn draw_due_lotteries(
        &self,
        tenant: &str,
        now: NaiveDateTime,
        links: &CityLinks<'_>,
    ) -> Result<usize> {
        let due: Vec<(String, String)> = sqlx::query_as(
            "SELECT service_id, month FROM lottery_rounds WHERE tenant_id = $1 \
             AND drawn_at IS NULL AND closes_at <= $2 ORDER BY month, service_id",
        )
        .bind(tenant)
        .bind(slot_time(now))
        .fetch_all(&self.pool)
        .await?;
        let mut drawn = 0;
        for (service_id, month) in due {
            // A service removed, or whose lottery the city turned off, leaves its round undrawn
            // rather than stopping the other services' draws.
            let Some(service) = self
                .service(tenant, &service_id)
                .await?
                .filter(|s| s.lottery.is_some())
            else {
                continue;
            };
            if self
                .draw_round(tenant, &service, &month, now, links)
                .await?
            {
                drawn += 1;
            }
        }
        Ok(drawn)
    }

    /// Draws one round (see the module); false when another node drew it first.
    async fn draw_round(
        &self,
        tenant: &str,
        service: &Service,
        month: &str,
        now: NaiveDateTime,
        links: &CityLinks<'_>,
    ) -> Result<bool> {
        let rules = service
            .lottery
            .as_ref()
            .ok_or_else(|| not_a_lottery(service))?;
        let mut tx = self.pool.begin().await?;
        let marked = sqlx::query(
            "UPDATE lottery_rounds SET drawn_at = $1 WHERE tenant_id = $2 AND service_id = $3 \
             AND month = $4 AND drawn_at IS NULL",
        )
        .bind(now_text())
        .bind(tenant)
        .bind(&service.id)
        .bind(month)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if marked == 0 {
            return Ok(false);
        }
        let (seed, seed_sha256): (String, String) = sqlx::query_as(
            "SELECT seed, seed_sha256 FROM lottery_rounds WHERE tenant_id = $1 \
             AND service_id = $2 AND month = $3",
        )
        .bind(tenant)
        .bind(&service.id)
        .bind(month)
        .fetch_one(&mut *tx)
        .await?;
        let entrants = entrants(&mut tx, tenant, &service.id, month).await?;
        let applications: Vec<Application> = entrants.iter().map(|(a, _)| a.clone()).collect();
        let capacity = capacity_of(service);
        let drawn = lottery::draw(&seed, rules.one_win, &capacity, &applications);
        let mut won: HashSet<&str> = HashSet::new();
        for win in &drawn.wins {
            let Some((_, entrant)) = entrants.iter().find(|(a, _)| a.number == win.application)
            else {
                continue;
            };
            let slot = slot_of_win(service, &win.resource, win.start);
            if offer(
                &mut tx,
                tenant,
                service,
                &slot,
                &win.application,
                entrant,
                now,
                links,
            )
            .await?
            {
                won.insert(&win.application);
            }
        }
        for (application, entrant) in &entrants {
            if !won.contains(application.number.as_str()) {
                let mail =
                    mails::not_won(links, service, month, &application.number, &entrant.contact);
                crate::deliveries::enqueue_direct(&mut tx, tenant, &mail).await?;
            }
        }
        let published = Published {
            service: service.id.clone(),
            month: month.to_string(),
            method: lottery::METHOD.to_string(),
            seed_sha256,
            seed,
            one_win: rules.one_win,
            capacity,
            applications,
            wins: drawn.wins,
        };
        sqlx::query(
            "UPDATE lottery_rounds SET published = $1 WHERE tenant_id = $2 AND service_id = $3 \
             AND month = $4",
        )
        .bind(serde_json::to_string(&published).map_err(|e| StoreError::NotStored(e.to_string()))?)
        .bind(tenant)
        .bind(&service.id)
        .bind(month)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Confirms a win (仮予約 → 本予約): by the resident online, or by staff at the counter
    /// (`actor`, audited) where the rules say so.
    pub async fn confirm_booking(
        &self,
        tenant: &str,
        number: &str,
        actor: Option<&str>,
    ) -> Result<Booking> {
        let mut audited = self.begin_audited(tenant).await?;
        let booking = locked_booking(&mut audited.tx, tenant, number).await?;
        if !booking.is_provisional() {
            return Err(StoreError::conflict(
                "この予約は確定を待っていません",
                "this booking is not waiting to be confirmed",
            ));
        }
        set_state(&mut audited.tx, tenant, number, "booked").await?;
        if let Some(actor) = actor {
            audited
                .append(&crate::reservations::staff::entry(
                    actor,
                    "booking.confirm",
                    &booking,
                ))
                .await?;
        }
        audited.commit().await?;
        self.booking_as_it_is(tenant, number).await
    }

    /// Releases every win not confirmed by its deadline (each goes to the next in line, or
    /// opens); returns how many.
    pub async fn release_unconfirmed(
        &self,
        tenant: &str,
        now: NaiveDateTime,
        links: &CityLinks<'_>,
    ) -> Result<usize> {
        let numbers: Vec<String> = sqlx::query_scalar(
            "SELECT number FROM bookings WHERE tenant_id = $1 AND state = 'provisional' \
             AND confirm_by < $2 ORDER BY confirm_by LIMIT 1000",
        )
        .bind(tenant)
        .bind(slot_time(now))
        .fetch_all(&self.pool)
        .await?;
        let mut released = 0;
        for number in numbers {
            let mut tx = self.pool.begin().await?;
            let booking = locked_booking(&mut tx, tenant, &number).await?;
            if booking.is_provisional() && booking.confirm_by.is_some_and(|by| by < now) {
                give_up(&mut tx, tenant, &booking, "released", links, now).await?;
                let mail = mails::released(links, &booking);
                crate::deliveries::enqueue_direct(&mut tx, tenant, &mail).await?;
                released += 1;
            }
            tx.commit().await?;
        }
        Ok(released)
    }
}

/// Who applied: the applicant as a booking names them, and the 減免 kinds of their
/// registration.
struct Entrant {
    contact: Booker,
    reductions: Vec<String>,
}

/// The applications of a round, each with its applicant.
async fn entrants(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    service: &str,
    month: &str,
) -> Result<Vec<(Application, Entrant)>> {
    let rows = sqlx::query(
        "SELECT a.number, a.wishes, a.registration, r.name, r.representative, r.email, r.phone, \
         r.reductions \
         FROM lottery_applications a JOIN facility_registrations r \
         ON r.tenant_id = a.tenant_id AND r.number = a.registration \
         WHERE a.tenant_id = $1 AND a.service_id = $2 AND a.month = $3 AND a.state = 'applied' \
         ORDER BY a.number",
    )
    .bind(tenant)
    .bind(service)
    .bind(month)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|row| {
            let number: String = row.try_get("number")?;
            let name: String = row.try_get("name")?;
            let representative: String = row.try_get("representative")?;
            let registration: String = row.try_get("registration")?;
            let contact = Booker {
                name: if name == representative {
                    name
                } else {
                    format!("{name}（{representative}）")
                },
                email: row.try_get("email")?,
                phone: row.try_get("phone")?,
                note: format!("抽選 {number}・登録番号 {registration}"),
            };
            let wishes = wishes_from_text(&row.try_get::<String, _>("wishes")?)?;
            let reductions = serde_json::from_str(&row.try_get::<String, _>("reductions")?)
                .map_err(|e| StoreError::Corrupt(format!("registration reductions: {e}")))?;
            Ok((
                Application { number, wishes },
                Entrant {
                    contact,
                    reductions,
                },
            ))
        })
        .collect()
}

fn capacity_of(service: &Service) -> BTreeMap<String, u32> {
    service
        .resources
        .iter()
        .map(|r| (r.id.clone(), r.capacity))
        .collect()
}

/// The slot a win names (its end from the service's slot length).
fn slot_of_win(service: &Service, resource: &str, start: NaiveDateTime) -> Slot {
    let end = start + Duration::minutes(i64::from(service.slot_minutes));
    Slot {
        resource: resource.to_string(),
        date: start.date(),
        start: start.time(),
        end: end.time(),
    }
}

/// Gives `slot` to `application` as a booking to confirm, when it has a place; the applicant
/// is e-mailed the booking and its link. False when the slot is full.
#[allow(clippy::too_many_arguments)]
async fn offer(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    service: &Service,
    slot: &Slot,
    application: &str,
    entrant: &Entrant,
    now: NaiveDateTime,
    links: &CityLinks<'_>,
) -> Result<bool> {
    let Some(rules) = service.lottery.as_ref() else {
        return Ok(false);
    };
    if take_first_free(tx, tenant, service, std::slice::from_ref(slot))
        .await?
        .is_none()
    {
        return Ok(false);
    }
    let deadline = (now.date() + Duration::days(i64::from(rules.confirm_days)))
        .and_hms_opt(23, 59, 0)
        .unwrap_or(now);
    let cancel_code = new_cancel_code();
    let created = now_text();
    let fee = service.fee_for(&entrant.reductions);
    let fee_note = fee.as_ref().and_then(|f| f.reduction).map(|r| r.note());
    let row = NewRow {
        service_id: &service.id,
        slot,
        booker: &entrant.contact,
        channel: "lottery",
        state: "provisional",
        cancel_code: &cancel_code,
        idempotency_key: None,
        lottery_application: Some(application),
        confirm_by: Some(deadline.min(slot.starts())),
        application: None,
        fee: Fee {
            yen: fee.map(|f| f.yen),
            note: fee_note.as_deref(),
        },
        now: &created,
    };
    for _ in 0..5 {
        let number = new_booking_number();
        if row.insert(tx, tenant, &number).await? {
            let booking = row.booking(number);
            let mail = mails::won(links, service, &booking, &cancel_code);
            crate::deliveries::enqueue_direct(tx, tenant, &mail).await?;
            return Ok(true);
        }
    }
    Err(StoreError::NotStored("no free booking number".into()))
}

/// After a win was given back (`freed`, its place already released), offers its slot to the
/// next in line of the round's draw: one still applying, who has not had this slot, and —
/// under one win per applicant — holds no other win now and gave none back (a group that
/// declined or let lapse its win has had its turn). Nothing when the slot has passed or
/// nobody waits: the slot is open to everyone.
pub(in crate::reservations) async fn offer_to_next_in_line(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    freed: &Booking,
    links: &CityLinks<'_>,
    now: NaiveDateTime,
) -> Result<()> {
    if freed.starts <= now {
        return Ok(());
    }
    let Some(service) =
        crate::reservations::services::service_in(tx, tenant, &freed.service_id).await?
    else {
        return Ok(());
    };
    let month = month_name(first_of_month(freed.starts.date()));
    let published: Option<Option<String>> = sqlx::query_scalar(
        "SELECT published FROM lottery_rounds WHERE tenant_id = $1 AND service_id = $2 \
         AND month = $3",
    )
    .bind(tenant)
    .bind(&service.id)
    .bind(&month)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(published) = published.flatten() else {
        return Ok(());
    };
    let published: Published = serde_json::from_str(&published)
        .map_err(|e| StoreError::Corrupt(format!("published lottery: {e}")))?;
    let drawn = lottery::draw(
        &published.seed,
        published.one_win,
        &published.capacity,
        &published.applications,
    );
    let slot = Wish {
        resource: freed.resource_id.clone(),
        start: freed.starts,
    };
    let entrants = entrants(tx, tenant, &service.id, &month).await?;
    let active: HashSet<String> = entrants.iter().map(|(a, _)| a.number.clone()).collect();
    let (holding, had) =
        wins_of_round(tx, tenant, &service.id, &month, &slot, published.one_win).await?;
    let Some(next) =
        lottery::next_in_line(&drawn, &slot, published.one_win, &active, &holding, &had)
    else {
        return Ok(());
    };
    let Some((_, entrant)) = entrants.iter().find(|(a, _)| a.number == next) else {
        return Ok(());
    };
    let slot = slot_of_win(&service, &freed.resource_id, freed.starts);
    offer(tx, tenant, &service, &slot, next, entrant, now, links).await?;
    Ok(())
}

/// Of a round's applications: those holding a win now, and those not to be offered `slot`
/// (they had it, or, under one win per applicant, gave a win back).
async fn wins_of_round(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    service: &str,
    month: &str,
    slot: &Wish,
    one_win: bool,
) -> Result<(HashSet<String>, HashSet<String>)> {
    let first = lottery::parse_month(month).unwrap_or_default();
    let rows = sqlx::query(&format!(
        "SELECT {BOOKING_COLUMNS} FROM bookings WHERE tenant_id = $1 AND service_id = $2 \
         AND lottery_application IS NOT NULL AND starts_at >= $3 AND starts_at < $4"
    ))
    .bind(tenant)
    .bind(service)
    .bind(slot_time(first.and_time(chrono::NaiveTime::MIN)))
    .bind(slot_time(
        first_of_month(first + Duration::days(32)).and_time(chrono::NaiveTime::MIN),
    ))
    .fetch_all(&mut **tx)
    .await?;
    let mut holding = HashSet::new();
    let mut had = HashSet::new();
    for row in &rows {
        let booking = booking_from_row(row)?;
        let Some(application) = booking.lottery_application.clone() else {
            continue;
        };
        let same_slot = booking.resource_id == slot.resource && booking.starts == slot.start;
        if same_slot || (one_win && !booking.holds_slot()) {
            had.insert(application.clone());
        }
        if booking.holds_slot() {
            holding.insert(application);
        }
    }
    Ok((holding, had))
}

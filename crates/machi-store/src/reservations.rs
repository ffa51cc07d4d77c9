//! 予約 as stored: the city's services (their definitions as JSON), how full each slot of each
//! resource is, and the bookings.
//!
//! **No slot is booked twice**: a booking adds one to its slot's row in `slot_fill` with a
//! conditional `UPDATE … SET booked = booked + 1 WHERE booked < capacity`, in the transaction
//! that inserts the booking. PostgreSQL locks the row and re-checks the condition for each
//! waiting writer; SQLite has one writer at a time. Either way the count never passes the
//! capacity, whatever the rush. A cancellation takes the one back in its transaction.
//!
//! Times of slots are local (JST) text, `YYYY-MM-DDTHH:MM`, as residents and staff read them.

use chrono::NaiveDateTime;
use machi_core::digest::sha256_hex;
use machi_core::reservations::{Booker, Service, Slot};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::{now_text, Result, Store, StoreError};

mod reminders;
mod services;
mod staff;

/// How a slot's start is stored.
const SLOT_TIME: &str = "%Y-%m-%dT%H:%M";

pub fn slot_time(at: NaiveDateTime) -> String {
    at.format(SLOT_TIME).to_string()
}

fn parse_slot_time(text: &str) -> Result<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text, SLOT_TIME)
        .map_err(|e| StoreError::Corrupt(format!("slot time '{text}': {e}")))
}

/// Where a booking was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Online,
    /// By counter staff for a visitor.
    Counter,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Online => "online",
            Channel::Counter => "counter",
        }
    }
}

/// A stored booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub number: String,
    pub service_id: String,
    pub resource_id: String,
    pub starts: NaiveDateTime,
    pub ends: NaiveDateTime,
    pub booker: Booker,
    pub channel: String,
    /// `booked` or `cancelled`.
    pub state: String,
    pub created_at: String,
}

impl Booking {
    pub fn is_booked(&self) -> bool {
        self.state == "booked"
    }
}

/// A booking just made, with the code that cancels or changes it (shown once, stored hashed).
#[derive(Debug, Clone)]
pub struct Booked {
    pub booking: Booking,
    pub cancel_code: String,
    /// False when an earlier request with the same idempotency key made it.
    pub created: bool,
}

/// A booking to make: the slots it may take, in order of preference (for a counter, the same
/// time at each counter; for a facility, the one room asked for).
#[derive(Clone)]
pub struct NewBooking<'a> {
    pub service: &'a Service,
    pub slots: &'a [Slot],
    pub booker: &'a Booker,
    pub channel: Channel,
    pub idempotency_key: Option<&'a str>,
    /// The e-mail confirming the booking (given the booking and its cancel code), queued in
    /// the booking's transaction: a booking made is a confirmation sent.
    pub confirmation: Option<&'a Confirmation<'a>>,
}

/// Writes the e-mail that tells the booker a booking was changed or cancelled.
pub type Notice<'a> = dyn Fn(&Booking) -> crate::mail::OutgoingMail + Sync + 'a;

/// Writes a booking's confirmation e-mail, given the booking and its cancel code.
pub type Confirmation<'a> = dyn Fn(&Booking, &str) -> crate::mail::OutgoingMail + Sync + 'a;

const BOOKING_COLUMNS: &str = "number, service_id, resource_id, starts_at, ends_at, name, email, \
    phone, note, channel, state, created_at";

fn booking_from_row(row: &AnyRow) -> Result<Booking> {
    Ok(Booking {
        number: row.try_get("number")?,
        service_id: row.try_get("service_id")?,
        resource_id: row.try_get("resource_id")?,
        starts: parse_slot_time(&row.try_get::<String, _>("starts_at")?)?,
        ends: parse_slot_time(&row.try_get::<String, _>("ends_at")?)?,
        booker: Booker {
            name: row.try_get("name")?,
            email: row.try_get("email")?,
            phone: row.try_get("phone")?,
            note: row.try_get("note")?,
        },
        channel: row.try_get("channel")?,
        state: row.try_get("state")?,
        created_at: row.try_get("created_at")?,
    })
}

/// A booking number residents can read out at a counter: eight digits, `1234-5678`.
fn new_booking_number() -> String {
    let n = rand::random::<u32>() % 100_000_000;
    format!("{:04}-{:04}", n / 10_000, n % 10_000)
}

fn full() -> StoreError {
    StoreError::conflict(
        "その枠はいっぱいです。ほかの時間を選んでください",
        "that slot is full; choose another time",
    )
}

impl Store {
    /// How many are booked in each slot of a service from `from` up to `to` (local times):
    /// `(resource, start) → booked`. Slots nobody booked are not listed.
    pub async fn slot_fill(
        &self,
        tenant: &str,
        service: &str,
        from: NaiveDateTime,
        to: NaiveDateTime,
    ) -> Result<Vec<(String, NaiveDateTime, i64)>> {
        let rows = sqlx::query(
            "SELECT resource_id, starts_at, booked FROM slot_fill WHERE tenant_id = $1 \
             AND service_id = $2 AND starts_at >= $3 AND starts_at <= $4 AND booked > 0",
        )
        .bind(tenant)
        .bind(service)
        .bind(slot_time(from))
        .bind(slot_time(to))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("resource_id")?,
                    parse_slot_time(&row.try_get::<String, _>("starts_at")?)?,
                    row.try_get("booked")?,
                ))
            })
            .collect()
    }

    /// Books the first of `new.slots` with room. A slot is never filled past its resource's
    /// capacity (see the module). The same idempotency key gives back the booking it made.
    pub async fn book(&self, tenant: &str, new: &NewBooking<'_>) -> Result<Booked> {
        if let Some(key) = new.idempotency_key {
            if let Some(booking) = self.booking_by_key(tenant, key).await? {
                return replayed(booking, new);
            }
        }
        let open = self.not_full(tenant, new.service, new.slots).await?;
        if open.is_empty() {
            return Err(full());
        }
        let mut tx = self.pool.begin().await?;
        let Some(slot) = take_first_free(&mut tx, tenant, new.service, &open).await? else {
            return Err(full());
        };
        let cancel_code = crate::sessions::random_token()[..16].to_string();
        let now = now_text();
        let mut number = new_booking_number();
        for attempt in 0.. {
            let inserted = sqlx::query(&format!(
                "INSERT INTO bookings (tenant_id, {BOOKING_COLUMNS}, cancel_code_sha256, \
                 idempotency_key, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                 $11, 'booked', $12, $13, $14, $12) ON CONFLICT DO NOTHING"
            ))
            .bind(tenant)
            .bind(&number)
            .bind(&new.service.id)
            .bind(&slot.resource)
            .bind(slot_time(slot.starts()))
            .bind(slot_time(slot.date.and_time(slot.end)))
            .bind(&new.booker.name)
            .bind(&new.booker.email)
            .bind(&new.booker.phone)
            .bind(&new.booker.note)
            .bind(new.channel.as_str())
            .bind(&now)
            .bind(sha256_hex(cancel_code.as_bytes()))
            .bind(new.idempotency_key)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 1 {
                break;
            }
            if let Some(key) = new.idempotency_key {
                // The same key, sent twice at once: the other request made it.
                drop(tx);
                if let Some(booking) = self.booking_by_key(tenant, key).await? {
                    return replayed(booking, new);
                }
                return Err(StoreError::NotStored("booking number clash".into()));
            }
            if attempt >= 5 {
                return Err(StoreError::NotStored("no free booking number".into()));
            }
            number = new_booking_number();
        }
        let booking = Booking {
            number,
            service_id: new.service.id.clone(),
            resource_id: slot.resource.clone(),
            starts: slot.starts(),
            ends: slot.date.and_time(slot.end),
            booker: new.booker.clone(),
            channel: new.channel.as_str().to_string(),
            state: "booked".into(),
            created_at: now,
        };
        if let Some(confirmation) = new.confirmation {
            crate::deliveries::enqueue_direct(
                &mut tx,
                tenant,
                &confirmation(&booking, &cancel_code),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(Booked {
            booking,
            cancel_code,
            created: true,
        })
    }

    /// The times a service's resources are booked from `since` on: `(resource, start, end)`,
    /// several bookings of one slot once (for a public feed: no one's name in it).
    pub async fn booked_times(
        &self,
        tenant: &str,
        service: &str,
        since: NaiveDateTime,
    ) -> Result<Vec<(String, NaiveDateTime, NaiveDateTime)>> {
        let rows = sqlx::query(
            "SELECT DISTINCT resource_id, starts_at, ends_at FROM bookings WHERE tenant_id = $1 \
             AND service_id = $2 AND state = 'booked' AND starts_at >= $3 \
             ORDER BY starts_at, resource_id LIMIT 5000",
        )
        .bind(tenant)
        .bind(service)
        .bind(slot_time(since))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get("resource_id")?,
                    parse_slot_time(&row.try_get::<String, _>("starts_at")?)?,
                    parse_slot_time(&row.try_get::<String, _>("ends_at")?)?,
                ))
            })
            .collect()
    }

    /// The slots not yet full, read without a transaction: under a rush most attempts are for
    /// slots just taken, and a read takes no lock (SQLite would also refuse to turn a reading
    /// transaction into a writing one after another writer). The conditional update decides.
    async fn not_full(&self, tenant: &str, service: &Service, slots: &[Slot]) -> Result<Vec<Slot>> {
        let mut open = Vec::with_capacity(slots.len());
        for slot in slots {
            let Some(resource) = service.resource(&slot.resource) else {
                continue;
            };
            let booked: Option<i64> = sqlx::query_scalar(
                "SELECT booked FROM slot_fill WHERE tenant_id = $1 AND service_id = $2 \
                 AND resource_id = $3 AND starts_at = $4",
            )
            .bind(tenant)
            .bind(&service.id)
            .bind(&slot.resource)
            .bind(slot_time(slot.starts()))
            .fetch_optional(&self.pool)
            .await?;
            if booked.unwrap_or(0) < i64::from(resource.capacity) {
                open.push(slot.clone());
            }
        }
        Ok(open)
    }

    pub async fn booking(&self, tenant: &str, number: &str) -> Result<Option<Booking>> {
        let row = sqlx::query(&format!(
            "SELECT {BOOKING_COLUMNS} FROM bookings WHERE tenant_id = $1 AND number = $2"
        ))
        .bind(tenant)
        .bind(number)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(booking_from_row).transpose()
    }

    /// The booking just changed, read back.
    pub(crate) async fn booking_as_it_is(&self, tenant: &str, number: &str) -> Result<Booking> {
        self.booking(tenant, number)
            .await?
            .ok_or_else(|| StoreError::NotStored("booking vanished".into()))
    }

    async fn booking_by_key(&self, tenant: &str, key: &str) -> Result<Option<Booking>> {
        let row = sqlx::query(&format!(
            "SELECT {BOOKING_COLUMNS} FROM bookings WHERE tenant_id = $1 AND idempotency_key = $2"
        ))
        .bind(tenant)
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(booking_from_row).transpose()
    }

    /// The booking `number` when `code` is its cancel code.
    pub async fn booking_with_code(
        &self,
        tenant: &str,
        number: &str,
        code: &str,
    ) -> Result<Option<Booking>> {
        let row = sqlx::query(&format!(
            "SELECT {BOOKING_COLUMNS} FROM bookings WHERE tenant_id = $1 AND number = $2 \
             AND cancel_code_sha256 = $3"
        ))
        .bind(tenant)
        .bind(number)
        .bind(sha256_hex(code.as_bytes()))
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(booking_from_row).transpose()
    }

    /// Cancels a booking (its slot has room again at once). Cancelling twice is no error.
    pub async fn cancel_booking(
        &self,
        tenant: &str,
        number: &str,
        notice: Option<&Notice<'_>>,
    ) -> Result<Booking> {
        let mut tx = self.pool.begin().await?;
        let booking = locked_booking(&mut tx, tenant, number).await?;
        if booking.is_booked() {
            release(&mut tx, tenant, &booking).await?;
            set_state(&mut tx, tenant, number, "cancelled").await?;
            let cancelled = Booking {
                state: "cancelled".into(),
                ..booking
            };
            tell(&mut tx, tenant, &cancelled, notice).await?;
        }
        tx.commit().await?;
        self.booking_as_it_is(tenant, number).await
    }

    /// Moves a booking to the first of `slots` with room, keeping its number and code; the
    /// old slot has room again. When none has room, the booking stays as it was.
    pub async fn change_booking(
        &self,
        tenant: &str,
        number: &str,
        service: &Service,
        slots: &[Slot],
        notice: Option<&Notice<'_>>,
    ) -> Result<Booking> {
        let mut tx = self.pool.begin().await?;
        let booking = locked_booking(&mut tx, tenant, number).await?;
        if !booking.is_booked() {
            return Err(StoreError::conflict(
                "取り消された予約は変更できません",
                "a cancelled booking cannot be changed",
            ));
        }
        let Some(slot) = take_first_free(&mut tx, tenant, service, slots).await? else {
            return Err(full());
        };
        release(&mut tx, tenant, &booking).await?;
        sqlx::query(
            "UPDATE bookings SET resource_id = $1, starts_at = $2, ends_at = $3, updated_at = $4, \
             reminded_at = NULL WHERE tenant_id = $5 AND number = $6",
        )
        .bind(&slot.resource)
        .bind(slot_time(slot.starts()))
        .bind(slot_time(slot.date.and_time(slot.end)))
        .bind(now_text())
        .bind(tenant)
        .bind(number)
        .execute(&mut *tx)
        .await?;
        let moved = Booking {
            resource_id: slot.resource.clone(),
            starts: slot.starts(),
            ends: slot.date.and_time(slot.end),
            ..booking
        };
        tell(&mut tx, tenant, &moved, notice).await?;
        tx.commit().await?;
        self.booking_as_it_is(tenant, number).await
    }
}

/// Queues the e-mail about a change, in the change's transaction, when the booker gave an
/// address.
async fn tell(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    booking: &Booking,
    notice: Option<&Notice<'_>>,
) -> Result<()> {
    if let Some(notice) = notice.filter(|_| !booking.booker.email.is_empty()) {
        crate::deliveries::enqueue_direct(tx, tenant, &notice(booking)).await?;
    }
    Ok(())
}

/// The booking an earlier request with the same key made, if this request asks the same.
fn replayed(booking: Booking, new: &NewBooking<'_>) -> Result<Booked> {
    let same = booking.service_id == new.service.id
        && new
            .slots
            .iter()
            .any(|s| s.resource == booking.resource_id && s.starts() == booking.starts);
    if !same {
        return Err(StoreError::conflict(
            "この Idempotency-Key は別の予約に使われています",
            "this Idempotency-Key was used for another booking",
        ));
    }
    Ok(Booked {
        booking,
        cancel_code: String::new(),
        created: false,
    })
}

/// Takes one place in the first of `slots` with room, in `tx`; `None` when all are full.
async fn take_first_free(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    service: &Service,
    slots: &[Slot],
) -> Result<Option<Slot>> {
    for slot in slots {
        let Some(resource) = service.resource(&slot.resource) else {
            continue;
        };
        let starts = slot_time(slot.starts());
        sqlx::query(
            "INSERT INTO slot_fill (tenant_id, service_id, resource_id, starts_at, booked) \
             VALUES ($1, $2, $3, $4, 0) ON CONFLICT DO NOTHING",
        )
        .bind(tenant)
        .bind(&service.id)
        .bind(&slot.resource)
        .bind(&starts)
        .execute(&mut **tx)
        .await?;
        let taken = sqlx::query(
            "UPDATE slot_fill SET booked = booked + 1 WHERE tenant_id = $1 AND service_id = $2 \
             AND resource_id = $3 AND starts_at = $4 AND booked < $5",
        )
        .bind(tenant)
        .bind(&service.id)
        .bind(&slot.resource)
        .bind(&starts)
        .bind(i64::from(resource.capacity))
        .execute(&mut **tx)
        .await?
        .rows_affected();
        if taken == 1 {
            return Ok(Some(slot.clone()));
        }
    }
    Ok(None)
}

/// Gives a booking's place back to its slot.
async fn release(tx: &mut Transaction<'_, Any>, tenant: &str, booking: &Booking) -> Result<()> {
    sqlx::query(
        "UPDATE slot_fill SET booked = booked - 1 WHERE tenant_id = $1 AND service_id = $2 \
         AND resource_id = $3 AND starts_at = $4 AND booked > 0",
    )
    .bind(tenant)
    .bind(&booking.service_id)
    .bind(&booking.resource_id)
    .bind(slot_time(booking.starts))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The booking, its row locked for the rest of `tx` (a no-op update: both databases lock).
async fn locked_booking(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    number: &str,
) -> Result<Booking> {
    sqlx::query("UPDATE bookings SET state = state WHERE tenant_id = $1 AND number = $2")
        .bind(tenant)
        .bind(number)
        .execute(&mut **tx)
        .await?;
    let row = sqlx::query(&format!(
        "SELECT {BOOKING_COLUMNS} FROM bookings WHERE tenant_id = $1 AND number = $2"
    ))
    .bind(tenant)
    .bind(number)
    .fetch_optional(&mut **tx)
    .await?;
    row.as_ref()
        .map(booking_from_row)
        .transpose()?
        .ok_or_else(|| StoreError::not_found("その予約はありません", "no such booking"))
}

async fn set_state(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    number: &str,
    state: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE bookings SET state = $1, updated_at = $2 WHERE tenant_id = $3 AND number = $4",
    )
    .bind(state)
    .bind(now_text())
    .bind(tenant)
    .bind(number)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

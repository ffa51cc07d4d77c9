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
use machi_core::procedures::Localized;
use machi_core::reservations::{Booker, Service, Slot};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::{now_text, Result, Store, StoreError};

mod changes;
mod closures;
pub mod lottery;
mod registrations;
mod reminders;
mod services;
mod staff;
mod usage;
mod visits;

pub(crate) use changes::fee_paid;
use changes::{give_up, locked_booking, release, set_state, tell};
pub use closures::{Closing, Closure};
pub use registrations::Registration;
pub use reminders::{ReminderChannel, MAX_REMINDER_CHANNELS};

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
    /// `booked`; `provisional` (won in a lottery, to be confirmed by `confirm_by`);
    /// `cancelled`; `released` (a win not confirmed in time).
    pub state: String,
    pub created_at: String,
    /// The lottery application that won it.
    pub lottery_application: Option<String>,
    pub confirm_by: Option<NaiveDateTime>,
    /// The application (receipt number) this booking is the visit of.
    pub application: Option<String>,
    /// What it costs (使用料 after any 減免), and the 減免 applied.
    pub fee_yen: Option<i64>,
    pub fee_note: Option<String>,
    /// When the fee was paid online (stored text form), once the provider confirmed it.
    pub fee_paid_at: Option<String>,
}

impl Booking {
    /// Booked for good (本予約).
    pub fn is_booked(&self) -> bool {
        self.state == "booked"
    }

    /// Whether the booking holds its slot: booked, or won and awaiting confirmation.
    pub fn holds_slot(&self) -> bool {
        self.is_booked() || self.is_provisional()
    }

    /// Won in a lottery, not yet confirmed (仮予約).
    pub fn is_provisional(&self) -> bool {
        self.state == "provisional"
    }

    /// What the booking costs: its fee after 減免 (0 when waived in full), or the service's.
    pub fn fee(&self, service: &Service) -> Option<i64> {
        self.fee_yen.or(service.fee_yen)
    }

    /// Why the booking's fee cannot be paid online now, or `None` when it can.
    pub fn why_not_payable_online(&self, service: &Service) -> Option<Localized> {
        let (ja, en) = if self.fee(service).is_none_or(|yen| yen <= 0) {
            ("この予約に使用料はありません", "this booking has no fee")
        } else if !self.holds_slot() {
            (
                "取り消された予約の使用料はお支払いいただけません",
                "a cancelled booking's fee cannot be paid",
            )
        } else if self.is_provisional()
            && service
                .lottery
                .as_ref()
                .is_some_and(|l| l.confirm_at_counter)
        {
            (
                "この施設の使用料は、窓口での本予約の手続のときにお支払いください",
                "this facility's fee is paid at the counter, when the booking is confirmed",
            )
        } else {
            return None;
        };
        Some(Localized::new(ja, en))
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
    /// The application (receipt number) whose visit this is.
    pub application: Option<&'a str>,
    /// What it costs.
    pub fee: Fee<'a>,
    /// The e-mail confirming the booking (given the booking and its cancel code), queued in
    /// the booking's transaction: a booking made is a confirmation sent.
    pub confirmation: Option<&'a Confirmation<'a>>,
}

/// Writes the e-mail that tells the booker a booking was changed or cancelled.
pub type Notice<'a> = dyn Fn(&Booking) -> crate::mail::OutgoingMail + Sync + 'a;

/// Writes a booking's confirmation e-mail, with the booking's iCalendar file, given the
/// booking and its cancel code.
pub type Confirmation<'a> = dyn Fn(&Booking, &str) -> crate::mail::MailWithCalendar + Sync + 'a;

const BOOKING_COLUMNS: &str = "number, service_id, resource_id, starts_at, ends_at, name, email, \
    phone, note, channel, state, created_at, lottery_application, confirm_by, application_receipt, fee_yen, \
    fee_note, fee_paid_at";

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
        lottery_application: row.try_get("lottery_application")?,
        confirm_by: row
            .try_get::<Option<String>, _>("confirm_by")?
            .as_deref()
            .map(parse_slot_time)
            .transpose()?,
        application: row.try_get("application_receipt")?,
        fee_yen: row.try_get("fee_yen")?,
        fee_note: row.try_get("fee_note")?,
        fee_paid_at: row.try_get("fee_paid_at")?,
    })
}

/// The row of a booking about to be inserted (its number aside).
struct NewRow<'a> {
    service_id: &'a str,
    slot: &'a Slot,
    booker: &'a Booker,
    channel: &'a str,
    state: &'a str,
    cancel_code: &'a str,
    idempotency_key: Option<&'a str>,
    lottery_application: Option<&'a str>,
    confirm_by: Option<NaiveDateTime>,
    application: Option<&'a str>,
    fee: Fee<'a>,
    now: &'a str,
}

/// What a booking costs: the fee after 減免, and the 減免 as a note (「子ども会 50%減免」).
#[derive(Debug, Clone, Copy, Default)]
pub struct Fee<'a> {
    pub yen: Option<i64>,
    pub note: Option<&'a str>,
}

impl NewRow<'_> {
    /// Inserts the booking as `number`; false when the number (or the idempotency key) is
    /// taken.
    async fn insert(
        &self,
        tx: &mut Transaction<'_, Any>,
        tenant: &str,
        number: &str,
    ) -> Result<bool> {
        let inserted = sqlx::query(
            "INSERT INTO bookings (tenant_id, number, service_id, resource_id, starts_at, ends_at, \
             name, email, phone, note, channel, state, created_at, lottery_application, confirm_by, \
             application_receipt, fee_yen, fee_note, cancel_code_sha256, idempotency_key, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $13) ON CONFLICT DO NOTHING",
        )
        .bind(tenant)
        .bind(number)
        .bind(self.service_id)
        .bind(&self.slot.resource)
        .bind(slot_time(self.slot.starts()))
        .bind(slot_time(self.slot.date.and_time(self.slot.end)))
        .bind(&self.booker.name)
        .bind(&self.booker.email)
        .bind(&self.booker.phone)
        .bind(&self.booker.note)
        .bind(self.channel)
        .bind(self.state)
        .bind(self.now)
        .bind(self.lottery_application)
        .bind(self.confirm_by.map(slot_time))
        .bind(self.application)
        .bind(self.fee.yen)
        .bind(self.fee.note)
        .bind(sha256_hex(self.cancel_code.as_bytes()))
        .bind(self.idempotency_key)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// The booking as inserted as `number`.
    fn booking(&self, number: String) -> Booking {
        Booking {
            number,
            service_id: self.service_id.to_string(),
            resource_id: self.slot.resource.clone(),
            starts: self.slot.starts(),
            ends: self.slot.date.and_time(self.slot.end),
            booker: self.booker.clone(),
            channel: self.channel.to_string(),
            state: self.state.to_string(),
            created_at: self.now.to_string(),
            lottery_application: self.lottery_application.map(str::to_string),
            confirm_by: self.confirm_by,
            application: self.application.map(str::to_string),
            fee_yen: self.fee.yen,
            fee_note: self.fee.note.map(str::to_string),
            fee_paid_at: None,
        }
    }
}

fn new_cancel_code() -> String {
    crate::sessions::random_token()[..16].to_string()
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
    /// How many are booked in each slot of a service from `from` up to `to` (local times),
    /// and whether staff closed it: `(resource, start, booked, closed)`. Slots nobody booked
    /// or closed are not listed.
    pub async fn slot_fill(
        &self,
        tenant: &str,
        service: &str,
        from: NaiveDateTime,
        to: NaiveDateTime,
    ) -> Result<Vec<(String, NaiveDateTime, i64, bool)>> {
        let rows = sqlx::query(
            "SELECT resource_id, starts_at, booked, closed FROM slot_fill WHERE tenant_id = $1 \
             AND service_id = $2 AND starts_at >= $3 AND starts_at <= $4 \
             AND (booked > 0 OR closed <> 0)",
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
                    row.try_get::<i64, _>("closed")? != 0,
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
        if new.service.lottery.is_some() {
            lottery::refuse_before_the_draw(&self.pool, tenant, new.service, new.slots).await?;
        }
        let open = self.not_full(tenant, new.service, new.slots).await?;
        if open.is_empty() {
            return Err(full());
        }
        let mut tx = self.pool.begin().await?;
        let Some(slot) = take_first_free(&mut tx, tenant, new.service, &open).await? else {
            return Err(full());
        };
        let cancel_code = new_cancel_code();
        let now = now_text();
        let row = NewRow {
            service_id: &new.service.id,
            slot: &slot,
            booker: new.booker,
            channel: new.channel.as_str(),
            state: "booked",
            cancel_code: &cancel_code,
            idempotency_key: new.idempotency_key,
            lottery_application: None,
            confirm_by: None,
            application: new.application,
            fee: new.fee,
            now: &now,
        };
        let mut number = new_booking_number();
        for attempt in 0.. {
            if row.insert(&mut tx, tenant, &number).await? {
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
        let booking = row.booking(number);
        if let Some(confirmation) = new.confirmation {
            crate::deliveries::enqueue_with_calendar(
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
             AND service_id = $2 AND state IN ('booked', 'provisional') AND starts_at >= $3 \
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
                "SELECT CASE WHEN closed <> 0 THEN $5 ELSE booked END FROM slot_fill \
                 WHERE tenant_id = $1 AND service_id = $2 AND resource_id = $3 AND starts_at = $4",
            )
            .bind(tenant)
            .bind(&service.id)
            .bind(&slot.resource)
            .bind(slot_time(slot.starts()))
            .bind(i64::from(resource.capacity))
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
             AND resource_id = $3 AND starts_at = $4 AND booked < $5 AND closed = 0",
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

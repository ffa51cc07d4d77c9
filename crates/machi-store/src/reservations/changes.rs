//! Changing a booking once made: cancelled by the resident (its place back to the slot, or,
//! won in a lottery, to the next in line) or moved to another slot — each in one transaction
//! with the e-mail that tells the booker.

use chrono::NaiveDateTime;
use machi_core::reservations::{Service, Slot};
use sqlx::{Any, Transaction};

use super::{
    booking_from_row, full, lottery, slot_time, take_first_free, Booking, Notice, BOOKING_COLUMNS,
};
use crate::{now_text, Result, Store, StoreError};

impl Store {
    /// Cancels a booking: its slot has room again at once, or, won in a lottery, goes to the
    /// next in line. Cancelling twice is no error.
    pub async fn cancel_booking(
        &self,
        tenant: &str,
        number: &str,
        notice: Option<&Notice<'_>>,
        links: &lottery::CityLinks<'_>,
    ) -> Result<Booking> {
        let mut tx = self.pool.begin().await?;
        let booking = locked_booking(&mut tx, tenant, number).await?;
        if booking.holds_slot() {
            let now = machi_core::wareki::now_jst();
            give_up(&mut tx, tenant, &booking, "cancelled", links, now).await?;
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
                "取り消された予約や抽選で当選した予約は変更できません",
                "a cancelled booking or a lottery win cannot be changed",
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
pub(super) async fn tell(
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

/// Ends a booking that holds its slot (`state`: cancelled or released): the place goes to the
/// lottery's next in line, or back to the slot.
pub(super) async fn give_up(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    booking: &Booking,
    state: &str,
    links: &lottery::CityLinks<'_>,
    now: NaiveDateTime,
) -> Result<()> {
    release(tx, tenant, booking).await?;
    set_state(tx, tenant, &booking.number, state).await?;
    if booking.lottery_application.is_some() {
        lottery::offer_to_next_in_line(tx, tenant, booking, links, now).await?;
    }
    Ok(())
}

/// Gives a booking's place back to its slot.
pub(super) async fn release(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    booking: &Booking,
) -> Result<()> {
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
pub(super) async fn locked_booking(
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

pub(super) async fn set_state(
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

/// The provider confirmed a booking's fee (in the payment's transaction): the booking notes
/// it, and a lottery win waiting to be confirmed is confirmed — paying is the surest way of
/// saying "I take it".
pub(crate) async fn fee_paid(
    tx: &mut Transaction<'_, Any>,
    tenant: &str,
    number: &str,
    now: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE bookings SET fee_paid_at = $1, updated_at = $1, \
         state = CASE WHEN state = 'provisional' THEN 'booked' ELSE state END \
         WHERE tenant_id = $2 AND number = $3",
    )
    .bind(now)
    .bind(tenant)
    .bind(number)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

//! The bookings as staff work with them: a day of a service, a period for the CSV, marking a
//! booking no-show, and cancelling one for a resident who called — each change audited.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde_json::json;

use super::{
    booking_from_row, give_up, locked_booking, set_state, slot_time, tell, Booking, Notice,
    BOOKING_COLUMNS,
};
use crate::audit::AuditEntry;
use crate::{Result, Store, StoreError};

impl Store {
    /// Every booking of a service starting from `from` up to `to` (local dates, inclusive),
    /// cancelled ones too, by start and resource.
    pub async fn service_bookings(
        &self,
        tenant: &str,
        service: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Booking>> {
        let start = slot_time(from.and_time(NaiveTime::MIN));
        let end = slot_time(to.and_hms_opt(23, 59, 0).unwrap_or(NaiveDateTime::MAX));
        let rows = sqlx::query(&format!(
            "SELECT {BOOKING_COLUMNS} FROM bookings WHERE tenant_id = $1 AND service_id = $2 \
             AND starts_at >= $3 AND starts_at <= $4 ORDER BY starts_at, resource_id, created_at \
             LIMIT 20000"
        ))
        .bind(tenant)
        .bind(service)
        .bind(start)
        .bind(end)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(booking_from_row).collect()
    }

    /// Marks a booking no-show (the person did not come); only a booking that has started.
    pub async fn mark_no_show(&self, tenant: &str, number: &str, actor: &str) -> Result<Booking> {
        let mut audited = self.begin_audited(tenant).await?;
        let booking = locked_booking(&mut audited.tx, tenant, number).await?;
        let now = chrono::Utc::now()
            .with_timezone(&machi_core::wareki::jst())
            .naive_local();
        if !booking.is_booked() || booking.starts > now {
            return Err(StoreError::conflict(
                "始まった予約だけ「来なかった」にできます",
                "only a booking that has started can be marked no-show",
            ));
        }
        set_state(&mut audited.tx, tenant, number, "no_show").await?;
        audited
            .append(&entry(actor, "booking.no_show", &booking))
            .await?;
        audited.commit().await?;
        self.booking_as_it_is(tenant, number).await
    }

    /// Cancels a booking for the resident (who called or came to the counter), at any time.
    pub async fn cancel_booking_for(
        &self,
        tenant: &str,
        number: &str,
        actor: &str,
        notice: Option<&Notice<'_>>,
        links: &super::lottery::CityLinks<'_>,
    ) -> Result<Booking> {
        let mut audited = self.begin_audited(tenant).await?;
        let booking = locked_booking(&mut audited.tx, tenant, number).await?;
        if booking.holds_slot() {
            let now = machi_core::wareki::now_jst();
            give_up(&mut audited.tx, tenant, &booking, "cancelled", links, now).await?;
            audited
                .append(&entry(actor, "booking.cancel", &booking))
                .await?;
            let cancelled = Booking {
                state: "cancelled".into(),
                ..booking
            };
            tell(&mut audited.tx, tenant, &cancelled, notice).await?;
        }
        audited.commit().await?;
        self.booking_as_it_is(tenant, number).await
    }
}

/// The audit entry of a change to a booking by staff.
pub(in crate::reservations) fn entry(actor: &str, action: &str, booking: &Booking) -> AuditEntry {
    AuditEntry::new(
        actor,
        action,
        &format!("booking:{}", booking.number),
        json!({"service": booking.service_id, "starts": slot_time(booking.starts)}),
    )
}

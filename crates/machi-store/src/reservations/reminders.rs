//! The day-before reminder of each booking, by e-mail through the outbox. Sent once however
//! often the check runs and on however many nodes: the booking's `reminded_at` is set in the
//! transaction that queues the mail, and only where it was not set yet.

use chrono::{NaiveDate, NaiveTime};
use machi_core::reservations::Service;

use super::{booking_from_row, slot_time, Booking, BOOKING_COLUMNS};
use crate::mail::OutgoingMail;
use crate::{now_text, Result, Store};

impl Store {
    /// Queues the reminder of every booking of `day` (tomorrow, as the caller counts it) with
    /// an e-mail address and none sent yet; returns how many were queued.
    pub async fn send_booking_reminders(
        &self,
        tenant: &str,
        city_name: &str,
        day: NaiveDate,
    ) -> Result<usize> {
        let rows = sqlx::query(&format!(
            "SELECT {BOOKING_COLUMNS} FROM bookings WHERE tenant_id = $1 AND state = 'booked' \
             AND reminded_at IS NULL AND email <> '' AND starts_at >= $2 AND starts_at <= $3 \
             ORDER BY starts_at LIMIT 5000"
        ))
        .bind(tenant)
        .bind(slot_time(day.and_time(NaiveTime::MIN)))
        .bind(slot_time(day.and_hms_opt(23, 59, 0).unwrap_or_default()))
        .fetch_all(&self.pool)
        .await?;
        let bookings = rows
            .iter()
            .map(booking_from_row)
            .collect::<Result<Vec<Booking>>>()?;
        let services = self.services(tenant).await?;
        let mut queued = 0;
        for booking in bookings {
            let Some(service) = services.iter().find(|s| s.id == booking.service_id) else {
                continue;
            };
            // The mark first: it takes SQLite's write lock at once, and a reminder another
            // node already queued stops here.
            let mut tx = self.pool.begin().await?;
            let marked = sqlx::query(
                "UPDATE bookings SET reminded_at = $1 WHERE tenant_id = $2 AND number = $3 \
                 AND reminded_at IS NULL AND state = 'booked'",
            )
            .bind(now_text())
            .bind(tenant)
            .bind(&booking.number)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if marked == 0 {
                continue;
            }
            let mail = reminder(city_name, service, &booking);
            crate::deliveries::enqueue_direct(&mut tx, tenant, &mail).await?;
            tx.commit().await?;
            queued += 1;
        }
        Ok(queued)
    }
}

/// 「明日は予約の日です」: what, when and where, the meeting link of an online consultation.
fn reminder(city_name: &str, service: &Service, booking: &Booking) -> OutgoingMail {
    let (place, meeting) = service.place_and_meeting(&booking.resource_id, &booking.number);
    let date = machi_core::wareki::format_wareki(booking.starts.date());
    OutgoingMail {
        recipient: booking.booker.email.clone(),
        subject: format!(
            "【{city_name}】明日は{}の予約の日です（予約番号 {}）",
            service.name.ja, booking.number
        ),
        body: format!(
            "{} 様\n\n明日は次の予約の日です。\n\n予約番号: {}\n予約: {}\n日時: {} {}–{}\n場所: {}\n{}\n\
             変更・取消は、予約を受け付けたときのメールのリンクからできます（開始の{}時間前まで）。\n\n{}\n",
            booking.booker.name,
            booking.number,
            service.name.ja,
            date,
            booking.starts.format("%H:%M"),
            booking.ends.format("%H:%M"),
            place,
            meeting,
            service.cancel_until_hours,
            city_name
        ),
    }
}

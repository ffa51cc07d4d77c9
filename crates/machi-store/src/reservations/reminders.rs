//! The day-before reminder of each booking, through the outbox: by e-mail, and on the other
//! channels its holder chose from the booking's page — a browser's notifications, or LINE after
//! sending the booking's link code to the city's official account. Sent once however often the
//! check runs and on however many nodes: the booking's `reminded_at` is set in the transaction
//! that queues the messages, and only where it was not set yet.

use chrono::{NaiveDate, NaiveTime};
use machi_core::digest::constant_time_eq;
use machi_core::reservations::reminder_link::link_code;
use machi_core::reservations::Service;
use machi_core::subscriptions::Channel;
use sqlx::Row;

use super::{booking_from_row, slot_time, Booking, BOOKING_COLUMNS};
use crate::deliveries::DirectMessage;
use crate::mail::OutgoingMail;
use crate::{now_text, Result, Store, StoreError};

/// Channels one booking's reminder may go to besides e-mail (a phone and a computer, LINE).
pub const MAX_REMINDER_CHANNELS: i64 = 5;

/// The name of the deployment secret link codes are derived from.
const LINK_SECRET: &str = "booking-reminder-links";

/// Another address a booking's reminder goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderChannel {
    pub channel: Channel,
    pub address: String,
    /// A browser's push keys (JSON); empty for LINE.
    pub secret: String,
}

impl Store {
    /// Sends the booking's reminder to `channel` too (a browser subscribing again replaces
    /// its keys). Refused for a booking that no longer holds its slot, and past
    /// [`MAX_REMINDER_CHANNELS`].
    pub async fn add_reminder_channel(
        &self,
        tenant: &str,
        number: &str,
        channel: &ReminderChannel,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let state: Option<String> =
            sqlx::query_scalar("SELECT state FROM bookings WHERE tenant_id = $1 AND number = $2")
                .bind(tenant)
                .bind(number)
                .fetch_optional(&mut *tx)
                .await?;
        if !matches!(state.as_deref(), Some("booked" | "provisional")) {
            return Err(StoreError::conflict(
                "取り消された予約にはお知らせを送りません",
                "a cancelled booking gets no reminder",
            ));
        }
        let others: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM booking_reminder_channels WHERE tenant_id = $1 \
             AND booking_number = $2 AND NOT (channel = $3 AND address = $4)",
        )
        .bind(tenant)
        .bind(number)
        .bind(channel.channel.as_str())
        .bind(&channel.address)
        .fetch_one(&mut *tx)
        .await?;
        if others >= MAX_REMINDER_CHANNELS {
            return Err(StoreError::conflict(
                format!("お知らせの送り先は{MAX_REMINDER_CHANNELS}か所までです"),
                format!("a booking's reminder goes to at most {MAX_REMINDER_CHANNELS} places"),
            ));
        }
        sqlx::query(
            "INSERT INTO booking_reminder_channels (tenant_id, booking_number, channel, address, \
             secret, created_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT \
             (tenant_id, booking_number, channel, address) DO UPDATE SET secret = excluded.secret",
        )
        .bind(tenant)
        .bind(number)
        .bind(channel.channel.as_str())
        .bind(&channel.address)
        .bind(&channel.secret)
        .bind(now_text())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Where the booking's reminder goes besides e-mail.
    pub async fn reminder_channels(
        &self,
        tenant: &str,
        number: &str,
    ) -> Result<Vec<ReminderChannel>> {
        let rows = sqlx::query(
            "SELECT channel, address, secret FROM booking_reminder_channels \
             WHERE tenant_id = $1 AND booking_number = $2 ORDER BY created_at",
        )
        .bind(tenant)
        .bind(number)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let channel: String = row.try_get("channel")?;
                Ok(ReminderChannel {
                    channel: Channel::parse(&channel).ok_or_else(|| {
                        StoreError::Corrupt(format!("unknown channel '{channel}'"))
                    })?,
                    address: row.try_get("address")?,
                    secret: row.try_get("secret")?,
                })
            })
            .collect()
    }

    /// The code that links booking `number` to a LINE user (shown on the booking's page).
    pub async fn reminder_link_code(&self, tenant: &str, number: &str) -> Result<String> {
        Ok(link_code(&self.secret(LINK_SECRET).await?, tenant, number))
    }

    /// A LINE user sent a booking's number and link code: when the code is the booking's, its
    /// reminder goes to that user too. Returns the booking linked, or `None` for a wrong
    /// number or code (the same answer for both, so that numbers cannot be probed).
    pub async fn link_line_reminder(
        &self,
        tenant: &str,
        number: &str,
        code: &str,
        line_user: &str,
    ) -> Result<Option<Booking>> {
        let expected = self.reminder_link_code(tenant, number).await?;
        if !constant_time_eq(expected.as_bytes(), code.as_bytes()) {
            return Ok(None);
        }
        let Some(booking) = self.booking(tenant, number).await? else {
            return Ok(None);
        };
        let channel = ReminderChannel {
            channel: Channel::Line,
            address: line_user.to_string(),
            secret: String::new(),
        };
        self.add_reminder_channel(tenant, number, &channel).await?;
        Ok(Some(booking))
    }

    /// Queues the reminder of every booking of `day` (tomorrow, as the caller counts it) with
    /// somewhere to send it and none sent yet; returns how many bookings were reminded.
    pub async fn send_booking_reminders(
        &self,
        tenant: &str,
        city_name: &str,
        day: NaiveDate,
    ) -> Result<usize> {
        let rows = sqlx::query(&format!(
            "SELECT {BOOKING_COLUMNS} FROM bookings b WHERE tenant_id = $1 AND state = 'booked' \
             AND reminded_at IS NULL AND starts_at >= $2 AND starts_at <= $3 \
             AND (email <> '' OR EXISTS (SELECT 1 FROM booking_reminder_channels c \
             WHERE c.tenant_id = b.tenant_id AND c.booking_number = b.number)) \
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
            let channels = self.reminder_channels(tenant, &booking.number).await?;
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
            if !booking.booker.email.is_empty() {
                let mail = reminder(city_name, service, &booking);
                crate::deliveries::enqueue_direct(&mut tx, tenant, &mail).await?;
            }
            let (subject, body) = short_reminder(city_name, service, &booking);
            for channel in &channels {
                let message = DirectMessage {
                    channel: channel.channel,
                    address: &channel.address,
                    secret: &channel.secret,
                    subject: &subject,
                    body: &body,
                    calendar: None,
                };
                crate::deliveries::enqueue_direct_on(&mut tx, tenant, &message).await?;
            }
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

/// The reminder as a chat message or a notification: what, when and where, without the
/// booker's name or an online consultation's meeting link (a lock screen shows it to anyone
/// nearby; the e-mail and the booking's page have the link).
fn short_reminder(city_name: &str, service: &Service, booking: &Booking) -> (String, String) {
    let (place, meeting) = service.place_and_meeting(&booking.resource_id, &booking.number);
    let subject = format!("【{city_name}】明日は{}の予約の日です", service.name.ja);
    let mut body = format!(
        "予約番号 {}\n{} {}–{}",
        booking.number,
        machi_core::wareki::format_wareki(booking.starts.date()),
        booking.starts.format("%H:%M"),
        booking.ends.format("%H:%M"),
    );
    if !place.is_empty() {
        body.push_str(&format!("\n場所: {place}"));
    }
    if !meeting.is_empty() {
        body.push_str("\nビデオ通話のリンクは、予約確認のメールと予約のページにあります。");
    }
    (subject, body)
}

//! 来庁予約: a booking that is the visit an application asks for (転入予約 → a time at the
//! 転入 counter), tied to the application by the key its receipt page links with.

use super::{booking_from_row, Booking, BOOKING_COLUMNS};
use crate::{Result, Store};

impl Store {
    /// Whether `key` is the booking key of application `receipt` (see
    /// `machi_core::receipt::booking_key_of`).
    pub async fn application_booking_key_matches(
        &self,
        tenant: &str,
        receipt: &str,
        key: &str,
    ) -> Result<bool> {
        let digest: Option<String> = sqlx::query_scalar(
            "SELECT access_code_sha256 FROM applications WHERE tenant_id = $1 AND receipt_number = $2",
        )
        .bind(tenant)
        .bind(receipt)
        .fetch_optional(&self.pool)
        .await?;
        Ok(digest.is_some_and(|d| machi_core::receipt::booking_key_of(&d) == key))
    }

    /// The visit booked for application `receipt`, if one holds its slot.
    pub async fn booking_for_application(
        &self,
        tenant: &str,
        receipt: &str,
    ) -> Result<Option<Booking>> {
        let row = sqlx::query(&format!(
            "SELECT {BOOKING_COLUMNS} FROM bookings WHERE tenant_id = $1 \
             AND application_receipt = $2 AND state IN ('booked', 'provisional') \
             ORDER BY starts_at LIMIT 1"
        ))
        .bind(tenant)
        .bind(receipt)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(booking_from_row).transpose()
    }
}

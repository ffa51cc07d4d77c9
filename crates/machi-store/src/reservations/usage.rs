//! How much the services are used, as a plan's live KPI reads it: the share of the places in a
//! month's slots that are booked.

use chrono::{Duration, NaiveTime};
use machi_core::plans::metric::percent;
use machi_core::reservations::lottery::{first_of_month, parse_month};
use machi_core::reservations::SlotQuery;

use super::slot_time;
use crate::{Result, Store};

impl Store {
    /// Percent of the places in `month`'s slots (every service, every resource, on the days
    /// each opens) that are booked or held; none in a month without slots.
    pub(crate) async fn booking_utilisation(
        &self,
        tenant: &str,
        month: &str,
    ) -> Result<Option<f64>> {
        let Some(first) = parse_month(month) else {
            return Ok(None);
        };
        let next = first_of_month(first + Duration::days(32));
        let calendar = self.calendar(tenant).await?;
        let mut places = 0_i64;
        for service in self.services(tenant).await? {
            let query = SlotQuery {
                service: &service,
                calendar: &calendar,
                now: first.and_time(NaiveTime::MIN),
            };
            places += query
                .service_slots(first, next - Duration::days(1))
                .iter()
                .filter_map(|slot| service.resource(&slot.resource))
                .map(|resource| i64::from(resource.capacity))
                .sum::<i64>();
        }
        let booked: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM bookings WHERE tenant_id = $1 \
             AND state IN ('booked', 'provisional', 'no_show') AND starts_at >= $2 AND starts_at < $3",
        )
        .bind(tenant)
        .bind(slot_time(first.and_time(NaiveTime::MIN)))
        .bind(slot_time(next.and_time(NaiveTime::MIN)))
        .fetch_one(&self.pool)
        .await?;
        Ok(percent(booked, places))
    }
}

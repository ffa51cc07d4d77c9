//! A resource closed for a day by staff — a hall's maintenance, a counter without its staff:
//! its slots that day take no booking (`slot_fill.closed`, which the conditional update that
//! books a place also checks), the bookings already made there are cancelled and each booker
//! is told why, all in one audited transaction. Reopening lets the slots be booked again.

use chrono::{NaiveDate, NaiveTime};
use machi_core::reservations::{Service, SlotQuery};
use serde_json::json;
use sqlx::Row;

use super::{
    booking_from_row, release, set_state, slot_time, tell, Booking, Notice, BOOKING_COLUMNS,
};
use crate::audit::AuditEntry;
use crate::{now_text, Result, Store, StoreError};

/// A resource closed for a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    pub resource_id: String,
    pub day: NaiveDate,
    pub reason: String,
    pub created_by: String,
}

/// Staff closing resources of a service for a day, and why.
pub struct Closing<'a> {
    pub service: &'a Service,
    pub resources: &'a [String],
    pub day: NaiveDate,
    pub reason: &'a str,
    pub actor: &'a str,
}

impl Store {
    /// Closes the resources for the day; returns the bookings it cancelled (each booker with
    /// an address told by `notice`).
    pub async fn close_resources(
        &self,
        tenant: &str,
        closing: &Closing<'_>,
        notice: &Notice<'_>,
    ) -> Result<Vec<Booking>> {
        let Closing {
            service,
            resources,
            day,
            reason,
            actor,
        } = *closing;
        if resources.is_empty() || resources.iter().any(|r| service.resource(r).is_none()) {
            return Err(StoreError::conflict(
                "休みにする場所を選んでください",
                "choose which resource to close",
            ));
        }
        let calendar = self.calendar(tenant).await?;
        let query = SlotQuery {
            service,
            calendar: &calendar,
            now: day.and_time(NaiveTime::MIN),
        };
        let slots: Vec<_> = query
            .service_slots(day, day)
            .into_iter()
            .filter(|s| resources.contains(&s.resource))
            .collect();
        if slots.is_empty() {
            return Err(StoreError::conflict(
                format!("{day} はもともと休みの日です"),
                format!("{day} is a closed day already"),
            ));
        }
        let mut audited = self.begin_audited(tenant).await?;
        for slot in &slots {
            sqlx::query(
                "INSERT INTO slot_fill (tenant_id, service_id, resource_id, starts_at, booked, \
                 closed) VALUES ($1, $2, $3, $4, 0, 1) ON CONFLICT (tenant_id, service_id, \
                 resource_id, starts_at) DO UPDATE SET closed = 1",
            )
            .bind(tenant)
            .bind(&service.id)
            .bind(&slot.resource)
            .bind(slot_time(slot.starts()))
            .execute(&mut *audited.tx)
            .await?;
        }
        for resource in resources {
            sqlx::query(
                "INSERT INTO resource_closures (tenant_id, service_id, resource_id, day, reason, \
                 created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (tenant_id, service_id, resource_id, day) DO UPDATE SET \
                 reason = excluded.reason",
            )
            .bind(tenant)
            .bind(&service.id)
            .bind(resource)
            .bind(day.to_string())
            .bind(reason)
            .bind(actor)
            .bind(now_text())
            .execute(&mut *audited.tx)
            .await?;
        }
        let rows = sqlx::query(&format!(
            "SELECT {BOOKING_COLUMNS} FROM bookings WHERE tenant_id = $1 AND service_id = $2 \
             AND state IN ('booked', 'provisional') AND starts_at >= $3 AND starts_at < $4 \
             ORDER BY starts_at"
        ))
        .bind(tenant)
        .bind(&service.id)
        .bind(slot_time(day.and_time(NaiveTime::MIN)))
        .bind(slot_time(
            day.succ_opt().unwrap_or(day).and_time(NaiveTime::MIN),
        ))
        .fetch_all(&mut *audited.tx)
        .await?;
        let mut cancelled = Vec::new();
        for row in &rows {
            let booking = booking_from_row(row)?;
            if !resources.contains(&booking.resource_id) {
                continue;
            }
            // Not offered to a lottery's next in line: the slot is closed.
            release(&mut audited.tx, tenant, &booking).await?;
            set_state(&mut audited.tx, tenant, &booking.number, "cancelled").await?;
            let booking = Booking {
                state: "cancelled".into(),
                ..booking
            };
            tell(&mut audited.tx, tenant, &booking, Some(notice)).await?;
            cancelled.push(booking);
        }
        audited
            .append(&AuditEntry::new(
                actor,
                "service.close_day",
                &format!("service:{}", service.id),
                json!({"resources": resources, "day": day.to_string(), "reason": reason,
                       "bookings_cancelled": cancelled.len()}),
            ))
            .await?;
        audited.commit().await?;
        Ok(cancelled)
    }

    /// Opens `resource` of `service` on `day` again (the bookings cancelled stay cancelled).
    pub async fn reopen_resource(
        &self,
        tenant: &str,
        service: &Service,
        resource: &str,
        day: NaiveDate,
        actor: &str,
    ) -> Result<()> {
        let mut audited = self.begin_audited(tenant).await?;
        sqlx::query(
            "UPDATE slot_fill SET closed = 0 WHERE tenant_id = $1 AND service_id = $2 \
             AND resource_id = $3 AND starts_at >= $4 AND starts_at < $5",
        )
        .bind(tenant)
        .bind(&service.id)
        .bind(resource)
        .bind(slot_time(day.and_time(NaiveTime::MIN)))
        .bind(slot_time(
            day.succ_opt().unwrap_or(day).and_time(NaiveTime::MIN),
        ))
        .execute(&mut *audited.tx)
        .await?;
        sqlx::query(
            "DELETE FROM resource_closures WHERE tenant_id = $1 AND service_id = $2 \
             AND resource_id = $3 AND day = $4",
        )
        .bind(tenant)
        .bind(&service.id)
        .bind(resource)
        .bind(day.to_string())
        .execute(&mut *audited.tx)
        .await?;
        audited
            .append(&AuditEntry::new(
                actor,
                "service.reopen_day",
                &format!("service:{}", service.id),
                json!({"resource": resource, "day": day.to_string()}),
            ))
            .await?;
        audited.commit().await?;
        Ok(())
    }

    /// The closures of a service from `from` on, by day.
    pub async fn resource_closures(
        &self,
        tenant: &str,
        service: &str,
        from: NaiveDate,
    ) -> Result<Vec<Closure>> {
        let rows = sqlx::query(
            "SELECT resource_id, day, reason, created_by FROM resource_closures \
             WHERE tenant_id = $1 AND service_id = $2 AND day >= $3 ORDER BY day, resource_id \
             LIMIT 500",
        )
        .bind(tenant)
        .bind(service)
        .bind(from.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let day: String = row.try_get("day")?;
                Ok(Closure {
                    resource_id: row.try_get("resource_id")?,
                    day: NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                        .map_err(|e| StoreError::Corrupt(format!("closure day '{day}': {e}")))?,
                    reason: row.try_get("reason")?,
                    created_by: row.try_get("created_by")?,
                })
            })
            .collect()
    }
}

//! 開庁日 as each city keeps them: the national holidays (shared) and the city's own closures,
//! cached per city for the intake writer and the review pages, and due dates counted in them.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use machi_core::calendar::{parse_holidays, Calendar, DayOff, BUNDLED_HOLIDAYS};
use sqlx::{AnyConnection, Row};

use crate::{format_time, Result, Store, StoreError};

/// How long a city's calendar is kept before it is read again (another node may have changed
/// its closures).
const FRESH_FOR: Duration = Duration::from_secs(300);

/// The cities' calendars, read once and kept for a while.
#[derive(Default)]
pub(crate) struct Calendars {
    cache: RwLock<HashMap<String, (Instant, Arc<Calendar>)>>,
}

impl Calendars {
    /// The calendar of `tenant`, read through `conn` when not cached (or stale).
    pub(crate) async fn get(
        &self,
        conn: &mut AnyConnection,
        tenant: &str,
    ) -> Result<Arc<Calendar>> {
        if let Some((read, calendar)) = self.cache.read().ok().and_then(|c| c.get(tenant).cloned())
        {
            if read.elapsed() < FRESH_FOR {
                return Ok(calendar);
            }
        }
        let days: Vec<String> = sqlx::query_scalar(
            "SELECT day FROM calendar_days WHERE tenant_id = '' OR tenant_id = $1",
        )
        .bind(tenant)
        .fetch_all(&mut *conn)
        .await?;
        let calendar = Arc::new(Calendar::new(
            days.iter()
                .filter_map(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        ));
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(tenant.to_string(), (Instant::now(), calendar.clone()));
        }
        Ok(calendar)
    }

    fn forget(&self) {
        if let Ok(mut cache) = self.cache.write() {
            cache.clear();
        }
    }
}

fn jst() -> FixedOffset {
    machi_core::wareki::jst()
}

/// The JST date of a moment.
pub fn jst_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&jst()).date_naive()
}

/// When an application made at `submitted` is due: the end (23:59:59 JST) of the `days`-th
/// 開庁日 after the day it came in (初日不算入), as stored.
pub(crate) fn due_at(calendar: &Calendar, submitted: DateTime<Utc>, days: i64) -> String {
    let days = u32::try_from(days.max(0)).unwrap_or(u32::MAX);
    end_of(calendar.add_open_days(jst_date(submitted), days))
}

/// The last moment of a JST date, as stored.
pub(crate) fn end_of(date: NaiveDate) -> String {
    let end = date.and_hms_opt(23, 59, 59).unwrap_or_default();
    let at = jst()
        .from_local_datetime(&end)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now);
    format_time(at)
}

impl Store {
    /// The calendar of a city: national holidays and its own closures.
    pub async fn calendar(&self, tenant: &str) -> Result<Arc<Calendar>> {
        let mut conn = self.pool.acquire().await?;
        self.calendars.get(&mut conn, tenant).await
    }

    /// Loads the bundled national holidays when the deployment has none.
    pub(crate) async fn ensure_holidays(&self) -> Result<()> {
        let known: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM calendar_days WHERE tenant_id = ''")
                .fetch_one(&self.pool)
                .await?;
        if known == 0 {
            let days = parse_holidays(BUNDLED_HOLIDAYS).map_err(StoreError::Corrupt)?;
            self.import_holidays(&days).await?;
        }
        Ok(())
    }

    /// Replaces the national holidays (the Cabinet Office's list), all or nothing.
    pub async fn import_holidays(&self, days: &[DayOff]) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM calendar_days WHERE tenant_id = ''")
            .execute(&mut *tx)
            .await?;
        for day in days {
            // Two nodes starting together may both load the bundled list: the second adds nothing.
            sqlx::query(
                "INSERT INTO calendar_days (tenant_id, day, name) VALUES ('', $1, $2) \
                 ON CONFLICT (tenant_id, day) DO NOTHING",
            )
            .bind(day.date.format("%Y-%m-%d").to_string())
            .bind(&day.name)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.calendars.forget();
        Ok(days.len())
    }

    /// A city's own closures (and the national holidays with `national`), by date.
    pub async fn days_off(&self, tenant: &str, national: bool) -> Result<Vec<DayOff>> {
        let sql = if national {
            "SELECT day, name FROM calendar_days WHERE tenant_id = '' OR tenant_id = $1 ORDER BY day"
        } else {
            "SELECT day, name FROM calendar_days WHERE tenant_id = $1 ORDER BY day"
        };
        let rows = sqlx::query(sql).bind(tenant).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|row| {
                let day: String = row.try_get("day")?;
                Ok(DayOff {
                    date: NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                        .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    name: row.try_get("name")?,
                })
            })
            .collect()
    }

    /// Closes a city's office on a day (臨時閉庁), or renames the closure.
    pub async fn set_closure(&self, tenant: &str, day: &DayOff) -> Result<()> {
        let date = day.date.format("%Y-%m-%d").to_string();
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM calendar_days WHERE tenant_id = $1 AND day = $2")
            .bind(tenant)
            .bind(&date)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO calendar_days (tenant_id, day, name) VALUES ($1, $2, $3)")
            .bind(tenant)
            .bind(&date)
            .bind(&day.name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.calendars.forget();
        Ok(())
    }

    /// Opens a city's office again on a day it had closed.
    pub async fn remove_closure(&self, tenant: &str, date: NaiveDate) -> Result<bool> {
        let removed = sqlx::query("DELETE FROM calendar_days WHERE tenant_id = $1 AND day = $2")
            .bind(tenant)
            .bind(date.format("%Y-%m-%d").to_string())
            .execute(&self.pool)
            .await?;
        self.calendars.forget();
        Ok(removed.rows_affected() > 0)
    }
}

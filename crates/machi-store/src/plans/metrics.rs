//! Live KPIs: the figures machi computes from its own tables, and their monthly snapshots.
//! A month is a calendar month in Japan (JST), the way a city counts its 月次 figures.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use machi_core::plans::metric::{median, percent, Metric, ALL_METRICS};
use sqlx::Row;

use crate::{format_time, now_text, Result, Store, StoreError};

/// Statuses that end an application's review: the moment processing days are counted to.
const DECIDED: &str = "('approved', 'rejected', 'completed')";

use machi_core::wareki::jst;

/// The month (`YYYY-MM`) it is now in Japan.
pub fn current_month() -> String {
    machi_core::wareki::today_jst().format("%Y-%m").to_string()
}

/// The first instant of a month and of the next one, as stored timestamps (UTC text).
fn month_bounds(month: &str) -> Result<(String, String)> {
    let bad = || StoreError::NotStored(format!("not a month (YYYY-MM): {month}"));
    let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").map_err(|_| bad())?;
    let next = if first.month() == 12 {
        NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)
    }
    .ok_or_else(bad)?;
    let start = |day: NaiveDate| -> Result<String> {
        let local = day.and_hms_opt(0, 0, 0).ok_or_else(bad)?;
        let instant = jst().from_local_datetime(&local).single().ok_or_else(bad)?;
        Ok(format_time(instant.with_timezone(&Utc)))
    };
    Ok((start(first)?, start(next)?))
}

fn days_between(from: &str, to: &str) -> Option<f64> {
    let from = DateTime::parse_from_rfc3339(from).ok()?;
    let to = DateTime::parse_from_rfc3339(to).ok()?;
    Some((to - from).num_seconds() as f64 / 86_400.0)
}

impl Store {
    /// The value of a figure for a month (the current figure for counts that have no month,
    /// such as procedures online or subscribers); none when there is nothing to compute from.
    pub async fn metric_value(
        &self,
        tenant: &str,
        metric: Metric,
        month: &str,
    ) -> Result<Option<f64>> {
        let (from, until) = month_bounds(month)?;
        match metric {
            Metric::OnlineProcedureShare => {
                let row = sqlx::query(
                    "SELECT COUNT(*) AS whole, COALESCE(SUM(CASE WHEN published = 1 \
                     AND form_version IS NOT NULL AND channel IN ('online', 'both') \
                     THEN 1 ELSE 0 END), 0) AS part FROM procedures WHERE tenant_id = $1",
                )
                .bind(tenant)
                .fetch_one(&self.pool)
                .await?;
                Ok(percent(row.try_get("part")?, row.try_get("whole")?))
            }
            Metric::OnlineUseRate => {
                let inventory = self.inventory(tenant).await?;
                Ok(machi_core::procedures::inventory::summarize(
                    inventory.iter().map(|r| &r.definition),
                )
                .weighted_rate)
            }
            Metric::OnlineApplicationShare => {
                self.share_of_month(
                    tenant,
                    "applications",
                    "made_via = 'online'",
                    "submitted_at",
                    month,
                )
                .await
            }
            Metric::MedianProcessingDays => {
                let rows = sqlx::query(&format!(
                    "SELECT a.submitted_at, MIN(e.created_at) AS decided_at FROM applications a \
                     JOIN application_events e ON e.tenant_id = a.tenant_id \
                     AND e.receipt_number = a.receipt_number \
                     WHERE a.tenant_id = $1 AND e.status IN {DECIDED} \
                     GROUP BY a.receipt_number, a.submitted_at \
                     HAVING MIN(e.created_at) >= $2 AND MIN(e.created_at) < $3"
                ))
                .bind(tenant)
                .bind(&from)
                .bind(&until)
                .fetch_all(&self.pool)
                .await?;
                let mut days = Vec::with_capacity(rows.len());
                for row in &rows {
                    let submitted: String = row.try_get("submitted_at")?;
                    let decided: String = row.try_get("decided_at")?;
                    days.extend(days_between(&submitted, &decided));
                }
                Ok(median(days).map(|d| (d * 10.0).round() / 10.0))
            }
            Metric::OpenDatasets => {
                let count: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM od_datasets WHERE tenant_id = $1 AND state = 'active'",
                )
                .bind(tenant)
                .fetch_one(&self.pool)
                .await?;
                Ok(Some(count as f64))
            }
            Metric::OpenDataCoverage => {
                let published: Vec<String> = sqlx::query_scalar(
                    "SELECT DISTINCT g.group_name FROM od_dataset_groups g JOIN od_datasets d \
                     ON d.tenant_id = g.tenant_id AND d.id = g.dataset_id \
                     WHERE g.tenant_id = $1 AND d.state = 'active'",
                )
                .bind(tenant)
                .fetch_all(&self.pool)
                .await?;
                let groups = machi_core::opendata::standard::Definitions::shared()
                    .map_err(StoreError::Corrupt)?
                    .groups();
                let (covered, all) = machi_core::opendata::catalog::coverage(&groups, &published);
                Ok(percent(covered as i64, all as i64))
            }
            Metric::OnlineBookingShare => {
                self.share_of_month(
                    tenant,
                    "bookings",
                    "channel <> 'counter'",
                    "created_at",
                    month,
                )
                .await
            }
            Metric::BookingUtilisation => self.booking_utilisation(tenant, month).await,
            Metric::NoticeSubscribers => {
                let count: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM subscriptions WHERE tenant_id = $1 AND confirmed_at IS NOT NULL",
                )
                .bind(tenant)
                .fetch_one(&self.pool)
                .await?;
                Ok(Some(count as f64))
            }
        }
    }

    /// Percent of the rows of `table` made in `month` (by `time_column`) for which `part`
    /// holds; none in a month without rows. The SQL pieces are the callers' constants.
    async fn share_of_month(
        &self,
        tenant: &str,
        table: &str,
        part: &str,
        time_column: &str,
        month: &str,
    ) -> Result<Option<f64>> {
        let (from, until) = month_bounds(month)?;
        let row = sqlx::query(&format!(
            "SELECT COUNT(*) AS whole, COALESCE(SUM(CASE WHEN {part} THEN 1 ELSE 0 END), 0) \
             AS part FROM {table} WHERE tenant_id = $1 AND {time_column} >= $2 \
             AND {time_column} < $3"
        ))
        .bind(tenant)
        .bind(&from)
        .bind(&until)
        .fetch_one(&self.pool)
        .await?;
        Ok(percent(row.try_get("part")?, row.try_get("whole")?))
    }

    /// Records this month's value of every figure (replacing earlier values of the month), so
    /// the last value taken in a month stays as that month's.
    pub async fn snapshot_metrics(&self, tenant: &str, month: &str) -> Result<usize> {
        let mut taken = 0;
        for metric in ALL_METRICS {
            let Some(value) = self.metric_value(tenant, metric, month).await? else {
                continue;
            };
            sqlx::query(
                "INSERT INTO metric_snapshots (tenant_id, metric, month, value, taken_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, metric, month) \
                 DO UPDATE SET value = excluded.value, taken_at = excluded.taken_at",
            )
            .bind(tenant)
            .bind(metric.key())
            .bind(month)
            .bind(value.to_string())
            .bind(now_text())
            .execute(&self.pool)
            .await?;
            taken += 1;
        }
        Ok(taken)
    }

    /// The monthly values of a figure, oldest first.
    pub async fn metric_history(&self, tenant: &str, metric: Metric) -> Result<Vec<(String, f64)>> {
        let rows = sqlx::query(
            "SELECT month, value FROM metric_snapshots WHERE tenant_id = $1 AND metric = $2 ORDER BY month",
        )
        .bind(tenant)
        .bind(metric.key())
        .fetch_all(&self.pool)
        .await?;
        let mut history = Vec::with_capacity(rows.len());
        for row in &rows {
            let value: String = row.try_get("value")?;
            let value = value
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("snapshot value {value}")))?;
            history.push((row.try_get("month")?, value));
        }
        Ok(history)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_runs_from_midnight_in_japan() {
        let (from, until) = month_bounds("2026-12").unwrap();
        assert_eq!(from, "2026-11-30T15:00:00.000000Z");
        assert_eq!(until, "2026-12-31T15:00:00.000000Z");
        assert!(month_bounds("2026-13").is_err());
        assert_eq!(
            days_between("2026-04-01T00:00:00Z", "2026-04-03T12:00:00Z"),
            Some(2.5)
        );
    }
}

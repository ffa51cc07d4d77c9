//! Live KPI figures (online-procedure share, subscribers…) written to this month's snapshot,
//! so that a KPI chart can draw the monthly trend.

/// How often the live figures are written to this month's snapshot.
const SNAPSHOT_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Keeps this month's value of every live figure of every city, hourly from the start, so
/// that each month keeps the last value taken in it (the trend a KPI chart draws). Every node
/// may run it: the write of a month's value is an upsert.
pub async fn snapshot_metrics_hourly(store: machi_store::Store) {
    let mut ticks = tokio::time::interval(SNAPSHOT_EVERY);
    loop {
        ticks.tick().await;
        let month = machi_store::plans::metrics::current_month();
        let tenants = match store.tenants().await {
            Ok(tenants) => tenants,
            Err(error) => {
                tracing::warn!(%error, "cannot list cities for KPI snapshots");
                continue;
            }
        };
        for tenant in tenants {
            if let Err(error) = store.snapshot_metrics(&tenant.id, &month).await {
                tracing::warn!(%error, city = %tenant.id, "KPI snapshot failed");
            }
        }
    }
}

//! Reminders: a light check, run with the delivery workers, that queues the e-mails due today —
//! the day-before reminder of each booking, and the ledger's (90 and 30 days before a contract
//! end or end of life). It runs at start
//! and then every few hours; the store's bookkeeping sends each reminder once, however often it
//! runs and on however many nodes.

use std::time::Duration;

use machi_store::Store;
use tokio::sync::watch;

/// How often the ledger is looked at (deadlines are days, so a few times a day is plenty).
const EVERY: Duration = Duration::from_secs(6 * 3600);

/// Checks every city now; returns the e-mails queued.
pub async fn check(store: &Store, public_url: &str) -> usize {
    let tenants = match store.tenants().await {
        Ok(tenants) => tenants,
        Err(error) => {
            tracing::error!(%error, "cannot list cities for asset reminders");
            return 0;
        }
    };
    let ledger = format!("{public_url}/staff/assets");
    let mut queued = 0;
    let tomorrow = machi_core::wareki::today_jst() + chrono::Duration::days(1);
    for tenant in tenants {
        match store
            .send_booking_reminders(&tenant.id, &tenant.name_ja, tomorrow)
            .await
        {
            Ok(count) => queued += count,
            Err(error) => tracing::error!(tenant = %tenant.id, %error, "booking reminders failed"),
        }
        match store
            .send_asset_reminders(&tenant.id, machi_core::wareki::today_jst(), &ledger)
            .await
        {
            Ok(count) => queued += count,
            Err(error) => tracing::error!(tenant = %tenant.id, %error, "asset reminders failed"),
        }
    }
    if queued > 0 {
        tracing::info!(queued, "reminders queued");
    }
    queued
}

/// Runs [`check`] until told to stop.
pub(crate) async fn run(store: Store, public_url: String, mut stopped: watch::Receiver<bool>) {
    while !*stopped.borrow() {
        check(&store, &public_url).await;
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stopped.changed() => {}
        }
    }
}

//! Lotteries (抽選), looked at every minute on every node: the next round of each facility's
//! lottery is made before its applications open (so its seed's hash is published in time),
//! rounds whose applications closed are drawn, and wins not confirmed by their deadline go to
//! the next in line. The store does each once, however many nodes look.

use std::time::Duration;

use machi_store::reservations::lottery::CityLinks;
use machi_store::Store;
use tokio::sync::watch;

const EVERY: Duration = Duration::from_secs(60);

/// Looks at every city's lotteries now; returns the rounds drawn and the wins released.
pub async fn check(store: &Store, public_url: &str) -> (usize, usize) {
    let tenants = match store.tenants().await {
        Ok(tenants) => tenants,
        Err(error) => {
            tracing::error!(%error, "cannot list cities for lotteries");
            return (0, 0);
        }
    };
    let now = machi_core::wareki::now_jst();
    let (mut drawn, mut released) = (0, 0);
    for tenant in tenants {
        let links = CityLinks {
            city_name: &tenant.name_ja,
            base: public_url,
        };
        let work = async {
            for service in store.services(&tenant.id).await? {
                if let Some(rules) = &service.lottery {
                    let month = rules.next_month_to_apply(now);
                    store.lottery_round(&tenant.id, &service, month).await?;
                }
            }
            let drawn = store.draw_due_lotteries(&tenant.id, now, &links).await?;
            let released = store.release_unconfirmed(&tenant.id, now, &links).await?;
            Ok::<_, machi_store::StoreError>((drawn, released))
        };
        match work.await {
            Ok((d, r)) => {
                drawn += d;
                released += r;
            }
            Err(error) => tracing::error!(tenant = %tenant.id, %error, "lotteries failed"),
        }
    }
    if drawn + released > 0 {
        tracing::info!(drawn, released, "lotteries");
    }
    (drawn, released)
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

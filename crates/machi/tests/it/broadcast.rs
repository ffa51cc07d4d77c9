//! "A restart mid-broadcast loses and repeats nothing": an emergency notice goes to 3,000
//! webhook subscribers through a real `machi serve`, which is stopped with SIGTERM while the
//! broadcast is under way and then started again. Every subscriber gets the notice exactly
//! once: the stopping node sends and records the batch in hand, the next one takes the rest.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use machi_core::notices::{NoticeDraft, Urgency};
use machi_core::procedures::Localized;
use machi_core::subscriptions::{Channel, Choices};
use machi_store::deliveries::ChannelReport;
use machi_store::notices::NoticeSave;
use machi_store::subscriptions::NewSubscription;
use machi_store::{Store, Tenant};
use tokio::process::Child;

use crate::durability::start;
use crate::harness::{Db, TestDb, CITY};
use crate::receivers::{Received, Receivers};

const SUBSCRIBERS: usize = 3_000;
/// Deliveries that arrive before the server is told to stop.
const BEFORE_STOP: usize = 300;
/// Few requests in flight, so the broadcast lasts a few seconds at the slow receiver; the
/// receivers listen on this machine, which a city allows only with --webhook-allow-private.
const SETTINGS: [&str; 3] = ["--webhook-concurrency", "8", "--webhook-allow-private"];

pub(crate) fn secret(subscriber: usize) -> String {
    format!("{subscriber:064x}")
}

pub(crate) fn emergency() -> NoticeDraft {
    NoticeDraft {
        title: Localized::new("市内全域に避難指示", "Evacuation order for the whole city"),
        body: Localized::new(
            "市内全域に避難指示を発令しました。最寄りの避難所へ避難してください。",
            "",
        ),
        categories: vec!["bousai".into()],
        areas: Vec::new(),
        urgency: Urgency::Emergency,
        evacuation: None,
    }
}

/// Sends SIGTERM (what systemd and `docker stop` send) and waits for an orderly exit.
pub(crate) async fn terminate(server: &mut Child) -> Duration {
    let pid = server.id().expect("the server is running").to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -TERM {pid} failed");
    let asked = Instant::now();
    let status = tokio::time::timeout(Duration::from_secs(30), server.wait())
        .await
        .expect("machi did not exit within 30 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "machi exited with {status} after SIGTERM");
    asked.elapsed()
}

/// Waits (at most `limit`) until `done` holds.
pub(crate) async fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) async fn webhook_report(store: &Store, notice: &str) -> ChannelReport {
    store
        .delivery_report(CITY, notice)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.channel == Channel::Webhook.as_str())
        .unwrap_or_default()
}

pub(crate) fn distinct_deliveries(received: &[Received]) -> HashSet<String> {
    received
        .iter()
        .map(|r| r.header("machi-delivery"))
        .collect()
}

/// The request carries the signature of its subscriber's secret over its time and body.
pub(crate) fn assert_signed(request: &Received) {
    let subscriber: usize = request.path.rsplit('=').next().unwrap().parse().unwrap();
    let header = request.header("machi-signature");
    let timestamp: i64 = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split(',').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no timestamp in {header}"));
    let body = std::str::from_utf8(&request.body).unwrap();
    assert_eq!(
        header,
        machi_core::subscriptions::webhook_signature(
            &secret(subscriber),
            timestamp,
            body.as_bytes()
        ),
        "bad signature at {}",
        request.path
    );
}

/// The test's own handle on the deployment's database, with the demo city in it.
pub(crate) async fn open_city(db: &TestDb) -> Store {
    let store = Store::open(db.url.as_deref(), db.data_dir.path().to_path_buf())
        .await
        .unwrap();
    store
        .ensure_tenant(&Tenant {
            id: CITY.into(),
            name_ja: "デモ市".into(),
            name_en: "Demo City".into(),
            host: None,
        })
        .await
        .unwrap();
    store
}

/// `count` confirmed webhook subscribers of the whole city's disaster notices, each at
/// `/slow-hook?s=N` of `receivers` with its own secret.
pub(crate) async fn subscribe_webhooks(store: &Store, receivers: &Receivers, count: usize) {
    let whole_city = Choices::read(&["bousai".into()], "");
    let subscribers: Vec<NewSubscription> = (0..count)
        .map(|i| NewSubscription {
            channel: Channel::Webhook,
            address: receivers.url(&format!("/slow-hook?s={i}")),
            secret: secret(i),
            choices: whole_city.clone(),
            language: "ja".into(),
            confirmed: true,
        })
        .collect();
    let imported = store
        .import_subscriptions(CITY, &subscribers)
        .await
        .unwrap();
    assert_eq!(imported, count as u64);
}

/// Publishes an emergency notice now; returns its id.
pub(crate) async fn send_emergency(store: &Store) -> String {
    store
        .save_notice(
            CITY,
            &emergency(),
            &NoticeSave {
                id: None,
                department_code: "kikikanri",
                publish_at: machi_store::Time::now(),
                expires_at: None,
                actor: "kikikanri@demo.machi.example",
            },
        )
        .await
        .unwrap()
}

async fn restart_mid_broadcast_loses_and_repeats_nothing(backend: Db) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let store = open_city(&db).await;
    let receivers = Receivers::start().await;
    // The server first: `--demo` publishes the demo city's notices when it loads, and they
    // must not reach the subscribers of this test.
    let (mut server, _) = start(&db, &SETTINGS).await;
    subscribe_webhooks(&store, &receivers, SUBSCRIBERS).await;
    let began = Instant::now();
    let notice = send_emergency(&store).await;
    wait_until(Duration::from_secs(30), "the first deliveries", || {
        receivers.count("/slow-hook") >= BEFORE_STOP
    })
    .await;
    let at_sigterm = receivers.count("/slow-hook");
    let exit_took = terminate(&mut server).await;
    let before = receivers.count("/slow-hook");
    assert!(
        before < SUBSCRIBERS,
        "the broadcast was over before the restart ({before} delivered)"
    );
    // An orderly stop: everything that went out was answered and recorded before the exit, so
    // nothing is left under a lease for the next node to send again or to wait for.
    let stopped = webhook_report(&store, &notice).await;
    assert_eq!(
        (stopped.sent, stopped.queued, stopped.retrying, stopped.dead),
        (before as i64, (SUBSCRIBERS - before) as i64, 0, 0),
        "after the stop, every delivery that arrived is recorded as sent and the rest wait"
    );

    let (mut restarted, _) = start(&db, &SETTINGS).await;
    wait_until(Duration::from_secs(120), "every subscriber", || {
        distinct_deliveries(&receivers.at("/slow-hook")).len() >= SUBSCRIBERS
    })
    .await;
    let delivered_in = began.elapsed();
    // A repeat would come after the last new one: give it the time to show.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while webhook_report(&store, &notice).await.sent < SUBSCRIBERS as i64
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let received = receivers.at("/slow-hook");
    assert_eq!(received.len(), SUBSCRIBERS, "requests in total");
    assert_eq!(
        distinct_deliveries(&received).len(),
        SUBSCRIBERS,
        "distinct Machi-Delivery ids"
    );
    let addresses: HashSet<&str> = received.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(addresses.len(), SUBSCRIBERS, "subscribers reached");
    received.iter().for_each(assert_signed);
    let report = webhook_report(&store, &notice).await;
    assert_eq!(
        (report.sent, report.queued, report.retrying, report.dead),
        (SUBSCRIBERS as i64, 0, 0, 0),
        "the delivery report"
    );
    let first = received.iter().map(|r| r.at).min().unwrap();
    let last = received.iter().map(|r| r.at).max().unwrap();
    println!(
        "{backend:?}: {at_sigterm} of {SUBSCRIBERS} delivered at SIGTERM, {before} when machi had \
         exited ({} ms after the signal), {} after the restart; {} requests, {} distinct ids; \
         first to last delivery {:.1} s, all delivered {:.1} s after the notice was saved",
        exit_took.as_millis(),
        SUBSCRIBERS - before,
        received.len(),
        distinct_deliveries(&received).len(),
        (last - first).as_secs_f64(),
        delivered_in.as_secs_f64(),
    );

    terminate(&mut restarted).await;
    receivers.stop();
    store.close().await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_restart_mid_broadcast_loses_and_repeats_nothing() {
    restart_mid_broadcast_loses_and_repeats_nothing(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_mid_broadcast_loses_and_repeats_nothing() {
    restart_mid_broadcast_loses_and_repeats_nothing(Db::Postgres).await;
}

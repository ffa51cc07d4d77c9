//! Delivery leases: a node that dies mid-send leaves its batch leased, and another worker takes
//! it again, with the same delivery ids, once the lease runs out.

use crate::harness::{TestApp, CITY};
use crate::on_both_backends;

use super::{publish, WRITER};

/// A node that dies mid-send leaves its batch leased; the lease is renewed while a batch is
/// being sent, and once it runs out another worker takes the batch again, same delivery ids.
async fn a_dead_nodes_batch_goes_to_another_worker_after_its_lease(app: &TestApp) {
    use machi_core::subscriptions::{Channel, Choices};
    let subscribers: Vec<_> = (0..5)
        .map(|i| machi_store::subscriptions::NewSubscription {
            channel: Channel::Webhook,
            address: format!("https://hook{i}.example.jp/"),
            secret: "s".repeat(64),
            choices: Choices::read(&["bousai".into()], ""),
            language: "ja".into(),
            confirmed: true,
        })
        .collect();
    app.store
        .import_subscriptions(CITY, &subscribers)
        .await
        .unwrap();
    app.create_staff(WRITER, "staff", Some("kikikanri")).await;
    let mut staff = app.sign_in(WRITER).await;
    publish(
        &mut staff,
        &[
            ("title_ja", "避難所の開設"),
            ("body_ja", "x"),
            ("category", "bousai"),
            ("urgency", "emergency"),
            ("confirm_send", "1"),
        ],
    )
    .await;
    // A worker claims the batch and dies without recording anything.
    let first = app
        .store
        .claim_deliveries(Channel::Webhook, 100)
        .await
        .unwrap();
    assert_eq!(first.len(), 5);
    assert!(
        app.store
            .claim_deliveries(Channel::Webhook, 100)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    let ids: Vec<i64> = first.iter().map(|d| d.id).collect();
    app.store.renew_lease(&ids).await.unwrap();
    assert!(
        app.store
            .claim_deliveries(Channel::Webhook, 100)
            .await
            .unwrap()
            .is_empty(),
        "renewed"
    );
    // The lease runs out (moved into the past here instead of waiting a minute).
    let pool = sqlx::AnyPool::connect(&app.database_url()).await.unwrap();
    sqlx::query("UPDATE deliveries SET next_attempt_at = '2000-01-01T00:00:00.000000Z' WHERE state = 'queued'")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let again = app
        .store
        .claim_deliveries(Channel::Webhook, 100)
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|d| d.id).collect::<Vec<_>>(),
        ids,
        "the same deliveries, same ids"
    );
    assert!(again.iter().all(|d| d.attempts == 2));
}

on_both_backends!(a_dead_nodes_batch_goes_to_another_worker_after_its_lease);

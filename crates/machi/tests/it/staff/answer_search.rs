//! Staff find an application by words in its answers, through the inbox's index on both
//! databases: a name in kana of any width, a phone number with or without hyphens, several
//! words at once; applications stored before the index existed are indexed when asked.

use serde_json::json;

use crate::harness::TestApp;
use crate::on_both_backends;

use super::{resident_applies, staff_of_the_demo_city, KOSODATE_PROCEDURE, MANAGER};

async fn staff_find_applications_by_words_in_the_answers(app: &TestApp) {
    staff_of_the_demo_city(app).await;
    let (yamada, _) = resident_applies(app).await;
    let response = app
        .apply_example_with(
            KOSODATE_PROCEDURE,
            json!({
                "claimant_name": "佐藤 一郎", "claimant_kana": "サトウ　イチロウ",
                "phone": "06-6123-4567", "email": "Ichiro.Sato@example.jp",
                "spouse_name": "佐藤 花", "child_name": "佐藤 蓮", "child_kana": "サトウ　レン",
                "account_holder_kana": "サトウ　イチロウ",
            }),
        )
        .await;
    assert_eq!(response.status(), 201);
    let created: serde_json::Value = response.json().await.unwrap();
    let sato = created["receipt_number"].as_str().unwrap().to_string();
    let mut manager = app.sign_in(MANAGER).await;
    let cases: [(&str, &[&String]); 12] = [
        ("やまだ", &[&yamada]),
        ("ｻﾄｳ ｲﾁﾛｳ", &[&sato]),
        ("0661234567", &[&sato]),
        ("０９０ー１２３４", &[&yamada]),
        ("山田 花子", &[&yamada]),
        ("山田 一郎", &[]),
        ("ICHIRO.sato", &[&sato]),
        ("example.jp", &[&yamada, &sato]),
        ("中央町1丁目", &[&yamada, &sato]),
        ("子山", &[]),
        ("山", &[&yamada]),
        ("佐藤 Q", &[]),
    ];
    for (typed, expected) in cases {
        let page = manager.get_html(&format!("/staff/inbox?q={typed}")).await;
        for receipt in [&yamada, &sato] {
            assert_eq!(
                page.contains(&format!(">{receipt}</a>")),
                expected.contains(&receipt),
                "searching {typed:?} for {receipt}"
            );
        }
    }

    // A search pages newest first like the rest of the inbox, the cursor carrying on.
    let third = app.apply_example(KOSODATE_PROCEDURE).await;
    assert_eq!(third.status(), 201);
    let third: serde_json::Value = third.json().await.unwrap();
    let mut query = machi_store::review::InboxQuery {
        department: "kosodate".into(),
        text: "example.jp".into(),
        limit: 2,
        ..Default::default()
    };
    let first_page = app.store.inbox(crate::harness::CITY, &query).await.unwrap();
    let shown: Vec<&str> = first_page
        .iter()
        .map(|i| i.receipt_number.as_str())
        .collect();
    assert_eq!(
        shown,
        [third["receipt_number"].as_str().unwrap(), sato.as_str()]
    );
    query.after = first_page.last().map(|i| i.cursor());
    let next_page = app.store.inbox(crate::harness::CITY, &query).await.unwrap();
    let shown: Vec<&str> = next_page
        .iter()
        .map(|i| i.receipt_number.as_str())
        .collect();
    assert_eq!(shown, [yamada.as_str()]);
    query.oldest_first = true;
    query.after = None;
    let oldest = app.store.inbox(crate::harness::CITY, &query).await.unwrap();
    assert_eq!(oldest[0].receipt_number, yamada);

    // Applications whose answers were never indexed (stored by an older machi) are indexed
    // by the catch-up (which the store runs when it opens while the migration marks a backlog).
    let forget = match app.store.backend() {
        machi_store::Backend::Sqlite => {
            "DELETE FROM application_search_terms; DELETE FROM application_search"
        }
        machi_store::Backend::Postgres => "DELETE FROM application_search",
    };
    sqlx::raw_sql(forget)
        .execute(app.store.pool())
        .await
        .unwrap();
    let lost = manager.get_html("/staff/inbox?q=やまだ").await;
    assert!(!lost.contains(&format!(">{yamada}</a>")));
    assert_eq!(app.store.index_unindexed_answers().await.unwrap(), 3);
    assert_eq!(app.store.index_unindexed_answers().await.unwrap(), 0);
    let found = manager.get_html("/staff/inbox?q=やまだ").await;
    assert!(found.contains(&format!(">{yamada}</a>")));
    assert!(!found.contains(&format!(">{sato}</a>")));
}

on_both_backends!(staff_find_applications_by_words_in_the_answers);

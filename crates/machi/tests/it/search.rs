//! The search over everything a resident looks for: notices (only while residents can see
//! them) and open datasets beside procedures and the FAQ, each change found by the next search;
//! and "did you mean" for a name typed a little wrong.

use chrono::{Duration, Utc};
use machi_core::notices::{NoticeDraft, Urgency};
use machi_core::opendata::catalog::DatasetInput;
use machi_core::procedures::Localized;
use machi_store::notices::NoticeSave;
use machi_store::Time;
use serde_json::Value;

use crate::harness::{TestApp, CITY};
use crate::on_both_backends;

on_both_backends!(
    notices_and_datasets_are_found_while_residents_can_see_them,
    a_mistyped_name_is_offered_corrected,
);

fn draft(title: &str, body: &str) -> NoticeDraft {
    NoticeDraft {
        title: Localized::new(title, ""),
        body: Localized::new(body, ""),
        categories: vec!["event".into()],
        areas: Vec::new(),
        urgency: Urgency::Normal,
        evacuation: None,
    }
}

/// Saves a notice shown from `publish` (hours from now) until `expires`; returns its id.
async fn notice(
    app: &TestApp,
    id: Option<&str>,
    draft: &NoticeDraft,
    publish: i64,
    expires: Option<i64>,
) -> String {
    let at = |hours: i64| Time::from(Utc::now() + Duration::hours(hours));
    app.store
        .save_notice(
            CITY,
            draft,
            &NoticeSave {
                id,
                department_code: "kikikanri",
                publish_at: at(publish),
                expires_at: expires.map(at),
                actor: "test",
            },
        )
        .await
        .unwrap()
}

/// `(type, id, url)` of each result.
async fn found(app: &TestApp, query: &str) -> Vec<(String, String, String)> {
    let page = app.get_json(&format!("/api/v1/search?{query}")).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let text = |key: &str| i[key].as_str().unwrap().to_string();
            (text("type"), text("id"), text("url"))
        })
        .collect()
}

async fn notices_and_datasets_are_found_while_residents_can_see_them(app: &TestApp) {
    let pool = notice(
        app,
        None,
        &draft(
            "市民プール開放のお知らせ",
            "夏休みの間、市民プールを開放します。",
        ),
        -1,
        None,
    )
    .await;
    notice(
        app,
        None,
        &draft("花火大会の開催について", "8月に花火大会を開きます。"),
        24,
        None,
    )
    .await;
    notice(
        app,
        None,
        &draft("図書館の臨時休館", "図書館は点検のため休館します。"),
        -3,
        Some(-1),
    )
    .await;
    let pools = found(app, "q=プール&type=notice").await;
    assert_eq!(pools.len(), 1, "{pools:?}");
    assert_eq!(pools[0].1, pool);
    assert!(
        pools[0].2.ends_with(&format!("/notices/{pool}")),
        "{pools:?}"
    );
    // Scheduled for tomorrow, or expired: not found.
    assert!(found(app, "q=花火大会").await.is_empty());
    assert!(found(app, "q=図書館の臨時休館").await.is_empty());
    // A changed notice is found by its new words, and an expiry set in the past takes it out.
    let renamed = draft("市民プールの開放時間", "午前9時から午後5時まで開放します。");
    notice(app, Some(&pool), &renamed, -1, None).await;
    assert_eq!(found(app, "q=開放時間&type=notice").await[0].1, pool);
    notice(app, Some(&pool), &renamed, -1, Some(0)).await;
    assert!(found(app, "q=開放時間&type=notice").await.is_empty());

    // An open dataset, from its title or a tag, until it is deleted.
    let input = DatasetInput {
        name: "bicycle-parking".into(),
        title_ja: "駐輪場一覧".into(),
        notes_ja: "市営駐輪場の所在地と収容台数です。".into(),
        organization: "kikikanri".into(),
        license_id: "CC-BY-4.0".into(),
        tags: vec!["自転車".into()],
        ..DatasetInput::default()
    };
    let dataset = app
        .store
        .save_dataset(CITY, None, &input, "test")
        .await
        .unwrap();
    for query in ["q=駐輪場", "q=自転車&type=dataset"] {
        let datasets = found(app, query).await;
        assert_eq!(datasets[0].0, "dataset", "{query}: {datasets:?}");
        assert!(
            datasets[0]
                .2
                .ends_with("/opendata/datasets/bicycle-parking"),
            "{datasets:?}"
        );
    }
    // The answer desk answers from them too, leading to the dataset's page.
    let asked = app.get_json("/api/v1/ask?q=駐輪場の場所").await;
    let answer = &asked["answers"][0];
    assert_eq!(answer["kind"], "dataset", "{asked}");
    assert_eq!(
        answer["links"][0]["href"],
        "/opendata/datasets/bicycle-parking"
    );
    assert!(app
        .store
        .delete_dataset(CITY, &dataset.id, "test")
        .await
        .unwrap());
    assert!(found(app, "q=駐輪場&type=dataset").await.is_empty());
}

async fn a_mistyped_name_is_offered_corrected(app: &TestApp) {
    let page: Value = app.get_json("/api/v1/search?q=住民表がほしい").await;
    assert_eq!(page["suggestion"], "住民票がほしい", "{page}");
    let typed_right = app.get_json("/api/v1/search?q=住民票がほしい").await;
    assert!(typed_right.get("suggestion").is_none(), "{typed_right}");
    // Only when the correction finds something of the type asked.
    let faq_only = app
        .get_json("/api/v1/search?q=住民表がほしい&type=dataset")
        .await;
    assert!(faq_only.get("suggestion").is_none(), "{faq_only}");
    let asked = app.get_json("/api/v1/ask?q=こせきとおほん").await;
    assert_eq!(asked["suggestion"], "こせきとうほん", "{asked}");
    // The pages offer it as a link.
    let catalog = app
        .get("/procedures?q=印艦登録")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        catalog.contains("/procedures?q=%E5%8D%B0%E9%91%91%E7%99%BB%E9%8C%B2"),
        "{catalog}"
    );
    let desk = app.get("/ask?q=住民表がほしい").await.text().await.unwrap();
    assert!(desk.contains("もしかして"), "{desk}");
}

//! The procedure catalog: search, filters, detail, pagination.

use crate::harness::TestApp;
use crate::on_both_backends;

on_both_backends!(
    hiragana_and_half_width_kana_find_the_child_allowance,
    filters_narrow_the_catalog,
    a_procedure_comes_with_its_form_and_example,
    pages_of_results_follow_the_cursor,
    bad_search_parameters_are_problems_not_errors,
    each_city_sees_only_its_own_catalog_and_applications,
    the_search_api_ranks_what_residents_type_and_follows_changes,
);

async fn names(app: &TestApp, query: &str) -> Vec<String> {
    let page = app.get_json(&format!("/api/v1/procedures?{query}")).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"]["ja"].as_str().unwrap().to_string())
        .collect()
}

async fn hiragana_and_half_width_kana_find_the_child_allowance(app: &TestApp) {
    let hiragana = names(app, "q=じどうてあて&limit=200").await;
    let half_width = names(app, "q=ｼﾞﾄﾞｳﾃｱﾃ&limit=200").await;
    let katakana = names(app, "q=ジドウテアテ&limit=200").await;
    assert!(!hiragana.is_empty());
    assert_eq!(hiragana, half_width);
    assert_eq!(hiragana, katakana);
    // Ranked: the child allowance first; everything found is about 児童 and 手当.
    assert!(hiragana[0].contains("児童手当"), "{hiragana:?}");
    assert!(
        hiragana
            .iter()
            .all(|n| n.contains("児童") && n.contains("手当")),
        "{hiragana:?}"
    );
    // Kanji also matches keywords, which have no reading; every kana hit is a kanji hit.
    let kanji = names(app, "q=児童手当&limit=200").await;
    assert!(
        hiragana.len() >= 5 && hiragana.iter().all(|n| kanji.contains(n)),
        "{hiragana:?} {kanji:?}"
    );
}

async fn filters_narrow_the_catalog(app: &TestApp) {
    let all = names(app, "limit=200").await;
    assert_eq!(all.len(), 48);
    let nursing = names(app, "life_event=nursing_care&limit=200").await;
    assert_eq!(nursing.len(), 12, "{nursing:?}");
    let online = app.online_procedure_ids().await;
    assert!(
        online.len() < all.len() && online.len() >= 30,
        "{}",
        online.len()
    );
    let page = app
        .get_json("/api/v1/procedures?department=shimin&limit=200")
        .await;
    let items = page["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|p| p["department"]["code"] == "shimin"));
    assert!(names(app, "q=住民票%20写し")
        .await
        .iter()
        .any(|n| n.contains("住民票の写し")));
    assert!(names(app, "q=存在しない手続xyz").await.is_empty());
}

async fn a_procedure_comes_with_its_form_and_example(app: &TestApp) {
    let detail = app.procedure("juminhyo").await;
    assert_eq!(detail["fee_yen"], 300);
    assert_eq!(
        detail["form"]["schema"]["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert!(detail["form"]["schema"]["examples"][0].is_object());
    assert!(detail["form"]["ui"]["order"].as_array().unwrap().len() > 3);
    let missing = app.get("/api/v1/procedures/no-such-thing").await;
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.headers()["content-type"],
        "application/problem+json"
    );
}

async fn pages_of_results_follow_the_cursor(app: &TestApp) {
    let mut seen = Vec::new();
    let mut path = "/api/v1/procedures?limit=7".to_string();
    loop {
        let page = app.get_json(&path).await;
        seen.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/procedures?limit=7&cursor={cursor}"),
            None => break,
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(seen.len(), 48);
    assert_eq!(unique.len(), 48);
}

async fn bad_search_parameters_are_problems_not_errors(app: &TestApp) {
    for query in [
        "life_event=party",
        "limit=0",
        "limit=abc",
        "online=maybe",
        "cursor=zz",
    ] {
        let response = app.get(&format!("/api/v1/procedures?{query}")).await;
        assert!(
            response.status().is_client_error(),
            "{query}: {}",
            response.status()
        );
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{query}"
        );
    }
}

async fn each_city_sees_only_its_own_catalog_and_applications(app: &TestApp) {
    use crate::harness::{OTHER_CITY, OTHER_HOST};
    let other = |path: &str| app.client.get(app.url(path)).header("host", OTHER_HOST);
    let page: serde_json::Value = other("/api/v1/procedures?limit=200")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let home = other("/").send().await.unwrap().text().await.unwrap();
    assert!(home.contains("となり市") && !home.contains("デモ市"));
    assert_eq!(
        other("/api/v1/procedures/inu-touroku")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );

    let example = app.procedure("tennyu-yoyaku").await["form"]["schema"]["examples"][0].clone();
    let response = app
        .client
        .post(app.url("/api/v1/procedures/tennyu-yoyaku/applications"))
        .header("host", OTHER_HOST)
        .json(&serde_json::json!({ "answers": example }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let created: serde_json::Value = response.json().await.unwrap();
    let receipt = created["receipt_number"].as_str().unwrap();
    let code = created["access_code"].as_str().unwrap();
    assert_eq!(app.store.count_applications(OTHER_CITY).await.unwrap(), 1);
    assert_eq!(
        app.store
            .count_applications(crate::harness::CITY)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        app.status(receipt, code).await.status(),
        401,
        "the demo city cannot see it: the code opens nothing there"
    );
    let own = other(&format!("/api/v1/applications/{receipt}"))
        .bearer_auth(code)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
}

/// `GET /api/v1/search`: ranked, typed results with their address and matched words; bad
/// parameters are problems; a procedure taken offline is gone from the next search.
async fn the_search_api_ranks_what_residents_type_and_follows_changes(app: &TestApp) {
    let found = app
        .get_json(
            "/api/v1/search?q=%E4%BD%8F%E6%B0%91%E7%A5%A8%E3%81%8C%E3%81%BB%E3%81%97%E3%81%84",
        )
        .await;
    let first = &found["items"][0];
    assert_eq!(first["id"], "juminhyo", "住民票がほしい: {found}");
    assert_eq!(first["type"], "procedure");
    assert!(first["url"]
        .as_str()
        .unwrap()
        .ends_with("/procedures/juminhyo"));
    assert!(first["plain_title"]["ja"]
        .as_str()
        .unwrap()
        .contains("住民票"));
    assert!(first["score"].as_f64().unwrap() > 0.0);
    assert_eq!(first["matched"][0], "住民票がほしい");
    let none = app
        .get_json("/api/v1/search?q=%E4%BD%8F%E6%B0%91%E7%A5%A8&type=faq")
        .await;
    assert!(
        none["items"].as_array().unwrap().is_empty(),
        "no FAQ indexed yet"
    );
    for bad in [
        "/api/v1/search",
        "/api/v1/search?q=x&type=all",
        "/api/v1/search?q=x&limit=0",
    ] {
        let response = app.get(bad).await;
        assert_eq!(response.status(), 422, "{bad}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{bad}"
        );
    }
    // Taken offline, it is gone from the very next search.
    assert!(app
        .store
        .set_published(crate::harness::CITY, "juminhyo", false, "test")
        .await
        .unwrap());
    let after = app
        .get_json(
            "/api/v1/search?q=%E4%BD%8F%E6%B0%91%E7%A5%A8%E3%81%8C%E3%81%BB%E3%81%97%E3%81%84",
        )
        .await;
    assert!(
        !after["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == "juminhyo"),
        "{after}"
    );
    // Published again, it is back; an FAQ entry added is found by the next search too. Each
    // is applied to the index as it stands (the index is not built again).
    assert!(app
        .store
        .set_published(crate::harness::CITY, "juminhyo", true, "test")
        .await
        .unwrap());
    let back = app.get_json("/api/v1/search?q=住民票がほしい").await;
    assert_eq!(back["items"][0]["id"], "juminhyo", "{back}");
    let entry = machi_core::faq::FaqEntry {
        id: "penguin".into(),
        department_code: "kankyo".into(),
        department: "環境課".into(),
        question: machi_core::procedures::Localized::new(
            "ペンギンは飼えますか",
            "Can I keep a penguin?",
        ),
        answer: machi_core::procedures::Localized::new("飼えません。", "No."),
        procedures: Vec::new(),
        keywords: Vec::new(),
    };
    app.store
        .replace_faq(crate::harness::CITY, &[entry], "test")
        .await
        .unwrap();
    let faq = app.get_json("/api/v1/search?q=ペンギン&type=faq").await;
    assert_eq!(faq["items"][0]["id"], "penguin", "{faq}");
}

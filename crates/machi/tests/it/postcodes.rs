//! 郵便番号 → 住所: the national postcode file (Shift_JIS KEN_ALL.CSV, with its notes and
//! continued lines) imported by `machi import postcodes`, the lookup API, and the forms'
//! 「住所を検索」 button without JavaScript, which fills the address and keeps every other
//! answer.

use crate::harness::TestApp;
use crate::on_both_backends;

/// Rows in KEN_ALL.CSV's 15 columns.
fn ken_all(rows: &[(&str, &str)]) -> Vec<u8> {
    let text: String = rows
        .iter()
        .map(|(postcode, town)| {
            format!(
                "27999,\"590  \",\"{postcode}\",\"ｵｵｻｶﾌ\",\"ﾃﾞﾓｼ\",\"ｶﾅ\",\"大阪府\",\"デモ市\",\"{town}\",0,0,0,0,0,0\r\n"
            )
        })
        .collect();
    encoding_rs::SHIFT_JIS.encode(&text).0.into_owned()
}

fn import(app: &TestApp, bytes: &[u8]) -> std::process::Output {
    let file = app.db.data_dir.path().join("KEN_ALL.CSV");
    std::fs::write(&file, bytes).unwrap();
    app.db
        .machi()
        .args(["import", "postcodes"])
        .arg(&file)
        .output()
        .unwrap()
}

async fn the_national_file_is_imported_and_looked_up(app: &TestApp) {
    let imported = import(
        app,
        &ken_all(&[
            ("5900000", "以下に掲載がない場合"),
            ("5900901", "中央町（１丁目）"),
            ("5900980", "港町（次のビルを除く"),
            ("5900980", "「デモ港ビル」）"),
            ("5900990", "浜町"),
            ("5900990", "牧町"),
        ]),
    );
    assert!(imported.status.success(), "{imported:?}");
    assert!(String::from_utf8_lossy(&imported.stdout).contains("imported 5 postcode areas"));

    let found = app.get("/api/v1/postcodes/590-0901").await;
    assert_eq!(found.status(), 200);
    let found: serde_json::Value = found.json().await.unwrap();
    assert_eq!(found["areas"][0]["address"], "大阪府デモ市中央町");
    let wide = app
        .get_json("/api/v1/postcodes/%EF%BC%95%EF%BC%99%EF%BC%90%EF%BC%8D%EF%BC%90%EF%BC%99%EF%BC%98%EF%BC%90")
        .await;
    assert_eq!(
        wide["areas"][0]["town"], "港町",
        "full-width digits, notes dropped"
    );
    let whole = app.get_json("/api/v1/postcodes/5900000").await;
    assert_eq!(whole["areas"][0]["town"], "", "the rest of the city");
    let bad = app.get("/api/v1/postcodes/590-09").await;
    assert_eq!(bad.status(), 422);
    assert_eq!(bad.headers()["content-type"], "application/problem+json");
    assert_eq!(app.get("/api/v1/postcodes/1000001").await.status(), 404);

    // A broken file is refused with its line, and the table stays as it was.
    let refused = import(app, &ken_all(&[("5900901", "中央町"), ("59009", "北町")]));
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("line 2"),
        "{refused:?}"
    );
    assert_eq!(app.store.postcode_count().await.unwrap(), 5);
}

async fn the_find_address_button_works_without_javascript(app: &TestApp) {
    let imported = import(
        app,
        &ken_all(&[
            ("5900901", "中央町（１丁目）"),
            ("5900990", "浜町"),
            ("5900990", "牧町"),
        ]),
    );
    assert!(imported.status.success(), "{imported:?}");
    let form = app
        .get("/procedures/jidou-teate-nintei/apply")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        form.contains("name=\"find_address\" value=\"postcode>address\""),
        "the postcode has a 住所を検索 button that names the address"
    );
    let pressed = |postcode: &'static str, address: &'static str| {
        reqwest::multipart::Form::new()
            .text("claimant_name", "郵便 太郎")
            .text("postcode", postcode)
            .text("address", address)
            .text("find_address", "postcode>address")
    };
    let page = app
        .post_multipart(
            "/procedures/jidou-teate-nintei/apply",
            pressed("５９０－０９０１", ""),
        )
        .await;
    assert_eq!(page.status(), 200, "a lookup is not an error");
    let page = page.text().await.unwrap();
    assert!(page
        .contains("id=\"f-address\" name=\"address\" type=\"text\" value=\"大阪府デモ市中央町\""));
    assert!(page.contains("住所を入力しました"));
    assert!(
        page.contains("value=\"郵便 太郎\""),
        "the other answers stay"
    );
    assert!(!page.contains("error-summary"));

    let several = app
        .post_multipart(
            "/procedures/jidou-teate-nintei/apply",
            pressed("590-0990", "前の住所"),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(several.contains("value=\"大阪府デモ市\""));
    assert!(several.contains("浜町、牧町") && several.contains("「前の住所」を置き換えました"));

    // The same in a life event's combined form, where the address is asked once.
    let bundle = app
        .post_multipart(
            "/life-events/birth",
            reqwest::multipart::Form::new()
                .text("postal-code", "5900901")
                .text("name", "郵便 花子")
                .text("find_address", "postal-code>street-address"),
        )
        .await;
    assert_eq!(bundle.status(), 200);
    let bundle = bundle.text().await.unwrap();
    assert!(bundle.contains("name=\"street-address\" type=\"text\" value=\"大阪府デモ市中央町\""));
    assert!(bundle.contains("value=\"郵便 花子\""));
}

on_both_backends!(
    the_national_file_is_imported_and_looked_up,
    the_find_address_button_works_without_javascript,
);

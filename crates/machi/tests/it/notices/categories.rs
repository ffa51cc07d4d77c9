//! えらべる化 with the city's own categories: an administrator adds 公園・緑地 (and renames one);
//! staff write in it, residents filter and subscribe by it, feeds and CAP carry it; a category
//! in use cannot be removed, and a bad list is refused with the reason.

use super::{write, WRITER};
use crate::harness::{StaffClient, TestApp};

const ADMIN: &str = "admin@city.test";

/// The categories form as the page shows it, with `extra` rows added (id, ja, en, cap).
async fn save(
    admin: &mut StaffClient,
    rows: &[(&str, &str, &str, &str)],
    extra: &[(&str, &str)],
) -> reqwest::Response {
    let mut form: Vec<(&str, &str)> = Vec::new();
    for (id, ja, en, cap) in rows {
        form.extend([("id", *id), ("ja", *ja), ("en", *en), ("cap", *cap)]);
    }
    form.extend_from_slice(extra);
    admin
        .submit("/staff/categories", "/staff/categories", &form)
        .await
}

const DEFAULTS: [(&str, &str, &str, &str); 7] = [
    ("bousai", "防災", "Disaster prevention", "Safety"),
    ("kosodate", "子育て・教育", "Children and schools", "Other"),
    ("kenko", "健康・福祉", "Health and welfare", "Health"),
    ("gomi", "ごみ・環境", "Waste and environment", "Env"),
    ("zei", "税・保険", "Tax and insurance", "Other"),
    ("event", "イベント", "Events", "Other"),
    ("douro", "道路・交通", "Roads and traffic", "Transport"),
];

async fn a_city_adds_its_own_category(app: &TestApp) {
    app.store
        .ensure_department(crate::harness::CITY, "johoseisaku", "情報政策課", "")
        .await
        .unwrap();
    app.create_staff(ADMIN, "admin", Some("johoseisaku")).await;
    app.create_staff(WRITER, "staff", Some("kikikanri")).await;
    let mut admin = app.sign_in(ADMIN).await;
    let page = admin.get_html("/staff/categories").await;
    assert!(page.contains("value=\"bousai\"") && page.contains("value=\"douro\""));

    // A bad list: nothing changes, and the page says why.
    let mut bad = DEFAULTS.to_vec();
    bad.push(("Kouen!", "", "", "Weather"));
    let refused = save(&mut admin, &bad, &[]).await;
    assert_eq!(refused.status(), 422);
    let text = refused.text().await.unwrap();
    assert!(
        text.contains("半角英小文字") && text.contains("CAP分類"),
        "{text}"
    );

    let mut rows = DEFAULTS.to_vec();
    rows.push(("kouen", "公園・緑地", "Parks and green spaces", "Env"));
    let saved = save(&mut admin, &rows, &[]).await;
    assert_eq!(saved.status(), 303);
    let subscribe = app.get("/subscribe").await.text().await.unwrap();
    assert!(subscribe.contains("value=\"kouen\"") && subscribe.contains("公園・緑地"));
    assert!(subscribe.contains("子育て・教育"), "renamed");

    let mut staff = app.sign_in(WRITER).await;
    let written = write(
        &mut staff,
        &[
            ("title_ja", "中央公園の池を清掃します"),
            ("body_ja", "12月10日"),
            ("category", "kouen"),
        ],
    )
    .await;
    assert_eq!(written.status(), 303);
    let unknown = write(
        &mut staff,
        &[("title_ja", "x"), ("body_ja", "x"), ("category", "nothing")],
    )
    .await;
    assert_eq!(unknown.status(), 422);
    let listed = app
        .get("/notices?category=kouen")
        .await
        .text()
        .await
        .unwrap();
    assert!(listed.contains("中央公園の池を清掃します") && listed.contains("公園・緑地"));
    let feed = app
        .get("/feeds/notices.atom?category=kouen")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        feed.contains("term=\"kouen\"") && feed.contains("label=\"公園・緑地\""),
        "{feed}"
    );
    let subscribed = app
        .client
        .post(app.url("/subscribe"))
        .form(&[
            ("category", "kouen"),
            ("channel", "email"),
            ("email", "kouen@example.jp"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(subscribed.status(), 200);

    // In use, it stays; the page says why.
    let removed = save(&mut admin, &rows, &[("remove", "kouen")]).await;
    assert_eq!(removed.status(), 422);
    assert!(removed.text().await.unwrap().contains("削除できません"));
    assert!(app
        .get("/subscribe")
        .await
        .text()
        .await
        .unwrap()
        .contains("value=\"kouen\""));
}

crate::on_both_backends!(a_city_adds_its_own_category);

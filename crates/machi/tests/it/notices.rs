//! Notices: staff write them (Markdown, categories, areas, urgency, schedule); residents see
//! only what is published and not expired, filtered by category and area, on the site and in
//! an Atom feed that a standard feed parser (feed-rs) reads.

use crate::harness::{TestApp, CITY};
use crate::on_both_backends;

const WRITER: &str = "bousai@kikikanri.test";
const OUTSIDER: &str = "tanto@shimin.test";

async fn write(
    staff: &mut crate::harness::StaffClient,
    form: &[(&str, &str)],
) -> reqwest::Response {
    staff
        .submit("/staff/notices/new", "/staff/notices/new", form)
        .await
}

async fn staff_publish_and_residents_choose_what_concerns_them(app: &TestApp) {
    app.create_staff(WRITER, "staff", Some("kikikanri")).await;
    app.create_staff(OUTSIDER, "staff", Some("shimin")).await;
    let mut staff = app.sign_in(WRITER).await;

    // Bad input comes back with the reason, and nothing is saved.
    let empty = write(
        &mut staff,
        &[("title_ja", " "), ("body_ja", "x"), ("category", "bousai")],
    )
    .await;
    assert_eq!(empty.status(), 422);
    assert!(empty
        .text()
        .await
        .unwrap()
        .contains("件名を入力してください"));
    let bad_time = write(
        &mut staff,
        &[
            ("title_ja", "t"),
            ("body_ja", "x"),
            ("category", "bousai"),
            ("publish_at", "明日の朝"),
        ],
    )
    .await;
    assert_eq!(bad_time.status(), 422);
    let backwards = write(
        &mut staff,
        &[
            ("title_ja", "t"),
            ("body_ja", "x"),
            ("category", "bousai"),
            ("publish_at", "2026-01-02 09:00"),
            ("expires_at", "2026-01-01 09:00"),
        ],
    )
    .await;
    assert_eq!(backwards.status(), 422);
    assert!(app
        .store
        .department_notices(CITY, None)
        .await
        .unwrap()
        .is_empty());

    let alert = write(
        &mut staff,
        &[
            ("title_ja", "北町に避難指示"),
            (
                "body_ja",
                "**北町小学校**へ避難してください。<script>alert(1)</script>",
            ),
            ("category", "bousai"),
            ("areas", "北町、北町二丁目"),
            ("urgency", "emergency"),
        ],
    )
    .await;
    assert_eq!(alert.status(), 303);
    for form in [
        vec![
            ("title_ja", "来年の健診"),
            ("body_ja", "予定です。"),
            ("category", "kenko"),
            ("publish_at", "2099-01-01 09:00"),
        ],
        vec![
            ("title_ja", "終わった催し"),
            ("body_ja", "終了しました。"),
            ("category", "event"),
            ("publish_at", "2020-01-01 09:00"),
            ("expires_at", "2020-01-02 09:00"),
        ],
        vec![
            ("title_ja", "市民まつり"),
            ("body_ja", "全市で開催します。"),
            ("category", "event"),
        ],
    ] {
        assert_eq!(write(&mut staff, &form).await.status(), 303);
    }

    let all = app.get("/notices").await.text().await.unwrap();
    assert!(all.contains("北町に避難指示") && all.contains("市民まつり"));
    assert!(
        !all.contains("来年の健診") && !all.contains("終わった催し"),
        "scheduled and expired are hidden"
    );
    let north = app
        .get("/notices?category=bousai&area=%E5%8C%97%E7%94%BA")
        .await
        .text()
        .await
        .unwrap();
    assert!(north.contains("北町に避難指示"));
    let south = app
        .get("/notices?category=bousai&area=%E5%8D%97%E7%94%BA")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !south.contains("北町に避難指示"),
        "another area does not get it"
    );
    let south_events = app
        .get("/notices?area=%E5%8D%97%E7%94%BA")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        south_events.contains("市民まつり"),
        "a notice for the whole city reaches every area"
    );

    // The Atom feed parses in a standard reader and carries the sanitised body.
    let response = app.get("/feeds/notices.atom?category=bousai").await;
    assert_eq!(
        response.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    let feed = feed_rs::parser::parse(response.bytes().await.unwrap().as_ref()).unwrap();
    assert_eq!(feed.entries.len(), 1);
    let entry = &feed.entries[0];
    assert_eq!(entry.title.as_ref().unwrap().content, "北町に避難指示");
    let body = entry.content.as_ref().unwrap().body.as_ref().unwrap();
    assert!(
        body.contains("<strong>北町小学校</strong>") && !body.contains("<script"),
        "{body}"
    );
    assert_eq!(entry.categories[0].term, "bousai");
    let link = &entry.links[0].href;
    let id = link.rsplit('/').next().unwrap();
    let page = app
        .get(&format!("/notices/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("<strong>北町小学校</strong>") && !page.contains("<script>alert"));

    // Scheduled notices are not reachable by address either; other departments cannot edit.
    let scheduled = app
        .store
        .department_notices(CITY, Some("kikikanri"))
        .await
        .unwrap()
        .into_iter()
        .find(|n| n.draft.title.ja == "来年の健診")
        .unwrap();
    assert_eq!(
        app.get(&format!("/notices/{}", scheduled.id))
            .await
            .status(),
        404
    );
    let mut outsider = app.sign_in(OUTSIDER).await;
    assert_eq!(
        outsider.get(&format!("/staff/notices/{id}")).await.status(),
        403
    );
    let log = app
        .store
        .audit_entries(
            CITY,
            &machi_store::audit::AuditQuery {
                action: "notice.create".into(),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(log.len(), 4);
}

on_both_backends!(staff_publish_and_residents_choose_what_concerns_them);

//! Areas nest: with the city's 町字 list (町 ⊃ 丁目), a resident who chose 中央町1丁目 gets an
//! evacuation order for all of 中央町 by e-mail, in the CAP feed and on the signage of their
//! 丁目; areas outside the list are refused with the list to choose from; the pickers offer
//! the list; and every public page shows a live emergency. `machi import areas` reads the
//! 町字マスター and says what is wrong with a bad file.

use crate::harness::{Db, StaffClient, TestApp, TestDb, CITY};
use crate::on_both_backends;
use crate::smtp_sink::SmtpSink;

const WRITER: &str = "bousai@kikikanri.test";
/// 中央町1丁目 and 中央町, as they travel in a query string.
const CHOME: &str = "%E4%B8%AD%E5%A4%AE%E7%94%BA1%E4%B8%81%E7%9B%AE";
const DEMO_AREAS: &[u8] = include_bytes!("../../demo/areas.csv");

async fn with_the_demo_areas(app: &TestApp) {
    let areas = machi_core::areas::parse_area_list(DEMO_AREAS).unwrap();
    app.store
        .replace_areas(CITY, &areas, "system")
        .await
        .unwrap();
}

/// Subscribes `email` to 防災 notices of `areas` ticked in the picker, and confirms it.
async fn subscribe(
    app: &TestApp,
    sink: &SmtpSink,
    email: &str,
    areas: &[&str],
    mails_before: usize,
) {
    let mut form = vec![
        ("category", "bousai"),
        ("channel", "email"),
        ("email", email),
    ];
    form.extend(areas.iter().map(|a| ("area", *a)));
    let sent = app
        .client
        .post(app.url("/subscribe"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 200);
    let mails = sink.wait_for(mails_before + 1).await;
    let text = mails[mails_before].subject_and_text().1;
    let start = text.find("/subscriptions/").unwrap() + "/subscriptions/".len();
    let id: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_hexdigit())
        .collect();
    let confirmed = app
        .client
        .post(app.url(&format!("/subscriptions/{id}/confirm")))
        .send()
        .await
        .unwrap();
    assert_eq!(confirmed.status(), 303);
}

async fn publish(staff: &mut StaffClient, form: &[(&str, &str)]) -> reqwest::Response {
    staff
        .submit("/staff/notices/new", "/staff/notices/new", form)
        .await
}

async fn a_town_wide_alert_reaches_the_chome_within_it(app: &TestApp) {
    with_the_demo_areas(app).await;
    let sink = SmtpSink::start().await;
    let _workers = sink.workers(&app.store);
    app.create_staff(WRITER, "staff", Some("kikikanri")).await;
    let mut staff = app.sign_in(WRITER).await;

    // The pickers offer the list; what is not in it is refused, saying what is wrong.
    let form = app.get("/subscribe").await.text().await.unwrap();
    assert!(form.contains("value=\"中央町1丁目\"") && form.contains("<summary>中央町</summary>"));
    assert!(staff
        .get_html("/staff/notices/new")
        .await
        .contains("value=\"北町4丁目\""));
    let unknown = app
        .client
        .post(app.url("/subscribe"))
        .form(&[
            ("category", "bousai"),
            ("channel", "email"),
            ("email", "x@example.jp"),
            ("area", "中央町9丁目"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 422);
    assert!(unknown.text().await.unwrap().contains("中央町9丁目"));
    let refused = publish(
        &mut staff,
        &[
            ("title_ja", "x"),
            ("body_ja", "x"),
            ("category", "bousai"),
            ("area", "存在しない町"),
        ],
    )
    .await;
    assert_eq!(refused.status(), 422);

    subscribe(app, &sink, "chome@example.jp", &["中央町1丁目"], 0).await;
    subscribe(app, &sink, "kita@example.jp", &["北町"], 1).await;
    subscribe(app, &sink, "town@example.jp", &["中央町"], 2).await;

    // An evacuation order for all of 中央町, typed as staff type it.
    let ordered = publish(
        &mut staff,
        &[
            ("title_ja", "中央町に避難指示"),
            ("body_ja", "警戒レベル4。直ちに避難してください。"),
            ("category", "bousai"),
            ("urgency", "emergency"),
            ("area", "中央町"),
            ("confirm_send", "1"),
        ],
    )
    .await;
    assert_eq!(ordered.status(), 303);
    // A notice for one 丁目 reaches whoever chose its 町.
    let local = publish(
        &mut staff,
        &[
            ("title_ja", "中央町一丁目で断水"),
            ("body_ja", "x"),
            ("category", "bousai"),
            ("areas", "中央町一丁目"),
        ],
    )
    .await;
    assert_eq!(local.status(), 303);
    // Three opt-ins, then each notice to the 丁目 and the 町 subscriber (not to 北町).
    let mails = sink.wait_for(3 + 2 + 2).await;
    let received = |to: &str, title: &str| {
        mails
            .iter()
            .any(|m| m.to == [to.to_string()] && m.subject_and_text().0.contains(title))
    };
    assert!(
        received("chome@example.jp", "中央町に避難指示"),
        "the 丁目 gets the 町's alert"
    );
    assert!(received("town@example.jp", "中央町に避難指示"));
    assert!(
        received("town@example.jp", "中央町一丁目で断水"),
        "the 町 gets its 丁目's notice"
    );
    assert!(
        received("chome@example.jp", "中央町一丁目で断水"),
        "一丁目 is 1丁目"
    );
    assert!(!mails.iter().any(
        |m| m.to == ["kita@example.jp".to_string()] && !m.subject_and_text().0.contains("登録")
    ));

    // The CAP feed and the lobby screen of the 丁目 show it; those of 北町 do not.
    let cap = app
        .get(&format!("/feeds/alerts.cap?area={CHOME}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(cap.contains("中央町に避難指示"), "{cap}");
    let signage = app
        .get(&format!("/signage?area={CHOME}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(signage.contains("中央町に避難指示"));
    let north = app
        .get("/signage?area=%E5%8C%97%E7%94%BA")
        .await
        .text()
        .await
        .unwrap();
    assert!(!north.contains("中央町に避難指示"));

    // While it is live, every public page announces it.
    for path in ["/", "/procedures", "/opendata", "/status"] {
        let page = app.get(path).await.text().await.unwrap();
        assert!(
            page.contains("class=\"emergency-banner\"") && page.contains("中央町に避難指示"),
            "{path}: {}",
            page.chars().skip(900).take(300).collect::<String>()
        );
    }
    let staff_page = staff.get_html("/staff/notices").await;
    assert!(
        !staff_page.contains("class=\"emergency-banner\""),
        "not on staff pages"
    );
}

async fn machi_import_areas_reads_the_registry_and_names_bad_lines(db: Db) {
    let Some(db) = TestDb::new(db).await else {
        return;
    };
    let dir = db.data_dir.path().to_path_buf();
    let good = dir.join("mt_town_city279994.csv");
    std::fs::write(&good, DEMO_AREAS).unwrap();
    let output = db
        .machi()
        .args(["import", "areas"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listed = machi_core::areas::parse_area_list(DEMO_AREAS)
        .unwrap()
        .len();
    assert!(String::from_utf8_lossy(&output.stdout).contains(&format!("imported {listed} areas")));
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "町名,丁目\n北町,1丁目\n北町,一丁目\n").unwrap();
    let output = db
        .machi()
        .args(["import", "areas"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("line 3") && stderr.contains("twice"),
        "{stderr}"
    );
    let store = machi_store::Store::open(db.url.as_deref(), dir)
        .await
        .unwrap();
    assert_eq!(
        store.areas("demo").await.unwrap().len(),
        listed,
        "the good list stays"
    );
    store.close().await;
}

on_both_backends!(a_town_wide_alert_reaches_the_chome_within_it,);

#[tokio::test]
async fn machi_import_areas_sqlite() {
    machi_import_areas_reads_the_registry_and_names_bad_lines(Db::Sqlite).await;
}

#[tokio::test]
async fn machi_import_areas_postgres() {
    machi_import_areas_reads_the_registry_and_names_bad_lines(Db::Postgres).await;
}

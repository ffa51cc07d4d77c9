//! よくある質問: `machi import faq` reads a city's spreadsheet (Shift_JIS here, as Excel saves
//! it) and names the bad lines of a bad one, keeping what the city had; residents read the
//! answers at /faq with links into the procedures; the search finds them
//! (`/api/v1/search?type=faq`) as soon as they are imported; `GET /api/v1/faq` lists them.

mod editing;

use crate::harness::{Db, TestApp, TestDb, CITY};
use crate::on_both_backends;

const DEMO_FAQ: &[u8] = include_bytes!("../../demo/faq.csv");

async fn the_demo_faq_is_read_searched_and_linked(app: &TestApp) {
    let entries = machi_core::faq::parse_faq_csv(DEMO_FAQ).unwrap();
    assert!(entries.len() >= 60, "at least 60 demo questions");
    let before = app
        .get_json("/api/v1/search?q=%E3%82%BF%E3%83%B3%E3%82%B9&type=faq")
        .await;
    assert!(before["items"].as_array().unwrap().is_empty());
    app.store.replace_faq(CITY, &entries, "test").await.unwrap();

    // タンス: the answer about 粗大ごみ, found by the next search.
    let found = app.get_json("/api/v1/search?q=%E3%82%BF%E3%83%B3%E3%82%B9%E3%82%92%E6%8D%A8%E3%81%A6%E3%81%9F%E3%81%84&type=faq").await;
    let first = &found["items"][0];
    assert_eq!(first["type"], "faq", "{found}");
    assert!(
        first["id"].as_str().unwrap().starts_with("gomi-"),
        "{found}"
    );
    assert!(first["url"].as_str().unwrap().contains("/faq#gomi-"));
    // Everything: procedures and answers together.
    let both = app
        .get_json("/api/v1/search?q=%E5%85%90%E7%AB%A5%E6%89%8B%E5%BD%93&limit=20")
        .await;
    let types: Vec<&str> = both["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"faq") && types.contains(&"procedure"),
        "{types:?}"
    );

    let page = app.get("/faq").await.text().await.unwrap();
    assert!(page.contains("id=\"gomi-sodai\"") && page.contains("href=\"/procedures/sodai-gomi\""));
    let list = app.get_json("/api/v1/faq?department=gomi").await;
    let items = list["items"].as_array().unwrap();
    assert!(!items.is_empty() && items.iter().all(|i| i["department_code"] == "gomi"));
}

async fn machi_import_faq_reads_shift_jis_and_names_bad_lines(db: Db) {
    let Some(db) = TestDb::new(db).await else {
        return;
    };
    let dir = db.data_dir.path().to_path_buf();
    let text = String::from_utf8(DEMO_FAQ.to_vec()).unwrap();
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
    let good = dir.join("faq.csv");
    std::fs::write(&good, &sjis).unwrap();
    let output = db
        .machi()
        .args(["import", "faq"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "番号,質問,回答\nok-1,質問,回答\nBAD,,回答\n").unwrap();
    let output = db
        .machi()
        .args(["import", "faq"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("line 3"), "{stderr}");
    let store = machi_store::Store::open(db.url.as_deref(), dir)
        .await
        .unwrap();
    let kept = store.faq("demo").await.unwrap();
    assert_eq!(
        kept.len(),
        machi_core::faq::parse_faq_csv(DEMO_FAQ).unwrap().len(),
        "nothing lost"
    );
    store.close().await;
}

on_both_backends!(the_demo_faq_is_read_searched_and_linked);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_machi_import_faq() {
    machi_import_faq_reads_shift_jis_and_names_bad_lines(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_machi_import_faq() {
    machi_import_faq_reads_shift_jis_and_names_bad_lines(Db::Postgres).await;
}

/// `/ask` without JavaScript: answers made of the city's own data that lead into the form; a
/// question with nothing to answer it reaches the staff's list, counted each time it is asked.
async fn the_answer_desk_answers_from_the_city_s_data_and_keeps_what_it_cannot(app: &TestApp) {
    let entries = machi_core::faq::parse_faq_csv(DEMO_FAQ).unwrap();
    app.store.replace_faq(CITY, &entries, "test").await.unwrap();
    let page = app.get("/ask").await;
    assert_eq!(page.status(), 200);
    // 住民票がほしい: the procedure, its fee and documents, a link straight into its form.
    let answered = app
        .get("/ask?q=%E4%BD%8F%E6%B0%91%E7%A5%A8%E3%81%8C%E3%81%BB%E3%81%97%E3%81%84")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        answered.contains("href=\"/procedures/juminhyo/apply\""),
        "into the form"
    );
    assert!(answered.contains("1通300円") && answered.contains("本人確認書類"));
    assert!(!answered.contains("id=\"no-answer\""));
    // タンスを捨てたい: the FAQ answer about 粗大ごみ, with its procedure.
    let faq = app
        .get("/ask?q=%E3%82%BF%E3%83%B3%E3%82%B9%E3%82%92%E6%8D%A8%E3%81%A6%E3%81%9F%E3%81%84")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        faq.contains("粗大ごみ") && faq.contains("/procedures/sodai-gomi"),
        "{faq}"
    );
    // Nothing answers it: said so, and kept for staff (twice asked, counted twice).
    for _ in 0..2 {
        let none = app
            .get("/ask?q=%E3%83%9A%E3%83%B3%E3%82%AE%E3%83%B3%E3%82%92%E9%A3%BC%E3%81%84%E3%81%9F%E3%81%84")
            .await
            .text()
            .await
            .unwrap();
        assert!(none.contains("id=\"no-answer\""), "ペンギンを飼いたい");
    }
    let unanswered = app.store.unanswered(CITY).await.unwrap();
    assert_eq!(unanswered.len(), 1);
    assert_eq!(unanswered[0].question, "ペンギンを飼いたい");
    assert_eq!(unanswered[0].times, 2);
    app.create_staff("tanto@shimin.test", "staff", Some("shimin"))
        .await;
    let list = app
        .sign_in("tanto@shimin.test")
        .await
        .get_html("/staff/unanswered")
        .await;
    assert!(list.contains("ペンギンを飼いたい"));
}

on_both_backends!(the_answer_desk_answers_from_the_city_s_data_and_keeps_what_it_cannot);

/// `GET /api/v1/ask`, which the chat widget calls: the same answers as JSON, in Japanese or
/// English; a question in English finds the procedure too; bad parameters get a problem.
async fn the_answer_desk_api_answers_in_japanese_and_english(app: &TestApp) {
    let entries = machi_core::faq::parse_faq_csv(DEMO_FAQ).unwrap();
    app.store.replace_faq(CITY, &entries, "test").await.unwrap();
    let reply = app.get_json("/api/v1/ask?q=住民票がほしい").await;
    assert_eq!(reply["answered"], true);
    let first = &reply["answers"][0];
    assert_eq!(first["kind"], "procedure");
    assert_eq!(first["links"][0]["href"], "/procedures/juminhyo/apply");
    assert!(first["facts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["label"] == "手数料" && f["value"] == "1通300円"));

    let english = app
        .get_json("/api/v1/ask?q=I%20need%20a%20residence%20certificate&lang=en")
        .await;
    assert_eq!(english["answered"], true, "{english}");
    let procedures: Vec<&serde_json::Value> = english["answers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "procedure")
        .collect();
    assert_eq!(
        procedures[0]["links"][0]["href"], "/procedures/juminhyo/apply",
        "{english}"
    );
    assert!(procedures[0]["facts"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["label"] == "Fee"));

    for bad in [
        "/api/v1/ask",
        "/api/v1/ask?q=%20",
        "/api/v1/ask?q=x&lang=fr",
    ] {
        let refused = app.get(bad).await;
        assert_eq!(refused.status(), 422, "{bad}");
        assert_eq!(
            refused.headers()["content-type"],
            "application/problem+json",
            "{bad}"
        );
    }
    let nothing = app.get_json("/api/v1/ask?q=ペンギンを飼いたい").await;
    assert_eq!(nothing["answered"], false);
    assert_eq!(app.store.unanswered(CITY).await.unwrap().len(), 1);
}

on_both_backends!(the_answer_desk_api_answers_in_japanese_and_english);

//! Staff edit the FAQ in the console: a question the desk could not answer becomes an entry in
//! one step, an entry is changed and removed, bad input comes back with the form; residents
//! rate answers and staff see the counts.

use crate::harness::{TestApp, CITY};
use crate::on_both_backends;

const STAFF: &str = "tanto@kankyo.test";
const OTHER: &str = "tanto@shimin.test";

async fn staff_answer_an_unanswered_question_and_residents_rate_the_answer(app: &TestApp) {
    app.create_staff(STAFF, "staff", Some("kankyo")).await;
    app.create_staff(OTHER, "staff", Some("shimin")).await;
    let asked = app.get_json("/api/v1/ask?q=ペンギンを飼いたい").await;
    assert_eq!(asked["answered"], false);

    let mut staff = app.sign_in(STAFF).await;
    let list = staff.get_html("/staff/unanswered").await;
    let encoded =
        "%E3%83%9A%E3%83%B3%E3%82%AE%E3%83%B3%E3%82%92%E9%A3%BC%E3%81%84%E3%81%9F%E3%81%84";
    assert!(
        list.contains(&format!("/staff/faq/new?question={encoded}")),
        "each question opens the FAQ form"
    );
    let new = format!("/staff/faq/new?question={encoded}");
    let form = staff.get_html(&new).await;
    assert!(
        form.contains("value=\"ペンギンを飼いたい\""),
        "the question is filled in"
    );

    // No answer and an unknown procedure: the form again, saying what is wrong.
    let refused = staff
        .submit(
            &new,
            "/staff/faq/new",
            &[
                ("question_ja", "ペンギンを飼いたい"),
                ("answer_ja", " "),
                ("procedures", "no-such-procedure"),
                ("answers", "ペンギンを飼いたい"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let refused = refused.text().await.unwrap();
    assert!(
        refused.contains("href=\"#faq-answer-ja\"") && refused.contains("href=\"#faq-procedures\"")
    );
    assert!(
        refused.contains("value=\"no-such-procedure\""),
        "what was typed is kept"
    );
    assert!(
        app.store.faq(CITY).await.unwrap().is_empty(),
        "nothing saved"
    );

    let saved = staff
        .submit(
            &new,
            "/staff/faq/new",
            &[
                ("question_ja", "ペンギンは飼えますか"),
                ("question_en", "Can I keep a penguin?"),
                (
                    "answer_ja",
                    "ペンギンは**飼えません**。動物園でご覧ください。",
                ),
                ("answer_en", "No. Please visit the zoo."),
                ("procedures", "inu-touroku"),
                ("keywords", "ペンギン、動物"),
                ("answers", "ペンギンを飼いたい"),
            ],
        )
        .await;
    assert_eq!(saved.status(), 303);
    let entries = app.store.faq(CITY).await.unwrap();
    assert_eq!(entries.len(), 1);
    let entry = &entries[0];
    assert_eq!(
        entry.department_code, "kankyo",
        "the person's own department"
    );
    assert_eq!(entry.keywords, ["ペンギン", "動物"]);
    assert!(
        app.store.unanswered(CITY).await.unwrap().is_empty(),
        "answered, so off the list"
    );
    let answered = app.get_json("/api/v1/ask?q=ペンギンを飼いたい").await;
    assert_eq!(
        answered["answers"][0]["id"],
        entry.id.as_str(),
        "{answered}"
    );
    let english = app
        .get_json("/api/v1/ask?q=keep%20a%20penguin&lang=en")
        .await;
    assert_eq!(
        english["answers"][0]["title"], "Can I keep a penguin?",
        "{english}"
    );

    // Residents rate the answer, on /faq and at the desk; the page thanks them in place.
    let page = app.get("/faq").await.text().await.unwrap();
    assert!(page.contains(&format!("action=\"/faq/{}/feedback\"", entry.id)));
    for (helpful, back) in [("yes", "/faq"), ("yes", "/ask?q=x"), ("no", "/faq")] {
        let rated = app
            .client
            .post(app.url(&format!("/faq/{}/feedback", entry.id)))
            .form(&[("helpful", helpful), ("back", back)])
            .send()
            .await
            .unwrap();
        assert_eq!(rated.status(), 303);
        let location = rated.headers()["location"].to_str().unwrap().to_string();
        assert!(location.starts_with(back) && location.contains(&format!("thanks={}", entry.id)));
    }
    let thanked = app
        .get(&format!("/faq?thanks={}", entry.id))
        .await
        .text()
        .await
        .unwrap();
    assert!(thanked.contains("class=\"feedback-thanks\""));
    let rated = format!("/faq/{}/feedback", entry.id);
    for (path, helpful, status) in [
        (rated.as_str(), "maybe", 422),
        ("/faq/nothing-here/feedback", "yes", 404),
    ] {
        let response = app
            .client
            .post(app.url(path))
            .form(&[("helpful", helpful)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{path} {helpful}");
    }
    let counts = staff.get_html("/staff/faq").await;
    let row = &counts[counts.find("ペンギンは飼えますか").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains("<td class=\"number\">2</td><td class=\"number\">1</td>"),
        "{row}"
    );

    // Changed, then removed; another department can do neither.
    let edit = format!("/staff/faq/{}", entry.id);
    let mut other = app.sign_in(OTHER).await;
    assert_eq!(other.get(&edit).await.status(), 404);
    let changed = staff
        .submit(
            &edit,
            &edit,
            &[
                ("question_ja", "ペンギンを飼うことはできますか"),
                ("answer_ja", "できません。"),
            ],
        )
        .await;
    assert_eq!(changed.status(), 303);
    let entries = app.store.faq(CITY).await.unwrap();
    assert_eq!(entries[0].question.ja, "ペンギンを飼うことはできますか");
    assert_eq!(entries[0].id, entry.id, "the id stays");
    let removed = staff.submit(&edit, &format!("{edit}/delete"), &[]).await;
    assert_eq!(removed.status(), 303);
    assert!(app.store.faq(CITY).await.unwrap().is_empty());
    let gone = app.get_json("/api/v1/ask?q=ペンギンを飼いたい").await;
    assert_eq!(gone["answered"], false);
}

on_both_backends!(staff_answer_an_unanswered_question_and_residents_rate_the_answer);

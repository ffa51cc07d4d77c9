//! 書かない窓口: a resident prefills at home and gets a QR code; counter staff open it by the
//! code, check identity and submit; or fill a form for a visitor from scratch. Both are marked
//! as made at the counter.

use serde_json::Value;

use crate::harness::{example_as_pairs, tiny_file, TestApp, CITY};
use crate::on_both_backends;
use crate::pages::{hidden_values, text_of_id};

const PROCEDURE: &str = "juminhyo";
const COUNTER: &str = "madoguchi@shimin.test";

/// Fills the form at home up to the confirm page and makes the counter code.
async fn prefill_at_home(app: &TestApp) -> String {
    let detail = app.procedure(PROCEDURE).await;
    let example = detail["form"]["schema"]["examples"][0]
        .as_object()
        .unwrap()
        .clone();
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in example_as_pairs(&example) {
        form = form.text(name, value);
    }
    for attachment in detail["form"]["attachments"].as_array().unwrap() {
        let part = reqwest::multipart::Part::bytes(tiny_file(attachment)).file_name("書類.pdf");
        form = form.part(attachment["name"].as_str().unwrap().to_string(), part);
    }
    let confirm = app
        .post_multipart(&format!("/procedures/{PROCEDURE}/apply"), form)
        .await
        .text()
        .await
        .unwrap();
    assert!(confirm.contains("窓口用のQRコードを作成する"));
    let prefill = app
        .client
        .post(app.url(&format!("/procedures/{PROCEDURE}/prefill")))
        .form(&[
            (
                "form_version",
                hidden_values(&confirm, "form_version")[0].as_str(),
            ),
            (
                "answers_json",
                hidden_values(&confirm, "answers_json")[0].as_str(),
            ),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(prefill.status(), 200);
    let page = prefill.text().await.unwrap();
    assert!(
        page.contains("<svg") && page.contains("role=\"img\""),
        "a QR code is drawn"
    );
    text_of_id(&page, "prefill-code")
}

async fn counter_staff_submit_what_a_resident_prefilled(app: &TestApp) {
    let code = prefill_at_home(app).await;
    app.create_staff(COUNTER, "counter", Some("shimin")).await;
    let mut counter = app.sign_in(COUNTER).await;
    assert_eq!(
        counter.get("/staff").await.headers()["location"],
        "/staff/counter",
        "counter staff start at the counter page"
    );
    // The scanner (or a person) types the code in any case, without the hyphen.
    let typed = code.replace('-', "").to_lowercase();
    let form_page = counter
        .get_html(&format!("/staff/counter/open?code={typed}"))
        .await;
    let detail = app.procedure(PROCEDURE).await;
    let example = detail["form"]["schema"]["examples"][0]
        .as_object()
        .unwrap()
        .clone();
    let first_text = example
        .iter()
        .find_map(|(_, v)| v.as_str().filter(|s| !s.is_ascii()))
        .unwrap();
    assert!(form_page.contains(first_text), "the answers are prefilled");
    let csrf = crate::harness::csrf_of(&form_page);
    let mut pairs: Vec<(String, String)> = example_as_pairs(&example);
    for (name, value) in [
        ("csrf", csrf.as_str()),
        ("procedure", PROCEDURE),
        (
            "form_version",
            hidden_values(&form_page, "form_version")[0].as_str(),
        ),
        ("prefill", code.as_str()),
    ] {
        pairs.push((name.into(), value.into()));
    }
    let unchecked = counter.post("/staff/counter/submit", &refs(&pairs)).await;
    assert_eq!(unchecked.status(), 422, "identity must be checked");
    assert!(unchecked
        .text()
        .await
        .unwrap()
        .contains("本人確認書類を選び"));
    pairs.push(("identity_document".into(), "my_number_card".into()));
    pairs.push(("identity_checked".into(), "1".into()));
    let done = counter.post("/staff/counter/submit", &refs(&pairs)).await;
    assert_eq!(done.status(), 200);
    let done = done.text().await.unwrap();
    let receipt = text_of_id(&done, "receipt-number");
    assert!(!text_of_id(&done, "access-code").is_empty());

    // Marked as counter-made; the prefill is used up; the audit log says who checked what.
    let items = app
        .store
        .inbox(
            CITY,
            &machi_store::review::InboxQuery {
                department: "shimin".into(),
                text: receipt.clone(),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(items[0].made_via, "counter");
    assert_eq!(
        counter
            .get(&format!("/staff/counter/open?code={code}"))
            .await
            .status(),
        404
    );
    let audit = app
        .store
        .audit_entries(
            CITY,
            &machi_store::audit::AuditQuery {
                subject: receipt.clone(),
                action: "counter.submit".into(),
                limit: 5,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let detail: Value = serde_json::from_str(&audit[0].detail).unwrap();
    assert_eq!(detail["identity_document"], "my_number_card");
    assert_eq!(detail["prefilled"], true);
}

fn refs(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

async fn counter_staff_fill_a_form_from_scratch(app: &TestApp) {
    app.create_staff(COUNTER, "counter", Some("shimin")).await;
    let mut counter = app.sign_in(COUNTER).await;
    let blank = counter
        .get_html(&format!("/staff/counter/open?procedure={PROCEDURE}"))
        .await;
    assert!(blank.contains("本人確認"));
    let detail = app.procedure(PROCEDURE).await;
    let example = detail["form"]["schema"]["examples"][0]
        .as_object()
        .unwrap()
        .clone();
    let mut form: Vec<(String, String)> = example_as_pairs(&example);
    form.push(("procedure".into(), PROCEDURE.into()));
    form.push(("identity_document".into(), "driving_licence".into()));
    form.push(("identity_checked".into(), "1".into()));
    let done = counter
        .submit(
            &format!("/staff/counter/open?procedure={PROCEDURE}"),
            "/staff/counter/submit",
            &refs(&form),
        )
        .await;
    assert_eq!(done.status(), 200);
    let home = counter.get_html("/staff/counter").await;
    assert!(home.contains("窓口"), "{home}");
    // Roles: the auditor does not serve the counter.
    app.create_staff("kansa@city.test", "auditor", None).await;
    let mut auditor = app.sign_in("kansa@city.test").await;
    assert_eq!(auditor.get("/staff/counter").await.status(), 403);
}

on_both_backends!(
    counter_staff_submit_what_a_resident_prefilled,
    counter_staff_fill_a_form_from_scratch,
);

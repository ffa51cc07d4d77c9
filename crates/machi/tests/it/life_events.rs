//! Life-event one-stop: the questionnaire picks the procedures, the applicant's own answers
//! are given once, and one submission makes linked applications in each department, each
//! with its own receipt number and workflow.

use crate::harness::{TestApp, CITY};
use crate::on_both_backends;
use crate::pages::text_of_id;

async fn a_birth_makes_linked_applications_in_two_departments(app: &TestApp) {
    let list = app.get("/life-events").await.text().await.unwrap();
    assert!(list.contains("子どもが生まれたとき") && list.contains("おくやみ"));
    let questions = app.get("/life-events/birth").await.text().await.unwrap();
    assert!(questions.contains("保育所などの利用を希望しますか"));
    // Without the nursery question only the allowance applies; with it, two procedures.
    let only = app
        .get("/life-events/birth/form")
        .await
        .text()
        .await
        .unwrap();
    assert!(only.contains("児童手当") && !only.contains("p-hoiku-shikyu-nintei"));
    let form = app
        .get("/life-events/birth/form?yes=daycare")
        .await
        .text()
        .await
        .unwrap();
    assert!(form.contains("p-jidou-teate-nintei") && form.contains("p-hoiku-shikyu-nintei"));
    assert_eq!(
        form.matches("name=\"street-address\"").count(),
        1,
        "the address is asked once"
    );

    // Sent empty: errors point at the shared and the procedure's own questions.
    let empty = app
        .client
        .post(app.url("/life-events/birth"))
        .form(&[("yes", "daycare")])
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 422);
    let empty = empty.text().await.unwrap();
    assert!(
        empty.contains("href=\"#f-name\"")
            && empty.contains("href=\"#f-jidou-teate-nintei.reason\"")
    );

    let mut pairs: Vec<(String, String)> = vec![("yes".into(), "daycare".into())];
    for (key, value) in [
        ("name", "出生 花子"),
        ("name-kana", "しゅっしょう はなこ"),
        ("bday", "平成4年5月14日"),
        ("postal-code", "590-0901"),
        ("street-address", "大阪府デモ市中央町1丁目2番3号"),
        ("tel", "090-1234-5678"),
        ("email", "hanako@example.jp"),
    ] {
        pairs.push((key.into(), value.into()));
    }
    for procedure in ["jidou-teate-nintei", "hoiku-shikyu-nintei"] {
        let detail = app.procedure(procedure).await;
        let version = detail["form"]["version"].as_i64().unwrap();
        let form = app
            .store
            .form(CITY, procedure, version)
            .await
            .unwrap()
            .unwrap();
        let compiled = form.compile().unwrap();
        let example = form.example().unwrap().as_object().unwrap().clone();
        for (name, value) in crate::harness::example_as_pairs(&example) {
            if machi_core::life_events::personal_key(&compiled, &name).is_none() {
                pairs.push((format!("{procedure}.{name}"), value));
            }
        }
    }
    let done = app
        .client
        .post(app.url("/life-events/birth"))
        .form(&pairs)
        .send()
        .await
        .unwrap();
    let status = done.status();
    let done = done.text().await.unwrap();
    assert_eq!(status, 200, "{done}");
    let code = text_of_id(&done, "access-code");
    let receipts: Vec<String> = done
        .match_indices("class=\"code receipt\">")
        .map(|(at, m)| done[at + m.len()..at + m.len() + 15].to_string())
        .collect();
    assert_eq!(receipts.len(), 2);

    // Each is its own application in its own department, with the shared answers filled in.
    for (receipt, department, name_field) in [
        (&receipts[0], "kosodate", "claimant_name"),
        (&receipts[1], "hoiku", "guardian_name"),
    ] {
        let seen: serde_json::Value = app.status(receipt, &code).await.json().await.unwrap();
        assert_eq!(seen["answers"][name_field], "出生 花子");
        assert_eq!(seen["answers"]["address"], "大阪府デモ市中央町1丁目2番3号");
        let states = app
            .store
            .application_states(CITY, std::slice::from_ref(receipt))
            .await
            .unwrap();
        assert_eq!(states[0].department_code, department);
        let siblings = app.store.bundle_siblings(CITY, receipt).await.unwrap();
        assert_eq!(siblings.len(), 1, "linked to the other one");
    }
}

async fn bundles_must_name_real_procedures(app: &TestApp) {
    let bad = machi_core::life_events::parse_bundles(
        br#"{"bundles": [{"id": "x", "name": {"ja": "x", "en": ""}, "questions": [], "procedures": [{"procedure": "no-such"}]}]}"#,
        false,
    )
    .unwrap();
    let refused = app.store.import_bundles(CITY, &bad).await.unwrap_err();
    assert!(refused.to_string().contains("no-such"));
    assert_eq!(
        app.store.bundles(CITY).await.unwrap().len(),
        3,
        "nothing was replaced"
    );
}

on_both_backends!(
    a_birth_makes_linked_applications_in_two_departments,
    bundles_must_name_real_procedures,
);

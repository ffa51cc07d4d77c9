//! Life-event one-stop: the questionnaire picks the procedures, every question is asked once
//! (the applicant's own answers and any question two forms share), the event's own answers are
//! not asked, an error keeps every answer and file, the answers are checked with a 変更 button
//! each, and one submission makes linked applications in each department, each with its own
//! receipt number and workflow. What cannot be sent online is a checklist.

use std::collections::HashMap;

use crate::harness::{example_as_pairs, tiny_file, TestApp, CITY};
use crate::on_both_backends;
use crate::pages::text_of_id;

const PROCEDURES: [&str; 2] = ["jidou-teate-nintei", "hoiku-shikyu-nintei"];

/// The hidden inputs of a page, as a browser posts them again.
fn hidden_pairs(html: &str) -> Vec<(String, String)> {
    html.match_indices("<input type=\"hidden\" name=\"")
        .map(|(at, marker)| {
            let rest = &html[at + marker.len()..];
            let name = &rest[..rest.find('"').unwrap()];
            let value = rest.split("value=\"").nth(1).unwrap();
            let value = &value[..value.find('"').unwrap()];
            (name.to_string(), crate::pages::unescape(value))
        })
        .collect()
}

/// The example answers of each procedure, by its form's own names.
async fn examples(app: &TestApp) -> HashMap<String, Vec<(String, String)>> {
    let mut all = HashMap::new();
    for procedure in PROCEDURES {
        let detail = app.procedure(procedure).await;
        let example = detail["form"]["schema"]["examples"][0].as_object().unwrap();
        all.insert(procedure.to_string(), example_as_pairs(example));
    }
    all
}

/// The answer the page's input `name` asks, from the examples: a part's own question
/// (`procedure.field`), a shared one (`_.field`), or the applicant's own (`name`, `bday`, …).
fn answer_for(name: &str, examples: &HashMap<String, Vec<(String, String)>>) -> Option<String> {
    let personal = [
        ("name", "出生 花子"),
        ("name-kana", "しゅっしょう はなこ"),
        ("bday", "平成4年5月14日"),
        ("postal-code", "590-0901"),
        ("street-address", "大阪府デモ市中央町1丁目2番3号"),
        ("tel", "090-1234-5678"),
        ("email", "hanako@example.jp"),
    ];
    if let Some((_, value)) = personal.iter().find(|(k, _)| *k == name) {
        return Some(value.to_string());
    }
    let (owner, field) = name.split_once('.')?;
    let find = |procedure: &str| {
        examples[procedure]
            .iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v.clone())
    };
    if owner == "_" {
        PROCEDURES.iter().find_map(|p| find(p))
    } else {
        find(owner)
    }
}

/// Every question the form page asks, answered from the examples.
fn answers_to(
    page: &str,
    examples: &HashMap<String, Vec<(String, String)>>,
) -> Vec<(String, String)> {
    let mut names: Vec<String> = page
        .match_indices(" name=\"")
        .map(|(at, marker)| {
            let rest = &page[at + marker.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .filter(|n| !["yes", "step", "viewport"].contains(&n.as_str()))
        .collect();
    names.dedup();
    names
        .into_iter()
        .filter_map(|name| answer_for(&name, examples).map(|value| (name, value)))
        .collect()
}

fn as_multipart(pairs: &[(String, String)]) -> reqwest::multipart::Form {
    pairs
        .iter()
        .fold(reqwest::multipart::Form::new(), |form, (k, v)| {
            form.text(k.clone(), v.clone())
        })
}

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
    for asked_once in [
        "street-address",
        "_.child_name",
        "_.child_kana",
        "_.child_birth_date",
    ] {
        assert_eq!(
            form.matches(&format!("name=\"{asked_once}\"")).count(),
            1,
            "{asked_once} is asked once"
        );
    }
    assert!(
        !form.contains("jidou-teate-nintei.reason") && !form.contains("請求の理由"),
        "a birth is the reason: it is not asked"
    );

    // Sent empty: errors point at the shared and the procedure's own questions.
    let empty = app
        .post_multipart(
            "/life-events/birth",
            as_multipart(&[("yes".into(), "daycare".into())]),
        )
        .await;
    assert_eq!(empty.status(), 422);
    let empty = empty.text().await.unwrap();
    assert!(
        empty.contains("href=\"#f-name\"")
            && empty.contains("href=\"#f-_.child_name\"")
            && empty.contains("href=\"#f-jidou-teate-nintei.bank_name")
    );

    // One wrong answer keeps every other answer and the file attached.
    let examples = examples(app).await;
    let mut pairs = vec![("yes".to_string(), "daycare".to_string())];
    pairs.extend(answers_to(&form, &examples));
    let typed = pairs.len();
    assert!(typed > 25, "{typed} answers");
    let broken: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| match k.as_str() {
            "jidou-teate-nintei.account_number" => (k.clone(), "12".into()),
            _ => (k.clone(), v.clone()),
        })
        .collect();
    let detail = app.procedure("jidou-teate-nintei").await;
    let spec = detail["form"]["attachments"][0].clone();
    let file_field = format!("jidou-teate-nintei.{}", spec["name"].as_str().unwrap());
    let upload = reqwest::multipart::Part::bytes(tiny_file(&spec))
        .file_name("申立書.pdf")
        .mime_str("application/pdf")
        .unwrap();
    let again = app
        .post_multipart(
            "/life-events/birth",
            as_multipart(&broken).part(file_field.clone(), upload),
        )
        .await;
    assert_eq!(again.status(), 422);
    let again = again.text().await.unwrap();
    assert!(again.contains("href=\"#f-jidou-teate-nintei.account_number\""));
    for (name, value) in pairs.iter().filter(|(k, _)| k != "yes") {
        if value.len() > 4 && !name.ends_with("account_number") {
            assert!(
                again.contains(&format!("value=\"{value}\""))
                    || again.contains(&format!(">{value}<")),
                "{name} = {value} was kept"
            );
        }
    }
    assert!(again.contains("申立書.pdf"), "the file stays attached");

    // Fixed: the check-answers page shows every answer once, each with a 変更 button.
    let mut fixed = hidden_pairs(&again)
        .into_iter()
        .filter(|(k, _)| k == "attachment")
        .collect::<Vec<_>>();
    fixed.extend(pairs.clone());
    let check = app
        .post_multipart("/life-events/birth", as_multipart(&fixed))
        .await;
    assert_eq!(check.status(), 200);
    let check = check.text().await.unwrap();
    assert!(check.contains("入力内容の確認") && check.contains("申立書.pdf"));
    assert!(check.contains("formaction=\"/life-events/birth#f-_.child_name\""));
    assert_eq!(
        check.matches("<dt>児童の氏名</dt>").count(),
        1,
        "the child's name shows once"
    );
    assert!(
        check.contains("子どもが生まれた"),
        "the event's answer is shown"
    );

    // 変更 reopens the form with everything still there.
    let mut carried = hidden_pairs(&check);
    carried.push(("step".into(), "edit".into()));
    let edit = app
        .post_multipart("/life-events/birth", as_multipart(&carried))
        .await;
    assert_eq!(edit.status(), 200);
    let edit = edit.text().await.unwrap();
    assert!(edit.contains("value=\"出生 花子\"") && edit.contains("申立書.pdf"));

    // Sent: a redirect to the receipt; sending the same page again makes nothing new.
    let mut send = hidden_pairs(&check);
    send.push(("step".into(), "send".into()));
    let done = app
        .post_multipart("/life-events/birth", as_multipart(&send))
        .await;
    let receipt = crate::harness::follow_to_receipt(&app.client, &app.url(""), done, "").await;
    assert_eq!(receipt.status(), 200);
    let receipt = receipt.text().await.unwrap();
    let code = text_of_id(&receipt, "access-code");
    let receipts: Vec<String> = receipt
        .match_indices("class=\"code receipt\">")
        .map(|(at, m)| receipt[at + m.len()..at + m.len() + 15].to_string())
        .collect();
    assert_eq!(receipts.len(), 2);
    let twice = app
        .post_multipart("/life-events/birth", as_multipart(&send))
        .await;
    let twice = crate::harness::follow_to_receipt(&app.client, &app.url(""), twice, "").await;
    let twice = twice.text().await.unwrap();
    assert!(
        receipts.iter().all(|r| twice.contains(r.as_str())),
        "the same receipts"
    );

    // Each is its own application in its own department, with the shared answers filled in.
    for (receipt, department, name_field) in [
        (&receipts[0], "kosodate", "claimant_name"),
        (&receipts[1], "hoiku", "guardian_name"),
    ] {
        let seen: serde_json::Value = app.status(receipt, &code).await.json().await.unwrap();
        assert_eq!(seen["answers"][name_field], "出生 花子");
        assert_eq!(seen["answers"]["address"], "大阪府デモ市中央町1丁目2番3号");
        assert_eq!(seen["answers"]["child_kana"], "ヤマダ　ヒナタ");
        let states = app
            .store
            .application_states(CITY, std::slice::from_ref(receipt))
            .await
            .unwrap();
        assert_eq!(states[0].department_code, department);
        let siblings = app.store.bundle_siblings(CITY, receipt).await.unwrap();
        assert_eq!(siblings.len(), 1, "linked to the other one");
    }
    let allowance: serde_json::Value = app.status(&receipts[0], &code).await.json().await.unwrap();
    assert_eq!(allowance["answers"]["reason"], "birth");
    assert_eq!(allowance["attachments"].as_array().unwrap().len(), 1);
}

async fn a_death_with_nothing_ticked_gives_the_counter_checklist(app: &TestApp) {
    let page = app.get("/life-events/death/form").await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("死亡届") && page.contains("7日以内") && page.contains("死亡診断書"));
    assert!(!page.contains("葬祭費"), "only what the answers call for");
    let more = app
        .get("/life-events/death/form?yes=national_health_insurance&yes=family_register")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        more.contains("葬祭費") && more.contains("保険年金課") && more.contains("p-koseki-touhon")
    );
    let posted = app
        .post_multipart(
            "/life-events/death",
            reqwest::multipart::Form::new().text("step", "check"),
        )
        .await;
    assert_eq!(posted.status(), 200, "not a dead end");
    assert!(posted.text().await.unwrap().contains("死亡届"));
}

async fn bundles_must_name_real_procedures_and_questions(app: &TestApp) {
    let bad = machi_core::life_events::parse_bundles(
        br#"{"bundles": [{"id": "x", "name": {"ja": "x", "en": ""}, "questions": [], "procedures": [{"procedure": "no-such"}]}]}"#,
        false,
    )
    .unwrap();
    let refused = app.store.import_bundles(CITY, &bad).await.unwrap_err();
    assert!(refused.to_string().contains("no-such"));
    let bad = machi_core::life_events::parse_bundles(
        br#"{"bundles": [{"id": "x", "name": {"ja": "x", "en": ""}, "questions": [], "procedures": [{"procedure": "jidou-teate-nintei", "answers": {"reasn": "birth"}}]}]}"#,
        false,
    )
    .unwrap();
    let refused = app.store.import_bundles(CITY, &bad).await.unwrap_err();
    assert!(refused.to_string().contains("reasn"), "{refused}");
    assert_eq!(
        app.store.bundles(CITY).await.unwrap().len(),
        3,
        "nothing was replaced"
    );
}

on_both_backends!(
    a_birth_makes_linked_applications_in_two_departments,
    a_death_with_nothing_ticked_gives_the_counter_checklist,
    bundles_must_name_real_procedures_and_questions,
);

//! The procedure editor: a manager builds a procedure in the browser, residents apply, and a
//! later version of the form never changes applications made on the earlier one.

use serde_json::{json, Value};

use crate::harness::TestApp;
use crate::on_both_backends;

const MANAGER: &str = "kacho@kankyo.test";
const STAFF: &str = "tanto@kankyo.test";
const OUTSIDER: &str = "tanto@shimin.test";

async fn a_manager_builds_publishes_and_versions_a_procedure(app: &TestApp) {
    app.create_staff(MANAGER, "manager", Some("kankyo")).await;
    app.create_staff(STAFF, "staff", Some("kankyo")).await;
    app.create_staff(OUTSIDER, "staff", Some("shimin")).await;
    let mut staff = app.sign_in(STAFF).await;
    let created = staff
        .submit(
            "/staff/procedures/new",
            "/staff/procedures",
            &[
                ("id", "kaiinu-shinki"),
                ("name_ja", "犬の登録"),
                ("kana", "いぬのとうろく"),
                ("department", "kankyo"),
            ],
        )
        .await;
    assert_eq!(created.status(), 303, "{}", created.text().await.unwrap());
    let edit = "/staff/procedures/kaiinu-shinki/edit";
    let questions = "/staff/procedures/kaiinu-shinki/fields";
    for form in [
        vec![
            ("label_ja", "飼い主の氏名"),
            ("field_type", "text"),
            ("name", "owner_name"),
            ("required", "1"),
        ],
        vec![
            ("label_ja", "飼い主の住所"),
            ("field_type", "address"),
            ("name", "owner_address"),
            ("required", "1"),
        ],
        vec![
            ("label_ja", "犬の生年月日"),
            ("field_type", "date"),
            ("name", "dog_birth_date"),
            ("required", "1"),
        ],
        vec![
            ("label_ja", "狂犬病予防注射"),
            ("field_type", "radio"),
            ("name", "vaccinated"),
            ("options", "済み / Done\n未了 / Not yet"),
            ("required", "1"),
        ],
        vec![
            ("label_ja", "注射の予定日"),
            ("field_type", "date"),
            ("name", "vaccination_plan"),
            ("show_if", "vaccinated=o2"),
            ("required", "1"),
        ],
        vec![
            ("label_ja", "メールアドレス"),
            ("field_type", "email"),
            ("name", "email"),
        ],
    ] {
        let response = staff.submit(edit, questions, &form).await;
        assert_eq!(response.status(), 303, "{form:?}");
    }
    let bad = staff
        .submit(
            edit,
            questions,
            &[
                ("label_ja", "x"),
                ("field_type", "select"),
                ("options", "一つだけ"),
            ],
        )
        .await;
    assert_eq!(bad.status(), 422, "a choice needs two options");
    let preview = staff
        .get_html("/staff/procedures/kaiinu-shinki/preview")
        .await;
    assert!(preview.contains("飼い主の氏名") && preview.contains("プレビュー"));
    assert!(preview.contains("「狂犬病予防注射」が「未了」の場合のみ回答してください。"));
    // Department staff draft; only a manager publishes; other departments cannot touch it.
    assert_eq!(
        staff
            .submit(edit, "/staff/procedures/kaiinu-shinki/publish", &[])
            .await
            .status(),
        403
    );
    let mut outsider = app.sign_in(OUTSIDER).await;
    assert_eq!(outsider.get(edit).await.status(), 403);
    assert_eq!(
        app.get("/api/v1/procedures/kaiinu-shinki").await.status(),
        404,
        "not public before publishing"
    );

    let mut manager = app.sign_in(MANAGER).await;
    let published = manager
        .submit(edit, "/staff/procedures/kaiinu-shinki/publish", &[])
        .await;
    assert_eq!(published.status(), 303);
    let detail = app.procedure("kaiinu-shinki").await;
    assert_eq!(detail["form"]["version"], 1);
    let answers = json!({
        "owner_name": "犬山 一郎",
        "owner_address_postcode": "５９０ー０９０１",
        "owner_address": "デモ市中央町1-1",
        "dog_birth_date": "令和7年4月1日",
        "vaccinated": "o2",
        "vaccination_plan": "R8.12.1",
    });
    let first = app.apply_json("kaiinu-shinki", &answers, None).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let missing_plan = app
        .apply_json("kaiinu-shinki", &json!({"owner_name": "x", "owner_address_postcode": "590-0901", "owner_address": "x", "dog_birth_date": "2025-04-01", "vaccinated": "o2"}), None)
        .await;
    assert_eq!(
        missing_plan.status(),
        422,
        "the conditional question is required when shown"
    );

    // Version 2 adds a question; the first application keeps version 1 and its answers.
    manager
        .submit(
            edit,
            questions,
            &[
                ("label_ja", "犬の名前"),
                ("field_type", "text"),
                ("name", "dog_name"),
                ("required", "1"),
            ],
        )
        .await;
    manager
        .submit(edit, "/staff/procedures/kaiinu-shinki/publish", &[])
        .await;
    let detail = app.procedure("kaiinu-shinki").await;
    assert_eq!(detail["form"]["version"], 2);
    let seen = app
        .status(
            first["receipt_number"].as_str().unwrap(),
            first["access_code"].as_str().unwrap(),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(seen["form_version"], 1);
    assert_eq!(seen["answers"]["vaccination_plan"], "2026-12-01");
    let old_form = app
        .store
        .form(crate::harness::CITY, "kaiinu-shinki", 1)
        .await
        .unwrap()
        .unwrap();
    assert!(!old_form.ui.fields.contains_key("dog_name"));

    // Unpublished: gone for residents, still there for staff.
    manager
        .submit(edit, "/staff/procedures/kaiinu-shinki/unpublish", &[])
        .await;
    assert_eq!(app.get("/procedures/kaiinu-shinki").await.status(), 404);
    assert_eq!(
        app.apply_json("kaiinu-shinki", &answers, None)
            .await
            .status(),
        404
    );
    assert_eq!(manager.get(edit).await.status(), 200);
    // Every step is in the audit log.
    let log = app
        .store
        .audit_entries(
            crate::harness::CITY,
            &machi_store::audit::AuditQuery {
                subject: "kaiinu-shinki".into(),
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "procedure.draft",
        "procedure.publish",
        "procedure.unpublish",
    ] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
}

mod mistakes;

on_both_backends!(a_manager_builds_publishes_and_versions_a_procedure);

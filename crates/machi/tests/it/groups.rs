//! 繰り返し項目: a manager adds a "children" group in the editor, a resident gives two children
//! through the pages (typed in 全角, ひらがな and 和暦) and through the API, a bad date in the
//! second child comes back linked to that input, and the answers are stored as canonical arrays.

use serde_json::{json, Value};

use crate::harness::TestApp;
use crate::on_both_backends;
use crate::pages::{hidden_values, text_of_id};

const MANAGER: &str = "kacho@kosodate.test";
const EDIT: &str = "/staff/procedures/kodomo-todoke/edit";
const QUESTIONS: &str = "/staff/procedures/kodomo-todoke/fields";

on_both_backends!(a_family_gives_each_child_in_a_repeatable_group);

async fn a_family_gives_each_child_in_a_repeatable_group(app: &TestApp) {
    app.create_staff(MANAGER, "manager", Some("kosodate")).await;
    let mut manager = app.sign_in(MANAGER).await;
    let created = manager
        .submit(
            "/staff/procedures/new",
            "/staff/procedures",
            &[
                ("id", "kodomo-todoke"),
                ("name_ja", "児童の届出"),
                ("kana", "じどうのとどけで"),
                ("department", "kosodate"),
            ],
        )
        .await;
    assert_eq!(created.status(), 303);
    for form in [
        vec![
            ("label_ja", "保護者の氏名"),
            ("field_type", "text"),
            ("name", "guardian"),
            ("required", "1"),
        ],
        vec![
            ("label_ja", "お子さん"),
            ("label_en", "Children"),
            ("field_type", "group"),
            ("name", "children"),
            ("max_items", "３"),
            ("required", "1"),
        ],
        vec![
            ("label_ja", "氏名"),
            ("field_type", "text"),
            ("group", "children"),
            ("name", "name"),
            ("required", "1"),
        ],
        vec![
            ("label_ja", "フリガナ"),
            ("field_type", "kana"),
            ("group", "children"),
            ("name", "kana"),
            ("required", "1"),
        ],
        vec![
            ("label_ja", "生年月日"),
            ("field_type", "date"),
            ("group", "children"),
            ("name", "birth_date"),
            ("required", "1"),
        ],
        vec![
            ("label_ja", "メモ"),
            ("field_type", "text"),
            ("group", "children"),
            ("name", "memo"),
        ],
    ] {
        let response = manager.submit(EDIT, QUESTIONS, &form).await;
        assert_eq!(response.status(), 303, "{form:?}");
    }
    let refused = manager
        .submit(
            EDIT,
            QUESTIONS,
            &[
                ("label_ja", "書類"),
                ("field_type", "file"),
                ("group", "children"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 422, "no files inside a group");
    // Questions inside the group move and go away on their own.
    let editor = manager.get_html(EDIT).await;
    assert!(editor.contains("children.birth_date") && editor.contains("グループ内に追加"));
    let moved = manager
        .submit(
            EDIT,
            "/staff/procedures/kodomo-todoke/fields/children.memo/move",
            &[("direction", "up")],
        )
        .await;
    assert_eq!(moved.status(), 303);
    let removed = manager
        .submit(
            EDIT,
            "/staff/procedures/kodomo-todoke/fields/children.memo/remove",
            &[],
        )
        .await;
    assert_eq!(removed.status(), 303);
    let published = manager
        .submit(EDIT, "/staff/procedures/kodomo-todoke/publish", &[])
        .await;
    assert_eq!(published.status(), 303);
    let detail = app.procedure("kodomo-todoke").await;
    let group = &detail["form"]["schema"]["properties"]["children"];
    assert_eq!(group["maxItems"], 3);
    assert_eq!(group["minItems"], 1);
    assert_eq!(
        detail["form"]["ui"]["fields"]["children"]["items"]["order"],
        json!(["name", "kana", "birth_date"])
    );

    // The page offers three numbered entries of labelled inputs.
    let page = app
        .get("/procedures/kodomo-todoke/apply")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("<legend>3件目</legend>") && !page.contains("4件目"));
    assert!(page.contains("<label for=\"f-children-2-birth_date\">生年月日</label>"));
    assert!(page.contains("name=\"children[2].birth_date\""));

    // A bad date in the second child: the error names the entry and links to its input,
    // and every entry keeps what was typed.
    let mut typed = vec![
        ("guardian", "山田 花子"),
        ("children[0].name", "山田 陽向"),
        ("children[0].kana", "やまだ ひなた"),
        ("children[0].birth_date", "令和８年１１月１０日"),
        ("children[1].name", ""),
        ("children[1].kana", ""),
        ("children[1].birth_date", ""),
        ("children[2].name", "山田 蒼"),
        ("children[2].kana", "ﾔﾏﾀﾞ ｱｵｲ"),
        ("children[2].birth_date", "令和6年2月30日"),
    ];
    let wrong = post_form(app, &typed).await;
    assert_eq!(wrong.status(), 422);
    let wrong = wrong.text().await.unwrap();
    assert!(
        wrong.contains("href=\"#f-children-1-birth_date\""),
        "blank entries are dropped, so the third typed is the second child: {wrong}"
    );
    assert!(wrong.contains("お子さん（2件目）の生年月日"), "{wrong}");
    assert!(wrong.contains("id=\"f-children-1-birth_date-error\""));
    assert_eq!(
        input_value(&wrong, "children[1].kana"),
        "ﾔﾏﾀﾞ ｱｵｲ",
        "what was typed stays"
    );
    assert_eq!(input_value(&wrong, "children[0].name"), "山田 陽向");

    // Corrected: the confirm page shows one row per child and carries canonical arrays.
    typed[9].1 = "令和6年2月29日";
    let confirm = post_form(app, &typed).await;
    assert_eq!(confirm.status(), 200);
    let confirm = confirm.text().await.unwrap();
    assert!(confirm.contains("お子さん（2件目）"), "{confirm}");
    assert!(confirm.contains("令和8年11月10日"), "{confirm}");
    let answers_json = hidden_values(&confirm, "answers_json");
    let answers: Value = serde_json::from_str(&answers_json[0]).unwrap();
    let canonical = json!([
        {"name": "山田 陽向", "kana": "ヤマダ\u{3000}ヒナタ", "birth_date": "2026-11-10"},
        {"name": "山田 蒼", "kana": "ヤマダ\u{3000}アオイ", "birth_date": "2024-02-29"}
    ]);
    assert_eq!(answers["children"], canonical);

    // Changing the answers fills the entries back in.
    let edit = post_form(app, &[("edit_json", answers_json[0].as_str())]).await;
    let edit = edit.text().await.unwrap();
    assert_eq!(input_value(&edit, "children[1].birth_date"), "2024-02-29");

    let receipt = app
        .client
        .post(app.url("/procedures/kodomo-todoke/submit"))
        .form(&[
            (
                "form_version",
                hidden_values(&confirm, "form_version")[0].as_str(),
            ),
            ("answers_json", answers_json[0].as_str()),
        ])
        .send()
        .await
        .unwrap();
    let receipt = crate::harness::follow_to_receipt(&app.client, &app.url(""), receipt, "").await;
    assert_eq!(receipt.status(), 200);
    let receipt = receipt.text().await.unwrap();
    let number = text_of_id(&receipt, "receipt-number");
    let code = text_of_id(&receipt, "access-code");
    let stored: Value = app.status(&number, &code).await.json().await.unwrap();
    assert_eq!(stored["answers"]["children"], canonical);

    // The JSON API: the same normalisation, and pointers into the entry.
    let bad = app
        .apply_json(
            "kodomo-todoke",
            &json!({"guardian": "山田 花子", "children": [
                {"name": "山田 陽向", "kana": "やまだ ひなた", "birth_date": "R8.11.10"},
                {"name": "山田 蒼", "kana": "ヤマダ アオイ", "birth_date": "2024-13-01"}
            ]}),
            None,
        )
        .await;
    assert_eq!(bad.status(), 422);
    let problem: Value = bad.json().await.unwrap();
    assert_eq!(
        problem["errors"][0]["pointer"],
        "/answers/children/1/birth_date"
    );
    assert_eq!(problem["errors"][0]["field"], "children[1].birth_date");
    assert!(problem["errors"][0]["message"]["en"]
        .as_str()
        .unwrap()
        .contains("entry 2"));
    let good = app
        .apply_json(
            "kodomo-todoke",
            &json!({"guardian": "山田 花子", "children": [
                {"name": "山田 陽向", "kana": "やまだ ひなた", "birth_date": "R8.11.10"},
                {"name": "山田 蒼", "kana": "ヤマダ アオイ", "birth_date": "２０２４ー０２ー２９"}
            ]}),
            None,
        )
        .await;
    assert_eq!(good.status(), 201);
    let good: Value = good.json().await.unwrap();
    let stored: Value = app
        .status(
            good["receipt_number"].as_str().unwrap(),
            good["access_code"].as_str().unwrap(),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(stored["answers"]["children"], canonical);
    let none = app
        .apply_json(
            "kodomo-todoke",
            &json!({"guardian": "山田 花子", "children": []}),
            None,
        )
        .await;
    assert_eq!(none.status(), 422, "a required group needs one entry");

    // Staff read each child on the application page and in the CSV export.
    let shown = manager
        .get_html(&format!("/staff/applications/{number}"))
        .await;
    assert!(shown.contains("お子さん（1件目）") && shown.contains("山田 蒼"));
    let csv = manager
        .get("/staff/inbox/export?procedure=kodomo-todoke")
        .await;
    assert_eq!(csv.status(), 200);
    let csv = String::from_utf8(csv.bytes().await.unwrap().to_vec()).unwrap();
    assert!(
        csv.contains("山田 陽向／ヤマダ\u{3000}ヒナタ／2026-11-10; 山田 蒼／ヤマダ\u{3000}アオイ／2024-02-29"),
        "{csv}"
    );
}

async fn post_form(app: &TestApp, pairs: &[(&str, &str)]) -> reqwest::Response {
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in pairs {
        form = form.text(name.to_string(), value.to_string());
    }
    app.post_multipart("/procedures/kodomo-todoke/apply", form)
        .await
}

/// The value of the input named `name` in a page.
fn input_value(html: &str, name: &str) -> String {
    let at = html.find(&format!("name=\"{name}\"")).unwrap();
    let rest = &html[at..];
    let start = rest.find("value=\"").unwrap() + 7;
    rest[start..start + rest[start..].find('"').unwrap()].to_string()
}

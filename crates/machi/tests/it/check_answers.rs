//! The check-answers page of an application (GOV.UK's pattern): each answer with a 変更 button
//! that reopens the form at its question, and the declaration asked there, after the answers,
//! rather than on the form above the attachments.

use crate::harness::{example_as_pairs, tiny_file, TestApp};
use crate::on_both_backends;
use crate::pages::hidden_values;

const PROCEDURE: &str = "juminhyo";

async fn the_declaration_is_made_on_the_check_answers_page(app: &TestApp) {
    let detail = app.procedure(PROCEDURE).await;
    let example = detail["form"]["schema"]["examples"][0].as_object().unwrap();
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in example_as_pairs(example) {
        if name != "declaration" {
            form = form.text(name, value);
        }
    }
    for attachment in detail["form"]["attachments"].as_array().unwrap() {
        let part = reqwest::multipart::Part::bytes(tiny_file(attachment)).file_name("書類.pdf");
        form = form.part(attachment["name"].as_str().unwrap().to_string(), part);
    }
    let confirm = app
        .post_multipart(&format!("/procedures/{PROCEDURE}/apply"), form)
        .await;
    assert_eq!(confirm.status(), 200, "the form needs no declaration");
    let confirm = confirm.text().await.unwrap();
    assert!(confirm.contains(&format!(
        "formaction=\"/procedures/{PROCEDURE}/apply#f-address\""
    )));
    let declaration = confirm.find("name=\"declaration\"").expect("asked here");
    assert!(
        declaration > confirm.find("class=\"answers check\"").unwrap(),
        "after the answers"
    );

    let mut pairs: Vec<(String, String)> = [
        "form_version",
        "answers_json",
        "submission",
        "declarations_asked",
    ]
    .iter()
    .map(|name| (name.to_string(), hidden_values(&confirm, name)[0].clone()))
    .collect();
    pairs.extend(
        hidden_values(&confirm, "attachment")
            .into_iter()
            .map(|v| ("attachment".to_string(), v)),
    );
    let send = |pairs: Vec<(String, String)>| {
        app.client
            .post(app.url(&format!("/procedures/{PROCEDURE}/submit")))
            .form(&pairs)
            .send()
    };
    let undeclared = send(pairs.clone()).await.unwrap();
    assert_eq!(undeclared.status(), 422);
    let undeclared = undeclared.text().await.unwrap();
    assert!(undeclared.contains("入力内容の確認") && undeclared.contains("error-summary"));
    assert!(undeclared.contains("にチェックを入れてください"));
    assert_eq!(
        app.store
            .count_applications(crate::harness::CITY)
            .await
            .unwrap(),
        0
    );
    pairs.push(("declaration".into(), "true".into()));
    let sent = send(pairs).await.unwrap();
    assert_eq!(sent.status(), 303);
    assert_eq!(
        app.store
            .count_applications(crate::harness::CITY)
            .await
            .unwrap(),
        1
    );
}

on_both_backends!(the_declaration_is_made_on_the_check_answers_page);

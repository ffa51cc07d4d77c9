//! A resident's files are never lost: a good upload stays attached when another answer has an
//! error, through the confirm page and 修正する, until the resident removes or replaces it, and
//! it is the file the application gets.

use serde_json::Value;

use crate::harness::{example_as_pairs, follow_to_receipt, tiny_file, TestApp};
use crate::on_both_backends;
use crate::pages::{hidden_values, text_of_id};

const PROCEDURE: &str = "juminhyo";

async fn post(app: &TestApp, form: reqwest::multipart::Form) -> (u16, String) {
    let response = app
        .post_multipart(&format!("/procedures/{PROCEDURE}/apply"), form)
        .await;
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The example answers as a multipart form, with `broken` left empty.
fn answers(detail: &Value, broken: Option<&str>) -> reqwest::multipart::Form {
    let example = detail["form"]["schema"]["examples"][0].as_object().unwrap();
    let mut form = reqwest::multipart::Form::new();
    for (name, value) in example_as_pairs(example) {
        let value = if Some(name.as_str()) == broken {
            String::new()
        } else {
            value
        };
        form = form.text(name, value);
    }
    form
}

/// The page's carried files, as they would be posted again.
fn carrying(mut form: reqwest::multipart::Form, page: &str) -> reqwest::multipart::Form {
    for sealed in hidden_values(page, "attachment") {
        form = form.text("attachment", sealed);
    }
    form
}

async fn an_upload_survives_an_error_elsewhere_and_changing_the_answers(app: &TestApp) {
    let detail = app.procedure(PROCEDURE).await;
    let attachment = detail["form"]["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["required"] == true)
        .expect("a required attachment")
        .clone();
    let field = attachment["name"].as_str().unwrap().to_string();
    let bytes = [
        tiny_file(&attachment),
        b"%% the resident's own scan".to_vec(),
    ]
    .concat();
    let required = detail["form"]["schema"]["required"].as_array().unwrap();
    let broken = required
        .iter()
        .map(|r| r.as_str().unwrap())
        .find(|r| *r != field && detail["form"]["ui"]["fields"][*r]["input"] == "text")
        .expect("a required text question");

    // A good file and a missing answer: the page asks for the answer and keeps the file.
    let part = reqwest::multipart::Part::bytes(bytes.clone()).file_name("本人確認書類.pdf");
    let (status, page) = post(
        app,
        answers(&detail, Some(broken)).part(field.clone(), part),
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("error-summary"));
    assert!(
        page.contains("添付済み") && page.contains("本人確認書類.pdf"),
        "{page}"
    );
    assert_eq!(hidden_values(&page, "attachment").len(), 1);

    // The answer given, no file chosen again: the confirm page has the file.
    let (status, confirm) = post(app, carrying(answers(&detail, None), &page)).await;
    assert_eq!(status, 200, "{confirm}");
    assert!(confirm.contains("入力内容の確認") && confirm.contains("本人確認書類.pdf"));

    // 修正する goes back to the form with the file still attached.
    let edit = carrying(
        reqwest::multipart::Form::new().text(
            "edit_json",
            hidden_values(&confirm, "answers_json")[0].clone(),
        ),
        &confirm,
    );
    let (status, again) = post(app, edit).await;
    assert_eq!(status, 200);
    assert!(
        again.contains("添付済み") && again.contains("本人確認書類.pdf"),
        "{again}"
    );

    // Removing it makes it missing again.
    let removed = carrying(answers(&detail, None), &again).text("remove_attachment", field.clone());
    let (status, missing) = post(app, removed).await;
    assert_eq!(status, 422);
    assert!(!missing.contains("添付済み"));

    // Kept through all of it, the file is the one the application gets.
    let (_, confirm) = post(app, carrying(answers(&detail, None), &again)).await;
    let mut pairs = vec![
        (
            "form_version".to_string(),
            hidden_values(&confirm, "form_version")[0].clone(),
        ),
        (
            "answers_json".to_string(),
            hidden_values(&confirm, "answers_json")[0].clone(),
        ),
        (
            "submission".to_string(),
            hidden_values(&confirm, "submission")[0].clone(),
        ),
    ];
    // The submit form's own (the first; 修正する's form carries the same).
    pairs.push((
        "attachment".to_string(),
        hidden_values(&confirm, "attachment")[0].clone(),
    ));
    let submitted = app
        .client
        .post(app.url(&format!("/procedures/{PROCEDURE}/submit")))
        .form(&pairs)
        .send()
        .await
        .unwrap();
    let receipt = follow_to_receipt(&app.client, &app.url(""), submitted, "")
        .await
        .text()
        .await
        .unwrap();
    let number = text_of_id(&receipt, "receipt-number");
    let code = text_of_id(&receipt, "access-code");
    let stored: Value = app.status(&number, &code).await.json().await.unwrap();
    let files = stored["attachments"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{stored}");
    assert_eq!(files[0]["filename"], "本人確認書類.pdf");
    assert_eq!(files[0]["size_bytes"], bytes.len());
}

on_both_backends!(an_upload_survives_an_error_elsewhere_and_changing_the_answers);

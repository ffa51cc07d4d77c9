//! Applying by API: every demo procedure, idempotency, status lookup, bad input.

use serde_json::{json, Value};

use crate::harness::{tiny_file, TestApp};
use crate::on_both_backends;

on_both_backends!(
    every_online_demo_procedure_accepts_its_example_and_reports_status,
    the_same_idempotency_key_returns_the_same_receipt_and_creates_nothing,
    wrong_answers_get_field_errors_in_japanese_and_english,
    malformed_requests_get_problem_details,
    attachments_are_checked_by_content,
    status_lookups_never_say_which_part_was_wrong,
    control_characters_are_refused_before_the_database,
);

async fn every_online_demo_procedure_accepts_its_example_and_reports_status(app: &TestApp) {
    let ids = app.online_procedure_ids().await;
    assert!(ids.len() >= 30);
    for id in &ids {
        let response = app.apply_example(id).await;
        assert_eq!(
            response.status(),
            201,
            "{id}: {}",
            response.text().await.unwrap()
        );
        let location = response.headers()["location"].to_str().unwrap().to_string();
        let created: Value = response.json().await.unwrap();
        let receipt = created["receipt_number"].as_str().unwrap();
        assert_eq!(location, format!("/api/v1/applications/{receipt}"));
        let status = app
            .status(receipt, created["access_code"].as_str().unwrap())
            .await;
        assert_eq!(status.status(), 200, "{id}");
        let status: Value = status.json().await.unwrap();
        assert_eq!(status["status"], "received");
        assert_eq!(status["procedure_id"], id.as_str());
        assert_eq!(status["history"][0]["status"], "received");
        let detail = app.procedure(id).await;
        assert_eq!(
            status["answers"], detail["form"]["schema"]["examples"][0],
            "{id}"
        );
        assert_eq!(
            status["attachments"].as_array().unwrap().len(),
            detail["form"]["attachments"].as_array().unwrap().len()
        );
    }
    assert_eq!(
        app.store
            .count_applications(crate::harness::CITY)
            .await
            .unwrap(),
        ids.len() as i64
    );
}

async fn the_same_idempotency_key_returns_the_same_receipt_and_creates_nothing(app: &TestApp) {
    let example = app.procedure("tenshutsu-online").await["form"]["schema"]["examples"][0].clone();
    let first = app
        .apply_json("tenshutsu-online", &example, Some("key-123"))
        .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = app
        .apply_json("tenshutsu-online", &example, Some("key-123"))
        .await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(first["receipt_number"], again["receipt_number"]);
    assert_eq!(first["access_code"], again["access_code"]);
    assert_eq!(
        app.store
            .count_applications(crate::harness::CITY)
            .await
            .unwrap(),
        1
    );

    let mut concurrent = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let request = app
            .client
            .post(app.url("/api/v1/procedures/tenshutsu-online/applications"))
            .header("Idempotency-Key", "key-456")
            .json(&json!({ "answers": example.clone() }));
        concurrent.spawn(async move { request.send().await.unwrap() });
    }
    let mut receipts = Vec::new();
    while let Some(response) = concurrent.join_next().await {
        let response = response.unwrap();
        assert_eq!(response.status(), 201);
        receipts.push(response.json::<Value>().await.unwrap()["receipt_number"].clone());
    }
    receipts.dedup();
    assert_eq!(receipts.len(), 1, "{receipts:?}");
    assert_eq!(
        app.store
            .count_applications(crate::harness::CITY)
            .await
            .unwrap(),
        2
    );

    let mut changed = example.clone();
    changed["new_address"] = json!("大阪府デモ市本町9-9-9");
    let reused = app
        .apply_json("tenshutsu-online", &changed, Some("key-123"))
        .await;
    assert_eq!(reused.status(), 422);
    let problem: Value = reused.json().await.unwrap();
    assert!(problem["type"]
        .as_str()
        .unwrap()
        .ends_with("idempotency-key-reused"));
}

async fn wrong_answers_get_field_errors_in_japanese_and_english(app: &TestApp) {
    let detail = app.procedure("juminhyo").await;
    let mut answers = detail["form"]["schema"]["examples"][0].clone();
    let order: Vec<String> = detail["form"]["ui"]["order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let fields = &detail["form"]["ui"]["fields"];
    let required: Vec<String> = detail["form"]["schema"]["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let first_required = order.iter().find(|f| required.contains(f)).unwrap().clone();
    answers.as_object_mut().unwrap().remove(&first_required);
    let phone = order
        .iter()
        .find(|f| fields[f.as_str()]["input"] == "phone")
        .unwrap()
        .clone();
    answers[&phone] = json!("12345");
    answers["not_a_field"] = json!("x");
    let response = app.apply_json("juminhyo", &answers, None).await;
    assert_eq!(response.status(), 422);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = response.json().await.unwrap();
    let errors = problem["errors"].as_array().unwrap();
    let pointers: Vec<&str> = errors
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert!(
        pointers.contains(&format!("/answers/{first_required}").as_str()),
        "{pointers:?}"
    );
    assert!(
        pointers.contains(&format!("/answers/{phone}").as_str()),
        "{pointers:?}"
    );
    assert!(pointers.contains(&"/answers/not_a_field"), "{pointers:?}");
    for error in errors {
        assert!(!error["message"]["ja"].as_str().unwrap().is_empty());
        assert!(!error["message"]["en"].as_str().unwrap().is_empty());
    }
    assert_eq!(
        app.store
            .count_applications(crate::harness::CITY)
            .await
            .unwrap(),
        0
    );
}

async fn malformed_requests_get_problem_details(app: &TestApp) {
    let url = app.url("/api/v1/procedures/juminhyo/applications");
    let cases = [
        (
            app.client
                .post(&url)
                .header("content-type", "application/json")
                .body("{not json"),
            400,
        ),
        (
            app.client
                .post(&url)
                .header("content-type", "application/json")
                .body("[1,2]"),
            400,
        ),
        (
            app.client
                .post(&url)
                .header("content-type", "application/json")
                .body(r#"{"answers":{},"extra":1}"#),
            400,
        ),
        (
            app.client
                .post(&url)
                .header("content-type", "text/plain")
                .body("hello"),
            415,
        ),
        (
            app.client
                .post(&url)
                .json(&json!({"answers": {}}))
                .header("Idempotency-Key", "bad key with spaces"),
            400,
        ),
        (
            app.client
                .post(app.url("/api/v1/procedures/nope/applications"))
                .json(&json!({"answers": {}})),
            404,
        ),
        (
            app.client
                .post(app.url("/api/v1/procedures/inkan-touroku/applications"))
                .json(&json!({"answers": {}})),
            409,
        ),
    ];
    for (request, expected) in cases {
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), expected);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["status"], expected);
        assert!(!problem["detail"].as_str().unwrap().is_empty());
    }
    assert_eq!(
        app.store
            .count_applications(crate::harness::CITY)
            .await
            .unwrap(),
        0
    );
    too_large_is_refused_before_it_is_read(app).await;
}

async fn attachments_are_checked_by_content(app: &TestApp) {
    let ids = app.online_procedure_ids().await;
    let mut with_attachment = None;
    for id in ids {
        let detail = app.procedure(&id).await;
        if detail["form"]["attachments"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["required"] == true))
        {
            with_attachment = Some((id, detail));
            break;
        }
    }
    let (id, detail) = with_attachment.expect("a demo procedure with a required attachment");
    let example = detail["form"]["schema"]["examples"][0].to_string();
    let attachment = detail["form"]["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["required"] == true)
        .unwrap();
    let name = attachment["name"].as_str().unwrap().to_string();
    let path = format!("/api/v1/procedures/{id}/applications");

    let disguised = reqwest::multipart::Form::new()
        .text("answers", example.clone())
        .part(
            name.clone(),
            reqwest::multipart::Part::bytes(b"MZ\x90\x00 not a pdf".to_vec()).file_name("scan.pdf"),
        );
    let response = app.post_multipart(&path, disguised).await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert!(
        problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["pointer"] == format!("/attachments/{name}")),
        "{problem}"
    );

    let missing = reqwest::multipart::Form::new().text("answers", example.clone());
    let response = app.post_multipart(&path, missing).await;
    assert_eq!(response.status(), 422);

    let max = attachment["max_bytes"].as_u64().unwrap() as usize;
    let mut big = tiny_file(attachment);
    big.resize(max + 1, b'0');
    let oversized = reqwest::multipart::Form::new()
        .text("answers", example.clone())
        .part(
            name.clone(),
            reqwest::multipart::Part::bytes(big).file_name("big.pdf"),
        );
    let response = app.post_multipart(&path, oversized).await;
    assert!(
        response.status() == 422 || response.status() == 413,
        "{}",
        response.status()
    );
    assert_eq!(
        app.store
            .count_applications(crate::harness::CITY)
            .await
            .unwrap(),
        0
    );
}

async fn status_lookups_never_say_which_part_was_wrong(app: &TestApp) {
    let response = app.apply_example("tennyu-yoyaku").await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let receipt = created["receipt_number"].as_str().unwrap();
    let code = created["access_code"].as_str().unwrap();
    let wrong_code = app.status(receipt, "AAAA-BBBB-CCCC").await;
    let wrong_receipt = app.status("261123-999999-0", code).await;
    let garbage = app.status("hello", "x").await;
    // Refused as credentials (401, with the Bearer challenge), all three alike.
    for refused in [&wrong_code, &wrong_receipt, &garbage] {
        assert_eq!(refused.status(), 401);
        assert_eq!(refused.headers()["www-authenticate"], "Bearer");
    }
    let bodies = [
        wrong_code.text().await.unwrap(),
        wrong_receipt.text().await.unwrap(),
        garbage.text().await.unwrap(),
    ];
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[1], bodies[2]);
    let anonymous = app
        .client
        .get(app.url(&format!("/api/v1/applications/{receipt}")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let typed = receipt.replace('-', "");
    let lowercase = code.to_lowercase();
    let status = app.status(&typed, &lowercase).await;
    assert_eq!(status.status(), 200);
    assert_eq!(
        status.headers()["cache-control"],
        "no-store",
        "personal data is kept by no cache"
    );
}

async fn control_characters_are_refused_before_the_database(app: &TestApp) {
    let mut answers = app.procedure("tennyu-yoyaku").await["form"]["schema"]["examples"][0].clone();
    answers["applicant_name"] = json!("山田\u{0}太郎");
    let response = app.apply_json("tennyu-yoyaku", &answers, None).await;
    assert_eq!(response.status(), 422);
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["errors"][0]["pointer"], "/answers/applicant_name");
    // A NUL byte in an address is refused before any handler sees it.
    for address in [
        "/api/v1/procedures/%00",
        "/api/v1/procedures/juminhyo%00",
        "/api/v1/applications/%00",
        "/api/v1/procedures?q=%00&department=%00",
        "/procedures/%00/apply",
    ] {
        assert_eq!(app.get(address).await.status(), 400, "{address}");
    }
    assert_eq!(
        app.store
            .count_applications(crate::harness::CITY)
            .await
            .unwrap(),
        0
    );
}

/// A body over the limit is refused from its Content-Length, before any of it is read. Sent
/// as headers only over a raw socket: a client still writing the body when the server answers
/// and closes gets a reset (the unread bytes make the kernel send RST), which an HTTP client
/// library reports as a broken pipe, and which can even discard the answer.
async fn too_large_is_refused_before_it_is_read(app: &TestApp) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/procedures/juminhyo/applications HTTP/1.1\r\nHost: {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        app.addr,
        26 * 1024 * 1024
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        socket.read_to_end(&mut answer),
    )
    .await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
}

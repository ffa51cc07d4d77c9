//! The acknowledgement e-mail: an application whose form has an e-mail address gets one over
//! real SMTP, once, with the receipt number, what happens next and a link that opens the status
//! page with the receipt number filled in (the access code is never in the mail).

use serde_json::Value;

use crate::harness::{TestApp, CITY};
use crate::on_both_backends;
use crate::smtp_sink::SmtpSink;

/// A demo procedure whose example answers give an e-mail address.
async fn procedure_with_email(app: &TestApp) -> (String, String) {
    for id in app.online_procedure_ids().await {
        let detail = app.procedure(&id).await;
        let example = &detail["form"]["schema"]["examples"][0];
        if let Some(email) = example["email"].as_str() {
            return (id, email.to_string());
        }
    }
    panic!("no demo procedure asks for an e-mail address");
}

async fn an_application_is_acknowledged_by_mail_once(app: &TestApp) {
    let sink = SmtpSink::start().await;
    let mailer = sink.workers(&app.store);
    let (id, email) = procedure_with_email(app).await;
    let detail = app.procedure(&id).await;
    let example = detail["form"]["schema"]["examples"][0].to_string();
    let apply = || async {
        app.client
            .post(app.url(&format!("/api/v1/procedures/{id}/applications")))
            .header("content-type", "application/json")
            .header("idempotency-key", "acknowledged-once")
            .body(format!(r#"{{"answers": {example}}}"#))
            .send()
            .await
            .unwrap()
    };
    let created = apply().await;
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let receipt = created["receipt_number"].as_str().unwrap().to_string();
    let code = created["access_code"].as_str().unwrap().to_string();
    // A retry of the same request is answered with the same receipt and sends nothing more.
    let again: Value = apply().await.json().await.unwrap();
    assert_eq!(again["receipt_number"], receipt.as_str());

    let mails = sink.wait_for(1).await;
    assert_eq!(mails[0].to, vec![email]);
    let (subject, text) = mails[0].subject_and_text();
    assert!(
        subject.contains("申請を受け付けました") && subject.contains(&receipt),
        "{subject}"
    );
    let name = detail["name"]["ja"].as_str().unwrap();
    assert!(text.contains(name) && text.contains(&receipt), "{text}");
    assert!(!text.contains(&code), "the access code is never in a mail");
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/status?receipt_number="))
        .expect("a link to the status page");
    assert!(link.ends_with(&receipt), "{link}");

    // The link opens the status page with the receipt number filled in; the code opens it.
    let path = &link[link.find("/status").unwrap()..];
    let page = app.get(path).await.text().await.unwrap();
    assert!(page.contains(&format!("value=\"{receipt}\"")), "{page}");
    let status = app.status_page(&receipt, &code).await;
    assert!(status.contains(&receipt) && status.contains("受付済み"));
    // Garbage in the link fills in nothing.
    let odd = app
        .get("/status?receipt_number=%3Cscript%3E")
        .await
        .text()
        .await
        .unwrap();
    assert!(!odd.contains("<script>"));

    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        sink.wait_for(1).await.len(),
        1,
        "one mail for one application"
    );
    assert_eq!(app.store.count_applications(CITY).await.unwrap(), 1);
    mailer.shutdown().await;
    sink.stop();
}

on_both_backends!(an_application_is_acknowledged_by_mail_once);

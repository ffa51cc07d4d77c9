//! The inbox names each applicant. The application page answers every form with a page: a change is confirmed by a banner
//! after its redirect, and bad input (no next status chosen, an empty message) comes back as
//! the page with an error summary and what was typed kept — never a bare text error.

use crate::harness::TestApp;
use crate::on_both_backends;

use super::{resident_applies, staff_of_the_demo_city, ADMIN, MANAGER};

async fn staff_forms_answer_bad_input_with_the_page(app: &TestApp) {
    staff_of_the_demo_city(app).await;
    let (receipt, code) = resident_applies(app).await;
    let mut manager = app.sign_in(MANAGER).await;
    // The inbox names the applicant, and finds a receipt number typed without hyphens.
    let inbox = manager.get_html("/staff/inbox").await;
    assert!(inbox.contains("<td>山田 花子</td>"), "the applicant's name");
    let bare = receipt.replace('-', "");
    let found = manager.get_html(&format!("/staff/inbox?q={bare}")).await;
    assert!(found.contains(&format!(">{receipt}</a>")));
    let page = format!("/staff/applications/{receipt}");
    let shown = manager.get_html(&page).await;
    assert!(
        shown.contains("class=\"review-columns\""),
        "actions beside the answers"
    );

    // 状況を変更する with no status chosen.
    let refused = manager
        .submit(
            &page,
            &format!("{page}/status"),
            &[("from", "received"), ("note", "書類を確認します")],
        )
        .await;
    assert_eq!(refused.status(), 422);
    assert!(refused.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let refused = refused.text().await.unwrap();
    assert!(refused.contains("error-summary") && refused.contains("href=\"#to\""));
    assert!(refused.contains("次の状況を選んでください。"));
    assert!(
        refused.contains(">書類を確認します</textarea>"),
        "the note is kept"
    );

    // An empty message.
    let empty = manager
        .submit(&page, &format!("{page}/message"), &[("body", "  ")])
        .await;
    assert_eq!(empty.status(), 422);
    assert!(empty
        .text()
        .await
        .unwrap()
        .contains("href=\"#message-body\""));

    // A change made: the redirect's page confirms it.
    let done = manager
        .submit(
            &page,
            &format!("{page}/status"),
            &[("from", "received"), ("to", "in_review")],
        )
        .await;
    assert_eq!(done.status(), 303);
    let location = done.headers()["location"].to_str().unwrap().to_string();
    let confirmed = manager.get_html(&location).await;
    assert!(
        confirmed.contains("success-banner")
            && confirmed.contains("状況を「審査中」に変更しました。")
    );

    // A refusal needs its reasons (行政手続法 第8条), and the resident reads how to appeal it.
    let unreasoned = manager
        .submit(
            &page,
            &format!("{page}/status"),
            &[("from", "in_review"), ("to", "rejected")],
        )
        .await;
    assert_eq!(unreasoned.status(), 422);
    assert!(unreasoned.text().await.unwrap().contains("理由が必要です"));
    let refused = manager
        .submit(
            &page,
            &format!("{page}/status"),
            &[
                ("from", "in_review"),
                ("to", "rejected"),
                ("note", "所得が限度額を超えているため。"),
            ],
        )
        .await;
    assert_eq!(refused.status(), 303);
    let status = app.status_page(&receipt, &code).await;
    assert!(status.contains("所得が限度額を超えているため。"));
    assert!(
        status.contains("審査請求") && status.contains("3か月以内"),
        "the 教示 of how to appeal"
    );

    // The city words its own 教示.
    let mut admin = app.sign_in(ADMIN).await;
    let too_long = "あ".repeat(2001);
    let refused = admin
        .submit(
            "/staff/texts",
            "/staff/texts",
            &[("appeal_ja", too_long.as_str())],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let saved = admin
        .submit(
            "/staff/texts",
            "/staff/texts",
            &[
                (
                    "appeal_ja",
                    "デモ市長に対して3か月以内に審査請求ができます（市の文言）。",
                ),
                ("appeal_en", ""),
            ],
        )
        .await;
    assert_eq!(saved.status(), 303);
    let status = app.status_page(&receipt, &code).await;
    assert!(status.contains("（市の文言）"), "the city's own wording");
}

async fn a_form_the_server_cannot_read_gets_a_page_not_a_text_error(app: &TestApp) {
    // The status lookup without its access code: axum's own rejection, turned into a page.
    let response = app
        .client
        .post(app.url("/status"))
        .form(&[("receipt_number", "261123-000042-7")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = response.text().await.unwrap();
    assert!(page.contains("送信された内容を読み取れませんでした") && page.contains("<html"));
    // The API keeps answering in problem+json or its own text.
    let api = app.get("/api/v1/procedures?limit=abc").await;
    assert!(!api.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
}

on_both_backends!(
    staff_forms_answer_bad_input_with_the_page,
    a_form_the_server_cannot_read_gets_a_page_not_a_text_error,
);

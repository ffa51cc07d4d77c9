//! The staff console: department scoping on every route (sign-in, sessions, throttling and
//! CSRF are in `sign_in`), the review workflow with e-mail to the applicant through a real SMTP exchange,
//! exports, and the hash-chained audit log.

use serde_json::Value;
use sqlx::Executor;

use crate::harness::TestApp;
use crate::on_both_backends;
use crate::smtp_sink::SmtpSink;

mod answer_search;
mod decisions;
mod review_page;
mod sign_in;

pub(super) const KOSODATE_PROCEDURE: &str = "jidou-teate-nintei";
pub(super) const MANAGER: &str = "kacho@kosodate.test";
pub(super) const REVIEWER: &str = "tanto@kosodate.test";
pub(super) const OTHER_DEPARTMENT: &str = "tanto@shimin.test";
const AUDITOR: &str = "kansa@city.test";
pub(super) const ADMIN: &str = "admin@city.test";

pub(super) async fn staff_of_the_demo_city(app: &TestApp) {
    app.store
        .ensure_department(crate::harness::CITY, "johoseisaku", "情報政策課", "")
        .await
        .unwrap();
    app.create_staff(MANAGER, "manager", Some("kosodate")).await;
    app.create_staff(REVIEWER, "staff", Some("kosodate")).await;
    app.create_staff(OTHER_DEPARTMENT, "staff", Some("shimin"))
        .await;
    app.create_staff(AUDITOR, "auditor", None).await;
    app.create_staff(ADMIN, "admin", Some("johoseisaku")).await;
}

/// A resident applies; returns (receipt number, access code).
pub(super) async fn resident_applies(app: &TestApp) -> (String, String) {
    let response = app.apply_example(KOSODATE_PROCEDURE).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    (
        created["receipt_number"].as_str().unwrap().to_string(),
        created["access_code"].as_str().unwrap().to_string(),
    )
}

async fn resident_sees(app: &TestApp, receipt: &str, code: &str) -> Value {
    let response = app.status(receipt, code).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn review_workflow_with_email_and_audit(app: &TestApp) {
    staff_of_the_demo_city(app).await;
    let sink = SmtpSink::start().await;
    let mailer = sink.workers(&app.store);
    let (receipt, code) = resident_applies(app).await;

    let mut manager = app.sign_in(MANAGER).await;
    let inbox = manager.get_html("/staff/inbox?status=received").await;
    assert!(
        inbox.contains(&receipt),
        "the new application is in the inbox"
    );
    let page = format!("/staff/applications/{receipt}");
    let detail = manager.get_html(&page).await;
    assert!(
        detail.contains("山田"),
        "the answers are shown to the department"
    );

    // In review, with a note and an e-mail to the applicant.
    let response = manager
        .submit(
            &page,
            &format!("{page}/status"),
            &[
                ("from", "received"),
                ("to", "in_review"),
                ("note", "書類を確認しています。"),
                ("notify", "1"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    // The applicant was told at once that it arrived; then of each change.
    let mails = status_mails(sink.wait_for(2).await);
    assert_eq!(mails[0].to, vec!["hanako.yamada@example.jp".to_string()]);
    assert_eq!(mails[0].from, "no-reply@demo.test");
    let (subject, text) = mails[0].subject_and_text();
    assert!(subject.contains(&receipt), "{subject}");
    assert!(
        text.contains("審査中") && text.contains("書類を確認しています。"),
        "{text}"
    );
    let seen = resident_sees(app, &receipt, &code).await;
    assert_eq!(seen["status"], "in_review");
    assert_eq!(seen["history"][1]["note"]["ja"], "書類を確認しています。");

    // A stale form (the page still said "received") is refused, not applied twice.
    let stale = manager
        .submit(
            &page,
            &format!("{page}/status"),
            &[("from", "received"), ("to", "in_review")],
        )
        .await;
    assert_eq!(stale.status(), 409);
    // A step the workflow does not have is refused, on the page with an error summary.
    let skip = manager
        .submit(
            &page,
            &format!("{page}/status"),
            &[("from", "in_review"), ("to", "completed")],
        )
        .await;
    assert_eq!(skip.status(), 422);
    assert!(skip
        .text()
        .await
        .unwrap()
        .contains("その状況には進めません"));

    // A message, an internal comment, an assignment; then approved and completed.
    let message = manager
        .submit(
            &page,
            &format!("{page}/message"),
            &[("body", "口座の名義をご確認ください。")],
        )
        .await;
    assert_eq!(message.status(), 303);
    let comment = manager
        .submit(
            &page,
            &format!("{page}/comment"),
            &[("body", "住基照会済み")],
        )
        .await;
    assert_eq!(comment.status(), 303);
    let assign = manager
        .submit(&page, &format!("{page}/assign"), &[("assignee", REVIEWER)])
        .await;
    assert_eq!(assign.status(), 303);
    let mut reviewer = app.sign_in(REVIEWER).await;
    let mine = reviewer.get_html("/staff/inbox?assignee=me").await;
    assert!(mine.contains(&receipt));
    for (from, to) in [("in_review", "approved"), ("approved", "completed")] {
        let response = reviewer
            .submit(
                &page,
                &format!("{page}/status"),
                &[("from", from), ("to", to), ("notify", "1")],
            )
            .await;
        assert_eq!(response.status(), 303, "{from} → {to}");
        // 課長専決: the reviewer's approval is a proposal the manager decides.
        if let Some(id) = decisions::decision_form(&manager.get_html(&page).await, &receipt) {
            let decided = manager
                .submit(
                    &page,
                    &format!("{page}/decisions/{id}"),
                    &[("action", "approve")],
                )
                .await;
            assert_eq!(decided.status(), 303);
        }
    }
    let mails = status_mails(sink.wait_for(5).await);
    assert!(mails[1]
        .subject_and_text()
        .1
        .contains("口座の名義をご確認ください。"));
    assert!(mails[3].subject_and_text().1.contains("完了"));

    let seen = resident_sees(app, &receipt, &code).await;
    assert_eq!(seen["status"], "completed");
    let kinds: Vec<&str> = seen["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["status", "status", "message", "status", "status"]);
    let shown = serde_json::to_string(&seen).unwrap();
    assert!(
        !shown.contains("住基照会済み"),
        "internal comments stay internal"
    );

    // The auditor sees every step, and the chain verifies.
    let mut auditor = app.sign_in(AUDITOR).await;
    let log = auditor
        .get_html(&format!("/staff/audit?subject={receipt}"))
        .await;
    for action in [
        "application.view",
        "application.status",
        "application.message",
        "application.comment",
        "application.assign",
    ] {
        assert!(log.contains(action), "{action} is in the audit log");
    }
    let export = auditor.get("/staff/audit/export").await;
    assert_eq!(export.status(), 200);
    assert!(export.bytes().await.unwrap().starts_with(b"\xEF\xBB\xBF"));
    let report = app.store.verify_audit(crate::harness::CITY).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(report.entries >= 10);

    mailer.shutdown().await;
    sink.stop();
}

async fn every_staff_route_refuses_another_department(app: &TestApp) {
    staff_of_the_demo_city(app).await;
    let (receipt, _) = resident_applies(app).await;
    let mut outsider = app.sign_in(OTHER_DEPARTMENT).await;
    let base = format!("/staff/applications/{receipt}");
    for path in [
        base.clone(),
        format!("{base}/print"),
        format!("{base}/files/income_certificate"),
    ] {
        assert_eq!(outsider.get(&path).await.status(), 403, "GET {path}");
    }
    // Its inbox and exports never list the other department's application.
    let inbox = outsider.get_html("/staff/inbox").await;
    assert!(!inbox.contains(&receipt));
    let export = outsider.get("/staff/inbox/export?encoding=utf8").await;
    assert!(!export.text().await.unwrap().contains(&receipt));
    let csrf = crate::harness::csrf_of(&outsider.get_html("/staff/inbox").await);
    for (action, form) in [
        ("status", vec![("from", "received"), ("to", "in_review")]),
        ("message", vec![("body", "x")]),
        ("comment", vec![("body", "x")]),
        ("assign", vec![("assignee", OTHER_DEPARTMENT)]),
    ] {
        let mut form = form;
        form.push(("csrf", &csrf));
        let response = outsider.post(&format!("{base}/{action}"), &form).await;
        assert_eq!(response.status(), 403, "POST {action}");
    }
    // The department's procedures in the editor: every page and action.
    let editor = format!("/staff/procedures/{KOSODATE_PROCEDURE}");
    for path in [format!("{editor}/edit"), format!("{editor}/preview")] {
        assert_eq!(outsider.get(&path).await.status(), 403, "GET {path}");
    }
    for (action, form) in [
        (
            "edit",
            vec![("name_ja", "x"), ("kana", "x"), ("channel", "online")],
        ),
        ("fields", vec![("label_ja", "x"), ("field_type", "text")]),
        ("fields/reason/move", vec![("direction", "up")]),
        ("fields/reason/remove", vec![]),
        ("publish", vec![]),
        ("unpublish", vec![]),
        ("discard", vec![]),
    ] {
        let mut form = form;
        form.push(("csrf", &csrf));
        let response = outsider.post(&format!("{editor}/{action}"), &form).await;
        assert_eq!(response.status(), 403, "POST editor {action}");
    }
    let listed = outsider.get_html("/staff/procedures").await;
    assert!(
        !listed.contains(KOSODATE_PROCEDURE),
        "other departments' procedures are not listed"
    );
    let payments = outsider.get("/staff/payments").await;
    assert_eq!(payments.status(), 403, "department staff do not reconcile");
    let bulk = outsider
        .post(
            "/staff/inbox/bulk",
            &[
                ("action", "assign_me"),
                ("receipt", &receipt),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(bulk.status(), 403, "bulk");
    // Roles: a reviewer cannot manage accounts or read the audit log; the auditor cannot review.
    assert_eq!(outsider.get("/staff/users").await.status(), 403);
    assert_eq!(outsider.get("/staff/audit").await.status(), 403);
    let mut auditor = app.sign_in(AUDITOR).await;
    assert_eq!(auditor.get(&base).await.status(), 403);
    assert_eq!(auditor.get("/staff/inbox").await.status(), 403);
    // Nothing changed.
    let mut manager = app.sign_in(MANAGER).await;
    let detail = manager.get_html(&base).await;
    assert!(!detail.contains("in_review\" checked"));
    let states = app
        .store
        .application_states(crate::harness::CITY, std::slice::from_ref(&receipt))
        .await
        .unwrap();
    assert_eq!(states[0].status.as_str(), "received");
}

async fn exports_open_in_excel_encodings(app: &TestApp) {
    staff_of_the_demo_city(app).await;
    let (receipt, _) = resident_applies(app).await;
    let mut manager = app.sign_in(MANAGER).await;
    let utf8 = manager
        .get(&format!(
            "/staff/inbox/export?procedure={KOSODATE_PROCEDURE}&encoding=utf8"
        ))
        .await;
    assert_eq!(utf8.status(), 200);
    assert_eq!(utf8.headers()["content-type"], "text/csv; charset=utf-8");
    let bytes = utf8.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(text.starts_with("受付番号,手続,状況"), "{text}");
    assert!(text.contains(&receipt) && text.contains("山田"), "{text}");
    assert!(text.contains("\r\n"));

    // Without a procedure chosen, the applicant and the answers are still there, written out.
    let any = manager.get("/staff/inbox/export?encoding=utf8").await;
    let any = String::from_utf8(any.bytes().await.unwrap()[3..].to_vec()).unwrap();
    assert!(
        any.lines()
            .next()
            .unwrap()
            .ends_with("受付方法,申請者,申請内容"),
        "{any}"
    );
    assert!(
        any.contains("山田 花子") && any.contains("請求者の氏名：山田 花子"),
        "{any}"
    );

    let sjis = manager
        .get(&format!(
            "/staff/inbox/export?procedure={KOSODATE_PROCEDURE}&encoding=sjis&wareki=1"
        ))
        .await;
    assert_eq!(
        sjis.headers()["content-type"],
        "text/csv; charset=Shift_JIS"
    );
    let bytes = sjis.bytes().await.unwrap();
    let (decoded, _, errors) = encoding_rs::SHIFT_JIS.decode(&bytes);
    assert!(!errors);
    assert!(
        decoded.contains(&receipt) && decoded.contains("令和"),
        "{decoded}"
    );
}

async fn audit_verify_detects_edits_and_deletions(app: &TestApp) {
    staff_of_the_demo_city(app).await;
    let (receipt, _) = resident_applies(app).await;
    let mut manager = app.sign_in(MANAGER).await;
    manager
        .get_html(&format!("/staff/applications/{receipt}"))
        .await;
    manager.get_html("/staff/inbox").await;
    let report = app.store.verify_audit(crate::harness::CITY).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let entries = report.entries;
    assert!(entries >= 2);

    let pool = sqlx::AnyPool::connect(&app.database_url()).await.unwrap();
    // Someone hides who looked at the application.
    pool.execute(
        "UPDATE audit_log SET actor = 'someone.else@city.test' WHERE action = 'application.view'",
    )
    .await
    .unwrap();
    let report = app.store.verify_audit(crate::harness::CITY).await.unwrap();
    assert!(
        report.problems.iter().any(|p| p.contains("was edited")),
        "{:?}",
        report.problems
    );
    // Deleting the newest entry is caught by the head.
    pool.execute(
        "UPDATE audit_log SET actor = 'kacho@kosodate.test' WHERE action = 'application.view'",
    )
    .await
    .unwrap();
    assert!(app
        .store
        .verify_audit(crate::harness::CITY)
        .await
        .unwrap()
        .problems
        .is_empty());
    pool.execute(format!("DELETE FROM audit_log WHERE seq = {entries}").as_str())
        .await
        .unwrap();
    let report = app.store.verify_audit(crate::harness::CITY).await.unwrap();
    assert!(
        report.problems.iter().any(|p| p.contains("removed")),
        "{:?}",
        report.problems
    );
    pool.close().await;
}

async fn a_resident_corrects_what_staff_sent_back(app: &TestApp) {
    staff_of_the_demo_city(app).await;
    let (receipt, code) = resident_applies(app).await;
    let mut manager = app.sign_in(MANAGER).await;
    let page = format!("/staff/applications/{receipt}");
    manager
        .submit(
            &page,
            &format!("{page}/status"),
            &[
                ("from", "received"),
                ("to", "correction_requested"),
                ("note", "電話番号をご確認ください。"),
            ],
        )
        .await;
    let status = app.status_page(&receipt, &code).await;
    assert!(status.contains("内容を修正する") && status.contains("電話番号をご確認ください。"));
    let opened = app
        .client
        .post(app.url("/status/correct"))
        .form(&[
            ("receipt_number", receipt.as_str()),
            ("access_code", code.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 200);
    let opened = opened.text().await.unwrap();
    assert!(
        opened.contains("090-1234-5678"),
        "the form opens with the answers given"
    );
    assert!(
        crate::pages::text_of_id(&opened, "correction-message")
            .contains("電話番号をご確認ください。"),
        "the correction form shows what the department asked"
    );
    let example = app.procedure(KOSODATE_PROCEDURE).await["form"]["schema"]["examples"][0]
        .as_object()
        .unwrap()
        .clone();
    let mut pairs = crate::harness::example_as_pairs(&example);
    pairs.retain(|(name, _)| name != "phone");
    for (name, value) in [
        ("phone", "０６ー９９９９ー８８８８"),
        ("receipt_number", receipt.as_str()),
        ("access_code", code.as_str()),
        ("step", "send"),
    ] {
        pairs.push((name.into(), value.into()));
    }
    // Sent as a browser sends it: the files it has carried on, one of them replaced.
    let detail = app.procedure(KOSODATE_PROCEDURE).await;
    let spec = &detail["form"]["attachments"][0];
    for sealed in crate::pages::hidden_values(&opened, "attachment") {
        pairs.push(("attachment".into(), sealed));
    }
    let replacement = [crate::harness::tiny_file(spec), b"% signed".to_vec()].concat();
    let upload = reqwest::multipart::Part::bytes(replacement)
        .file_name("申立書.pdf")
        .mime_str("application/pdf")
        .unwrap();
    let form = pairs
        .iter()
        .fold(reqwest::multipart::Form::new(), |form, (k, v)| {
            form.text(k.clone(), v.clone())
        })
        .part(spec["name"].as_str().unwrap().to_string(), upload);
    let sent = app.post_multipart("/status/correct", form).await;
    assert_eq!(sent.status(), 200);
    let sent = sent.text().await.unwrap();
    assert!(sent.contains("再提出済み"));
    assert!(
        sent.contains(&format!(
            "変更された項目：電話番号、{}",
            spec["label"]["ja"].as_str().unwrap()
        )),
        "the history says what changed: {}",
        &sent[sent.find("これまでの経過").unwrap_or(0)..]
    );
    let seen = resident_sees(app, &receipt, &code).await;
    assert_eq!(seen["status"], "resubmitted");
    assert_eq!(seen["answers"]["phone"], "06-9999-8888");
    let files = seen["attachments"].as_array().unwrap();
    assert_eq!(files.len(), 2, "the other file stays");
    let replaced = files.iter().find(|f| f["field"] == spec["name"]).unwrap();
    assert_eq!(replaced["filename"], "申立書.pdf");
    let again = app
        .client
        .post(app.url("/status/correct"))
        .form(&pairs)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409, "only while a correction is asked for");
    let wrong = app
        .client
        .post(app.url("/status/correct"))
        .form(&[
            ("receipt_number", receipt.as_str()),
            ("access_code", "WRONG-CODE-0000"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);
    let inbox = manager.get_html("/staff/inbox?status=resubmitted").await;
    assert!(inbox.contains(&receipt), "back in the department's inbox");
    let by_new_phone = manager.get_html("/staff/inbox?q=06-9999-8888").await;
    assert!(
        by_new_phone.contains(&receipt),
        "found by the corrected answer"
    );
    let by_old_phone = manager.get_html("/staff/inbox?q=090-1234-5678").await;
    assert!(!by_old_phone.contains(&receipt), "no longer by the old one");
    let log = app
        .store
        .audit_entries(
            crate::harness::CITY,
            &machi_store::audit::AuditQuery {
                subject: receipt.clone(),
                action: "application.resubmit".into(),
                limit: 5,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(log.len(), 1);
}

on_both_backends!(
    review_workflow_with_email_and_audit,
    a_resident_corrects_what_staff_sent_back,
    every_staff_route_refuses_another_department,
    exports_open_in_excel_encodings,
    audit_verify_detects_edits_and_deletions,
);

/// The mails about status changes, without the acknowledgement sent when the application came.
fn status_mails(mails: Vec<crate::smtp_sink::Delivered>) -> Vec<crate::smtp_sink::Delivered> {
    let (acknowledgements, changes): (Vec<_>, Vec<_>) = mails
        .into_iter()
        .partition(|m| m.subject_and_text().0.contains("申請を受け付けました"));
    assert_eq!(acknowledgements.len(), 1, "one acknowledgement");
    changes
}

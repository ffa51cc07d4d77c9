//! 決裁: a 担当職員 proposes a decision on a 課長専決 procedure and cannot make it; the manager
//! makes it, and the decision carries a 文書番号 into the status, the e-mail and the audit chain.
//! A manager decides alone, a proposal can be sent back, and a 担当者専決 procedure is decided
//! by its reviewer.

use serde_json::Value;

use crate::harness::{StaffClient, TestApp, CITY};
use crate::on_both_backends;
use crate::smtp_sink::SmtpSink;

use super::{resident_applies, staff_of_the_demo_city, MANAGER, OTHER_DEPARTMENT, REVIEWER};

/// The id of the pending decision the page offers to approve.
pub(super) fn decision_form(html: &str, receipt: &str) -> Option<String> {
    let marker = format!("/staff/applications/{receipt}/decisions/");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..start + html[start..].find('"')?].to_string())
}

async fn change(
    staff: &mut StaffClient,
    receipt: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let page = format!("/staff/applications/{receipt}");
    staff.submit(&page, &format!("{page}/status"), fields).await
}

fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

async fn resident_status(app: &TestApp, receipt: &str, code: &str) -> Value {
    app.status(receipt, code).await.json().await.unwrap()
}

async fn audit_actions(app: &TestApp, receipt: &str) -> Vec<(String, String, Value)> {
    let entries = app
        .store
        .audit_entries(
            CITY,
            &machi_store::audit::AuditQuery {
                subject: receipt.to_string(),
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut found: Vec<_> = entries
        .into_iter()
        .filter(|e| {
            e.action.starts_with("application.decision") || e.action == "application.status"
        })
        .map(|e| (e.action, e.actor, serde_json::from_str(&e.detail).unwrap()))
        .collect();
    found.sort_by_key(|(action, _, _)| action.clone());
    found
}

async fn only_the_manager_decides_a_kacho_senketsu_procedure(app: &TestApp) {
    staff_of_the_demo_city(app).await;
    let sink = SmtpSink::start().await;
    let _mailer = sink.workers(&app.store);
    let (receipt, code) = resident_applies(app).await;
    let mut reviewer = app.sign_in(REVIEWER).await;
    let page = format!("/staff/applications/{receipt}");
    assert!(reviewer.get_html(&page).await.contains("所属長専決"));
    let started = change(
        &mut reviewer,
        &receipt,
        &[("from", "received"), ("to", "in_review")],
    )
    .await;
    assert_eq!(
        started.status(),
        303,
        "steps that decide nothing need no 決裁"
    );

    // The reviewer proposes; the application waits for the manager.
    let proposed = change(
        &mut reviewer,
        &receipt,
        &[
            ("from", "in_review"),
            ("to", "approved"),
            ("note", "要件を満たしています。"),
            ("notify", "1"),
        ],
    )
    .await;
    assert_eq!(proposed.status(), 303);
    assert!(location(&proposed).ends_with("done=proposed"));
    assert_eq!(
        resident_status(app, &receipt, &code).await["status"],
        "in_review"
    );
    let waiting = reviewer.get_html(&page).await;
    assert!(waiting.contains("決裁中") && waiting.contains("決裁待ち"));
    let id =
        decision_form(&manager_page(app, &page).await, &receipt).expect("the manager may approve");
    assert_eq!(
        decision_form(&waiting, &receipt),
        None,
        "the proposer may not"
    );
    let own = reviewer
        .submit(
            &page,
            &format!("{page}/decisions/{id}"),
            &[("action", "approve")],
        )
        .await;
    assert_eq!(
        own.status(),
        403,
        "a 担当職員 cannot decide a 課長専決 procedure"
    );
    let around = change(
        &mut reviewer,
        &receipt,
        &[("from", "in_review"), ("to", "correction_requested")],
    )
    .await;
    assert_eq!(
        around.status(),
        409,
        "nothing changes while a decision is on its route"
    );
    assert_eq!(
        resident_status(app, &receipt, &code).await["status"],
        "in_review"
    );

    // The manager decides: the status, a 文書番号, the e-mail and the chain.
    let mut manager = app.sign_in(MANAGER).await;
    let inbox = manager.get_html("/staff/inbox").await;
    assert!(inbox.contains("id=\"awaiting-decisions\"") && inbox.contains(&receipt));
    let decided = manager
        .submit(
            &page,
            &format!("{page}/decisions/{id}"),
            &[("action", "approve")],
        )
        .await;
    assert_eq!(decided.status(), 303);
    let seen = resident_status(app, &receipt, &code).await;
    assert_eq!(seen["status"], "approved");
    let number = seen["history"].as_array().unwrap().last().unwrap()["document_number"]
        .as_str()
        .expect("the decision's 文書番号")
        .to_string();
    assert!(number.contains("子育て支援課第1号"), "{number}");
    let shown = manager.get_html(&page).await;
    assert!(shown.contains(&number) && shown.contains("決裁の記録"));
    let mails: Vec<_> = sink
        .wait_for(2)
        .await
        .into_iter()
        .map(|m| m.subject_and_text().1)
        .filter(|text| text.contains("承認"))
        .collect();
    assert!(mails.iter().any(|text| text.contains(&number)), "{mails:?}");
    let chain = audit_actions(app, &receipt).await;
    let steps: Vec<(&str, &str)> = chain
        .iter()
        .map(|(a, who, _)| (a.as_str(), who.as_str()))
        .collect();
    assert!(
        steps.contains(&("application.decision.propose", REVIEWER)),
        "{steps:?}"
    );
    assert!(
        steps.contains(&("application.decision.approve", MANAGER)),
        "{steps:?}"
    );
    let carried = chain
        .iter()
        .find(|(a, _, detail)| a == "application.status" && detail["to"] == "approved")
        .expect("the status change");
    assert_eq!(carried.1, MANAGER);
    assert_eq!(carried.2["document_number"], number.as_str());
    assert!(
        app.store
            .verify_audit(CITY)
            .await
            .unwrap()
            .problems
            .is_empty(),
        "the chain holds"
    );
}

async fn manager_page(app: &TestApp, page: &str) -> String {
    app.sign_in(MANAGER).await.get_html(page).await
}

async fn a_manager_decides_alone_and_can_send_a_proposal_back(app: &TestApp) {
    staff_of_the_demo_city(app).await;
    let (first, _) = resident_applies(app).await;
    let (second, code) = resident_applies(app).await;
    let mut manager = app.sign_in(MANAGER).await;
    for receipt in [&first, &second] {
        let started = change(
            &mut manager,
            receipt,
            &[("from", "received"), ("to", "in_review")],
        )
        .await;
        assert_eq!(started.status(), 303);
    }
    let refused = change(
        &mut manager,
        &first,
        &[
            ("from", "in_review"),
            ("to", "rejected"),
            ("note", "所得が限度額を超えています。"),
        ],
    )
    .await;
    assert_eq!(refused.status(), 303);
    assert!(
        location(&refused).ends_with("done=status"),
        "decided at once"
    );

    // 差戻し: the proposal goes back with its reason; the application is as it was.
    let mut reviewer = app.sign_in(REVIEWER).await;
    let proposed = change(
        &mut reviewer,
        &second,
        &[("from", "in_review"), ("to", "approved")],
    )
    .await;
    assert_eq!(proposed.status(), 303);
    let page = format!("/staff/applications/{second}");
    let id = decision_form(&manager.get_html(&page).await, &second).unwrap();
    let unreasoned = manager
        .submit(
            &page,
            &format!("{page}/decisions/{id}"),
            &[("action", "return")],
        )
        .await;
    assert_eq!(unreasoned.status(), 422, "a return says why");
    let returned = manager
        .submit(
            &page,
            &format!("{page}/decisions/{id}"),
            &[
                ("action", "return"),
                ("reason", "所得証明を確認してください。"),
            ],
        )
        .await;
    assert_eq!(returned.status(), 303);
    assert_eq!(
        resident_status(app, &second, &code).await["status"],
        "in_review"
    );
    let shown = reviewer.get_html(&page).await;
    assert!(shown.contains("差戻し") && shown.contains("所得証明を確認してください。"));
    let again = change(
        &mut reviewer,
        &second,
        &[("from", "in_review"), ("to", "approved")],
    )
    .await;
    assert_eq!(again.status(), 303, "proposed again after the return");
    let id = decision_form(&manager.get_html(&page).await, &second).unwrap();
    let decided = manager
        .submit(
            &page,
            &format!("{page}/decisions/{id}"),
            &[("action", "approve")],
        )
        .await;
    assert_eq!(decided.status(), 303);
    let seen = resident_status(app, &second, &code).await;
    let number = seen["history"].as_array().unwrap().last().unwrap()["document_number"].clone();
    assert!(
        number.as_str().unwrap().ends_with("第2号"),
        "{number}: numbered in turn"
    );
}

async fn the_reviewer_decides_a_tantosha_senketsu_procedure(app: &TestApp) {
    staff_of_the_demo_city(app).await;
    let created: Value = app.apply_example("juminhyo").await.json().await.unwrap();
    let receipt = created["receipt_number"].as_str().unwrap();
    let mut clerk = app.sign_in(OTHER_DEPARTMENT).await;
    let page = format!("/staff/applications/{receipt}");
    assert!(clerk.get_html(&page).await.contains("担当者専決"));
    let approved = change(
        &mut clerk,
        receipt,
        &[("from", "received"), ("to", "in_review")],
    )
    .await;
    assert_eq!(approved.status(), 303);
    let approved = change(
        &mut clerk,
        receipt,
        &[("from", "in_review"), ("to", "approved")],
    )
    .await;
    assert!(location(&approved).ends_with("done=status"));
    let decisions = app.store.decisions(CITY, receipt).await.unwrap();
    assert_eq!(decisions.len(), 1);
    assert!(decisions[0]
        .document_number
        .as_deref()
        .unwrap()
        .contains("市民課第1号"));
}

async fn bulk_approve(staff: &mut StaffClient, receipts: &[String]) -> reqwest::Response {
    let mut fields = vec![("action", "status:approved")];
    fields.extend(receipts.iter().map(|r| ("receipt", r.as_str())));
    staff
        .submit("/staff/inbox", "/staff/inbox/bulk", &fields)
        .await
}

/// A bulk approval follows each procedure's route: the manager's decides them all, each with
/// its own 文書番号.
async fn bulk_approvals_follow_the_route(app: &TestApp) {
    staff_of_the_demo_city(app).await;
    let mut manager = app.sign_in(MANAGER).await;
    let mut receipts = Vec::new();
    for _ in 0..3 {
        let (receipt, _) = resident_applies(app).await;
        let started = change(
            &mut manager,
            &receipt,
            &[("from", "received"), ("to", "in_review")],
        )
        .await;
        assert_eq!(started.status(), 303);
        receipts.push(receipt);
    }
    let mut reviewer = app.sign_in(REVIEWER).await;
    let proposed = bulk_approve(&mut reviewer, &receipts[2..]).await;
    assert_eq!(
        proposed.status(),
        403,
        "acting on many at once is the manager's"
    );
    let decided = bulk_approve(&mut manager, &receipts[..2]).await;
    assert_eq!(decided.status(), 303);
    let mut numbers = Vec::new();
    for receipt in &receipts[..2] {
        let decisions = app.store.decisions(CITY, receipt).await.unwrap();
        numbers.push(decisions[0].document_number.clone());
    }
    assert!(numbers[0].is_some() && numbers[1].is_some() && numbers[0] != numbers[1]);
    assert!(
        app.store
            .decisions(CITY, &receipts[2])
            .await
            .unwrap()
            .is_empty(),
        "the reviewer's bulk action changed nothing"
    );
}

on_both_backends!(
    bulk_approvals_follow_the_route,
    only_the_manager_decides_a_kacho_senketsu_procedure,
    a_manager_decides_alone_and_can_send_a_proposal_back,
    the_reviewer_decides_a_tantosha_senketsu_procedure,
);

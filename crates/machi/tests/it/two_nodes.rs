//! Two nodes, one PostgreSQL: a deployment behind a load balancer. Each `machi serve` has its
//! own data directory, so whatever one node stores the other can serve only from the database.
//! An application with an attachment is submitted on one node and read, attachment included,
//! on the other; then one node is killed with SIGKILL in the middle of a broadcast, and the
//! other delivers the rest: every subscriber gets the notice, each under one delivery id,
//! within the lease time.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use machi_store::deliveries::LEASE_SECONDS;
use serde_json::Value;

use crate::broadcast::{
    assert_signed, distinct_deliveries, open_city, send_emergency, subscribe_webhooks, terminate,
    wait_until, webhook_report,
};
use crate::durability::start_in;
use crate::harness::{tiny_file, Db, StaffClient, TestDb};
use crate::receivers::Receivers;

const SUBSCRIBERS: usize = 1_500;
/// Deliveries that arrive before one node is killed.
const BEFORE_KILL: usize = 200;
const SETTINGS: [&str; 3] = ["--webhook-concurrency", "8", "--webhook-allow-private"];
const DEMO_PASSWORD: &str = "machi-demo-password";

/// A demo procedure with a required attachment, in a department a demo account reviews:
/// (procedure id, its example answers, the attachment's description, the reviewer's e-mail).
pub(crate) async fn procedure_with_attachment(base: &str) -> (String, String, Value, &'static str) {
    let client = reqwest::Client::new();
    let get = |path: String| {
        let client = client.clone();
        async move {
            client
                .get(path)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let catalog = get(format!("{base}/api/v1/procedures?online=true&limit=200")).await;
    for item in catalog["items"].as_array().unwrap() {
        let id = item["id"].as_str().unwrap();
        let detail = get(format!("{base}/api/v1/procedures/{id}")).await;
        let reviewer = match detail["department"]["code"].as_str() {
            Some("kosodate") => "kosodate@demo.machi.example",
            Some("shimin") => "shimin@demo.machi.example",
            _ => continue,
        };
        let Some(attachment) = detail["form"]["attachments"]
            .as_array()
            .and_then(|list| list.iter().find(|a| a["required"] == true))
        else {
            continue;
        };
        let example = detail["form"]["schema"]["examples"][0].to_string();
        return (id.to_string(), example, attachment.clone(), reviewer);
    }
    panic!("no demo procedure with a required attachment in kosodate or shimin");
}

/// Submits on node `a`; staff read the application and its attachment on node `b`.
async fn a_file_stored_by_one_node_is_served_by_the_other(a: &str, b: &str) {
    let (id, example, attachment, reviewer) = procedure_with_attachment(a).await;
    let field = attachment["name"].as_str().unwrap().to_string();
    let bytes = [tiny_file(&attachment), "node A's copy".as_bytes().to_vec()].concat();
    let form = reqwest::multipart::Form::new()
        .text("answers", example)
        .part(
            field.clone(),
            reqwest::multipart::Part::bytes(bytes.clone()).file_name("書類.pdf"),
        );
    let created = reqwest::Client::new()
        .post(format!("{a}/api/v1/procedures/{id}/applications"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "submission on node A");
    let created: Value = created.json().await.unwrap();
    let receipt = created["receipt_number"].as_str().unwrap();

    let mut staff = StaffClient::at(b);
    let signed_in = staff.try_sign_in(reviewer, DEMO_PASSWORD).await;
    assert_eq!(signed_in.status(), 303, "sign-in on node B");
    let page = staff
        .get_html(&format!("/staff/applications/{receipt}"))
        .await;
    assert!(page.contains(receipt));
    let file = staff
        .get(&format!("/staff/applications/{receipt}/files/{field}"))
        .await;
    assert_eq!(file.status(), 200, "the attachment, on node B");
    assert_eq!(file.bytes().await.unwrap().as_ref(), bytes.as_slice());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_files_and_finish_a_broadcast_when_one_is_killed() {
    let Some(db) = TestDb::new(Db::Postgres).await else {
        return;
    };
    let store = open_city(&db).await;
    let receivers = Receivers::start().await;
    let node_b_dir = tempfile::tempdir().unwrap();
    let (mut node_a, a) = start_in(db.url.as_deref(), db.data_dir.path(), &SETTINGS).await;
    let (mut node_b, b) = start_in(db.url.as_deref(), node_b_dir.path(), &SETTINGS).await;

    a_file_stored_by_one_node_is_served_by_the_other(&a, &b).await;

    subscribe_webhooks(&store, &receivers, SUBSCRIBERS).await;
    let notice = send_emergency(&store).await;
    wait_until(Duration::from_secs(30), "the first deliveries", || {
        receivers.count("/slow-hook") >= BEFORE_KILL
    })
    .await;
    node_a.start_kill().unwrap(); // SIGKILL: node A's batch in hand is neither sent nor recorded
    node_a.wait().await.unwrap();
    let killed = Instant::now();
    let at_kill = receivers.count("/slow-hook");
    assert!(
        at_kill < SUBSCRIBERS,
        "the broadcast was over before the kill ({at_kill} delivered)"
    );

    // Node B takes over what it can at once, and node A's leased batch once the lease ends.
    let limit = Duration::from_secs(LEASE_SECONDS as u64 + 60);
    wait_until(limit, "every subscriber, from node B", || {
        distinct_deliveries(&receivers.at("/slow-hook")).len() >= SUBSCRIBERS
    })
    .await;
    let all_delivered = killed.elapsed();
    let deadline = Instant::now() + Duration::from_secs(10);
    while webhook_report(&store, &notice).await.sent < SUBSCRIBERS as i64
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let received = receivers.at("/slow-hook");
    received.iter().for_each(assert_signed);
    // Each subscriber got the notice under exactly one Machi-Delivery id; a request node A
    // sent but could not record before it died comes again under the same id, which a
    // receiver drops (the header exists for that).
    let mut ids_per_subscriber: HashMap<&str, HashSet<String>> = HashMap::new();
    for request in &received {
        ids_per_subscriber
            .entry(request.path.as_str())
            .or_default()
            .insert(request.header("machi-delivery"));
    }
    assert_eq!(ids_per_subscriber.len(), SUBSCRIBERS, "subscribers reached");
    assert!(ids_per_subscriber.values().all(|ids| ids.len() == 1));
    assert_eq!(distinct_deliveries(&received).len(), SUBSCRIBERS);
    let repeats = received.len() - SUBSCRIBERS;
    let report = webhook_report(&store, &notice).await;
    assert_eq!(
        (report.sent, report.queued, report.retrying, report.dead),
        (SUBSCRIBERS as i64, 0, 0, 0),
        "the delivery report"
    );
    println!(
        "two nodes: {at_kill} of {SUBSCRIBERS} delivered when node A was killed; node B \
         delivered the rest {:.1} s after the kill (lease {LEASE_SECONDS} s); {repeats} \
         requests repeated under their delivery id",
        all_delivered.as_secs_f64()
    );

    terminate(&mut node_b).await;
    receivers.stop();
    store.close().await;
    db.drop().await;
}

/// A deployment that ran on PostgreSQL with files on one node's disk (before files were kept
/// in the database) gets them copied into the database at its next start, so that every node
/// serves them; the old directory is kept, renamed, for the administrator.
#[tokio::test]
async fn files_left_on_disk_move_into_the_database_at_start() {
    let Some(db) = TestDb::new(Db::Postgres).await else {
        return;
    };
    let content = b"%PDF-1.4\nan attachment from before\n%%EOF\n".to_vec();
    let sha256 = machi_core::digest::sha256_hex(&content);
    let old_dir = db.data_dir.path().join("attachments");
    std::fs::create_dir_all(old_dir.join(&sha256[..2])).unwrap();
    std::fs::write(old_dir.join(&sha256[..2]).join(&sha256), &content).unwrap();

    let store = open_city(&db).await;
    assert!(!old_dir.exists());
    assert!(db.data_dir.path().join("attachments.copied").exists());
    store.close().await;
    // Another node, with nothing on its disk, reads it.
    let elsewhere = tempfile::tempdir().unwrap();
    let other = machi_store::Store::open(db.url.as_deref(), elsewhere.path().to_path_buf())
        .await
        .unwrap();
    assert_eq!(other.read_file(sha256).await.unwrap(), content);
    other.close().await;
    db.drop().await;
}

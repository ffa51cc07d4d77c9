//! "Acknowledged means on disk": applications are streamed at a real `machi` process, which is
//! killed with SIGKILL mid-stream; after a restart every acknowledged receipt is there, intact.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::harness::{Db, TestDb};

/// Starts `machi serve --demo` on a free port with `extra` settings (`["--webhook-concurrency",
/// "8"]`) and returns it with its base URL.
pub(crate) async fn start(db: &TestDb, extra: &[&str]) -> (Child, String) {
    start_in(db.url.as_deref(), db.data_dir.path(), extra).await
}

/// Starts `machi serve --demo` on the database at `url` (SQLite in `data_dir` when `None`)
/// with `data_dir` (another node of the same deployment when two share a PostgreSQL `url`).
pub(crate) async fn start_in(
    url: Option<&str>,
    data_dir: &std::path::Path,
    extra: &[&str],
) -> (Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_machi"));
    command
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--addr", "127.0.0.1:0"])
        .args(extra)
        .args(["serve", "--demo"])
        .env("MACHI_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true);
    if let Some(url) = url {
        command.arg("--database-url").arg(url);
    }
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(at) = line.find("http://") {
                return line[at..]
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .trim_end_matches('/')
                    .to_string();
            }
        }
        panic!("machi exited before serving");
    })
    .await
    .unwrap();
    (child, base)
}

struct Acknowledged {
    receipt: String,
    code: String,
    answers: Value,
}

async fn killed_server_keeps_every_acknowledged_application(db: Db) {
    let Some(db) = TestDb::new(db).await else {
        return;
    };
    let (mut server, base) = start(&db, &[]).await;
    let client = reqwest::Client::new();
    let detail: Value = client
        .get(format!("{base}/api/v1/procedures/tennyu-yoyaku"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let example = detail["form"]["schema"]["examples"][0].clone();
    let acknowledged = Arc::new(Mutex::new(Vec::new()));

    let mut writers = tokio::task::JoinSet::new();
    for worker in 0..16 {
        let (client, base, example, acknowledged) = (
            client.clone(),
            base.clone(),
            example.clone(),
            acknowledged.clone(),
        );
        writers.spawn(async move {
            for i in 0.. {
                let mut answers = example.clone();
                answers["applicant_name"] = json!(format!("試験 太郎{worker}-{i}"));
                let sent = client
                    .post(format!(
                        "{base}/api/v1/procedures/tennyu-yoyaku/applications"
                    ))
                    .json(&json!({ "answers": answers }))
                    .send()
                    .await;
                let Ok(response) = sent else { return };
                if response.status() != 201 {
                    return;
                }
                let Ok(body) = response.json::<Value>().await else {
                    return;
                };
                acknowledged.lock().unwrap().push(Acknowledged {
                    receipt: body["receipt_number"].as_str().unwrap().to_string(),
                    code: body["access_code"].as_str().unwrap().to_string(),
                    answers: answers.clone(),
                });
            }
        });
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while acknowledged.lock().unwrap().len() < 300 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.start_kill().unwrap(); // SIGKILL, mid-stream
    server.wait().await.unwrap();
    while writers.join_next().await.is_some() {}
    let acknowledged = std::mem::take(&mut *acknowledged.lock().unwrap());
    assert!(
        acknowledged.len() >= 300,
        "only {} acknowledged before the kill",
        acknowledged.len()
    );

    let (mut restarted, base) = start(&db, &[]).await;
    for ack in &acknowledged {
        let response = client
            .get(format!("{base}/api/v1/applications/{}", ack.receipt))
            .bearer_auth(&ack.code)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "acknowledged {} lost", ack.receipt);
        let status: Value = response.json().await.unwrap();
        assert_eq!(status["answers"], ack.answers, "{} changed", ack.receipt);
    }
    restarted.start_kill().unwrap();
    restarted.wait().await.unwrap();
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_killed_server_keeps_every_acknowledged_application() {
    killed_server_keeps_every_acknowledged_application(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_killed_server_keeps_every_acknowledged_application() {
    killed_server_keeps_every_acknowledged_application(Db::Postgres).await;
}

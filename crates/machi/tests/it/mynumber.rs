//! A My Number is checked and never kept: a real `machi` process takes applications with one
//! (by API, with an Idempotency-Key, and through the form and confirm pages), staff open and
//! export them, and afterwards the number is in no database file, no dump and no log line.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::harness::{Db, TestDb};

const CATALOG: &str = r#"
procedures:
- id: mynumber-todoke
  name: {ja: 個人番号を記載する届出, en: A notification with My Number}
  kana: コジンバンゴウヲキサイスルトドケデ
  department: {code: shimin, ja: 市民課, en: Citizen Services Division}
  channel: online
  form:
    version: 1
    schema:
      type: object
      additionalProperties: false
      required: [name, my_number]
      properties:
        name: {type: string, minLength: 1, maxLength: 100}
        my_number: {type: string, pattern: '^([0-9]{12}|checked)$'}
      examples:
        - {name: 届出 太郎, my_number: checked}
    ui:
      order: [name, my_number]
      fields:
        name: {label: {ja: 氏名, en: Name}, input: text}
        my_number: {label: {ja: 個人番号, en: My Number}, input: my_number}
"#;

/// A valid My Number made for this test (the check digit computed, not copied from anywhere).
fn test_number() -> String {
    let body = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5];
    let digits: String = body.iter().map(|d| char::from(b'0' + d)).collect();
    format!("{digits}{}", machi_core::mynumber::check_digit(&body))
}

fn machi(db: &TestDb) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_machi"));
    command.arg("--data-dir").arg(db.data_dir.path());
    if let Some(url) = &db.url {
        command.arg("--database-url").arg(url);
    }
    command
}

/// Starts the server with debug logging into `log`; returns it and its base URL.
async fn start(db: &TestDb, log: &std::path::Path) -> (Child, String) {
    let file = std::fs::File::create(log).unwrap();
    let mut child = machi(db)
        .args(["--addr", "127.0.0.1:0", "serve", "--demo"])
        .env("MACHI_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(file)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
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
    // Keep reading stdout so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, base)
}

async fn my_number_is_checked_and_never_kept(db: Db) {
    let Some(db) = TestDb::new(db).await else {
        return;
    };
    let number = test_number();
    let catalog = db.data_dir.path().join("catalog.yaml");
    std::fs::write(&catalog, CATALOG).unwrap();
    let imported = machi(&db)
        .args(["import", "procedures"])
        .arg(&catalog)
        .output()
        .await
        .unwrap();
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    std::fs::remove_file(&catalog).unwrap();
    let log = db.data_dir.path().join("server.log");
    let (mut server, base) = start(&db, &log).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let api = format!("{base}/api/v1/procedures/mynumber-todoke/applications");

    // By API, once plainly and once with an Idempotency-Key (retried).
    let created = client
        .post(&api)
        .json(&json!({"answers": {"name": "届出 太郎", "my_number": number}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    for _ in 0..2 {
        let keyed = client
            .post(&api)
            .header("Idempotency-Key", "mynumber-retry-1")
            .json(&json!({"answers": {"name": "届出 花子", "my_number": number}}))
            .send()
            .await
            .unwrap();
        let status = keyed.status();
        let body = keyed.text().await.unwrap();
        assert_eq!(
            status,
            201,
            "{body}\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    // A mistyped number is refused without being repeated back.
    let mut wrong = number.clone().into_bytes();
    wrong.swap(0, 1);
    let wrong = String::from_utf8(wrong).unwrap();
    let refused = client
        .post(&api)
        .json(&json!({"answers": {"name": "届出 次郎", "my_number": wrong}}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    let problem = refused.text().await.unwrap();
    assert!(
        problem.contains("my_number") && !problem.contains(&wrong),
        "{problem}"
    );

    // Through the pages, typed in full width with spaces; the confirm page carries it.
    let wide: String = number
        .chars()
        .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap())
        .collect();
    let confirm = client
        .post(format!("{base}/procedures/mynumber-todoke/apply"))
        .form(&[("name", "届出 三郎"), ("my_number", wide.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(confirm.status(), 200);
    let confirm = confirm.text().await.unwrap();
    assert!(confirm.contains("入力済み（画面には表示しません）"));
    let answers_json = crate::pages::hidden_values(&confirm, "answers_json").remove(0);
    let receipt_page = client
        .post(format!("{base}/procedures/mynumber-todoke/submit"))
        .form(&[
            ("form_version", "1"),
            ("answers_json", answers_json.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        receipt_page.status(),
        303,
        "{answers_json}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );

    // What is stored and shown: only that a valid number was given.
    let status: Value = client
        .get(format!(
            "{base}/api/v1/applications/{}",
            created["receipt_number"].as_str().unwrap()
        ))
        .bearer_auth(created["access_code"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["answers"]["my_number"], "checked");

    server.kill().await.unwrap();
    server.wait().await.unwrap();
    assert_nowhere(&db, &log, &number).await;
    db.drop().await;
}

/// Fails if the number is in any file of the data directory, the log, or a PostgreSQL dump.
async fn assert_nowhere(db: &TestDb, log: &std::path::Path, number: &str) {
    let log_text = std::fs::read_to_string(log).unwrap();
    assert!(
        log_text.lines().count() > 5,
        "the server did log at debug level"
    );
    assert!(!log_text.contains(number), "the My Number is in the log");
    let mut files = 0;
    let mut stack = vec![db.data_dir.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            files += 1;
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !bytes.windows(number.len()).any(|w| w == number.as_bytes()),
                "the My Number is in {}",
                path.display()
            );
        }
    }
    if db.url.is_none() {
        assert!(files >= 2, "the SQLite files were searched ({files} files)");
    }
    if let Some((base, schema)) = db.postgres_schema() {
        let dump = std::process::Command::new("pg_dump")
            .args(["--data-only", "--schema", schema])
            .arg(base)
            .output()
            .unwrap();
        assert!(
            dump.status.success(),
            "{}",
            String::from_utf8_lossy(&dump.stderr)
        );
        let dump = String::from_utf8_lossy(&dump.stdout);
        assert!(
            dump.contains("mynumber-todoke"),
            "the dump holds the applications"
        );
        assert!(!dump.contains(number), "the My Number is in PostgreSQL");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_my_number_is_checked_and_never_kept() {
    my_number_is_checked_and_never_kept(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_my_number_is_checked_and_never_kept() {
    my_number_is_checked_and_never_kept(Db::Postgres).await;
}

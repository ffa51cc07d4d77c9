//! `machi backup` while the server runs, `machi restore` into a fresh data directory (SQLite)
//! or an empty database (PostgreSQL): the restored city answers every export byte for byte as
//! the original did, its audit chain is intact, and a damaged backup or a target that already
//! holds data is refused.

use serde_json::Value;
use tokio::process::Child;

use crate::durability::start_in;
use crate::harness::{tiny_file, Db, StaffClient, TestDb};
use crate::two_nodes::procedure_with_attachment;

const DEMO_PASSWORD: &str = "machi-demo-password";
/// Both servers give the same absolute links, so their answers can be compared byte for byte.
const SETTINGS: [&str; 2] = ["--public-url", "http://127.0.0.1:9"];

/// A deployment to restore into: a fresh data directory, and on PostgreSQL a new database
/// (dropped by [`Target::drop`]) whose connections work in the original's schema.
struct Target {
    data_dir: tempfile::TempDir,
    url: Option<String>,
    database: Option<(String, String)>,
}

impl Target {
    async fn new(db: &TestDb) -> Self {
        let data_dir = tempfile::tempdir().unwrap();
        let Some((base, schema)) = db.postgres_schema() else {
            return Self {
                data_dir,
                url: None,
                database: None,
            };
        };
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("machi_restore_{}_{nanos}", std::process::id());
        let admin = sqlx::AnyPool::connect(base).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let (server, _) = base.rsplit_once('/').unwrap();
        let url = machi_store::postgres_url_in_schema(&format!("{server}/{name}"), schema);
        Self {
            data_dir,
            url: Some(url),
            database: Some((base.to_string(), name)),
        }
    }

    /// `machi` run against this target.
    fn machi(&self) -> std::process::Command {
        crate::harness::machi_at(self.data_dir.path(), self.url.as_deref())
    }

    async fn drop(self) {
        if let Some((base, name)) = self.database {
            let admin = sqlx::AnyPool::connect(&base).await.unwrap();
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&admin)
                .await;
            admin.close().await;
        }
    }
}

/// What a city's systems and staff take out of machi: the application (by its access code),
/// its attachment, the inbox export, the open-data catalog and each of its files.
async fn exports(base: &str, receipt: &str, code: &str, reviewer: &str) -> Vec<(String, Vec<u8>)> {
    let client = reqwest::Client::new();
    let mut taken = Vec::new();
    let get = |path: String, bearer: Option<&str>| {
        let mut request = client.get(format!("{base}{path}"));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 200, "GET {path}");
            (path, response.bytes().await.unwrap().to_vec())
        }
    };
    taken.push(get(format!("/api/v1/applications/{receipt}"), Some(code)).await);
    let catalog = get(
        "/api/3/action/package_search?rows=1000&sort=name%20asc".into(),
        None,
    )
    .await;
    let listed: Value = serde_json::from_slice(&catalog.1).unwrap();
    taken.push(catalog);
    for dataset in listed["result"]["results"].as_array().unwrap() {
        for resource in dataset["resources"].as_array().unwrap() {
            let url = resource["url"].as_str().unwrap();
            let path = url.strip_prefix("http://127.0.0.1:9").unwrap_or(url);
            taken.push(get(path.to_string(), None).await);
        }
    }
    let mut staff = StaffClient::at(base);
    assert_eq!(
        staff.try_sign_in(reviewer, DEMO_PASSWORD).await.status(),
        303
    );
    let field = attachment_field(&mut staff, receipt).await;
    for path in [
        format!("/staff/applications/{receipt}/files/{field}"),
        "/staff/inbox/export".to_string(),
    ] {
        let response = staff.get(&path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        taken.push((path, response.bytes().await.unwrap().to_vec()));
    }
    taken
}

/// The field of the application's (one) attachment, from its page in the console.
async fn attachment_field(staff: &mut StaffClient, receipt: &str) -> String {
    let page = staff
        .get_html(&format!("/staff/applications/{receipt}"))
        .await;
    let marker = format!("/staff/applications/{receipt}/files/");
    let at = page.find(&marker).expect("a link to the attachment") + marker.len();
    page[at..].split('"').next().unwrap().to_string()
}

async fn submit_with_attachment(base: &str) -> (String, String, &'static str) {
    let (id, example, attachment, reviewer) = procedure_with_attachment(base).await;
    let field = attachment["name"].as_str().unwrap().to_string();
    let form = reqwest::multipart::Form::new()
        .text("answers", example)
        .part(
            field,
            reqwest::multipart::Part::bytes(tiny_file(&attachment)).file_name("証明書.pdf"),
        );
    let created: Value = reqwest::Client::new()
        .post(format!("{base}/api/v1/procedures/{id}/applications"))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        created["receipt_number"].as_str().unwrap().to_string(),
        created["access_code"].as_str().unwrap().to_string(),
        reviewer,
    )
}

fn run(mut command: std::process::Command) -> (bool, String) {
    let output = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

async fn stop(mut server: Child) {
    server.start_kill().unwrap();
    server.wait().await.unwrap();
}

async fn backup_and_restore_round_trip(backend: Db) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let (original, base) = start_in(db.url.as_deref(), db.data_dir.path(), &SETTINGS).await;
    let (receipt, code, reviewer) = submit_with_attachment(&base).await;
    let before = exports(&base, &receipt, &code, reviewer).await;

    // Online: the server goes on serving while the backup is taken.
    let backup_dir = tempfile::tempdir().unwrap();
    let backup = backup_dir.path().join("machi-backup");
    let (made, said) = run({
        let mut command = db.machi();
        command.arg("backup").arg(&backup);
        command
    });
    assert!(made, "{said}");
    assert_eq!(
        reqwest::get(format!("{base}/healthz"))
            .await
            .unwrap()
            .status(),
        200
    );
    stop(original).await;

    let target = Target::new(&db).await;
    let (restored, said) = run({
        let mut command = target.machi();
        command.arg("restore").arg(&backup);
        command
    });
    assert!(restored, "{said}");
    let (verified, said) = run({
        let mut command = target.machi();
        command.args(["audit", "verify"]);
        command
    });
    assert!(verified && said.contains("the chain is intact"), "{said}");
    let (server, base) = start_in(target.url.as_deref(), target.data_dir.path(), &SETTINGS).await;
    let after = exports(&base, &receipt, &code, reviewer).await;
    assert_eq!(before.len(), after.len());
    for ((path, original), (_, restored)) in before.iter().zip(&after) {
        assert!(
            original == restored,
            "{path} differs after restore:\n{}\n---\n{}",
            String::from_utf8_lossy(original),
            String::from_utf8_lossy(restored)
        );
    }
    stop(server).await;

    // Restoring over data is refused, and says why.
    let (again, said) = run({
        let mut command = target.machi();
        command.arg("restore").arg(&backup);
        command
    });
    assert!(!again, "a second restore over the restored data must fail");
    assert!(said.contains("already"), "{said}");
    // A damaged backup is refused before anything is written.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(backup.join("manifest.json")).unwrap()).unwrap();
    let some_file = manifest["files"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap();
    let damaged = backup.join(some_file);
    let mut bytes = std::fs::read(&damaged).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&damaged, bytes).unwrap();
    let fresh = Target::new(&db).await;
    let (accepted, said) = run({
        let mut command = fresh.machi();
        command.arg("restore").arg(&backup);
        command
    });
    assert!(!accepted && said.contains("damaged"), "{said}");
    assert!(!fresh.data_dir.path().join("machi.db").exists());
    fresh.drop().await;
    target.drop().await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_backup_and_restore_round_trip() {
    backup_and_restore_round_trip(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_backup_and_restore_round_trip() {
    backup_and_restore_round_trip(Db::Postgres).await;
}

//! `TestApp`: spawns machi on 127.0.0.1:0 over SQLite (temp dir) or PostgreSQL (a fresh schema
//! per test), loads the demo city, and offers an HTTP client with helpers.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};

use machi_store::{Store, Tenant};

mod staff;
use serde_json::{json, Map, Value};
use sqlx::Executor;
pub use staff::{csrf_of, StaffClient, STAFF_PASSWORD};

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests use, and whether it is required.
pub fn postgres_base() -> (String, bool) {
    match std::env::var("MACHI_TEST_POSTGRES") {
        Ok(url) if url.starts_with("postgres") => (url, true),
        Ok(_) => ("postgres://postgres@127.0.0.1:5432/test".to_string(), true),
        Err(_) => ("postgres://postgres@127.0.0.1:5432/test".to_string(), false),
    }
}

/// The `machi` binary with `data_dir` and, when given, a database URL (warnings only in its
/// log).
pub fn machi_at(data_dir: &std::path::Path, url: Option<&str>) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_machi"));
    command
        .arg("--data-dir")
        .arg(data_dir)
        .env("MACHI_LOG", "warn");
    if let Some(url) = url {
        command.arg("--database-url").arg(url);
    }
    command
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A database for one test: a SQLite file in a temp dir, or a fresh PostgreSQL schema.
pub struct TestDb {
    pub url: Option<String>,
    pub data_dir: tempfile::TempDir,
    schema: Option<(String, String)>,
}

impl TestDb {
    /// The `machi` binary, run against this database (warnings only in its log).
    pub fn machi(&self) -> std::process::Command {
        machi_at(self.data_dir.path(), self.url.as_deref())
    }

    /// Makes the database, or `None` when PostgreSQL is optional and not reachable.
    pub async fn new(db: Db) -> Option<Self> {
        let data_dir = tempfile::tempdir().unwrap();
        if db == Db::Sqlite {
            return Some(Self {
                url: None,
                data_dir,
                schema: None,
            });
        }
        let (base, required) = postgres_base();
        sqlx::any::install_default_drivers();
        let admin = match sqlx::AnyPool::connect(&base).await {
            Ok(pool) => pool,
            Err(error) if !required => {
                eprintln!("PostgreSQL not reachable ({error}); set MACHI_TEST_POSTGRES to require it. Skipping.");
                return None;
            }
            Err(error) => panic!(
                "MACHI_TEST_POSTGRES is set but PostgreSQL at {base} is unreachable: {error}"
            ),
        };
        let schema = format!(
            "t_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand_suffix()
        );
        admin
            .execute(format!("CREATE SCHEMA {schema}").as_str())
            .await
            .unwrap();
        admin.close().await;
        let url = machi_store::postgres_url_in_schema(&base, &schema);
        Some(Self {
            url: Some(url),
            data_dir,
            schema: Some((base, schema)),
        })
    }

    /// The PostgreSQL server and schema of this database (`None` on SQLite).
    pub fn postgres_schema(&self) -> Option<(&str, &str)> {
        self.schema
            .as_ref()
            .map(|(base, schema)| (base.as_str(), schema.as_str()))
    }

    /// Drops the PostgreSQL schema.
    pub async fn drop(self) {
        if let Some((base, schema)) = &self.schema {
            if let Ok(admin) = sqlx::AnyPool::connect(base).await {
                let _ = admin
                    .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
                    .await;
                admin.close().await;
            }
        }
    }
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

/// A running machi with the demo city loaded.
/// The `<sender>` of the test city's CAP alerts.
pub const CAP_SENDER: &str = "bousai@demo.example.lg.jp";

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub store: Store,
    pub db: TestDb,
    server: tokio::task::JoinHandle<()>,
}

/// The public URL of a test server listening on `addr`.
pub fn public_url(addr: SocketAddr) -> machi_web::PublicUrl {
    machi_web::PublicUrl::parse(&format!("http://{addr}")).unwrap()
}

pub const CITY: &str = "demo";
/// The token the test server serves `/metrics` to.
pub const METRICS_TOKEN: &str = "scrape-token";
/// A second city, served when the Host header is [`OTHER_HOST`].
pub const OTHER_CITY: &str = "tonari";
pub const OTHER_HOST: &str = "tonari.machi.example";

impl TestApp {
    pub async fn spawn(db: Db) -> Option<Self> {
        let db = TestDb::new(db).await?;
        let store = Store::open(db.url.as_deref(), db.data_dir.path().to_path_buf())
            .await
            .unwrap();
        store
            .ensure_tenant(&Tenant {
                id: CITY.into(),
                name_ja: "デモ市".into(),
                name_en: "Demo City".into(),
                host: None,
            })
            .await
            .unwrap();
        let catalog = machi_core::procedures::parse_catalog(
            DEMO_CATALOG,
            machi_core::procedures::CatalogFormat::Yaml,
        )
        .unwrap();
        store.import_catalog(CITY, &catalog).await.unwrap();
        let bundles = machi_core::life_events::parse_bundles(DEMO_BUNDLES, true).unwrap();
        store.import_bundles(CITY, &bundles).await.unwrap();
        // A second city on its own host name, with two procedures of the same ids, to prove
        // that cities never see each other's catalog or applications.
        store
            .ensure_tenant(&Tenant {
                id: OTHER_CITY.into(),
                name_ja: "となり市".into(),
                name_en: "Next Town".into(),
                host: Some(OTHER_HOST.into()),
            })
            .await
            .unwrap();
        let few: Vec<_> = catalog
            .iter()
            .filter(|p| ["juminhyo", "tennyu-yoyaku"].contains(&p.id.as_str()))
            .cloned()
            .collect();
        store.import_catalog(OTHER_CITY, &few).await.unwrap();
        let tenants = store.tenants().await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = machi_web::router(
            machi_web::AppState::new(store.clone(), tenants, public_url(addr))
                .with_metrics_token(Some(METRICS_TOKEN.into()))
                .with_test_payments(true)
                // The tests' receivers and push service listen on this machine.
                .with_private_webhooks(true)
                .with_cap_sender(Some(CAP_SENDER.into()))
                .with_city_code(CITY, Some("279994".into())),
        );
        let server = tokio::spawn(serve(listener, app));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Some(Self {
            addr,
            client,
            store,
            db,
            server,
        })
    }

    /// A URL to open a second connection to the test's database (to play the intruder).
    pub fn database_url(&self) -> String {
        match &self.db.url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}/machi.db", self.db.data_dir.path().display()),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    /// A procedure's detail (with its form) from the API.
    pub async fn procedure(&self, id: &str) -> Value {
        self.get_json(&format!("/api/v1/procedures/{id}")).await
    }

    /// Ids of every procedure that can be applied for online.
    pub async fn online_procedure_ids(&self) -> Vec<String> {
        let page = self
            .get_json("/api/v1/procedures?online=true&limit=200")
            .await;
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_str().unwrap().to_string())
            .collect()
    }

    /// Posts a multipart form (what a browser sends from a form with files).
    pub async fn post_multipart(
        &self,
        path: &str,
        form: reqwest::multipart::Form,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .multipart(form)
            .send()
            .await
            .unwrap()
    }

    /// Submits answers as JSON.
    pub async fn apply_json(
        &self,
        id: &str,
        answers: &Value,
        key: Option<&str>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(self.url(&format!("/api/v1/procedures/{id}/applications")))
            .json(&json!({ "answers": answers }));
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        request.send().await.unwrap()
    }

    /// Submits the form's example answers with a small valid file for each attachment.
    pub async fn apply_example(&self, id: &str) -> reqwest::Response {
        self.apply_example_with(id, json!({})).await
    }

    /// [`Self::apply_example`] with some answers changed.
    pub async fn apply_example_with(&self, id: &str, changed: Value) -> reqwest::Response {
        let detail = self.procedure(id).await;
        let mut example = detail["form"]["schema"]["examples"][0].clone();
        for (name, value) in changed.as_object().into_iter().flatten() {
            example[name] = value.clone();
        }
        let mut form = reqwest::multipart::Form::new().text("answers", example.to_string());
        for attachment in detail["form"]["attachments"].as_array().unwrap() {
            let name = attachment["name"].as_str().unwrap().to_string();
            let part =
                reqwest::multipart::Part::bytes(tiny_file(attachment)).file_name("証明書.pdf");
            form = form.part(name, part);
        }
        self.post_multipart(&format!("/api/v1/procedures/{id}/applications"), form)
            .await
    }

    /// The resident's status page for an application, opened with its receipt number and
    /// access code (as the status form and the receipt page's button post them).
    pub async fn status_page(&self, receipt: &str, code: &str) -> String {
        self.client
            .post(self.url("/status"))
            .form(&[("receipt_number", receipt), ("access_code", code)])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Looks an application up with its access code.
    pub async fn status(&self, receipt: &str, code: &str) -> reqwest::Response {
        self.client
            .get(self.url(&format!("/api/v1/applications/{receipt}")))
            .bearer_auth(code)
            .send()
            .await
            .unwrap()
    }

    /// Serves this app's database with another router beside it (another configuration of
    /// the same deployment, e.g. without the test payment provider); returns its address.
    pub async fn serve_beside(
        &self,
        configure: impl FnOnce(machi_web::AppState) -> machi_web::AppState,
    ) -> String {
        let tenants = self.store.tenants().await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = machi_web::AppState::new(self.store.clone(), tenants, public_url(addr));
        let router = machi_web::router(configure(state));
        tokio::spawn(serve(listener, router));
        format!("http://{addr}")
    }

    pub async fn stop(self) {
        self.server.abort();
        self.store.close().await;
        self.db.drop().await;
    }
}

/// The demo catalog the binary ships.
pub const DEMO_CATALOG: &[u8] = include_bytes!("../../demo/procedures.yaml");
/// The demo life-event bundles the binary ships.
pub const DEMO_BUNDLES: &[u8] = include_bytes!("../../demo/life_events.yaml");

/// A minimal file of a type the attachment accepts.
pub fn tiny_file(attachment: &Value) -> Vec<u8> {
    let accepts = |kind: &str| {
        attachment["accept"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k == kind)
    };
    if accepts("pdf") {
        b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n".to_vec()
    } else if accepts("png") {
        vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0]
    } else {
        vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]
    }
}

/// The example answers as HTML form pairs (what a browser would send).
pub fn example_as_pairs(example: &Map<String, Value>) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for (name, value) in example {
        match value {
            Value::Array(items) => pairs.extend(
                items
                    .iter()
                    .map(|v| (name.clone(), v.as_str().unwrap().to_string())),
            ),
            Value::String(s) => pairs.push((name.clone(), s.clone())),
            Value::Bool(b) => {
                if *b {
                    pairs.push((name.clone(), "true".into()));
                }
            }
            other => pairs.push((name.clone(), other.to_string())),
        }
    }
    pairs
}

/// Runs an async scenario `fn(TestApp)` as two tests, `sqlite` and `postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::harness::TestApp::spawn($crate::harness::Db::Sqlite).await.unwrap();
                    super::$name(&app).await;
                    app.stop().await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    if let Some(app) = $crate::harness::TestApp::spawn($crate::harness::Db::Postgres).await {
                        super::$name(&app).await;
                        app.stop().await;
                    }
                }
            }
        )*
    };
}

/// Serves `router` as `machi serve` does, with each request's peer address (for the limits
/// per client).
async fn serve(listener: tokio::net::TcpListener, router: axum::Router) {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .await
    .unwrap();
}

/// What a browser does with the answer to a submit: follows the 303 to the receipt page with
/// the cookie it sets (and `cookies`, the browser's others); answers the receipt page.
pub async fn follow_to_receipt(
    client: &reqwest::Client,
    base: &str,
    submitted: reqwest::Response,
    cookies: &str,
) -> reqwest::Response {
    assert_eq!(submitted.status(), 303, "a submit answers with a redirect");
    let location = submitted.headers()["location"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(location.ends_with("/receipt"), "{location}");
    let receipt_cookie = submitted.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    client
        .get(format!("{base}{location}"))
        .header("cookie", format!("{cookies}; {receipt_cookie}"))
        .send()
        .await
        .unwrap()
}

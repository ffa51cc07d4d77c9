//! `machi import procedures`: a city's own catalog from CSV (UTF-8 or Shift_JIS), all or nothing.

use crate::harness::{Db, TestDb};

/// An inventory (手続棚卸) of `n` procedures as a Japanese-headed CSV.
fn inventory_csv(n: usize) -> String {
    let mut csv = String::from("手続ID,手続名,フリガナ,担当課コード,担当課,申請方法,手数料,年間件数,オンライン率,ライフイベント\n");
    for i in 0..n {
        let channel = ["オンライン", "窓口", "両方"][i % 3];
        csv.push_str(&format!(
            "proc-{i:05},手続その{i},てつづきその{i},dept-{},第{}課,{channel},{},{},{}%,証明書\n",
            i % 40,
            i % 40,
            (i % 5) * 100,
            i * 3,
            i % 100
        ));
    }
    csv
}

async fn count(db: &TestDb) -> usize {
    let store = machi_store::Store::open(db.url.as_deref(), db.data_dir.path().to_path_buf())
        .await
        .unwrap();
    let all = store
        .search_procedures(
            "demo",
            &machi_store::ProcedureQuery {
                limit: 200,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    store.close().await;
    all.len()
}

async fn imports_are_all_or_nothing(db: Db) {
    let Some(db) = TestDb::new(db).await else {
        return;
    };
    let dir = db.data_dir.path().to_path_buf();

    let good = dir.join("inventory.csv");
    let csv = inventory_csv(3000);
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&csv);
    std::fs::write(&good, &sjis).unwrap();
    let output = db
        .machi()
        .args(["import", "procedures"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("imported 3000 procedures"));
    assert_eq!(count(&db).await, 200);

    let bad = dir.join("bad.csv");
    let mut text = inventory_csv(5).replace("proc-", "new-");
    text.push_str("new-bad,壊れた行,,d,課,fax,abc,,,\n");
    std::fs::write(&bad, text).unwrap();
    let output = db
        .machi()
        .args(["import", "procedures"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("line 7") && stderr.contains("channel") && stderr.contains("fee_yen"),
        "{stderr}"
    );
    let store = machi_store::Store::open(db.url.as_deref(), dir.clone())
        .await
        .unwrap();
    assert!(
        store
            .procedure("demo", "new-00000")
            .await
            .unwrap()
            .is_none(),
        "nothing half-imported"
    );
    store.close().await;
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_imports_are_all_or_nothing() {
    imports_are_all_or_nothing(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_imports_are_all_or_nothing() {
    imports_are_all_or_nothing(Db::Postgres).await;
}

async fn staff_accounts_are_created_once_with_a_known_role(db: Db) {
    let Some(db) = TestDb::new(db).await else {
        return;
    };
    let catalog = db.data_dir.path().join("catalog.csv");
    std::fs::write(&catalog, inventory_csv(40)).unwrap();
    let imported = db
        .machi()
        .args(["import", "procedures"])
        .arg(&catalog)
        .output()
        .unwrap();
    assert!(imported.status.success());
    let create_in = |email: &str, role: &str, department: &str| {
        db.machi()
            .args([
                "user",
                "create",
                "--email",
                email,
                "--role",
                role,
                "--department",
                department,
            ])
            .env("MACHI_USER_PASSWORD", "correct horse battery staple")
            .output()
            .unwrap()
    };
    let create = |email: &str, role: &str| create_in(email, role, "dept-1");
    let created = create("tanaka@city.example.jp", "staff");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let again = create("TANAKA@city.example.jp", "staff");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    let bad_role = create("sato@city.example.jp", "mayor");
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("unknown role 'mayor'"));
    let nowhere = create_in("sato@city.example.jp", "staff", "no-such-department");
    assert!(String::from_utf8_lossy(&nowhere.stderr).contains("unknown department"));
    let short = db
        .machi()
        .args([
            "user",
            "create",
            "--email",
            "x@city.example.jp",
            "--role",
            "staff",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!short.status.success(), "an empty password is refused");
    db.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_staff_accounts_are_created_once_with_a_known_role() {
    staff_accounts_are_created_once_with_a_known_role(Db::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_staff_accounts_are_created_once_with_a_known_role() {
    staff_accounts_are_created_once_with_a_known_role(Db::Postgres).await;
}

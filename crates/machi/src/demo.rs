//! デモ市: the fictional demo city that `machi serve --demo` loads, with the procedures the
//! national 自治体DX推進計画 asks every city to put online and common counter procedures.

use anyhow::Context;
use machi_core::procedures::{parse_catalog, CatalogFormat};
use machi_store::users::NewUser;
use machi_store::{ProcedureQuery, Store, StoreError};

/// The demo catalog (see `demo/procedures.yaml`).
pub const DEMO_CATALOG: &[u8] = include_bytes!("../demo/procedures.yaml");
/// The demo life-event bundles (see `demo/life_events.yaml`).
pub const DEMO_BUNDLES: &[u8] = include_bytes!("../demo/life_events.yaml");

/// Loads the demo catalog into `city` unless it already has procedures.
pub async fn load(store: &Store, city: &str) -> anyhow::Result<()> {
    let existing = store
        .search_procedures(
            city,
            &ProcedureQuery {
                limit: 1,
                ..Default::default()
            },
        )
        .await?;
    if !existing.is_empty() {
        return Ok(());
    }
    let procedures =
        parse_catalog(DEMO_CATALOG, CatalogFormat::Yaml).context("the demo catalog is invalid")?;
    let summary = store.import_catalog(city, &procedures).await?;
    let bundles = machi_core::life_events::parse_bundles(DEMO_BUNDLES, true)
        .map_err(|e| anyhow::anyhow!("the demo life events are invalid: {e}"))?;
    store.import_bundles(city, &bundles).await?;
    println!(
        "loaded the demo city: {} procedures, {} forms",
        summary.procedures, summary.forms_added
    );
    Ok(())
}

/// The demo password of every demo account, unless MACHI_DEMO_PASSWORD sets another.
const DEMO_PASSWORD: &str = "machi-demo-password";

/// Demo staff: one account per role, in departments of the demo catalog.
const DEMO_STAFF: [(&str, &str, &str, Option<&str>); 7] = [
    (
        "admin@demo.machi.example",
        "情報 太郎",
        "admin",
        Some("johoseisaku"),
    ),
    (
        "kosodate.kacho@demo.machi.example",
        "子育 課長",
        "manager",
        Some("kosodate"),
    ),
    (
        "kosodate@demo.machi.example",
        "子育 花子",
        "staff",
        Some("kosodate"),
    ),
    (
        "shimin@demo.machi.example",
        "市民 一郎",
        "staff",
        Some("shimin"),
    ),
    (
        "madoguchi@demo.machi.example",
        "窓口 次郎",
        "counter",
        Some("shimin"),
    ),
    ("kansa@demo.machi.example", "監査 三郎", "auditor", None),
    ("cio@demo.machi.example", "CIO 四郎", "cio", None),
];

/// Creates the demo staff accounts that do not exist yet and says how to sign in.
pub async fn staff_accounts(store: &Store, city: &str) -> anyhow::Result<()> {
    store
        .ensure_department(
            city,
            "johoseisaku",
            "情報政策課",
            "Information Policy Division",
        )
        .await?;
    let password =
        std::env::var("MACHI_DEMO_PASSWORD").unwrap_or_else(|_| DEMO_PASSWORD.to_string());
    for (email, name, role, department) in DEMO_STAFF {
        let user = NewUser {
            tenant_id: city,
            email,
            display_name: name,
            role,
            department_code: department,
        };
        match store.create_user(&user, &password).await {
            Ok(()) | Err(StoreError::Conflict(_)) => {}
            Err(error) => return Err(error.into()),
        }
    }
    println!(
        "demo staff sign in at /staff/login, e.g. kosodate.kacho@demo.machi.example (manager) or \
         admin@demo.machi.example, password from MACHI_DEMO_PASSWORD or \"{DEMO_PASSWORD}\""
    );
    Ok(())
}

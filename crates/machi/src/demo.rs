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

/// デモ市's own postcodes, in the format of the national file (KEN_ALL.CSV, UTF-8 edition).
pub const DEMO_POSTCODES: &[u8] = include_bytes!("../demo/postcodes.csv");

/// Loads the demo city's postcodes when the deployment has none (an imported national file
/// is never replaced by the demo's).
pub async fn postcodes(store: &Store) -> anyhow::Result<()> {
    if store.postcode_count().await? > 0 {
        return Ok(());
    }
    let areas = machi_core::postcodes::parse_ken_all(DEMO_POSTCODES)
        .map_err(|e| anyhow::anyhow!("the demo postcodes are invalid: {}", e.join("; ")))?;
    let count = store.import_postcodes(&areas).await?;
    println!("loaded {count} demo postcodes");
    Ok(())
}

/// デモ市's 町字, in the columns of デジタル庁's 町字マスター.
pub const DEMO_AREAS: &[u8] = include_bytes!("../demo/areas.csv");

/// Loads the demo city's 町字 when it has none (a city's own list is never replaced).
pub async fn areas(store: &Store, city: &str) -> anyhow::Result<()> {
    if !store.areas(city).await?.is_empty() {
        return Ok(());
    }
    let areas = machi_core::areas::parse_area_list(DEMO_AREAS)
        .map_err(|e| anyhow::anyhow!("the demo areas are invalid: {}", e.join("; ")))?;
    store.replace_areas(city, &areas, "system").await?;
    Ok(())
}

/// デモ市's よくある質問, as a city's spreadsheet.
pub const DEMO_FAQ: &[u8] = include_bytes!("../demo/faq.csv");

/// Loads the demo FAQ when the city has none.
pub async fn faq(store: &Store, city: &str) -> anyhow::Result<()> {
    if !store.faq(city).await?.is_empty() {
        return Ok(());
    }
    let entries = machi_core::faq::parse_faq_csv(DEMO_FAQ)
        .map_err(|e| anyhow::anyhow!("the demo FAQ is invalid: {}", e.join("; ")))?;
    store.replace_faq(city, &entries, "system").await?;
    Ok(())
}

/// デモ市's bookable services: a counter, the My Number card desk, two consultations (one
/// online) and facilities (see `demo/services.yaml`).
pub const DEMO_SERVICES: &[u8] = include_bytes!("../demo/services.yaml");

/// Loads the demo services when the city has none.
pub async fn services(store: &Store, city: &str) -> anyhow::Result<()> {
    if !store.services(city).await?.is_empty() {
        return Ok(());
    }
    let services = machi_core::reservations::parse_services(DEMO_SERVICES)
        .map_err(|e| anyhow::anyhow!("the demo services are invalid: {e}"))?;
    store.save_services(city, &services).await?;
    Ok(())
}

/// The five seed plans, transcribed in the machi-plan/1 format (see docs/plan-format.md). They
/// are other cities' plans, imported as they are: the demo city shows real structures. The
/// sixth is the demo city's own (fictional) plan, whose KPIs are bound to live figures.
pub const DEMO_PLANS: [&[u8]; 6] = [
    include_bytes!("../demo/plans/demo-city-dx.yaml"),
    include_bytes!("../demo/plans/ibaraki-ict-vision.yaml"),
    include_bytes!("../demo/plans/ibaraki-dx-roadmap.yaml"),
    include_bytes!("../demo/plans/takatsuki-ict-strategy.yaml"),
    include_bytes!("../demo/plans/kadoma-dx-plan.yaml"),
    include_bytes!("../demo/plans/settsu-chiiki-johoka-2.yaml"),
];

/// Imports the demo plans the city does not have yet (a plan it has is left as it is).
pub async fn plans(store: &Store, city: &str) -> anyhow::Result<()> {
    let existing = store.plans(city).await?;
    for bytes in DEMO_PLANS {
        let plan = machi_core::plans::parse_plan(bytes)
            .map_err(|e| anyhow::anyhow!("a demo plan is invalid: {}", e.join("; ")))?;
        if existing.iter().any(|p| p.id == plan.plan.id) {
            continue;
        }
        let summary = store
            .import_plan(city, &plan, "demo", "デモデータの取込")
            .await?;
        println!(
            "loaded demo plan {}: {} nodes",
            summary.id, summary.node_count
        );
    }
    Ok(())
}

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
    notices(store, city).await?;
    println!(
        "loaded the demo city: {} procedures, {} forms",
        summary.procedures, summary.forms_added
    );
    Ok(())
}

/// A few notices of the demo city's 危機管理課, so that /notices, the feeds and /signage show
/// something: one of them an important 防災 notice, which is also a CAP alert.
async fn notices(store: &Store, city: &str) -> anyhow::Result<()> {
    use machi_core::notices::{NoticeDraft, Urgency};
    use machi_core::procedures::Localized;
    struct DemoNotice {
        title: Localized,
        body: Localized,
        categories: &'static [&'static str],
        areas: &'static [&'static str],
        urgency: Urgency,
    }
    let demo = [
        DemoNotice {
            title: Localized::new("市内一斉防災訓練を行います", "City-wide disaster drill"),
            body: Localized::new(
                "**12月6日(土)午前10時**から、市内全域で防災訓練を行います。防災行政無線とお知らせ配信で訓練の放送・通知があります。",
                "A city-wide drill starts at **10:00 on Saturday 6 December**. Sirens and notices will announce it.",
            ),
            categories: &["bousai"],
            areas: &[],
            urgency: Urgency::Normal,
        },
        DemoNotice {
            title: Localized::new("北町で断水します(水道管工事)", "Water cut in Kitamachi (pipe works)"),
            body: Localized::new(
                "水道管の工事のため、北町一丁目・二丁目で**午前9時から午後3時まで**断水します。給水車を北町公民館に配置します。",
                "Kitamachi 1 and 2 chōme have no water **from 9:00 to 15:00** for pipe works. A water truck will be at Kitamachi community hall.",
            ),
            categories: &["bousai", "douro"],
            areas: &["北町"],
            urgency: Urgency::Important,
        },
        DemoNotice {
            title: Localized::new("粗大ごみの収集日が変わります", "New collection days for bulky waste"),
            body: Localized::new(
                "来年1月から、粗大ごみの収集日が地区ごとに変わります。詳しくは市のごみ分別アプリをご覧ください。",
                "From January, bulky waste is collected on new days in each district.",
            ),
            categories: &["gomi"],
            areas: &[],
            urgency: Urgency::Normal,
        },
    ];
    let now = machi_store::Time::now();
    for notice in demo {
        let draft = NoticeDraft {
            title: notice.title,
            body: notice.body,
            categories: notice.categories.iter().map(|c| c.to_string()).collect(),
            areas: notice.areas.iter().map(|a| a.to_string()).collect(),
            urgency: notice.urgency,
            evacuation: None,
        };
        store
            .save_notice(
                city,
                &draft,
                &machi_store::notices::NoticeSave {
                    id: None,
                    department_code: "kikikanri",
                    publish_at: now,
                    expires_at: None,
                    actor: "bousai@demo.machi.example",
                },
            )
            .await?;
    }
    Ok(())
}

/// The demo password of every demo account, unless MACHI_DEMO_PASSWORD sets another.
const DEMO_PASSWORD: &str = "machi-demo-password";

/// Demo staff: one account per role, in departments of the demo catalog.
const DEMO_STAFF: [(&str, &str, &str, Option<&str>); 8] = [
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
    (
        "bousai@demo.machi.example",
        "防災 五郎",
        "staff",
        Some("kikikanri"),
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
            // An account made before, or one of a department this city's own catalog does
            // not have, is left as it is.
            Ok(()) | Err(StoreError::Conflict(_) | StoreError::Invalid(_)) => {}
            Err(error) => return Err(error.into()),
        }
    }
    println!(
        "demo staff sign in at /staff/login, e.g. kosodate.kacho@demo.machi.example (manager) or \
         admin@demo.machi.example, password from MACHI_DEMO_PASSWORD or \"{DEMO_PASSWORD}\""
    );
    Ok(())
}

/// The departments the demo asset ledger names, as the demo catalog defines them.
const DEMO_ASSET_DEPARTMENTS: [(&str, &str, &str); 6] = [
    ("shimin", "市民課", "Citizen Services Division"),
    ("zeimu", "市民税課", "Municipal Tax Division"),
    (
        "kokuho",
        "保険年金課",
        "Health Insurance and Pension Division",
    ),
    ("kaigo", "介護保険課", "Long-Term Care Insurance Division"),
    ("kosodate", "子育て支援課", "Child Support Division"),
    ("johoseisaku", "情報政策課", "Information Policy Division"),
];

/// デモ市's 情報資産台帳: a few systems as 情報政策課 would list them, some of the 20 標準化対象業務
/// on ガバメントクラウド at different stages, and one contract that ends within 90 days (so the
/// ledger shows a deadline and the reminder check has something to send). Loaded once.
pub async fn assets(store: &Store, city: &str) -> anyhow::Result<()> {
    if !store.assets(city, &Default::default()).await?.is_empty() {
        return Ok(());
    }
    // The ledger names departments of the demo catalog; a city serving its own catalog with
    // --demo gets them too, so the demo ledger always loads.
    for (code, ja, en) in DEMO_ASSET_DEPARTMENTS {
        store.ensure_department(city, code, ja, en).await?;
    }
    let today = machi_core::wareki::today_jst();
    let soon = today + chrono::Duration::days(75);
    let measures = store.plan_measures(city).await?;
    let link = machi_core::assets::MeasureLink {
        plan_id: "kadoma-dx-plan".into(),
        node_id: "1-(1)".into(),
    };
    let link = if measures.contains(&link) {
        link.text()
    } else {
        String::new()
    };
    let csv = format!(
        "管理番号,システム名,所管課,目的,事業者,契約開始日,契約終了日,年額費用（円）,稼働環境,機密性,完全性,可用性,個人情報,標準化対象業務,移行状況,サポート終了日,関連施策\r\n\
         SYS-001,住民記録システム,shimin,住民基本台帳・印鑑登録事務,デモ情報システム株式会社,2026-01-01,2030-12-31,18000000,ガバメントクラウド,3,2,2,あり,住民基本台帳,移行済,2031-03-31,{link}\r\n\
         SYS-002,個人住民税システム,zeimu,個人住民税の賦課,デモ情報システム株式会社,2021-04-01,2027-03-31,9600000,ガバメントクラウド,3,2,2,あり,個人住民税,移行中,2027-03-31,\r\n\
         SYS-003,国民健康保険システム,kokuho,国保の資格・賦課・給付,株式会社サンプル計算センター,2020-04-01,{soon},7200000,オンプレミス,3,2,2,あり,国民健康保険,計画中,{soon},\r\n\
         SYS-004,介護保険システム,kaigo,要介護認定・給付,株式会社サンプル計算センター,2022-04-01,2028-03-31,6000000,オンプレミス,3,2,1,あり,介護保険,未着手,2028-03-31,\r\n\
         SYS-005,児童手当システム,kosodate,児童手当の認定・支給,デモ情報システム株式会社,2023-04-01,2028-03-31,2400000,ガバメントクラウド,3,2,1,あり,児童手当,移行中,,\r\n\
         SYS-101,電子申請システム（machi）,johoseisaku,オンライン申請・お知らせ配信,（自庁運用）,2025-04-01,,1200000,クラウド,2,2,2,あり,,対象外,,{link}\r\n\
         SYS-102,庁内グループウェア,johoseisaku,職員のスケジュール・文書共有,株式会社デモソフト,2022-10-01,2027-09-30,3600000,クラウド,2,1,1,なし,,,,\r\n"
    );
    let context = machi_core::assets::Context {
        departments: store
            .departments(city)
            .await?
            .into_iter()
            .map(|d| (d.code, d.ja))
            .collect(),
        writable: None,
        measures,
    };
    let file = machi_core::assets::parse_csv(csv.as_bytes(), &context).map_err(|problems| {
        let lines: Vec<String> = problems
            .iter()
            .map(|p| format!("line {} {}: {}", p.line, p.column, p.message.en))
            .collect();
        anyhow::anyhow!("the demo asset ledger is invalid: {}", lines.join("; "))
    })?;
    let assets: Vec<_> = file.assets.into_iter().map(|(_, a)| a).collect();
    let summary = store
        .save_assets(
            city,
            &assets,
            "demo",
            None,
            Some(serde_json::json!({ "rows": assets.len(), "encoding": "utf-8" })),
        )
        .await?;
    println!("loaded the demo asset ledger: {} systems", summary.created);
    Ok(())
}

/// The demo city's open data, in the standard formats (one file delivered as Shift_JIS, as
/// many cities' spreadsheets are): each file is checked like an upload before it is published.
const DEMO_OPEN_DATA: [(&str, &str, &str, &str, &[u8]); 3] = [
    (
        "public-facility",
        "公共施設一覧",
        "johoseisaku",
        "public_facility",
        include_bytes!("../demo/opendata/990019_public_facility.csv"),
    ),
    (
        "evacuation-space",
        "指定緊急避難場所一覧",
        "kikikanri",
        "evacuation_space",
        include_bytes!("../demo/opendata/990019_evacuation_space.csv"),
    ),
    (
        "aed",
        "AED設置箇所一覧",
        "kikikanri",
        "aed",
        include_bytes!("../demo/opendata/990019_aed.csv"),
    ),
];

/// Publishes the demo datasets unless the city has datasets already.
pub async fn opendata(store: &Store, city: &str) -> anyhow::Result<()> {
    use machi_core::opendata::catalog::DatasetInput;
    use machi_core::opendata::standard::{check, Definitions};
    if !store.dataset_names(city, 1, 0).await?.is_empty() {
        return Ok(());
    }
    store
        .ensure_department(
            city,
            "kikikanri",
            "危機管理課",
            "Crisis Management Division",
        )
        .await?;
    let definitions = Definitions::bundled().map_err(anyhow::Error::msg)?;
    for (name, title, department, group, bytes) in DEMO_OPEN_DATA {
        let table = machi_core::opendata::table::read_csv(bytes)
            .map_err(|e| anyhow::anyhow!("demo file {name}: {e}"))?;
        let standard = definitions
            .recognise(&table)
            .with_context(|| format!("demo file {name} follows no standard"))?;
        let report = check(standard, &table);
        anyhow::ensure!(report.errors() == 0, "demo file {name} has errors");
        let input = DatasetInput {
            name: name.into(),
            title_ja: format!("{title}（デモ市）"),
            notes_ja: format!("デモ市の{title}です（架空のデモデータ）。"),
            organization: department.into(),
            license_id: machi_core::opendata::catalog::DEFAULT_LICENSE.into(),
            frequency: "随時".into(),
            spatial: "デモ市".into(),
            tags: vec!["デモ".into(), title.into()],
            groups: vec![group.into()],
            ..DatasetInput::default()
        };
        let dataset = store.save_dataset(city, None, &input, "demo").await?;
        let file = store.save_file(bytes.to_vec()).await?;
        let resource = machi_store::opendata::ResourceInput {
            name: format!("990019_{group}.csv"),
            format: "CSV".into(),
            media_type: match table.encoding {
                machi_core::text::Encoding::Cp932 => "text/csv; charset=Shift_JIS",
                machi_core::text::Encoding::Utf8 => "text/csv",
            }
            .into(),
            size_bytes: i64::try_from(bytes.len()).ok(),
            file_sha256: Some(file.sha256),
            standard: report.dataset.clone(),
            ..Default::default()
        };
        let added = store
            .add_resource(city, &dataset.id, &resource, "demo")
            .await?;
        let types = machi_core::opendata::standard::column_types(&table, Some(standard));
        let typed = machi_core::opendata::ingest::ingest(&table, &types)?;
        store
            .datastore_replace(city, &added.id, &typed.fields, &[], typed.rows)
            .await?;
    }
    println!(
        "published the demo open data: {} datasets",
        DEMO_OPEN_DATA.len()
    );
    Ok(())
}

//! 手続棚卸: a 3,000-row inventory with its BPR columns is imported; 情報政策課 sees the online
//! rate weighted by use over the whole inventory (checked here by plain arithmetic over what
//! was stored), filters it, reads the BPR columns, and the same figure is the live KPI
//! `online_use_rate` that plans bind to. Bad BPR values are refused with the column named.

use machi_core::plans::metric::Metric;
use machi_core::procedures::{parse_catalog, CatalogFormat};

use crate::harness::{TestApp, CITY};

const ADMIN: &str = "admin@city.test";
const CIO: &str = "cio@city.test";
const OTHER: &str = "tanto@shimin.test";

/// An inventory of `n` procedures with the BPR columns, as a Japanese-headed CSV.
fn inventory_csv(n: usize) -> String {
    let mut csv = String::from(
        "手続ID,手続名,フリガナ,担当課コード,担当課,申請方法,年間件数,オンライン率,押印,書面,対面,本人確認レベル,オンライン化目標年度,国の重点手続\n",
    );
    for i in 0..n {
        let channel = ["オンライン", "窓口", "両方"][i % 3];
        let share = if i % 7 == 0 {
            String::new()
        } else {
            format!("{}%", i % 90)
        };
        csv.push_str(&format!(
            "inv-{i:05},手続その{i},テツヅキソノ{i},dept-{},第{}課,{channel},{},{share},{},{},{},{},令和{}年度,{}\n",
            i % 40,
            i % 40,
            (i * 37) % 5000,
            ["要", "見直し中", "廃止済み"][i % 3],
            ["要", "不要"][i % 2],
            ["要", "不要", "見直し中"][i % 3],
            i % 4,
            8 + i % 3,
            if i % 100 == 0 { "○" } else { "" },
        ));
    }
    csv
}

async fn a_3000_row_inventory_gives_the_weighted_online_rate(app: &TestApp) {
    let procedures = parse_catalog(inventory_csv(3000).as_bytes(), CatalogFormat::Csv).unwrap();
    app.store.import_catalog(CITY, &procedures).await.unwrap();
    app.store
        .ensure_department(CITY, "johoseisaku", "情報政策課", "")
        .await
        .unwrap();
    app.create_staff(ADMIN, "admin", Some("johoseisaku")).await;
    app.create_staff(CIO, "cio", None).await;
    app.create_staff(OTHER, "staff", Some("shimin")).await;

    // The expected figure, by plain arithmetic over every stored procedure (the demo catalog
    // and the 3,000 rows).
    let stored = app.store.inventory(CITY).await.unwrap();
    assert!(stored.len() >= 3000);
    let (mut online, mut all) = (0.0, 0i64);
    for record in &stored {
        if let Some(volume) = record.definition.yearly_volume.filter(|v| *v > 0) {
            all += volume;
            online += volume as f64 * record.definition.online_share.unwrap_or(0.0);
        }
    }
    let expected = format!("{:.1}%", (online / all as f64 * 1000.0).round() / 10.0);

    let mut cio = app.sign_in(CIO).await;
    let page = cio.get_html("/staff/inventory").await;
    assert!(
        page.contains(&format!("<strong id=\"weighted-rate\">{expected}</strong>")),
        "{expected}"
    );
    assert!(page.contains("手続その0") && page.contains("令和8年度") && page.contains("レベル1"));
    assert!(page.contains("次の100件"), "a page at a time");
    let metric = app
        .store
        .metric_value(
            CITY,
            Metric::OnlineUseRate,
            &machi_store::plans::metrics::current_month(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        format!("{metric:.1}%"),
        expected,
        "the live KPI is the same figure"
    );

    // Filters keep their own figures; the whole stays.
    // dept-0 and flagged ○: every 200th row (a row is flagged every 100, in dept-0 every 40).
    let kept = cio
        .get_html("/staff/inventory?department=dept-0&priority=1")
        .await;
    assert!(kept.contains("id=\"kept-figures\"") && kept.contains(&expected));
    assert!(kept.contains("1–15 / 15"), "fifteen rows kept");
    assert!(kept.contains(">手続その200<") && !kept.contains(">手続その100<"));
    let admin = app.sign_in(ADMIN).await.get("/staff/inventory").await;
    assert_eq!(admin.status(), 200);
    let outsider = app.sign_in(OTHER).await.get("/staff/inventory").await;
    assert_eq!(outsider.status(), 403, "for 情報政策課 and the CIO");

    // Bad BPR values are refused, naming the column.
    let bad = "手続ID,手続名,フリガナ,担当課,申請方法,押印,本人確認レベル\nx-1,x,エックス,第1課,窓口,たぶん,5\n";
    let problems = parse_catalog(bad.as_bytes(), CatalogFormat::Csv)
        .unwrap_err()
        .to_string();
    assert!(
        problems.contains("seal") && problems.contains("identity_level"),
        "{problems}"
    );
}

crate::on_both_backends!(a_3000_row_inventory_gives_the_weighted_online_rate);

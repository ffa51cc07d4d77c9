//! The open-data datastore on both databases: a Shift_JIS file with a 和暦 date column and a
//! 団体コード kept as text is stored, searched the way CKAN's `datastore_search` is, appended
//! to, and survives a bad re-upload and a failing upsert unchanged.

use machi_core::opendata::ingest::{ingest, with_overrides, Typed};
use machi_core::opendata::standard::column_types;
use machi_core::opendata::table::read_csv;
use machi_core::opendata::types::ColumnType;
use machi_core::text::to_cp932;
use machi_store::datastore::{DatastoreError, SearchQuery, WriteMethod};
use serde_json::{json, Map, Value};

use crate::harness::{TestApp, CITY};
use crate::on_both_backends;

const RESOURCE: &str = "hoikuen-2024";

const CSV: &str = "団体コード,施設名,所在地,開設日,定員,面積\r\n\
011002,中央保育園,札幌市中央区,令和6年4月1日,120,350.5\r\n\
011002,北保育園,札幌市北区,平成30年4月1日,90,280\r\n\
011002,東こども園,札幌市東区,R2.4.1,150,\r\n\
011002,Sakura Nursery,札幌市北区,2021/10/1,60,120.25\r\n";

/// Reads a CSV as staff upload it, keeping 団体コード as text.
fn typed(csv: &str) -> Result<Typed, machi_core::opendata::ingest::IngestError> {
    let table = read_csv(&to_cp932(csv)).unwrap();
    let types = with_overrides(
        &table.headers,
        &column_types(&table, None),
        &[("団体コード".into(), ColumnType::Text)],
    )?;
    ingest(&table, &types)
}

async fn search(app: &TestApp, query: Value) -> machi_store::datastore::SearchResult {
    let query: SearchQuery = serde_json::from_value(query).unwrap();
    app.store
        .datastore_search(CITY, RESOURCE, &query)
        .await
        .unwrap()
}

fn column(result: &machi_store::datastore::SearchResult, id: &str) -> Vec<Value> {
    result.records().iter().map(|r| r[id].clone()).collect()
}

async fn a_shift_jis_file_is_stored_and_searched_like_ckan(app: &TestApp) {
    let file = typed(CSV).unwrap();
    let stored = app
        .store
        .datastore_replace(CITY, RESOURCE, &file.fields, &[], file.rows)
        .await
        .unwrap();
    assert_eq!(stored.row_count, 4);

    let all = search(app, json!({})).await;
    let fields: Vec<(&str, &str)> = all
        .fields
        .iter()
        .map(|f| (f.id.as_str(), f.kind.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("_id", "int8"),
            ("団体コード", "text"),
            ("施設名", "text"),
            ("所在地", "text"),
            ("開設日", "date"),
            ("定員", "int8"),
            ("面積", "numeric")
        ]
    );
    assert_eq!(all.total, Some(4));
    assert_eq!(
        Value::Object(all.records()[0].clone()),
        json!({"_id": 1, "団体コード": "011002", "施設名": "中央保育園", "所在地": "札幌市中央区",
               "開設日": "2024-04-01", "定員": 120, "面積": 350.5})
    );
    assert_eq!(all.records()[2]["面積"], Value::Null);

    let north = search(
        app,
        json!({"filters": {"所在地": "札幌市北区"}, "fields": ["施設名", "_id"]}),
    )
    .await;
    assert_eq!(
        column(&north, "施設名"),
        [json!("北保育園"), json!("Sakura Nursery")]
    );
    assert_eq!(north.fields.len(), 2);
    assert_eq!(north.rows[0], [json!("北保育園"), json!(2)]);

    let listed = search(
        app,
        json!({"filters": {"定員": [90, "150"], "団体コード": "011002"}}),
    )
    .await;
    assert_eq!(column(&listed, "_id"), [json!(2), json!(3)]);

    let by_date = search(app, json!({"filters": {"開設日": "令和2年4月1日"}})).await;
    assert_eq!(column(&by_date, "施設名"), [json!("東こども園")]);

    let q = search(app, json!({"q": "sakura"})).await;
    assert_eq!(column(&q, "_id"), [json!(4)]);
    let q = search(app, json!({"q": "保育園"})).await;
    assert_eq!(q.total, Some(2));

    let paged = search(
        app,
        json!({"sort": "定員 desc", "limit": 2, "offset": 1, "fields": ["定員"]}),
    )
    .await;
    assert_eq!(column(&paged, "定員"), [json!(120), json!(90)]);
    assert_eq!(paged.total, Some(4));
    let no_total = search(app, json!({"include_total": false, "limit": 1})).await;
    assert_eq!((no_total.total, no_total.rows.len()), (None, 1));

    for (query, named) in [
        (json!({"filters": {"人口": 1}}), "人口"),
        (json!({"sort": "面積 desc, 住所"}), "住所"),
        (json!({"fields": ["施設名", "x\"y"]}), "x\"y"),
        (json!({"filters": {"定員": "多い"}}), "定員"),
    ] {
        let query: SearchQuery = serde_json::from_value(query).unwrap();
        match app.store.datastore_search(CITY, RESOURCE, &query).await {
            Err(DatastoreError::Validation(invalid)) => {
                assert!(invalid.message.contains(named), "{invalid:?}")
            }
            other => panic!("expected a validation error naming {named}, got {other:?}"),
        }
    }
    match app
        .store
        .datastore_search(CITY, "no-such-resource", &SearchQuery::default())
        .await
    {
        Err(DatastoreError::NotFound(id)) => assert_eq!(id, "no-such-resource"),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

async fn a_bad_reupload_and_a_failing_upsert_leave_the_previous_rows(app: &TestApp) {
    let file = typed(CSV).unwrap();
    app.store
        .datastore_replace(CITY, RESOURCE, &file.fields, &[], file.rows)
        .await
        .unwrap();
    // A re-upload keeps the resource's field types, so a cell that no longer fits is refused.
    let kinds: Vec<ColumnType> = app
        .store
        .datastore_info(CITY, RESOURCE)
        .await
        .unwrap()
        .fields
        .iter()
        .map(|f| f.kind)
        .collect();
    let bad = CSV.replace("平成30年4月1日,90", "平成30年4月1日,九十");
    let error = ingest(&read_csv(&to_cp932(&bad)).unwrap(), &kinds).unwrap_err();
    assert_eq!(error.problems.len(), 1);
    assert_eq!(error.problems[0].line, 3);
    assert_eq!(error.problems[0].column.as_deref(), Some("定員"));
    assert!(error.problems[0].message.ja.contains("3行目「定員」"));

    let failed = app
        .store
        .datastore_upsert(
            CITY,
            RESOURCE,
            WriteMethod::Upsert,
            &records(json!([{"_id": 1, "施設名": "変更された"}, {"_id": 2, "定員": "九十"}])),
            false,
        )
        .await;
    match failed {
        Err(DatastoreError::Validation(invalid)) => {
            assert_eq!((invalid.key, invalid.records_row), ("records", Some(1)));
            assert!(invalid.message.contains("九十"), "{invalid:?}");
        }
        other => panic!("expected a validation error, got {other:?}"),
    }

    let after = search(app, json!({"fields": ["施設名"]})).await;
    assert_eq!(after.total, Some(4));
    assert_eq!(after.records()[0]["施設名"], json!("中央保育園"));

    // A good re-upload replaces the rows whole.
    let smaller = typed(&CSV.lines().take(2).collect::<Vec<_>>().join("\r\n")).unwrap();
    let replaced = app
        .store
        .datastore_replace(CITY, RESOURCE, &smaller.fields, &[], smaller.rows)
        .await
        .unwrap();
    assert_eq!(replaced.row_count, 1);
    assert_eq!(search(app, json!({})).await.total, Some(1));
}

/// A JSON list of records as the store takes them.
fn records(list: Value) -> Vec<Map<String, Value>> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_object().unwrap().clone())
        .collect()
}

async fn records_are_appended_and_updated_by_id(app: &TestApp) {
    let file = typed(CSV).unwrap();
    app.store
        .datastore_replace(CITY, RESOURCE, &file.fields, &[], file.rows)
        .await
        .unwrap();
    let row = |name: &str| {
        json!({"団体コード": "011002", "施設名": name, "所在地": "札幌市南区",
               "開設日": "2025-04-01", "定員": 30, "面積": 99.5})
    };
    let inserted = app
        .store
        .datastore_upsert(
            CITY,
            RESOURCE,
            WriteMethod::Insert,
            &records(json!([row("南保育園"), row("西保育園")])),
            false,
        )
        .await
        .unwrap();
    assert_eq!(inserted.row_count, 6);
    let south = search(
        app,
        json!({"filters": {"所在地": "札幌市南区"}, "fields": ["_id", "施設名"]}),
    )
    .await;
    assert_eq!(column(&south, "_id"), [json!(5), json!(6)]);

    let updated = app
        .store
        .datastore_upsert(
            CITY,
            RESOURCE,
            WriteMethod::Upsert,
            &records(json!([{"_id": 5, "施設名": "南こども園"}])),
            false,
        )
        .await
        .unwrap();
    assert_eq!(updated.row_count, 6);
    let five = search(app, json!({"filters": {"_id": 5}})).await;
    assert_eq!(five.records()[0]["施設名"], json!("南こども園"));
    assert_eq!(
        five.records()[0]["定員"],
        json!(30),
        "an update changes only the fields it gives"
    );

    app.store.datastore_drop(CITY, RESOURCE).await.unwrap();
    assert!(matches!(
        app.store.datastore_info(CITY, RESOURCE).await,
        Err(DatastoreError::NotFound(_))
    ));
}

on_both_backends!(
    a_shift_jis_file_is_stored_and_searched_like_ckan,
    a_bad_reupload_and_a_failing_upsert_leave_the_previous_rows,
    records_are_appended_and_updated_by_id,
);

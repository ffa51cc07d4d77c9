//! The datastore's writes as CKAN makes them: ckanapi checks each of issue 20's behaviours
//! against CKAN's answers, and a property test runs random sequences of `datastore_create`,
//! `datastore_upsert` (insert, upsert, update) and `datastore_delete` against machi and against
//! a plain in-memory model of CKAN's rules, comparing every answer and the whole table after
//! each call.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{json, Map, Value};

use super::run_client_with;
use crate::harness::{TestApp, CITY};
use crate::on_both_backends;

const WRITER: &str = "data@kikikanri.test";

/// A writer of department kikikanri and their API token.
pub(super) async fn writer_token(app: &TestApp) -> String {
    app.create_staff(WRITER, "staff", Some("kikikanri")).await;
    let (_, token) = app
        .store
        .create_api_token(CITY, WRITER, "test")
        .await
        .unwrap();
    token
}

async fn ckanapi_gets_ckan_s_answers_for_datastore_writes(app: &TestApp) {
    let token = writer_token(app).await;
    run_client_with(app, "ckanapi_datastore.py", &[&token]).await;
}

/// One CKAN action call over HTTP: `Ok(result)` or `Err((status, error))`.
#[derive(Clone)]
struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    async fn call(&self, action: &str, body: Value) -> Result<Value, (u16, Value)> {
        let response = self
            .client
            .post(format!("{}/api/3/action/{action}", self.base))
            .header("Authorization", &self.token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let envelope: Value = response.json().await.unwrap();
        match status {
            200 => Ok(envelope["result"].clone()),
            _ => Err((status, envelope["error"].clone())),
        }
    }
}

// ---- the model ----

/// A record of a call: each field given or not (`None`), `_id` when it names a row.
#[derive(Debug, Clone)]
struct Rec {
    id: Option<i64>,
    code: Option<Value>,
    name: Option<Value>,
    n: Option<Value>,
    note: Option<Value>,
}

impl Rec {
    fn json(&self) -> Map<String, Value> {
        let mut map = Map::new();
        if let Some(id) = self.id {
            map.insert("_id".into(), json!(id));
        }
        for (key, value) in [
            ("code", &self.code),
            ("name", &self.name),
            ("n", &self.n),
            ("note", &self.note),
        ] {
            if let Some(value) = value {
                map.insert(key.into(), value.clone());
            }
        }
        map
    }
}

#[derive(Debug, Clone)]
enum Op {
    Create {
        primary_key: Option<Vec<String>>,
        with_note: bool,
        records: Vec<Rec>,
    },
    Write(&'static str, Vec<Rec>),
    DeleteRows(Map<String, Value>),
    Drop,
}

/// What a call answered: the result, Not Found, or a Validation Error on a key (and record).
#[derive(Debug, Clone, PartialEq)]
enum Answer {
    Done,
    NotFound,
    Invalid(String, Option<u64>),
}

#[derive(Debug, Clone, Default)]
struct Table {
    fields: Vec<&'static str>,
    primary_key: Vec<String>,
    rows: BTreeMap<i64, Map<String, Value>>,
    last_id: i64,
}

fn invalid(key: &str, row: Option<usize>) -> Answer {
    Answer::Invalid(key.into(), row.map(|r| r as u64))
}

impl Table {
    /// A value as the field keeps it: `n` is an integer (text digits read as one, "" is
    /// NULL, anything else refused); the rest is text.
    fn typed(field: &str, value: &Value) -> Option<Value> {
        match (field, value) {
            ("n", Value::Number(_)) | (_, Value::Null) => Some(value.clone()),
            ("n", Value::String(s)) if s.is_empty() => Some(Value::Null),
            ("n", Value::String(s)) => s.parse::<i64>().ok().map(Value::from),
            ("n", _) => None,
            (_, Value::String(_)) => Some(value.clone()),
            _ => None,
        }
    }

    fn key_of(&self, row: &Map<String, Value>) -> Option<Vec<Value>> {
        let key: Vec<Value> = self.primary_key.iter().map(|k| row[k].clone()).collect();
        (!self.primary_key.is_empty() && key.iter().all(|v| !v.is_null())).then_some(key)
    }

    /// Whether some row other than `except` has `row`'s key.
    fn collides(&self, row: &Map<String, Value>, except: Option<i64>) -> bool {
        let Some(key) = self.key_of(row) else {
            return false;
        };
        self.rows
            .iter()
            .any(|(id, other)| Some(*id) != except && self.key_of(other).as_ref() == Some(&key))
    }

    /// A full row from a record's values (NULL where not given).
    fn full_row(&self, given: &Map<String, Value>) -> Map<String, Value> {
        self.fields
            .iter()
            .map(|f| (f.to_string(), given.get(*f).cloned().unwrap_or(Value::Null)))
            .collect()
    }

    fn insert(&mut self, records: &[Rec]) -> Result<(), Answer> {
        let extra_keys = |rec: &Rec| {
            rec.json()
                .keys()
                .any(|k| !self.fields.contains(&k.as_str()))
        };
        if records.iter().any(extra_keys) {
            return Err(invalid("records", None));
        }
        for (i, rec) in records.iter().enumerate() {
            let mut typed = Map::new();
            for (k, v) in rec.json() {
                typed.insert(
                    k.clone(),
                    Self::typed(&k, &v).ok_or(invalid("records", Some(i)))?,
                );
            }
            let row = self.full_row(&typed);
            if self.collides(&row, None) {
                return Err(invalid("records", Some(i)));
            }
            self.last_id += 1;
            self.rows.insert(self.last_id, row);
        }
        Ok(())
    }

    fn write(&mut self, method: &str, records: &[Rec]) -> Result<(), Answer> {
        for (i, rec) in records.iter().enumerate() {
            let given = rec.json();
            if rec.id.is_none() && self.primary_key.is_empty() {
                return Err(invalid("table", None));
            }
            if rec.id.is_none() && self.primary_key.iter().any(|k| !given.contains_key(k)) {
                return Err(invalid("key", None));
            }
            if given
                .keys()
                .any(|k| k != "_id" && !self.fields.contains(&k.as_str()))
            {
                return Err(invalid("fields", None));
            }
            let mut used = Map::new();
            for (k, v) in given.iter().filter(|(k, _)| *k != "_id") {
                used.insert(
                    k.clone(),
                    Self::typed(k, v).ok_or(invalid("records", Some(i)))?,
                );
            }
            let found = match rec.id {
                Some(id) => self.rows.contains_key(&id).then_some(id),
                None => {
                    let key: Vec<Value> =
                        self.primary_key.iter().map(|k| used[k].clone()).collect();
                    self.rows.iter().find_map(|(id, row)| {
                        (key.iter().all(|v| !v.is_null())
                            && self.key_of(row).as_ref() == Some(&key))
                        .then_some(*id)
                    })
                }
            };
            match found {
                Some(id) => {
                    let mut row = self.rows[&id].clone();
                    row.extend(used);
                    if self.collides(&row, Some(id)) {
                        return Err(invalid("records", Some(i)));
                    }
                    self.rows.insert(id, row);
                }
                None if method == "update" => return Err(invalid("key", None)),
                None => {
                    let row = self.full_row(&used);
                    if self.collides(&row, None) {
                        return Err(invalid("records", Some(i)));
                    }
                    self.last_id += 1;
                    self.rows.insert(self.last_id, row);
                }
            }
        }
        Ok(())
    }

    fn set_primary_key(&mut self, primary_key: Vec<String>) -> Result<(), Answer> {
        self.primary_key = primary_key;
        let mut keys: Vec<Vec<Value>> = self.rows.values().filter_map(|r| self.key_of(r)).collect();
        let all = keys.len();
        keys.sort_by_key(|k| format!("{k:?}"));
        keys.dedup();
        if keys.len() == all {
            Ok(())
        } else {
            Err(invalid("constraints", None))
        }
    }
}

/// CKAN's rules, applied to a copy that replaces the table only when the call succeeds.
fn apply(model: &mut Option<Table>, op: &Op) -> Answer {
    let mut next = model.clone();
    let outcome = match (op, next.as_mut()) {
        (
            Op::Create {
                primary_key,
                with_note,
                records,
            },
            existing,
        ) => {
            let mut table = existing.cloned().unwrap_or_else(|| Table {
                fields: vec!["code", "name", "n"],
                ..Table::default()
            });
            if *with_note && !table.fields.contains(&"note") {
                table.fields.push("note");
                for row in table.rows.values_mut() {
                    row.insert("note".into(), Value::Null);
                }
            }
            let new_key = primary_key.clone().unwrap_or(table.primary_key.clone());
            let changes = new_key != table.primary_key;
            let outcome = table.insert(records).and_then(|()| match changes {
                true => table.set_primary_key(new_key),
                false => Ok(()),
            });
            next = Some(table);
            outcome
        }
        (_, None) => Err(Answer::NotFound),
        (Op::Write("insert", records), Some(table)) => table.insert(records),
        (Op::Write(method, records), Some(table)) => table.write(method, records),
        (Op::DeleteRows(filters), Some(table)) => {
            table
                .rows
                .retain(|_, row| !filters.iter().all(|(k, v)| &row[k] == v));
            Ok(())
        }
        (Op::Drop, Some(_)) => {
            next = None;
            Ok(())
        }
    };
    match outcome {
        Ok(()) => {
            *model = next;
            Answer::Done
        }
        Err(answer) => answer,
    }
}

/// The same call made to machi.
async fn call(api: &Api, resource: &str, op: &Op) -> Answer {
    let records =
        |recs: &[Rec]| Value::Array(recs.iter().map(|r| Value::Object(r.json())).collect());
    let outcome = match op {
        Op::Create {
            primary_key,
            with_note,
            records: recs,
        } => {
            let mut fields = vec![
                json!({"id": "code", "type": "text"}),
                json!({"id": "name", "type": "text"}),
                json!({"id": "n", "type": "int"}),
            ];
            if *with_note {
                fields.push(json!({"id": "note", "type": "text"}));
            }
            let mut body =
                json!({"resource_id": resource, "fields": fields, "records": records(recs)});
            if let Some(key) = primary_key {
                body["primary_key"] = json!(key);
            }
            api.call("datastore_create", body).await
        }
        Op::Write(method, recs) => {
            let body = json!({"resource_id": resource, "method": method, "records": records(recs)});
            api.call("datastore_upsert", body).await
        }
        Op::DeleteRows(filters) => {
            api.call(
                "datastore_delete",
                json!({"resource_id": resource, "filters": filters}),
            )
            .await
        }
        Op::Drop => {
            api.call("datastore_delete", json!({"resource_id": resource}))
                .await
        }
    };
    match outcome {
        Ok(_) => Answer::Done,
        Err((404, _)) => Answer::NotFound,
        Err((409, error)) => {
            let key = ["records", "key", "fields", "table", "constraints"]
                .into_iter()
                .find(|k| error.get(*k).is_some())
                .unwrap_or("?");
            Answer::Invalid(key.into(), error["records_row"].as_u64())
        }
        Err((status, error)) => panic!("{op:?} answered {status}: {error}"),
    }
}

/// The table machi holds, as rows by `_id` with every field, or `None` when it has none.
async fn stored(api: &Api, resource: &str) -> Option<BTreeMap<i64, Map<String, Value>>> {
    let body = json!({"resource_id": resource, "limit": 1000, "sort": "_id"});
    let found = api.call("datastore_search", body).await.ok()?;
    let rows = found["records"].as_array().unwrap().iter().map(|record| {
        let mut row = record.as_object().unwrap().clone();
        let id = row.remove("_id").unwrap().as_i64().unwrap();
        (id, row)
    });
    Some(rows.collect())
}

fn value_of(choices: Vec<Value>) -> impl Strategy<Value = Option<Value>> {
    prop::option::weighted(0.7, prop::sample::select(choices))
}

/// A record; `in_write` ones may name a row by `_id` or give a `note` the table may lack.
fn rec(in_write: bool) -> impl Strategy<Value = Rec> {
    let codes = vec![
        json!("C1"),
        json!("C2"),
        json!("C3"),
        json!("C4"),
        Value::Null,
    ];
    let names = vec![json!("北"), json!("南"), json!("")];
    let ns = vec![
        json!(1),
        json!(2),
        json!("3"),
        json!(""),
        json!("x"),
        Value::Null,
    ];
    let sometimes = |p: f64, strategy: BoxedStrategy<_>| match in_write {
        true => prop::option::weighted(p, strategy).boxed(),
        false => Just(None).boxed(),
    };
    (
        sometimes(0.3, (1i64..8).prop_map(Value::from).boxed()),
        value_of(codes),
        value_of(names),
        value_of(ns),
        sometimes(0.1, Just(json!("memo")).boxed()),
    )
        .prop_map(|(id, code, name, n, note)| Rec {
            id: id.and_then(|id| id.as_i64()),
            code,
            name,
            n,
            note,
        })
}

fn op() -> impl Strategy<Value = Op> {
    let keys = prop::option::of(prop::sample::select(vec![
        vec!["code".to_string()],
        vec!["code".to_string(), "n".to_string()],
        vec![],
    ]));
    let create = (keys, any::<bool>(), prop::collection::vec(rec(false), 0..4)).prop_map(
        |(primary_key, with_note, records)| Op::Create {
            primary_key,
            with_note,
            records,
        },
    );
    let write = (
        prop::sample::select(vec!["insert", "upsert", "update"]),
        prop::collection::vec(rec(true), 1..4),
    )
        .prop_map(|(method, records)| Op::Write(method, records));
    let delete = prop::sample::select(vec![json!({"code": "C1"}), json!({"n": 2}), json!({})])
        .prop_map(|f| Op::DeleteRows(f.as_object().unwrap().clone()));
    prop_oneof![3 => create, 6 => write, 1 => delete, 1 => Just(Op::Drop)]
}

async fn run_sequence(api: &Api, resource: &str, ops: &[Op]) -> Result<(), TestCaseError> {
    let _ = api
        .call("datastore_delete", json!({"resource_id": resource}))
        .await;
    let mut model: Option<Table> = None;
    for (step, op) in ops.iter().enumerate() {
        let expected = apply(&mut model, op);
        let answered = call(api, resource, op).await;
        prop_assert_eq!(&answered, &expected, "step {}: {:?}", step, op);
        let rows = stored(api, resource).await;
        let modelled = model.as_ref().map(|t| t.rows.clone());
        prop_assert_eq!(rows, modelled, "table after step {}: {:?}", step, op);
    }
    Ok(())
}

async fn random_writes_follow_ckan_s_rules(app: &TestApp) {
    let token = writer_token(app).await;
    let api = Api {
        client: app.client.clone(),
        base: app.url(""),
        token,
    };
    let dataset = api
        .call(
            "package_create",
            json!({"name": "model", "title": "モデル",
                   "resources": [{"url": "https://example.jp/m.csv", "format": "csv"}]}),
        )
        .await
        .unwrap();
    let resource = dataset["resources"][0]["id"].as_str().unwrap().to_string();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut runner = TestRunner::new(Config {
            cases: 96,
            failure_persistence: None,
            ..Config::default()
        });
        let sequences = prop::collection::vec(op(), 1..12);
        runner
            .run(&sequences, |ops| {
                runtime.block_on(run_sequence(&api, &resource, &ops))
            })
            .unwrap();
    })
    .await
    .unwrap();
}

on_both_backends!(
    ckanapi_gets_ckan_s_answers_for_datastore_writes,
    random_writes_follow_ckan_s_rules,
);

//! The whole catalog in DCAT (W3C Data Catalog Vocabulary, v3) at `/catalog.jsonld` and
//! `/catalog.ttl`, for the national catalog (データカタログサイト) and other harvesters.
//!
//! Both are written from one list of triples, so they always say the same. The JSON-LD is in
//! expanded form (full IRIs, no remote context to fetch) and the Turtle uses prefixes only for
//! readability. Written by hand: the graph is a few dozen triples per dataset, and the Rust RDF
//! crates would add a full model and parsers to write two plain text formats.

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use machi_core::opendata::catalog::license;
use machi_store::opendata::{DatasetQuery, DatasetRecord, DatasetSort};
use serde_json::{json, Map, Value};

use crate::kit::{ApiError, City, SiteUrl};
use crate::AppState;

const DCAT: &str = "http://www.w3.org/ns/dcat#";
const DCT: &str = "http://purl.org/dc/terms/";
const FOAF: &str = "http://xmlns.com/foaf/0.1/";
const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
const XSD: &str = "http://www.w3.org/2001/XMLSchema#";
/// Most datasets one export holds (a city publishes hundreds).
const MAX_DATASETS: i64 = 100_000;

/// The object of a triple.
#[derive(Debug, Clone, PartialEq)]
enum Object {
    Iri(String),
    /// A literal with a language tag (`ja`, `en`).
    Text(String, &'static str),
    /// A literal of an XSD datatype (`dateTime`, `nonNegativeInteger`); plain when empty.
    Typed(String, &'static str),
}

type Triple = (String, String, Object);

fn iri(term: &str, ns: &str) -> String {
    format!("{ns}{term}")
}

/// Stored UTC text as xsd:dateTime (`2024-04-01T00:00:00.000000Z` is already one).
fn date_time(time: machi_store::Time) -> Object {
    Object::Typed(time.stored(), "dateTime")
}

fn dataset_triples(base: &str, dataset: &DatasetRecord, out: &mut Vec<Triple>) {
    let d = &dataset.input;
    let subject = format!("{base}/opendata/datasets/{}", d.name);
    let mut add = |p: String, o: Object| out.push((subject.clone(), p, o));
    add(RDF_TYPE.into(), Object::Iri(iri("Dataset", DCAT)));
    add(
        iri("identifier", DCT),
        Object::Typed(dataset.id.clone(), ""),
    );
    add(iri("title", DCT), Object::Text(d.title_ja.clone(), "ja"));
    if !d.title_en.is_empty() {
        add(iri("title", DCT), Object::Text(d.title_en.clone(), "en"));
    }
    if !d.notes_ja.is_empty() {
        add(
            iri("description", DCT),
            Object::Text(d.notes_ja.clone(), "ja"),
        );
    }
    for tag in &d.tags {
        add(iri("keyword", DCAT), Object::Text(tag.clone(), "ja"));
    }
    add(iri("issued", DCT), date_time(dataset.created_at));
    add(iri("modified", DCT), date_time(dataset.modified_at));
    add(
        iri("publisher", DCT),
        Object::Iri(format!("{base}/opendata?organization={}", d.organization)),
    );
    add(iri("landingPage", DCAT), Object::Iri(subject.clone()));
    if !d.spatial.is_empty() {
        add(iri("spatial", DCT), Object::Text(d.spatial.clone(), "ja"));
    }
    if !d.frequency.is_empty() {
        add(
            iri("accrualPeriodicity", DCT),
            Object::Text(d.frequency.clone(), "ja"),
        );
    }
    for group in &d.groups {
        add(
            iri("theme", DCAT),
            Object::Iri(format!("{base}/opendata?groups={group}")),
        );
    }
    if !d.contact_email.is_empty() {
        add(
            iri("contactPoint", DCAT),
            Object::Iri(format!("mailto:{}", d.contact_email)),
        );
    }
    let licence = license(&d.license_id).filter(|l| !l.url.is_empty());
    for resource in &dataset.resources {
        let url = resource.link(base);
        let distribution = format!("{base}/opendata/resources/{}", resource.id);
        out.push((
            subject.clone(),
            iri("distribution", DCAT),
            Object::Iri(distribution.clone()),
        ));
        let mut add = |p: String, o: Object| out.push((distribution.clone(), p, o));
        add(RDF_TYPE.into(), Object::Iri(iri("Distribution", DCAT)));
        add(iri("title", DCT), Object::Text(resource.name.clone(), "ja"));
        add(iri("accessURL", DCAT), Object::Iri(url.clone()));
        if resource.file_sha256.is_some() {
            add(iri("downloadURL", DCAT), Object::Iri(url));
        }
        add(
            iri("format", DCT),
            Object::Typed(resource.format.clone(), ""),
        );
        if !resource.media_type.is_empty() {
            let plain = resource
                .media_type
                .split(';')
                .next()
                .unwrap_or_default()
                .trim();
            add(
                iri("mediaType", DCAT),
                Object::Iri(format!(
                    "https://www.iana.org/assignments/media-types/{plain}"
                )),
            );
        }
        if let Some(size) = resource.size_bytes {
            add(
                iri("byteSize", DCAT),
                Object::Typed(size.to_string(), "nonNegativeInteger"),
            );
        }
        if let Some(licence) = licence {
            add(iri("license", DCT), Object::Iri(licence.url.to_string()));
        }
        if !resource.standard.is_empty() {
            add(
                iri("conformsTo", DCT),
                Object::Typed(
                    format!("自治体標準オープンデータセット {}", resource.standard),
                    "",
                ),
            );
        }
    }
}

fn catalog_triples(base: &str, city: &str, datasets: &[DatasetRecord]) -> Vec<Triple> {
    let catalog = format!("{base}/catalog");
    let mut out = vec![
        (
            catalog.clone(),
            RDF_TYPE.into(),
            Object::Iri(iri("Catalog", DCAT)),
        ),
        (
            catalog.clone(),
            iri("title", DCT),
            Object::Text(format!("{city} オープンデータカタログ"), "ja"),
        ),
        (
            catalog.clone(),
            iri("publisher", DCT),
            Object::Iri(base.to_string()),
        ),
        (
            catalog.clone(),
            iri("homepage", FOAF),
            Object::Iri(format!("{base}/opendata")),
        ),
        (
            base.to_string(),
            RDF_TYPE.into(),
            Object::Iri(iri("Organization", FOAF)),
        ),
        (
            base.to_string(),
            iri("name", FOAF),
            Object::Text(city.to_string(), "ja"),
        ),
    ];
    for dataset in datasets {
        let subject = format!("{base}/opendata/datasets/{}", dataset.input.name);
        out.push((catalog.clone(), iri("dataset", DCAT), Object::Iri(subject)));
        dataset_triples(base, dataset, &mut out);
    }
    out
}

/// Expanded JSON-LD: one node object per subject, in order of first appearance.
fn to_json_ld(triples: &[Triple]) -> Value {
    let mut nodes: Vec<(String, Map<String, Value>)> = Vec::new();
    for (subject, predicate, object) in triples {
        let position = match nodes.iter().position(|(s, _)| s == subject) {
            Some(i) => i,
            None => {
                let mut node = Map::new();
                node.insert("@id".into(), json!(subject));
                nodes.push((subject.clone(), node));
                nodes.len() - 1
            }
        };
        let node = &mut nodes[position].1;
        if predicate == RDF_TYPE {
            if let Object::Iri(kind) = object {
                let types = node.entry("@type").or_insert_with(|| json!([]));
                if let Some(list) = types.as_array_mut() {
                    list.push(json!(kind));
                }
            }
            continue;
        }
        let value = match object {
            Object::Iri(iri) => json!({"@id": iri}),
            Object::Text(text, lang) => json!({"@value": text, "@language": lang}),
            Object::Typed(text, "") => json!({"@value": text}),
            Object::Typed(text, kind) => json!({"@value": text, "@type": format!("{XSD}{kind}")}),
        };
        let values = node.entry(predicate.clone()).or_insert_with(|| json!([]));
        if let Some(list) = values.as_array_mut() {
            list.push(value);
        }
    }
    Value::Array(nodes.into_iter().map(|(_, n)| Value::Object(n)).collect())
}

/// A Turtle string literal: quotes, backslashes and line breaks escaped.
fn turtle_string(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace('\r', "\\r");
    format!("\"{escaped}\"")
}

/// An IRI as `<…>`, with the characters Turtle forbids in IRIs percent-encoded.
fn turtle_iri(iri: &str) -> String {
    let mut out = String::from("<");
    for c in iri.chars() {
        match c {
            '<' | '>' | '"' | '{' | '}' | '|' | '^' | '`' | '\\' | ' ' => {
                let mut buffer = [0u8; 4];
                for byte in c.encode_utf8(&mut buffer).bytes() {
                    out.push_str(&format!("%{byte:02X}"));
                }
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('>');
    out
}

fn to_turtle(triples: &[Triple]) -> String {
    let mut out = format!("@prefix dcat: <{DCAT}> .\n@prefix dct: <{DCT}> .\n@prefix foaf: <{FOAF}> .\n@prefix xsd: <{XSD}> .\n\n");
    for (subject, predicate, object) in triples {
        let predicate = if predicate == RDF_TYPE {
            "a".to_string()
        } else {
            turtle_iri(predicate)
        };
        let object = match object {
            Object::Iri(iri) => turtle_iri(iri),
            Object::Text(text, lang) => format!("{}@{lang}", turtle_string(text)),
            Object::Typed(text, "") => turtle_string(text),
            Object::Typed(text, kind) => format!("{}^^xsd:{kind}", turtle_string(text)),
        };
        out.push_str(&format!("{} {predicate} {object} .\n", turtle_iri(subject)));
    }
    out
}

async fn triples(
    state: &AppState,
    city: &machi_store::Tenant,
    base: &str,
) -> Result<Vec<Triple>, ApiError> {
    let query = DatasetQuery {
        sort: DatasetSort::NameAsc,
        rows: MAX_DATASETS,
        ..DatasetQuery::default()
    };
    let page = state.store.search_datasets(&city.id, &query).await?;
    Ok(catalog_triples(base, &city.name_ja, &page.datasets))
}

fn typed(body: String, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

pub(super) async fn json_ld(
    State(state): State<AppState>,
    City(city): City,
    SiteUrl(base): SiteUrl,
) -> Result<Response, ApiError> {
    let graph = to_json_ld(&triples(&state, &city, &base).await?);
    Ok(typed(graph.to_string(), "application/ld+json"))
}

pub(super) async fn turtle(
    State(state): State<AppState>,
    City(city): City,
    SiteUrl(base): SiteUrl,
) -> Result<Response, ApiError> {
    let text = to_turtle(&triples(&state, &city, &base).await?);
    Ok(typed(text, "text/turtle; charset=utf-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms_carry_the_same_statements() {
        let triples = vec![
            (
                "http://x/d".to_string(),
                RDF_TYPE.to_string(),
                Object::Iri(iri("Dataset", DCAT)),
            ),
            (
                "http://x/d".to_string(),
                iri("title", DCT),
                Object::Text("避難\"所\"\n一覧".into(), "ja"),
            ),
            (
                "http://x/d".to_string(),
                iri("byteSize", DCAT),
                Object::Typed("12".into(), "nonNegativeInteger"),
            ),
        ];
        let turtle = to_turtle(&triples);
        assert!(turtle.contains("<http://x/d> a <http://www.w3.org/ns/dcat#Dataset> ."));
        assert!(turtle.contains(r#""避難\"所\"\n一覧"@ja"#));
        assert!(turtle.contains(r#""12"^^xsd:nonNegativeInteger"#));
        let json = to_json_ld(&triples);
        assert_eq!(
            json[0]["@type"],
            json!(["http://www.w3.org/ns/dcat#Dataset"])
        );
        assert_eq!(
            json[0]["http://purl.org/dc/terms/title"][0]["@language"],
            "ja"
        );
        assert_eq!(turtle_iri("http://x/a b"), "<http://x/a%20b>");
    }
}

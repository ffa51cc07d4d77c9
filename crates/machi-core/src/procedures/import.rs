//! 手続棚卸の取込: reads a city's procedure catalog from CSV (UTF-8 or Shift_JIS), JSON or YAML.
//!
//! Everything is parsed and checked before anything is stored, so a file with one bad row
//! imports nothing; every problem is reported with the line (CSV) or item (JSON/YAML) at fault.

use std::collections::HashMap;

use serde::Deserialize;

use super::{Channel, DepartmentRef, LifeEvent, Localized, ProcedureDefinition};
use crate::text;

/// The file formats a catalog can come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CatalogFormat {
    Csv,
    Json,
    Yaml,
}

impl CatalogFormat {
    /// Picks the format from a file name's extension.
    pub fn from_path(path: &str) -> Option<Self> {
        let lower = path.to_ascii_lowercase();
        let ext = lower.rsplit('.').next()?;
        match ext {
            "csv" => Some(Self::Csv),
            "json" => Some(Self::Json),
            "yaml" | "yml" => Some(Self::Yaml),
            _ => None,
        }
    }
}

/// One problem, located as precisely as the format allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line in the file (CSV, and parse errors of JSON/YAML).
    pub line: Option<u64>,
    /// Which procedure, when known.
    pub item: Option<String>,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if let Some(item) = &self.item {
            write!(f, "{item}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// A catalog file that cannot be imported; nothing from it is stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the catalog has {} problem(s); nothing was imported:\n{}", .0.len(), .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
pub struct ImportError(pub Vec<RowError>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    procedures: Vec<ProcedureDefinition>,
}

/// Parses and checks a whole catalog.
pub fn parse_catalog(
    bytes: &[u8],
    format: CatalogFormat,
) -> Result<Vec<ProcedureDefinition>, ImportError> {
    let procedures = match format {
        CatalogFormat::Csv => parse_csv(&decode_text(bytes)?)?,
        CatalogFormat::Json => {
            serde_json::from_slice::<CatalogFile>(bytes)
                .map_err(|e| single(Some(e.line() as u64), e.to_string()))?
                .procedures
        }
        CatalogFormat::Yaml => {
            serde_yaml_ng::from_slice::<CatalogFile>(bytes)
                .map_err(|e| single(e.location().map(|l| l.line() as u64), e.to_string()))?
                .procedures
        }
    };
    check_all(&procedures, &[])?;
    Ok(procedures)
}

fn single(line: Option<u64>, message: String) -> ImportError {
    ImportError(vec![RowError {
        line,
        item: None,
        message,
    }])
}

/// Decodes UTF-8 (with or without BOM) or Shift_JIS (CP932), the two encodings Japanese
/// spreadsheets are saved in. Bytes valid in neither are an error, never silently replaced.
pub fn decode_text(bytes: &[u8]) -> Result<String, ImportError> {
    crate::text::decode_spreadsheet(bytes)
        .map(|(text, _)| text)
        .map_err(|_| {
            single(
                None,
                "the file is neither UTF-8 nor Shift_JIS (CP932) text".into(),
            )
        })
}

fn check_all(procedures: &[ProcedureDefinition], lines: &[u64]) -> Result<(), ImportError> {
    let mut errors = Vec::new();
    let mut first_seen: HashMap<&str, usize> = HashMap::new();
    for (index, procedure) in procedures.iter().enumerate() {
        let line = lines.get(index).copied();
        let item = Some(format!("procedure {} ({})", index + 1, procedure.id));
        if let Some(first) = first_seen.insert(procedure.id.as_str(), index) {
            let message = format!(
                "id '{}' is used twice (first at procedure {})",
                procedure.id,
                first + 1
            );
            errors.push(RowError {
                line,
                item: item.clone(),
                message,
            });
        }
        if let Err(problems) = procedure.check() {
            errors.extend(problems.into_iter().map(|message| RowError {
                line,
                item: item.clone(),
                message,
            }));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ImportError(errors))
    }
}

/// Column names a city spreadsheet may use, English first.
const COLUMNS: &[(&str, &[&str])] = &[
    ("id", &["id", "手続id", "手続コード"]),
    ("name_ja", &["name_ja", "name", "手続名", "名称"]),
    ("name_en", &["name_en", "手続名(英語)", "英語名"]),
    (
        "plain_title",
        &["plain_title", "わかりやすい名前", "通称", "やさしい名前"],
    ),
    ("kana", &["kana", "フリガナ", "ふりがな", "よみがな"]),
    (
        "department_code",
        &["department_code", "担当課コード", "所管課コード"],
    ),
    (
        "department_ja",
        &["department_ja", "department", "担当課", "所管課"],
    ),
    ("department_en", &["department_en", "担当課(英語)"]),
    ("legal_basis", &["legal_basis", "根拠法令"]),
    ("life_events", &["life_events", "ライフイベント"]),
    ("channel", &["channel", "申請方法", "受付方法"]),
    ("fee_yen", &["fee_yen", "fee", "手数料"]),
    ("fee_per", &["fee_per", "手数料の単位"]),
    ("decision", &["decision", "決裁区分", "専決"]),
    ("seal", &["seal", "押印", "押印の要否"]),
    ("paper", &["paper", "書面", "書面の要否"]),
    (
        "in_person",
        &["in_person", "対面", "対面の要否", "来庁の要否"],
    ),
    (
        "identity_level",
        &["identity_level", "本人確認", "本人確認レベル", "保証レベル"],
    ),
    (
        "target_year",
        &["target_year", "オンライン化目標年度", "目標年度"],
    ),
    (
        "national_priority",
        &[
            "national_priority",
            "重点手続",
            "国の重点手続",
            "特に国民の利便性向上に資する手続",
        ],
    ),
    ("documents", &["documents", "必要書類"]),
    (
        "processing_days",
        &["processing_days", "処理日数", "標準処理期間"],
    ),
    (
        "time_limit_ja",
        &["time_limit_ja", "time_limit", "届出期間", "申請期限"],
    ),
    ("time_limit_en", &["time_limit_en", "届出期間(英語)"]),
    (
        "yearly_volume",
        &["yearly_volume", "年間件数", "年間処理件数"],
    ),
    (
        "online_share",
        &["online_share", "オンライン率", "オンライン利用率"],
    ),
    ("summary_ja", &["summary_ja", "summary", "概要"]),
    ("summary_en", &["summary_en", "概要(英語)"]),
    ("keywords", &["keywords", "キーワード"]),
];

const REQUIRED_COLUMNS: [&str; 4] = ["id", "name_ja", "department_ja", "channel"];

fn column_index(headers: &csv::StringRecord) -> Result<HashMap<&'static str, usize>, ImportError> {
    let mut index = HashMap::new();
    for (position, header) in headers.iter().enumerate() {
        let key = text::search_key(header);
        let known = COLUMNS
            .iter()
            .find(|(_, aliases)| aliases.iter().any(|alias| text::search_key(alias) == key));
        match known {
            Some((name, _)) => {
                index.insert(*name, position);
            }
            None if header.trim().is_empty() => {}
            None => return Err(single(Some(1), format!("unknown column '{header}'"))),
        }
    }
    let missing: Vec<&str> = REQUIRED_COLUMNS
        .into_iter()
        .filter(|c| !index.contains_key(c))
        .collect();
    if missing.is_empty() {
        Ok(index)
    } else {
        Err(single(
            Some(1),
            format!("missing column(s): {}", missing.join(", ")),
        ))
    }
}

fn parse_csv(content: &str) -> Result<Vec<ProcedureDefinition>, ImportError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(content.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| single(Some(1), e.to_string()))?
        .clone();
    let columns = column_index(&headers)?;
    let mut procedures = Vec::new();
    let mut lines = Vec::new();
    let mut errors = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map(|p| p.line());
                errors.push(RowError {
                    line,
                    item: None,
                    message: error.to_string(),
                });
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let row = CsvRow {
            record: &record,
            columns: &columns,
        };
        match row.to_procedure() {
            Ok(procedure) => {
                procedures.push(procedure);
                lines.push(line);
            }
            Err(messages) => errors.extend(messages.into_iter().map(|message| RowError {
                line: Some(line),
                item: row.get("id").map(|id| format!("procedure {id}")),
                message,
            })),
        }
    }
    if let Err(ImportError(more)) = check_all(&procedures, &lines) {
        errors.extend(more);
    }
    if errors.is_empty() {
        Ok(procedures)
    } else {
        errors.sort_by_key(|e| e.line);
        Err(ImportError(errors))
    }
}

struct CsvRow<'a> {
    record: &'a csv::StringRecord,
    columns: &'a HashMap<&'static str, usize>,
}

impl CsvRow<'_> {
    fn get(&self, column: &str) -> Option<&str> {
        let value = self.record.get(*self.columns.get(column)?)?.trim();
        (!value.is_empty()).then_some(value)
    }

    fn text(&self, column: &str) -> String {
        self.get(column).map(text::clean_text).unwrap_or_default()
    }

    fn list(&self, column: &str) -> Vec<String> {
        self.get(column)
            .map(|v| {
                v.split([';', '、', '|', '\n'])
                    .map(text::clean_text)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn number(&self, column: &str, errors: &mut Vec<String>) -> Option<i64> {
        let raw = self.get(column)?;
        let folded: String = text::fold_width(raw)
            .chars()
            .filter(|c| !matches!(c, ',' | '円' | '日' | '件'))
            .collect();
        if matches!(folded.as_str(), "無料" | "なし") {
            return Some(0);
        }
        match folded.trim().parse() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push(format!("{column}: '{raw}' is not a whole number"));
                None
            }
        }
    }

    fn share(&self, errors: &mut Vec<String>) -> Option<f64> {
        let raw = self.get("online_share")?;
        let folded = text::fold_width(raw);
        let (number, scale) = match folded.strip_suffix('%') {
            Some(percent) => (percent.trim(), 100.0),
            None => (folded.trim(), 1.0),
        };
        match number.parse::<f64>() {
            Ok(n) => Some(n / scale),
            Err(_) => {
                errors.push(format!(
                    "online_share: '{raw}' is not a share like 0.35 or 35%"
                ));
                None
            }
        }
    }

    /// The 決裁区分 column: empty for the default (課長専決).
    fn decision_route(&self, errors: &mut Vec<String>) -> Option<crate::decisions::DecisionRoute> {
        let text = self.text("decision");
        if text.is_empty() {
            return None;
        }
        let route = crate::decisions::DecisionRoute::parse(&text);
        if route.is_none() {
            errors.push(format!(
                "decision: '{text}' is not a route (担当者専決, 課長専決, or roles joined by →)"
            ));
        }
        route
    }

    fn to_procedure(&self) -> Result<ProcedureDefinition, Vec<String>> {
        let mut errors = Vec::new();
        let channel_text = self.text("channel");
        let channel = Channel::parse(&channel_text).unwrap_or_else(|| {
            errors.push(format!(
                "channel: '{channel_text}' is not online, counter or both (オンライン/窓口/両方)"
            ));
            Channel::Counter
        });
        let mut life_events = Vec::new();
        for event in self.list("life_events") {
            match LifeEvent::parse(&event) {
                Some(parsed) => life_events.push(parsed),
                None => errors.push(format!("life_events: unknown life event '{event}'")),
            }
        }
        let department_ja = self.text("department_ja");
        let procedure = ProcedureDefinition {
            id: self.text("id"),
            name: Localized::new(self.text("name_ja"), self.text("name_en")),
            plain_title: Some(Localized::new(self.text("plain_title"), ""))
                .filter(|t| !t.ja.is_empty()),
            kana: text::to_katakana_field(&self.text("kana")).replace('\u{3000}', ""),
            department: DepartmentRef {
                code: self
                    .get("department_code")
                    .map(text::clean_text)
                    .unwrap_or_else(|| department_ja.clone()),
                ja: department_ja,
                en: self.text("department_en"),
            },
            legal_basis: self.text("legal_basis"),
            life_events,
            channel,
            fee_yen: self.number("fee_yen", &mut errors),
            fee_per: Some(self.text("fee_per")).filter(|per| !per.is_empty()),
            fee_exemptions: Vec::new(),
            refusal: None,
            documents: self
                .list("documents")
                .into_iter()
                .map(|d| Localized::new(d, ""))
                .collect(),
            processing_days: self.number("processing_days", &mut errors),
            time_limit: Some(Localized::new(
                self.text("time_limit_ja"),
                self.text("time_limit_en"),
            ))
            .filter(|limit| !limit.ja.is_empty()),
            yearly_volume: self.number("yearly_volume", &mut errors),
            online_share: self.share(&mut errors),
            inventory: super::inventory::Inventory::read(|column| {
                self.get(column).map(text::clean_text)
            })
            .unwrap_or_else(|problems| {
                errors.extend(problems);
                Default::default()
            }),
            summary: Localized::new(self.text("summary_ja"), self.text("summary_en")),
            keywords: self.list("keywords"),
            form: None,
            decision: self.decision_route(&mut errors),
            workflow: None,
            booking: None,
        };
        if let Err(problems) = procedure.check() {
            errors.extend(problems);
        }
        if errors.is_empty() {
            Ok(procedure)
        } else {
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str =
        "手続ID,手続名,フリガナ,担当課,申請方法,手数料,年間件数,オンライン率,ライフイベント\n\
        jumin,住民票の写しの交付請求,じゅうみんひょう,市民課,両方,300円,12000,35%,証明書\n\
        inu,犬の登録申請,ｲﾇﾉﾄｳﾛｸ,生活環境課,窓口,\"3,000\",400,0,pets\n";

    #[test]
    fn a_japanese_headed_csv_imports_with_its_values_read() {
        let procedures = parse_catalog(CSV.as_bytes(), CatalogFormat::Csv).unwrap();
        assert_eq!(procedures.len(), 2);
        assert_eq!(procedures[0].fee_yen, Some(300));
        assert_eq!(procedures[0].online_share, Some(0.35));
        assert_eq!(procedures[0].channel, Channel::Both);
        assert_eq!(procedures[1].kana, "イヌノトウロク");
        assert_eq!(procedures[1].fee_yen, Some(3000));
        assert_eq!(procedures[1].life_events, vec![LifeEvent::Pets]);
    }

    #[test]
    fn shift_jis_csv_imports_like_utf8() {
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(CSV);
        let procedures = parse_catalog(&sjis, CatalogFormat::Csv).unwrap();
        assert_eq!(procedures[1].name.ja, "犬の登録申請");
    }

    #[test]
    fn a_bad_row_is_reported_with_its_line_and_nothing_is_returned() {
        let bad = format!("{CSV}bad id,名前,,課,fax,x,,,\n");
        let error = parse_catalog(bad.as_bytes(), CatalogFormat::Csv).unwrap_err();
        assert!(error.0.iter().all(|e| e.line == Some(4)), "{error}");
        let text = error.to_string();
        assert!(text.contains("channel"), "{text}");
        assert!(text.contains("fee_yen"), "{text}");
        assert!(text.contains("id 'bad id'"), "{text}");
    }

    #[test]
    fn duplicate_ids_are_reported() {
        let twice = format!("{CSV}jumin,住民票,,市民課,窓口,,,,\n");
        let error = parse_catalog(twice.as_bytes(), CatalogFormat::Csv).unwrap_err();
        assert!(error.to_string().contains("used twice"), "{error}");
    }

    #[test]
    fn an_unknown_column_is_an_error_not_ignored() {
        let error = parse_catalog(
            "id,name_ja,department_ja,channel,colour\n".as_bytes(),
            CatalogFormat::Csv,
        )
        .unwrap_err();
        assert!(error.to_string().contains("unknown column 'colour'"));
    }

    #[test]
    fn invalid_bytes_are_refused() {
        let error = parse_catalog(&[0x82, 0xFF, 0xFF, 0x00], CatalogFormat::Csv).unwrap_err();
        assert!(error.to_string().contains("neither UTF-8 nor Shift_JIS"));
    }

    #[test]
    fn yaml_errors_carry_a_line_number() {
        let error = parse_catalog(b"procedures:\n  - id: x\n    nme: y\n", CatalogFormat::Yaml)
            .unwrap_err();
        assert!(error.0[0].line.is_some(), "{error}");
    }
}

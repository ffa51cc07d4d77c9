//! The standard datasets (自治体標準オープンデータセット, and the older 推奨データセット many cities
//! still publish) as data: the definitions are read from a JSON file (the reference compiled in
//! `crates/machi-core/data/standard-datasets.json`), so a newer file is loaded without a rebuild; and a table
//! is checked against one of them, every finding named by line and column.
//!
//! How sure a finding is follows how sure the definition is. A definition transcribed with
//! high confidence from the official sheet (and not cut short) gives errors; one marked partial
//! or of lower confidence gives only warnings, as does anything whose exact form the reference
//! says was not seen (the string form of dates, for one).

use serde::Deserialize;

use super::table::Table;
use super::types::{date, infer, time, ColumnType};
use crate::plans::city_code_is_valid;
use crate::procedures::Localized;

/// The definitions file, as compiled in `opendata/standard-datasets.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct Definitions {
    pub title: String,
    pub compiled: String,
    /// The national list of recommended datasets (the catalog's groups).
    #[serde(default)]
    pub catalog: Vec<CatalogEntry>,
    pub datasets: Vec<Dataset>,
}

/// One category of the national recommended dataset list.
#[derive(Debug, Clone, Deserialize)]
pub struct CatalogEntry {
    pub no: String,
    pub name_ja: String,
    #[serde(default)]
    pub file_name_suffix: Option<String>,
}

/// One dataset's definition.
#[derive(Debug, Clone, Deserialize)]
pub struct Dataset {
    pub id: String,
    pub name_ja: String,
    /// `current` (自治体標準オープンデータセット) or `legacy` (推奨データセット).
    pub edition: String,
    pub version: String,
    pub confidence: String,
    /// Only the first columns were visible: missing columns are not non-standard.
    #[serde(default)]
    pub partial: Option<bool>,
    pub columns: Vec<Column>,
}

/// One column of a definition.
#[derive(Debug, Clone, Deserialize)]
pub struct Column {
    pub name: String,
    /// `Some(true)` 必須, `Some(false)` 推奨 or 任意, `None` not known.
    pub required: Option<bool>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, rename = "enum")]
    pub values: Option<Vec<String>>,
    #[serde(default)]
    pub notes: String,
}

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// One finding: the line (0 for the file as a whole), the column and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub severity: Severity,
    pub line: u64,
    pub column: String,
    pub message: Localized,
}

/// What checking a table against a dataset found.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub dataset: String,
    pub dataset_name: String,
    pub edition: String,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.count(Severity::Error)
    }

    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }

    fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// Most findings a report lists: a file wrong in every row says so in its first findings.
pub const MAX_FINDINGS: usize = 1_000;

/// The reference shipped with machi (compiled 2026-11-23 from the official sheets' public
/// transcriptions; see its `source` and each dataset's `confidence`).
pub const BUNDLED: &[u8] = include_bytes!("../../data/standard-datasets.json");

impl Definitions {
    /// The definitions shipped with machi.
    pub fn bundled() -> Result<Self, String> {
        Self::from_json(BUNDLED)
    }

    /// The shipped definitions, read once per process (pages and the API ask for them on
    /// every request).
    pub fn shared() -> Result<&'static Self, String> {
        static SHARED: std::sync::OnceLock<Result<Definitions, String>> =
            std::sync::OnceLock::new();
        SHARED
            .get_or_init(Self::bundled)
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Reads a definitions file; the error says what in it could not be read.
    pub fn from_json(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("standard dataset definitions: {e}"))
    }

    pub fn dataset(&self, id: &str) -> Option<&Dataset> {
        self.datasets.iter().find(|d| d.id == id)
    }

    /// The dataset whose columns a table's header matches best (at least half of them), for a
    /// file whose standard is not declared.
    pub fn recognise(&self, table: &Table) -> Option<&Dataset> {
        self.datasets
            .iter()
            .map(|d| {
                let known = d
                    .columns
                    .iter()
                    .filter(|c| table.headers.contains(&c.name))
                    .count();
                (d, known)
            })
            .filter(|(d, known)| *known * 2 >= d.columns.len().min(table.headers.len()).max(1))
            .max_by_key(|(_, known)| *known)
            .map(|(d, _)| d)
    }
}

impl Column {
    /// The datastore type the definition asks for: codes, phone numbers and the like stay
    /// text even when their cells look like numbers (団体コード 272230 is not a quantity).
    pub fn column_type(&self) -> ColumnType {
        match self.kind.as_str() {
            "integer" => ColumnType::Integer,
            "number" | "latitude" | "longitude" => ColumnType::Numeric,
            "date" => ColumnType::Date,
            "time" => ColumnType::Time,
            _ => ColumnType::Text,
        }
    }
}

/// The type of each column of a table: the definition's where the dataset defines the column
/// and every filled cell fits it, else the type inferred from the cells.
pub fn column_types(table: &Table, dataset: Option<&Dataset>) -> Vec<ColumnType> {
    table
        .headers
        .iter()
        .enumerate()
        .map(|(i, header)| {
            let cells = table.rows.iter().map(move |r| r[i].as_str());
            let defined = dataset
                .and_then(|d| d.columns.iter().find(|c| c.name == *header))
                .map(Column::column_type)
                .filter(|kind| {
                    cells
                        .clone()
                        .filter(|c| !c.is_empty())
                        .all(|c| kind.normalise(c).is_some())
                });
            defined.unwrap_or_else(|| infer(cells))
        })
        .collect()
}

impl Dataset {
    /// Whether the reference is sure enough of this definition to reject a file on it.
    pub fn is_certain(&self) -> bool {
        self.partial != Some(true) && self.confidence.starts_with("high")
    }
}

/// Collects findings, demoting errors to warnings when the definition is uncertain.
struct Findings {
    certain: bool,
    list: Vec<Finding>,
}

impl Findings {
    fn push(&mut self, severity: Severity, line: u64, column: &str, ja: String, en: String) {
        if self.list.len() >= MAX_FINDINGS {
            return;
        }
        let severity = if self.certain {
            severity
        } else {
            Severity::Warning
        };
        self.list.push(Finding {
            severity,
            line,
            column: column.to_string(),
            message: Localized::new(ja, en),
        });
    }
}

/// Checks a table against a dataset's definition.
pub fn check(dataset: &Dataset, table: &Table) -> Report {
    let mut found = Findings {
        certain: dataset.is_certain(),
        list: Vec::new(),
    };
    check_header(dataset, table, &mut found);
    for column in &dataset.columns {
        let Some(index) = table.headers.iter().position(|h| *h == column.name) else {
            continue;
        };
        for (row, line) in table.rows.iter().zip(&table.lines) {
            check_cell(column, &row[index], *line, &mut found);
        }
    }
    let mut findings = found.list;
    findings.sort_by(|a, b| (a.line, b.severity, &a.column).cmp(&(b.line, a.severity, &b.column)));
    Report {
        dataset: dataset.id.clone(),
        dataset_name: dataset.name_ja.clone(),
        edition: dataset.edition.clone(),
        findings,
    }
}

fn check_header(dataset: &Dataset, table: &Table, found: &mut Findings) {
    for column in &dataset.columns {
        if column.required == Some(true) && !table.headers.contains(&column.name) {
            found.push(
                Severity::Error,
                1,
                &column.name,
                format!("必須の列「{}」がありません", column.name),
                format!("the required column '{}' is missing", column.name),
            );
        }
    }
    if dataset.partial == Some(true) {
        return;
    }
    for header in &table.headers {
        if !dataset.columns.iter().any(|c| c.name == *header) {
            found.push(
                Severity::Warning,
                1,
                header,
                format!("列「{header}」は{}の定義にありません", dataset.name_ja),
                format!(
                    "the column '{header}' is not in the definition of {}",
                    dataset.id
                ),
            );
        }
    }
    let defined: Vec<&str> = dataset
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .filter(|name| table.headers.iter().any(|h| h == name))
        .collect();
    let given: Vec<&str> = table
        .headers
        .iter()
        .map(String::as_str)
        .filter(|h| defined.contains(h))
        .collect();
    if defined != given {
        found.push(
            Severity::Warning,
            1,
            "",
            "列の順序が定義と異なります".into(),
            "the columns are not in the defined order".into(),
        );
    }
}

fn check_cell(column: &Column, cell: &str, line: u64, found: &mut Findings) {
    let name = column.name.as_str();
    if cell.is_empty() {
        // An enumeration may list the empty value (災害種別: "1" or empty), so empty is a value.
        let empty_allowed = column
            .values
            .as_ref()
            .is_some_and(|v| v.iter().any(String::is_empty));
        if column.required == Some(true) && !empty_allowed {
            found.push(
                Severity::Error,
                line,
                name,
                format!("必須の「{name}」が空です"),
                format!("'{name}' is required but empty"),
            );
        }
        return;
    }
    let Some((severity, ja, en)) = cell_problem(column, cell) else {
        return;
    };
    found.push(
        severity,
        line,
        name,
        format!("「{name}」の値「{cell}」: {ja}"),
        format!("'{name}' value '{cell}': {en}"),
    );
}

type Problem = (Severity, String, String);

fn problem(severity: Severity, ja: &str, en: &str) -> Problem {
    (severity, ja.to_string(), en.to_string())
}

/// What is wrong with a filled cell, by the column's type.
fn cell_problem(column: &Column, cell: &str) -> Option<Problem> {
    use Severity::{Error, Warning};
    let number = || cell.parse::<f64>().ok().filter(|v| v.is_finite());
    match column.kind.as_str() {
        "integer" => cell.parse::<i64>().is_err().then(|| {
            problem(
                Error,
                "整数ではありません",
                "not a whole number (half-width digits)",
            )
        }),
        "number" => number().is_none().then(|| {
            problem(
                Error,
                "数値ではありません",
                "not a number (half-width digits)",
            )
        }),
        "latitude" => (!number().is_some_and(|v| (-90.0..=90.0).contains(&v))).then(|| {
            problem(
                Error,
                "緯度は -90〜90 の10進数です",
                "latitude is a decimal from -90 to 90",
            )
        }),
        "longitude" => (!number().is_some_and(|v| (-180.0..=180.0).contains(&v))).then(|| {
            problem(
                Error,
                "経度は -180〜180 の10進数です",
                "longitude is a decimal from -180 to 180",
            )
        }),
        "url" => (!(cell.starts_with("https://") || cell.starts_with("http://"))).then(|| {
            problem(
                Error,
                "http:// か https:// で始まる URL ではありません",
                "not an http(s) URL",
            )
        }),
        "enum" => column
            .values
            .as_ref()
            .filter(|values| !values.iter().any(|v| v == cell))
            .map(|values| {
                let allowed: Vec<&str> = values
                    .iter()
                    .filter(|v| !v.is_empty())
                    .map(String::as_str)
                    .collect();
                (
                    Error,
                    format!("決められた値（{}）ではありません", allowed.join(" / ")),
                    format!("not one of the allowed values ({})", allowed.join(", ")),
                )
            }),
        "date" => date_problem(cell),
        "time" => time_problem(cell),
        "phone" => (!cell.chars().all(|c| c.is_ascii_digit() || c == '-')).then(|| {
            problem(
                Warning,
                "電話番号は半角数字とハイフンで書きます",
                "write phone numbers in half-width digits and hyphens",
            )
        }),
        "code" => code_problem(&column.name, cell),
        _ => None,
    }
}

/// Dates: ISO 8601 (YYYY-MM-DD) is asked for; a date in another form (和暦 too) is a warning,
/// since the reference did not see the exact form the standard requires.
fn date_problem(cell: &str) -> Option<Problem> {
    let iso = chrono::NaiveDate::parse_from_str(cell, "%Y-%m-%d").is_ok() && cell.len() == 10;
    match (iso, date(cell).is_some()) {
        (true, _) => None,
        (false, true) => Some(problem(
            Severity::Warning,
            "日付は YYYY-MM-DD（例 2024-04-01）で書くことを勧めます",
            "write dates as YYYY-MM-DD (e.g. 2024-04-01)",
        )),
        (false, false) => Some(problem(
            Severity::Error,
            "日付として読めません",
            "not a date",
        )),
    }
}

/// Times: hh:mm as the current standard writes them.
fn time_problem(cell: &str) -> Option<Problem> {
    let hh_mm = cell.len() == 5 && chrono::NaiveTime::parse_from_str(cell, "%H:%M").is_ok();
    match (hh_mm, time(cell).is_some()) {
        (true, _) => None,
        (false, true) => Some(problem(
            Severity::Warning,
            "時刻は hh:mm（例 09:00）で書きます",
            "write times as hh:mm (e.g. 09:00)",
        )),
        (false, false) => Some(problem(
            Severity::Error,
            "時刻として読めません",
            "not a time",
        )),
    }
}

/// Codes by column: 全国地方公共団体コード (6 digits with its check digit), 郵便番号 (7 digits),
/// 法人番号 (13 digits). Other codes (町字ID, whose form the reference saw two ways) pass.
fn code_problem(name: &str, cell: &str) -> Option<Problem> {
    let digits = |n: usize| cell.len() == n && cell.bytes().all(|b| b.is_ascii_digit());
    if name.contains("全国地方公共団体コード")
        || name == "市区町村コード"
        || name == "都道府県コード又は市区町村コード"
    {
        return (!city_code_is_valid(cell)).then(|| {
            problem(
                Severity::Error,
                "全国地方公共団体コード（6桁・検査数字つき）ではありません",
                "not a 全国地方公共団体コード (6 digits with a valid check digit)",
            )
        });
    }
    if name == "郵便番号" {
        let plain = cell.replacen('-', "", 1);
        let ok = plain.len() == 7 && plain.bytes().all(|b| b.is_ascii_digit());
        return (!ok).then(|| {
            problem(
                Severity::Error,
                "郵便番号は7桁の半角数字です",
                "a postcode is 7 half-width digits",
            )
        });
    }
    if name == "法人番号" {
        return (!digits(13)).then(|| {
            problem(
                Severity::Error,
                "法人番号は13桁の半角数字です",
                "a corporate number is 13 half-width digits",
            )
        });
    }
    None
}

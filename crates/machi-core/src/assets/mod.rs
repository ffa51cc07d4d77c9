//! 情報資産台帳 (the IT asset ledger): the city's systems with their department, vendor,
//! contract, yearly cost, hosting, data classification, whether they are one of the 20 業務 of
//! 自治体情報システム標準化 and how far their migration is, end of life and the plan measures
//! they serve.
//!
//! Everything arrives as text (a staff form, a CSV row) in an [`AssetInput`] and becomes an
//! [`Asset`] only through [`AssetInput::parse`], which names every wrong field in Japanese and
//! English. The classification follows the 総務省「地方公共団体における情報セキュリティポリシーに
//! 関するガイドライン」 in its simple form: 機密性 1–3, 完全性 1–2, 可用性 1–2 (the guideline's
//! 2A/2B subdivisions of 機密性 are not used; a city that needs them writes 2).

mod csv;
mod fiscal;
mod kinds;

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Map, Value};

pub use self::csv::{encode_csv, parse_csv, CsvFile, CsvProblem, Encoding, COLUMNS};
pub use fiscal::{
    cost_table, due_reminder, fiscal_year, reminder_mail, CostRow, Deadline, Reminder,
    REMINDER_DAYS,
};
pub use kinds::{Hosting, MigrationStatus, StandardBusiness, STANDARD_BUSINESSES};

use crate::procedures::{FieldError, Localized};

/// Longest 管理番号.
const MAX_ID: usize = 40;
/// Longest system name, vendor name or plan/node id.
const MAX_SHORT: usize = 200;
/// Longest purpose text.
const MAX_LONG: usize = 2000;
/// Largest yearly cost accepted (1 兆円): anything above is a typo.
const MAX_COST: i64 = 1_000_000_000_000;

/// A plan measure (施策) a system serves: the plan's id and the node's id in it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct MeasureLink {
    pub plan_id: String,
    pub node_id: String,
}

impl MeasureLink {
    /// `plan-id:node-id`, as written in the CSV and the form.
    pub fn text(&self) -> String {
        format!("{}:{}", self.plan_id, self.node_id)
    }
}

/// One system of the ledger, valid by construction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Asset {
    /// 管理番号: the city's own id of the system.
    pub id: String,
    /// システム名.
    pub name: String,
    /// 所管課 (department code).
    pub department: String,
    /// 目的・業務概要.
    pub purpose: String,
    /// 事業者 (vendor).
    pub vendor: String,
    /// 契約開始日.
    #[serde(serialize_with = "iso_date")]
    pub contract_start: Option<NaiveDate>,
    /// 契約終了日.
    #[serde(serialize_with = "iso_date")]
    pub contract_end: Option<NaiveDate>,
    /// 年額費用 in yen.
    pub yearly_cost: Option<i64>,
    /// 稼働環境.
    pub hosting: Hosting,
    /// 機密性 1–3.
    pub confidentiality: u8,
    /// 完全性 1–2.
    pub integrity: u8,
    /// 可用性 1–2.
    pub availability: u8,
    /// 個人情報を含む.
    pub personal_data: bool,
    /// 標準化対象業務 (one of the 20), if it is one.
    pub standard_business: Option<StandardBusiness>,
    /// 移行状況 (標準準拠システムへの移行).
    pub migration: MigrationStatus,
    /// サポート終了日 (end of life of the product or hardware).
    #[serde(serialize_with = "iso_date")]
    pub end_of_life: Option<NaiveDate>,
    /// 関連施策.
    pub measures: Vec<MeasureLink>,
}

/// An asset as typed: every field a string, as a form or a CSV row gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct AssetInput {
    pub id: String,
    pub name: String,
    pub department: String,
    pub purpose: String,
    pub vendor: String,
    pub contract_start: String,
    pub contract_end: String,
    pub yearly_cost: String,
    pub hosting: String,
    pub confidentiality: String,
    pub integrity: String,
    pub availability: String,
    pub personal_data: String,
    pub standard_business: String,
    pub migration: String,
    pub end_of_life: String,
    pub measures: String,
}

/// What the input is checked against: the city's departments (code → Japanese name), the
/// departments this person may write to (`None`: all), and the measures of the city's plans.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub departments: BTreeMap<String, String>,
    pub writable: Option<HashSet<String>>,
    pub measures: HashSet<MeasureLink>,
}

/// The `name` of each field, with its label, in form and CSV order.
pub const FIELDS: [(&str, &str, &str); 17] = [
    ("id", "管理番号", "Asset id"),
    ("name", "システム名", "System name"),
    ("department", "所管課", "Department"),
    ("purpose", "目的", "Purpose"),
    ("vendor", "事業者", "Vendor"),
    ("contract_start", "契約開始日", "Contract start"),
    ("contract_end", "契約終了日", "Contract end"),
    ("yearly_cost", "年額費用（円）", "Yearly cost (yen)"),
    ("hosting", "稼働環境", "Hosting"),
    ("confidentiality", "機密性", "Confidentiality"),
    ("integrity", "完全性", "Integrity"),
    ("availability", "可用性", "Availability"),
    ("personal_data", "個人情報", "Personal data"),
    (
        "standard_business",
        "標準化対象業務",
        "Standardisation business",
    ),
    ("migration", "移行状況", "Migration status"),
    ("end_of_life", "サポート終了日", "End of life"),
    ("measures", "関連施策", "Plan measures"),
];

/// Collects field problems while an input is parsed.
struct Problems(Vec<FieldError>);

impl Problems {
    fn add(&mut self, field: &str, ja: String, en: String) {
        self.0.push(FieldError::new(field, Localized::new(ja, en)));
    }
}

fn label(field: &str) -> (&'static str, &'static str) {
    FIELDS
        .iter()
        .find(|(name, _, _)| *name == field)
        .map_or(("", ""), |(_, ja, en)| (*ja, *en))
}

impl AssetInput {
    /// Checks every field and gives the asset, or every problem at once.
    pub fn parse(&self, context: &Context) -> Result<Asset, Vec<FieldError>> {
        let mut problems = Problems(Vec::new());
        let id = self.id(&mut problems);
        let name = text(&mut problems, "name", &self.name, MAX_SHORT, true);
        let department = self.department(&mut problems, context);
        let purpose = text(&mut problems, "purpose", &self.purpose, MAX_LONG, false);
        let vendor = text(&mut problems, "vendor", &self.vendor, MAX_SHORT, false);
        let contract_start = date(&mut problems, "contract_start", &self.contract_start);
        let contract_end = date(&mut problems, "contract_end", &self.contract_end);
        if let (Some(start), Some(end)) = (contract_start, contract_end) {
            if end < start {
                problems.add(
                    "contract_end",
                    "契約終了日は契約開始日より後の日付にしてください".into(),
                    "The contract end must not be before its start".into(),
                );
            }
        }
        let yearly_cost = cost(&mut problems, &self.yearly_cost);
        let hosting = choice(&mut problems, "hosting", &self.hosting, Hosting::parse);
        let confidentiality = level(&mut problems, "confidentiality", &self.confidentiality, 3);
        let integrity = level(&mut problems, "integrity", &self.integrity, 2);
        let availability = level(&mut problems, "availability", &self.availability, 2);
        let personal_data = yes_no(&mut problems, &self.personal_data);
        let standard_business = self.standard_business(&mut problems);
        let migration = self.migration(&mut problems, standard_business.as_ref());
        let end_of_life = date(&mut problems, "end_of_life", &self.end_of_life);
        let measures = measures(&mut problems, &self.measures, context);
        if !problems.0.is_empty() {
            return Err(problems.0);
        }
        Ok(Asset {
            id,
            name,
            department,
            purpose,
            vendor,
            contract_start,
            contract_end,
            yearly_cost,
            hosting: hosting.unwrap_or(Hosting::OnPremises),
            confidentiality,
            integrity,
            availability,
            personal_data: personal_data.unwrap_or(false),
            standard_business: standard_business.flatten(),
            migration: migration.unwrap_or(MigrationStatus::NotApplicable),
            end_of_life,
            measures,
        })
    }

    fn id(&self, problems: &mut Problems) -> String {
        let id = crate::text::fold_width(self.id.trim());
        let fine = id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if id.is_empty() {
            problems.add(
                "id",
                "管理番号を入力してください".into(),
                "Enter the asset id".into(),
            );
        } else if !fine || id.len() > MAX_ID {
            problems.add(
                "id",
                format!(
                    "管理番号は英数字・ハイフン・下線・ピリオドの{MAX_ID}文字以内にしてください"
                ),
                format!("The asset id takes up to {MAX_ID} letters, digits, '-', '_' or '.'"),
            );
        }
        id
    }

    /// The department by code or by its Japanese name, and only one this person may write to.
    fn department(&self, problems: &mut Problems, context: &Context) -> String {
        let given = self.department.trim();
        let code = if context.departments.contains_key(given) {
            Some(given.to_string())
        } else {
            context
                .departments
                .iter()
                .find(|(_, name)| name.as_str() == given)
                .map(|(code, _)| code.clone())
        };
        let Some(code) = code else {
            let (ja, en) = if given.is_empty() {
                (
                    "所管課を選んでください".into(),
                    "Choose the department".into(),
                )
            } else {
                (
                    format!("所管課「{given}」はこの市にありません"),
                    format!("There is no department '{given}' in this city"),
                )
            };
            problems.add("department", ja, en);
            return String::new();
        };
        if context
            .writable
            .as_ref()
            .is_some_and(|w| !w.contains(&code))
        {
            problems.add(
                "department",
                format!("所管課「{given}」のシステムは登録・変更できません（自課のみ）"),
                format!("You may only record systems of your own department, not '{given}'"),
            );
        }
        code
    }

    /// `None` when unreadable; `Some(None)` when the system is not one of the 20 業務.
    fn standard_business(&self, problems: &mut Problems) -> Option<Option<StandardBusiness>> {
        let given = self.standard_business.trim();
        if given.is_empty() || matches!(given, "対象外" | "なし" | "-") {
            return Some(None);
        }
        choice(
            problems,
            "standard_business",
            given,
            StandardBusiness::parse,
        )
        .map(Some)
    }

    /// A 標準化 business is migrating (or about to); any other system is 対象外.
    fn migration(
        &self,
        problems: &mut Problems,
        business: Option<&Option<StandardBusiness>>,
    ) -> Option<MigrationStatus> {
        let standard = matches!(business, Some(Some(_)));
        let given = self.migration.trim();
        if given.is_empty() {
            return Some(if standard {
                MigrationStatus::NotStarted
            } else {
                MigrationStatus::NotApplicable
            });
        }
        let status = choice(problems, "migration", given, MigrationStatus::parse)?;
        if business.is_some() && standard == (status == MigrationStatus::NotApplicable) {
            let (ja, en) = if standard {
                (
                    "標準化対象業務のシステムは「対象外」にできません",
                    "A system of a standardisation business cannot be 'not applicable'",
                )
            } else {
                (
                    "標準化対象業務でないシステムの移行状況は「対象外」です",
                    "A system outside the 20 businesses has the status 'not applicable'",
                )
            };
            problems.add("migration", ja.into(), en.into());
        }
        Some(status)
    }
}

/// Free text: trimmed, width-folded, no control characters, within `max` characters.
fn text(problems: &mut Problems, field: &str, input: &str, max: usize, required: bool) -> String {
    let value = crate::text::clean_text(input);
    let (ja, en) = label(field);
    if required && value.is_empty() {
        problems.add(
            field,
            format!("{ja}を入力してください"),
            format!("Enter the {}", en.to_lowercase()),
        );
    } else if value.chars().count() > max {
        problems.add(
            field,
            format!("{ja}は{max}文字以内にしてください"),
            format!("The {} takes up to {max} characters", en.to_lowercase()),
        );
    } else if crate::text::has_control_chars(&value, field == "purpose") {
        problems.add(
            field,
            format!("{ja}に使えない制御文字があります"),
            format!("The {} has control characters", en.to_lowercase()),
        );
    }
    value
}

/// An optional date in 西暦 (2026-03-31, 2026/3/31) or 和暦 (令和8年3月31日).
fn date(problems: &mut Problems, field: &str, input: &str) -> Option<NaiveDate> {
    let input = input.trim();
    if input.is_empty() {
        return None;
    }
    match crate::wareki::parse_date(input) {
        Ok(date) => Some(date),
        Err(_) => {
            let (ja, en) = label(field);
            problems.add(
                field,
                format!(
                    "{ja}「{input}」は日付として読めません（例: 2027-03-31 または 令和9年3月31日）"
                ),
                format!(
                    "The {} '{input}' is not a date (e.g. 2027-03-31)",
                    en.to_lowercase()
                ),
            );
            None
        }
    }
}

/// Yen: digits in any width, with `,` separators, `円` or `¥` allowed.
fn cost(problems: &mut Problems, input: &str) -> Option<i64> {
    let folded: String = crate::text::fold_width(input)
        .chars()
        .filter(|c| !matches!(c, ',' | '円' | '¥' | '￥') && !c.is_whitespace())
        .collect();
    if folded.is_empty() {
        return None;
    }
    match folded.parse::<i64>() {
        Ok(yen) if (0..=MAX_COST).contains(&yen) => Some(yen),
        _ => {
            problems.add(
                "yearly_cost",
                format!(
                    "年額費用「{}」は0以上の円の整数で入力してください",
                    input.trim()
                ),
                format!(
                    "The yearly cost '{}' must be whole yen, 0 or more",
                    input.trim()
                ),
            );
            None
        }
    }
}

/// A classification level 1..=max (`機密性3` and `3` both read as 3); blank is the lowest.
fn level(problems: &mut Problems, field: &str, input: &str, max: u8) -> u8 {
    let (ja, en) = label(field);
    let folded = crate::text::fold_width(input.trim());
    let digits = folded.trim_start_matches(ja).trim();
    if digits.is_empty() {
        return 1;
    }
    match digits.parse::<u8>() {
        Ok(level) if (1..=max).contains(&level) => level,
        _ => {
            problems.add(
                field,
                format!("{ja}は1から{max}の数字で入力してください"),
                format!("The {} is a level from 1 to {max}", en.to_lowercase()),
            );
            1
        }
    }
}

fn yes_no(problems: &mut Problems, input: &str) -> Option<bool> {
    match crate::text::fold_width(input.trim())
        .to_lowercase()
        .as_str()
    {
        "あり" | "有" | "はい" | "yes" | "true" | "1" | "on" => Some(true),
        "" | "なし" | "無" | "いいえ" | "no" | "false" | "0" => Some(false),
        other => {
            problems.add(
                "personal_data",
                format!("個人情報は「あり」か「なし」で入力してください（「{other}」）"),
                format!("Personal data is 'あり' (yes) or 'なし' (no), not '{other}'"),
            );
            None
        }
    }
}

/// One of a fixed list, by code or Japanese label.
fn choice<T>(
    problems: &mut Problems,
    field: &str,
    input: &str,
    parse: fn(&str) -> Option<T>,
) -> Option<T> {
    let input = input.trim();
    let found = parse(input);
    if found.is_none() {
        let (ja, en) = label(field);
        problems.add(
            field,
            format!("{ja}「{input}」は選択肢にありません"),
            format!("'{input}' is not a known {}", en.to_lowercase()),
        );
    }
    found
}

/// `plan:node` pairs separated by `;`, `、` or line breaks, each a measure of the city's plans.
fn measures(problems: &mut Problems, input: &str, context: &Context) -> Vec<MeasureLink> {
    let mut links = Vec::new();
    for part in input.split([';', '；', '、', '\n']).map(str::trim) {
        if part.is_empty() {
            continue;
        }
        let link = part.split_once(':').map(|(plan, node)| MeasureLink {
            plan_id: plan.trim().to_string(),
            node_id: node.trim().to_string(),
        });
        match link {
            Some(link) if context.measures.contains(&link) => {
                if !links.contains(&link) {
                    links.push(link);
                }
            }
            _ => problems.add(
                "measures",
                format!("関連施策「{part}」は計画の施策にありません（「計画ID:施策ID」で入力）"),
                format!("'{part}' is not a measure of the city's plans (write plan-id:node-id)"),
            ),
        }
    }
    links.sort();
    links
}

impl Asset {
    /// The asset as form text again (to show it in the edit form or write it to CSV).
    pub fn to_input(&self, departments: &BTreeMap<String, String>) -> AssetInput {
        let day = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        AssetInput {
            id: self.id.clone(),
            name: self.name.clone(),
            department: departments
                .get(&self.department)
                .cloned()
                .unwrap_or_else(|| self.department.clone()),
            purpose: self.purpose.clone(),
            vendor: self.vendor.clone(),
            contract_start: day(self.contract_start),
            contract_end: day(self.contract_end),
            yearly_cost: self.yearly_cost.map(|c| c.to_string()).unwrap_or_default(),
            hosting: self.hosting.label().ja,
            confidentiality: self.confidentiality.to_string(),
            integrity: self.integrity.to_string(),
            availability: self.availability.to_string(),
            personal_data: if self.personal_data {
                "あり"
            } else {
                "なし"
            }
            .into(),
            standard_business: self
                .standard_business
                .map(|b| b.label().to_string())
                .unwrap_or_default(),
            migration: self.migration.label().ja,
            end_of_life: day(self.end_of_life),
            measures: self
                .measures
                .iter()
                .map(MeasureLink::text)
                .collect::<Vec<_>>()
                .join("; "),
        }
    }

    /// The fields that differ from `before`, each as `{"before": …, "after": …}` (for the
    /// audit log); every field when there was nothing before.
    pub fn changes_from(&self, before: Option<&Asset>) -> Map<String, Value> {
        let after = as_map(self);
        let before = before.map(as_map).unwrap_or_default();
        after
            .into_iter()
            .filter(|(field, value)| before.get(field) != Some(value))
            .map(|(field, value)| {
                let old = before.get(&field).cloned().unwrap_or(Value::Null);
                (field, serde_json::json!({ "before": old, "after": value }))
            })
            .collect()
    }

    /// The deadlines to remind of: the contract end and the end of life, when known.
    pub fn deadlines(&self) -> Vec<(Deadline, NaiveDate)> {
        [
            (Deadline::ContractEnd, self.contract_end),
            (Deadline::EndOfLife, self.end_of_life),
        ]
        .into_iter()
        .filter_map(|(kind, date)| Some((kind, date?)))
        .collect()
    }
}

/// Dates as ISO 8601 (`2027-03-31`) on the API and in audit details.
fn iso_date<S: serde::Serializer>(
    date: &Option<NaiveDate>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match date {
        Some(date) => serializer.serialize_str(&date.to_string()),
        None => serializer.serialize_none(),
    }
}

fn as_map(asset: &Asset) -> Map<String, Value> {
    match serde_json::to_value(asset) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests;

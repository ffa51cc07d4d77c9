//! 情報化計画・DX推進計画 (ICT/DX plans) in the `machi-plan/1` format of docs/plan-format.md:
//! a plan header, the city's own level names and a tree of nodes of any depth whose measures
//! carry owners, a schedule per fiscal year, KPIs, progress and figures. The format is strict:
//! unknown keys are errors, and every problem is reported with its path so that a city can fix
//! its file in one pass; nothing of a file with errors is imported.

mod check;

use serde::{Deserialize, Serialize};

pub mod cycle;
pub mod metric;
pub mod revision;

pub use check::city_code_is_valid;

/// The only format string this parser accepts.
pub const FORMAT: &str = "machi-plan/1";

/// A plan file: header, tree, loose figures and notes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub format: String,
    pub plan: Header,
    pub nodes: Vec<Node>,
    #[serde(default)]
    pub figures: Vec<Figure>,
    #[serde(default)]
    pub notes: Vec<Note>,
}

/// 注記: a string or a list of strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Notes {
    One(String),
    Many(Vec<String>),
}

impl Notes {
    /// The notes as a list, whichever way they were written.
    pub fn lines(&self) -> Vec<&str> {
        match self {
            Notes::One(line) => vec![line.as_str()],
            Notes::Many(lines) => lines.iter().map(String::as_str).collect(),
        }
    }
}

/// A number as printed: an integer, a decimal or text when the document gives no number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Int(i64),
    Float(f64),
    Text(String),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(v) => write!(f, "{v}"),
            Value::Float(v) => write!(f, "{v}"),
            Value::Text(v) => f.write_str(v),
        }
    }
}

/// 計画: the header of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub id: String,
    pub city: City,
    pub title: String,
    pub subtitle: Option<String>,
    pub status: Option<PlanStatus>,
    #[serde(default)]
    pub positioning: Vec<String>,
    pub basic_direction: Option<Statement>,
    pub period: Period,
    pub document: Document,
    #[serde(default)]
    pub revisions: Vec<Revision>,
    pub levels: Vec<Level>,
    pub levels_note: Option<String>,
    #[serde(default)]
    pub evaluation_scale: Vec<Grade>,
    pub evaluation_scale_source: Option<String>,
    #[serde(default)]
    pub schedule_columns: Vec<ScheduleColumn>,
    pub schedule_uncertain: Option<String>,
    pub management: Option<Statement>,
    #[serde(default)]
    pub outline: Vec<OutlineEntry>,
    pub outline_note: Option<String>,
    pub uncertain: Option<String>,
    pub notes: Option<Notes>,
}

/// The city whose plan it is (団体コード with its check digit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct City {
    pub code: String,
    pub name: String,
    pub prefecture: Option<String>,
    pub source: Option<String>,
    pub uncertain: Option<String>,
    pub notes: Option<Notes>,
}

/// 案 (draft), adopted or superseded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanStatus {
    Draft,
    Adopted,
    Superseded,
}

/// A single statement with its source (基本方向, 進捗管理).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    pub text: String,
    pub source: Option<String>,
    pub uncertain: Option<String>,
    pub notes: Option<Notes>,
}

/// 計画期間 in fiscal years; a year may be unknown only with `uncertain`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Period {
    pub from_fy: Option<i32>,
    pub to_fy: Option<i32>,
    pub as_printed: Option<String>,
    pub source: String,
    pub uncertain: Option<String>,
    pub notes: Option<Notes>,
}

/// The document transcribed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    pub title: String,
    pub source: String,
    pub date: Option<String>,
    pub date_as_printed: Option<String>,
    pub publisher: Option<String>,
    pub url: Option<String>,
    pub contact: Option<String>,
    pub uncertain: Option<String>,
    pub notes: Option<Notes>,
}

/// 改定履歴: one edition of the plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revision {
    pub date: String,
    pub description: String,
    pub source: String,
    pub version: Option<String>,
    pub date_as_printed: Option<String>,
    pub by: Option<String>,
    pub uncertain: Option<String>,
    pub notes: Option<Notes>,
}

/// 階層名: the city's own word for one depth of its tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Level {
    pub depth: u32,
    pub name: String,
    pub numbering: Option<String>,
    pub source: String,
    pub uncertain: Option<String>,
    pub notes: Option<Notes>,
}

/// One grade of the plan's evaluation scale (茨木市: A 成果があった …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grade {
    pub grade: String,
    pub meaning: String,
    pub uncertain: Option<String>,
    pub notes: Option<Notes>,
}

/// A fiscal-year column of the schedule table, so that empty cells are known.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleColumn {
    pub fy: i32,
    pub as_printed: Option<String>,
    pub uncertain: Option<String>,
    pub notes: Option<Notes>,
}

/// 目次: one heading of the document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutlineEntry {
    pub depth: u32,
    pub label: String,
    pub title: String,
    pub page: Option<u32>,
    pub uncertain: Option<String>,
    pub notes: Option<Notes>,
}

/// 施策ツリーの節: a heading of the plan's hierarchy; a measure (施策・取組) when `measure`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    pub id: String,
    pub level: u32,
    pub label: String,
    pub title: String,
    #[serde(default)]
    pub measure: bool,
    pub description: Option<String>,
    #[serde(default)]
    pub sections: Vec<Section>,
    #[serde(default)]
    pub owners: Vec<Owner>,
    #[serde(default)]
    pub schedule: Vec<ScheduleRow>,
    #[serde(default)]
    pub kpis: Vec<Kpi>,
    #[serde(default)]
    pub progress: Vec<Progress>,
    #[serde(default)]
    pub figures: Vec<Figure>,
    #[serde(default)]
    pub children: Vec<Node>,
    pub source: String,
    pub uncertain: Option<String>,
    pub notes: Option<Notes>,
}

/// A named part of a node's text (取組の方向性, めざす姿): a text or a list of items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    pub heading: String,
    pub text: Option<String>,
    pub items: Option<Vec<String>>,
    pub source: Option<String>,
    pub uncertain: Option<String>,
    pub notes: Option<Notes>,
}

/// 担当課: an owner department with the city's 所属コード as printed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Owner {
    pub name: String,
    pub code: Option<String>,
    pub uncertain: Option<String>,
    pub notes: Option<Notes>,
}

/// One stated cell of the schedule table (環境整備・運用開始, 拡充 …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRow {
    pub fy: i32,
    pub text: String,
    pub source: Option<String>,
    pub uncertain: Option<String>,
    pub notes: Option<Notes>,
}

/// 成果指標 (KPI).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Kpi {
    pub id: String,
    pub name: String,
    pub unit: String,
    pub direction: Direction,
    pub baseline: Option<Baseline>,
    pub target: Option<Target>,
    #[serde(default)]
    pub actuals: Vec<Actual>,
    pub binding: Option<String>,
    pub source: String,
    pub uncertain: Option<String>,
    pub notes: Option<Notes>,
}

/// Which way of a KPI is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Increase,
    Decrease,
    Maintain,
}

/// 基準値 of a KPI, at a date or in a fiscal year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub value: Value,
    pub as_of: Option<String>,
    pub fy: Option<i32>,
    pub source: Option<String>,
    pub uncertain: Option<String>,
    pub notes: Option<Notes>,
}

/// 目標値 of a KPI and its target year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub value: Value,
    pub fy: i32,
    pub source: Option<String>,
    pub uncertain: Option<String>,
    pub notes: Option<Notes>,
}

/// 実績値 of a KPI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actual {
    pub value: Value,
    pub fy: Option<i32>,
    pub as_of: Option<String>,
    pub source: String,
    pub uncertain: Option<String>,
    pub notes: Option<Notes>,
}

/// 進捗状況 of a measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    #[serde(rename = "未着手")]
    NotStarted,
    #[serde(rename = "実施中")]
    InProgress,
    #[serde(rename = "完了")]
    Done,
    #[serde(rename = "見直し")]
    UnderReview,
    #[serde(rename = "中止")]
    Stopped,
}

impl Status {
    /// The word as staff write it (未着手 …).
    pub fn label(self) -> &'static str {
        match self {
            Status::NotStarted => "未着手",
            Status::InProgress => "実施中",
            Status::Done => "完了",
            Status::UnderReview => "見直し",
            Status::Stopped => "中止",
        }
    }
}

/// A progress report or evaluation the document states for a fiscal year.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    pub fy: i32,
    pub status: Option<Status>,
    pub grade: Option<String>,
    pub comment: Option<String>,
    pub evaluator: Option<String>,
    pub evidence: Option<Notes>,
    pub source: Option<String>,
    pub uncertain: Option<String>,
    pub notes: Option<Notes>,
}

/// 数値: a figure the text states that is not a KPI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    pub id: String,
    pub name: String,
    pub value: Value,
    pub unit: String,
    pub node: Option<String>,
    pub of: Option<Value>,
    pub as_of: Option<String>,
    pub fy: Option<i32>,
    pub period: Option<String>,
    /// Label → value as printed; a list of pairs keeps the printed order.
    #[serde(default, with = "breakdown")]
    pub breakdown: Vec<(String, Value)>,
    pub source: String,
    pub uncertain: Option<String>,
    pub notes: Option<Notes>,
}

/// 注記: a free-form note of the plan (推進体制, 転記の範囲 …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    pub heading: String,
    pub text: Option<String>,
    pub items: Option<Vec<String>>,
    pub source: String,
    pub uncertain: Option<String>,
    pub notes: Option<Notes>,
}

/// The breakdown is a YAML map whose order matters, so it is read as a list of pairs.
mod breakdown {
    use super::Value;
    use serde::de::{MapAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(pairs: &[(String, Value)], s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(pairs.len()))?;
        for (label, value) in pairs {
            map.serialize_entry(label, value)?;
        }
        map.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, Value)>, D::Error> {
        struct Pairs;
        impl<'de> Visitor<'de> for Pairs {
            type Value = Vec<(String, Value)>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of label to value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry()? {
                    pairs.push(pair);
                }
                Ok(pairs)
            }
        }
        d.deserialize_map(Pairs)
    }
}

impl Plan {
    /// Every node of the tree, depth first in document order, with its parent's id.
    pub fn walk(&self) -> Vec<(Option<&str>, &Node)> {
        fn visit<'a>(
            parent: Option<&'a str>,
            nodes: &'a [Node],
            out: &mut Vec<(Option<&'a str>, &'a Node)>,
        ) {
            for node in nodes {
                out.push((parent, node));
                visit(Some(&node.id), &node.children, out);
            }
        }
        let mut out = Vec::new();
        visit(None, &self.nodes, &mut out);
        out
    }

    /// The city's name for a depth of the tree.
    pub fn level_name(&self, depth: u32) -> Option<&str> {
        self.plan
            .levels
            .iter()
            .find(|l| l.depth == depth)
            .map(|l| l.name.as_str())
    }
}

/// Parses and checks a `machi-plan/1` YAML file; the errors name the path of each problem.
pub fn parse_plan(bytes: &[u8]) -> Result<Plan, Vec<String>> {
    // serde_yaml_ng prefixes a type error with its path (`nodes[0].children[1]: missing field`),
    // so even a file that does not deserialize gets a path; it stops at the first such error.
    let plan: Plan = serde_yaml_ng::from_slice(bytes).map_err(|e| vec![e.to_string()])?;
    let problems = check::check(&plan);
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests;

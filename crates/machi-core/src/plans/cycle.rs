//! The PDCA cycle of a plan: a department's progress report on its measure, the CIO's
//! evaluation, the yearly action plan and KPI actuals, each read from a form and checked before
//! it is stored; and the dashboard's arithmetic (status counts and achievement rate).

use serde::Serialize;

use super::{Node, Plan, Status, Value};
use crate::notices::{problems_or_ok, Problem};
use crate::procedures::Localized;
use crate::text::{clean_text, fold_width, has_control_chars};

/// Longest narrative, comment or action plan text.
pub const MAX_TEXT: usize = 4_000;
/// Most evidence links one report carries.
pub const MAX_EVIDENCE: usize = 10;
/// The scale used when a plan states none: the four grades 茨木市's 総評 uses.
pub const DEFAULT_GRADES: [&str; 4] = ["A", "B", "C", "D"];

pub const ALL_STATUSES: [Status; 5] = [
    Status::NotStarted,
    Status::InProgress,
    Status::Done,
    Status::UnderReview,
    Status::Stopped,
];

impl Status {
    /// The key used in forms, CSV and the API (`in_progress` …).
    pub fn key(self) -> &'static str {
        match self {
            Status::NotStarted => "not_started",
            Status::InProgress => "in_progress",
            Status::Done => "done",
            Status::UnderReview => "under_review",
            Status::Stopped => "stopped",
        }
    }

    /// Reads a key or the Japanese word.
    pub fn parse(input: &str) -> Option<Self> {
        let input = input.trim();
        ALL_STATUSES
            .into_iter()
            .find(|s| s.key() == input || s.label() == input)
    }

    pub fn english(self) -> &'static str {
        match self {
            Status::NotStarted => "Not started",
            Status::InProgress => "In progress",
            Status::Done => "Done",
            Status::UnderReview => "Under review",
            Status::Stopped => "Stopped",
        }
    }
}

/// A progress report as checked, ready to store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportInput {
    pub fy: i32,
    pub status: Status,
    pub narrative: String,
    pub evidence: Vec<String>,
    /// KPI id → the year's actual, for the measure's KPIs that were filled in.
    pub actuals: Vec<(String, String)>,
}

/// A CIO evaluation as checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvaluationInput {
    pub fy: i32,
    pub grade: String,
    pub comment: String,
}

fn problem(field: &'static str, ja: &str, en: &str) -> Problem {
    (field, Localized::new(ja, en))
}

/// Reads a fiscal year typed as digits (全角 too) and checks it is one the plan covers, give
/// or take a year either side for reports made just before or after the period.
pub fn read_fy(plan: &Plan, typed: &str, problems: &mut Vec<Problem>) -> i32 {
    let folded = fold_width(typed.trim());
    let Ok(fy) = folded.parse::<i32>() else {
        problems.push(problem(
            "fy",
            "年度を選んでください",
            "choose a fiscal year",
        ));
        return 0;
    };
    let years = plan_years(plan);
    let (first, last) = (years.first().copied(), years.last().copied());
    let inside = match (first, last) {
        (Some(first), Some(last)) => (first - 1..=last + 1).contains(&fy),
        _ => (2000..=2100).contains(&fy),
    };
    if !inside {
        problems.push(problem(
            "fy",
            "計画期間外の年度です",
            "that year is outside the plan's period",
        ));
    }
    fy
}

/// The fiscal years a plan covers, from its period or its schedule columns.
pub fn plan_years(plan: &Plan) -> Vec<i32> {
    let period = &plan.plan.period;
    if let (Some(from), Some(to)) = (period.from_fy, period.to_fy) {
        if from <= to && to - from < 30 {
            return (from..=to).collect();
        }
    }
    let mut years: Vec<i32> = plan.plan.schedule_columns.iter().map(|c| c.fy).collect();
    years.sort_unstable();
    years.dedup();
    years
}

fn read_text(
    field: &'static str,
    typed: &str,
    required: Option<(&str, &str)>,
    problems: &mut Vec<Problem>,
) -> String {
    let text = clean_text(typed.trim());
    if let Some((ja, en)) = required {
        if text.is_empty() {
            problems.push(problem(field, ja, en));
        }
    }
    if text.chars().count() > MAX_TEXT {
        problems.push(problem(
            field,
            "4,000文字までで入力してください",
            "at most 4,000 characters",
        ));
    }
    text
}

/// Evidence links, one per line: web addresses only, so they can be followed from the page.
fn read_evidence(typed: &str, problems: &mut Vec<Problem>) -> Vec<String> {
    let links: Vec<String> = typed
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if links.len() > MAX_EVIDENCE {
        problems.push(problem(
            "evidence",
            "根拠資料のリンクは10件までです",
            "at most 10 evidence links",
        ));
    }
    let is_link = |l: &String| {
        (l.starts_with("https://") || l.starts_with("http://"))
            && l.len() > "https://".len()
            && l.len() <= 2_000
            && !l.chars().any(char::is_whitespace)
            && !has_control_chars(l, false)
    };
    if !links.iter().all(is_link) {
        problems.push(problem(
            "evidence",
            "根拠資料は https:// で始まるアドレスを1行に1つずつ入力してください",
            "give evidence as web addresses (https://…), one per line",
        ));
    }
    links
}

/// Reads a number as staff type it: 全角 digits, thousands separators and a trailing % or unit
/// word are accepted; the value is kept as a plain decimal.
pub fn read_number(typed: &str) -> Option<String> {
    let folded = fold_width(typed.trim()).replace([',', '，', ' '], "");
    let number = folded.trim_end_matches(|c: char| !c.is_ascii_digit() && c != '.');
    let value: f64 = number.parse().ok()?;
    value.is_finite().then(|| number.to_string())
}

/// Checks a progress report on a measure; `actuals` are the KPI fields as typed (`kpi_<id>`).
pub fn read_report(
    plan: &Plan,
    node: &Node,
    fy: &str,
    status: &str,
    narrative: &str,
    evidence: &str,
    actuals: &[(String, String)],
) -> Result<ReportInput, Vec<Problem>> {
    let mut problems = Vec::new();
    let fy = read_fy(plan, fy, &mut problems);
    let status = Status::parse(status);
    if status.is_none() {
        problems.push(problem(
            "status",
            "進捗状況を選んでください",
            "choose a status",
        ));
    }
    let narrative = read_text(
        "narrative",
        narrative,
        Some(("取組内容・進捗を入力してください", "describe what was done")),
        &mut problems,
    );
    let evidence = read_evidence(evidence, &mut problems);
    let mut read = Vec::new();
    for (kpi, typed) in actuals {
        if typed.trim().is_empty() {
            continue;
        }
        if !node.kpis.iter().any(|k| &k.id == kpi) {
            problems.push(problem(
                "kpi",
                "この施策にない成果指標です",
                "not a KPI of this measure",
            ));
            continue;
        }
        match read_number(typed) {
            Some(value) => read.push((kpi.clone(), value)),
            None => problems.push(problem(
                "kpi",
                "実績値は数値で入力してください",
                "give the KPI's actual as a number",
            )),
        }
    }
    problems_or_ok(problems)?;
    Ok(ReportInput {
        fy,
        status: status.unwrap_or(Status::NotStarted),
        narrative,
        evidence,
        actuals: read,
    })
}

/// The grades a plan's evaluations use: its own scale, or A–D when it states none.
pub fn grades(plan: &Plan) -> Vec<String> {
    if plan.plan.evaluation_scale.is_empty() {
        DEFAULT_GRADES.iter().map(|g| g.to_string()).collect()
    } else {
        plan.plan
            .evaluation_scale
            .iter()
            .map(|g| g.grade.clone())
            .collect()
    }
}

/// Checks a CIO evaluation: a grade of the plan's scale and an optional comment.
pub fn read_evaluation(
    plan: &Plan,
    fy: &str,
    grade: &str,
    comment: &str,
) -> Result<EvaluationInput, Vec<Problem>> {
    let mut problems = Vec::new();
    let fy = read_fy(plan, fy, &mut problems);
    let grade = fold_width(grade.trim()).to_uppercase();
    if !grades(plan).contains(&grade) {
        problems.push(problem("grade", "評価を選んでください", "choose a grade"));
    }
    let comment = read_text("comment", comment, None, &mut problems);
    problems_or_ok(problems)?;
    Ok(EvaluationInput { fy, grade, comment })
}

/// Checks the text of a yearly action plan (年度実行計画) for a measure.
pub fn read_action(plan: &Plan, fy: &str, text: &str) -> Result<(i32, String), Vec<Problem>> {
    let mut problems = Vec::new();
    let fy = read_fy(plan, fy, &mut problems);
    let text = read_text(
        "action",
        text,
        Some((
            "その年度に行うことを入力してください",
            "say what the measure will do that year",
        )),
        &mut problems,
    );
    problems_or_ok(problems)?;
    Ok((fy, text))
}

/// The number of a value the document states, when it has one.
pub fn numeric(value: &Value) -> Option<f64> {
    match value {
        Value::Int(v) => Some(*v as f64),
        Value::Float(v) => Some(*v),
        Value::Text(text) => read_number(text).and_then(|n| n.parse().ok()),
    }
}

/// How a goal's measures stand in a year: how many have each status, how many have none.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StatusCounts {
    /// In the order of [`ALL_STATUSES`].
    pub by_status: [usize; 5],
    pub unreported: usize,
}

impl StatusCounts {
    pub fn add(&mut self, status: Option<Status>) {
        match status {
            Some(status) => {
                let index = ALL_STATUSES.iter().position(|s| *s == status).unwrap_or(0);
                self.by_status[index] += 1;
            }
            None => self.unreported += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.by_status.iter().sum::<usize>() + self.unreported
    }

    pub fn done(&self) -> usize {
        self.by_status[2]
    }

    /// 達成率 as cities report it ("36 measures, 30 done: 83.3%"): measures done over all
    /// measures, none when there are no measures.
    pub fn achievement_rate(&self) -> Option<f64> {
        let total = self.total();
        (total > 0).then(|| self.done() as f64 * 100.0 / total as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plans::parse_plan;

    fn plan() -> Plan {
        parse_plan(
            r#"format: machi-plan/1
plan:
  id: p
  city: {code: "272230", name: 門真市}
  title: 計画
  period: {from_fy: 2022, to_fy: 2025, source: "p.1"}
  document: {title: 計画, source: 表紙}
  levels: [{depth: 1, name: 施策, source: "p.1"}]
nodes:
  - id: M1
    level: 1
    label: "1"
    title: 手続のオンライン化
    measure: true
    kpis:
      - {id: K1, name: オンライン化率, unit: "%", direction: increase, target: {value: 100, fy: 2025}, source: "p.2"}
    source: "p.2"
"#
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn a_report_is_read_with_its_kpi_actual_and_bad_fields_are_named() {
        let plan = plan();
        let node = &plan.nodes[0];
        let actual = vec![("K1".to_string(), "８３．３％".to_string())];
        let report = read_report(
            &plan,
            node,
            "２０２４",
            "実施中",
            " 申請を10件オンライン化 ",
            "https://example.jp/r.pdf\n",
            &actual,
        )
        .unwrap();
        assert_eq!(report.fy, 2024);
        assert_eq!(report.status, Status::InProgress);
        assert_eq!(report.narrative, "申請を10件オンライン化");
        assert_eq!(report.actuals, vec![("K1".into(), "83.3".into())]);

        let bad = vec![("K1".to_string(), "たくさん".to_string())];
        let problems =
            read_report(&plan, node, "2031", "done?", "", "javascript:x", &bad).unwrap_err();
        let fields: Vec<&str> = problems.iter().map(|p| p.0).collect();
        assert_eq!(fields, ["fy", "status", "narrative", "evidence", "kpi"]);
    }

    #[test]
    fn grades_come_from_the_plan_or_default_to_a_to_d() {
        let plan = plan();
        assert_eq!(grades(&plan), ["A", "B", "C", "D"]);
        assert_eq!(
            read_evaluation(&plan, "2024", "ｂ", "順調").unwrap().grade,
            "B"
        );
        assert_eq!(
            read_evaluation(&plan, "2024", "S", "").unwrap_err()[0].0,
            "grade"
        );
    }

    #[test]
    fn achievement_rate_is_done_over_all_measures() {
        let mut counts = StatusCounts::default();
        for _ in 0..30 {
            counts.add(Some(Status::Done));
        }
        for _ in 0..5 {
            counts.add(Some(Status::InProgress));
        }
        counts.add(None);
        assert_eq!(counts.total(), 36);
        let rate = counts.achievement_rate().unwrap();
        assert!((rate - 83.333).abs() < 0.01, "{rate}");
        assert_eq!(StatusCounts::default().achievement_rate(), None);
    }

    #[test]
    fn numbers_are_read_as_staff_type_them() {
        assert_eq!(read_number("1,234件").as_deref(), Some("1234"));
        assert_eq!(read_number("７５％").as_deref(), Some("75"));
        assert_eq!(read_number("-2.5").as_deref(), Some("-2.5"));
        assert_eq!(read_number("約半数"), None);
        assert_eq!(read_number(""), None);
    }
}

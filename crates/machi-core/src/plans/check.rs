//! The rules of docs/plan-format.md that types alone cannot state. Paths name nodes by their
//! id (`nodes[G1].children[1-(1)]`) because a city fixes its file by the numbers it printed.

use std::collections::HashSet;

use super::{Figure, Node, Plan, FORMAT};

/// Whether a 全国地方公共団体コード has six digits and a right check digit: the first five
/// digits weighted 6, 5, 4, 3, 2; the check digit is the last digit of 11 − (sum mod 11).
pub fn city_code_is_valid(code: &str) -> bool {
    let digits: Vec<u32> = code.chars().filter_map(|c| c.to_digit(10)).collect();
    if code.len() != 6 || digits.len() != 6 {
        return false;
    }
    let sum: u32 = digits.iter().zip([6, 5, 4, 3, 2]).map(|(d, w)| d * w).sum();
    (11 - sum % 11) % 10 == digits[5]
}

fn fy_is_sane(fy: i32) -> bool {
    (1868..=2100).contains(&fy)
}

/// `YYYY`, `YYYY-MM` or `YYYY-MM-DD` with a plausible month and day.
fn date_is_valid(date: &str) -> bool {
    let parts: Vec<&str> = date.split('-').collect();
    let number = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    match parts.as_slice() {
        [y] => number(y, 4).is_some(),
        [y, m] => number(y, 4).is_some() && number(m, 2).is_some_and(|m| (1..=12).contains(&m)),
        [y, m, d] => {
            number(y, 4).is_some()
                && number(m, 2).is_some_and(|m| (1..=12).contains(&m))
                && number(d, 2).is_some_and(|d| (1..=31).contains(&d))
        }
        _ => false,
    }
}

struct Checker<'a> {
    plan: &'a Plan,
    problems: Vec<String>,
    node_ids: HashSet<&'a str>,
    kpi_ids: HashSet<&'a str>,
    figure_ids: HashSet<&'a str>,
}

impl<'a> Checker<'a> {
    fn fail(&mut self, path: &str, what: impl std::fmt::Display) {
        self.problems.push(format!("{path}: {what}"));
    }

    fn fy(&mut self, path: &str, fy: i32) {
        if !fy_is_sane(fy) {
            self.fail(
                path,
                format_args!("fiscal year {fy} is not between 1868 and 2100"),
            );
        }
    }

    fn date(&mut self, path: &str, date: Option<&str>) {
        if let Some(date) = date.filter(|d| !date_is_valid(d)) {
            self.fail(
                path,
                format_args!("date '{date}' is not YYYY, YYYY-MM or YYYY-MM-DD"),
            );
        }
    }

    fn required(&mut self, path: &str, key: &str, value: &str) {
        if value.trim().is_empty() {
            self.fail(path, format_args!("missing required {key}"));
        }
    }

    fn header(&mut self) {
        let plan = &self.plan.plan;
        if self.plan.format != FORMAT {
            let found = self.plan.format.clone();
            self.fail(
                "format",
                format_args!("must be exactly '{FORMAT}', not '{found}'"),
            );
        }
        if !crate::procedures::is_valid_id(&plan.id) {
            self.fail("plan.id", "use lowercase letters, digits and hyphens");
        }
        if !city_code_is_valid(&plan.city.code) {
            let code = plan.city.code.clone();
            self.fail(
                "plan.city.code",
                format_args!(
                    "'{code}' is not a 6-digit 全国地方公共団体コード with its check digit"
                ),
            );
        }
        self.required("plan.city", "name", &plan.city.name);
        self.required("plan", "title", &plan.title);
        self.required("plan.document", "title", &plan.document.title);
        self.date("plan.document.date", plan.document.date.as_deref());
        for (key, fy) in [
            ("from_fy", plan.period.from_fy),
            ("to_fy", plan.period.to_fy),
        ] {
            match fy {
                Some(fy) => self.fy(&format!("plan.period.{key}"), fy),
                None if plan.period.uncertain.is_none() => self.fail(
                    &format!("plan.period.{key}"),
                    "may be null only with period.uncertain",
                ),
                None => {}
            }
        }
        if let (Some(from), Some(to)) = (plan.period.from_fy, plan.period.to_fy) {
            if from > to {
                self.fail(
                    "plan.period",
                    format_args!("from_fy {from} is after to_fy {to}"),
                );
            }
        }
        for (i, revision) in plan.revisions.iter().enumerate() {
            self.date(&format!("plan.revisions[{i}].date"), Some(&revision.date));
        }
        for (i, level) in plan.levels.iter().enumerate() {
            let expected = u32::try_from(i + 1).unwrap_or(u32::MAX);
            if level.depth != expected {
                let depth = level.depth;
                self.fail(
                    &format!("plan.levels[{i}].depth"),
                    format_args!(
                        "is {depth}, expected {expected}: depths start at 1 and follow each other"
                    ),
                );
            }
            self.required(&format!("plan.levels[{i}]"), "name", &level.name);
        }
        if plan.levels.is_empty() {
            self.fail("plan.levels", "list at least one level");
        }
        for (i, column) in plan.schedule_columns.iter().enumerate() {
            self.fy(&format!("plan.schedule_columns[{i}].fy"), column.fy);
        }
    }

    fn nodes(&mut self, path: &str, parent_level: u32, nodes: &'a [Node]) {
        let mut labels = HashSet::new();
        for node in nodes {
            let here = format!("{path}[{}]", node.id);
            if node.id.trim().is_empty() {
                self.fail(&here, "missing required id");
            } else if !self.node_ids.insert(&node.id) {
                self.fail(
                    &here,
                    format_args!("node id '{}' is used twice in the file", node.id),
                );
            }
            if !node.label.is_empty() && !labels.insert(node.label.as_str()) {
                self.fail(
                    &here,
                    format_args!("label '{}' is used twice under one parent", node.label),
                );
            }
            self.required(&here, "title", &node.title);
            self.required(&here, "source", &node.source);
            if node.level != parent_level + 1 {
                let want = parent_level + 1;
                self.fail(
                    &here,
                    format_args!(
                        "level is {}, expected {want} (its parent's plus one)",
                        node.level
                    ),
                );
            } else if self.plan.level_name(node.level).is_none() {
                self.fail(
                    &here,
                    format_args!("level {} is not in plan.levels", node.level),
                );
            }
            self.node_details(&here, node);
            self.nodes(&format!("{here}.children"), node.level, &node.children);
        }
    }

    fn node_details(&mut self, here: &str, node: &'a Node) {
        for (i, section) in node.sections.iter().enumerate() {
            if section.text.is_some() == section.items.is_some() {
                self.fail(
                    &format!("{here}.sections[{i}]"),
                    "give exactly one of text or items",
                );
            }
        }
        for (i, owner) in node.owners.iter().enumerate() {
            self.required(&format!("{here}.owners[{i}]"), "name", &owner.name);
        }
        for (i, row) in node.schedule.iter().enumerate() {
            self.fy(&format!("{here}.schedule[{i}].fy"), row.fy);
            self.required(&format!("{here}.schedule[{i}]"), "text", &row.text);
        }
        let grades: Vec<&str> = self
            .plan
            .plan
            .evaluation_scale
            .iter()
            .map(|g| g.grade.as_str())
            .collect();
        for (i, progress) in node.progress.iter().enumerate() {
            let at = format!("{here}.progress[{i}]");
            self.fy(&format!("{at}.fy"), progress.fy);
            if progress.status.is_none() && progress.grade.is_none() && progress.comment.is_none() {
                self.fail(&at, "give at least one of status, grade or comment");
            }
            if let Some(grade) = progress.grade.as_deref().filter(|g| !grades.contains(g)) {
                self.fail(
                    &format!("{at}.grade"),
                    format_args!("'{grade}' is not in plan.evaluation_scale"),
                );
            }
        }
        for kpi in &node.kpis {
            let at = format!("{here}.kpis[{}]", kpi.id);
            if !self.kpi_ids.insert(&kpi.id) {
                self.fail(
                    &at,
                    format_args!("KPI id '{}' is used twice in the file", kpi.id),
                );
            }
            if kpi.baseline.is_none() && kpi.target.is_none() {
                self.fail(&at, "give a baseline or a target");
            }
            if let Some(baseline) = &kpi.baseline {
                if baseline.as_of.is_none() && baseline.fy.is_none() {
                    self.fail(&format!("{at}.baseline"), "give as_of or fy");
                }
                self.date(&format!("{at}.baseline.as_of"), baseline.as_of.as_deref());
            }
            if let Some(target) = &kpi.target {
                self.fy(&format!("{at}.target.fy"), target.fy);
            }
            if let Some(binding) = &kpi.binding {
                if super::metric::Metric::parse(binding).is_none() {
                    let known: Vec<&str> =
                        super::metric::ALL_METRICS.iter().map(|m| m.key()).collect();
                    self.fail(
                        &format!("{at}.binding"),
                        format_args!(
                            "'{binding}' is not a figure machi computes ({})",
                            known.join(", ")
                        ),
                    );
                }
            }
            for (i, actual) in kpi.actuals.iter().enumerate() {
                if actual.as_of.is_none() && actual.fy.is_none() {
                    self.fail(&format!("{at}.actuals[{i}]"), "give as_of or fy");
                }
            }
        }
        self.figures(&format!("{here}.figures"), &node.figures);
    }

    fn figures(&mut self, path: &str, figures: &'a [Figure]) {
        for figure in figures {
            let at = format!("{path}[{}]", figure.id);
            if !self.figure_ids.insert(&figure.id) {
                self.fail(
                    &at,
                    format_args!("figure id '{}' is used twice in the file", figure.id),
                );
            }
            self.required(&at, "name", &figure.name);
            if let Some(fy) = figure.fy {
                self.fy(&format!("{at}.fy"), fy);
            }
            self.date(&format!("{at}.as_of"), figure.as_of.as_deref());
        }
    }
}

/// Every problem of a parsed plan, each with its path.
pub(super) fn check(plan: &Plan) -> Vec<String> {
    let mut checker = Checker {
        plan,
        problems: Vec::new(),
        node_ids: HashSet::new(),
        kpi_ids: HashSet::new(),
        figure_ids: HashSet::new(),
    };
    checker.header();
    checker.nodes("nodes", 0, &plan.nodes);
    checker.figures("figures", &plan.figures);
    for figure in &plan.figures {
        if let Some(node) = figure.node.as_deref() {
            if !checker.node_ids.contains(node) {
                checker.fail(
                    &format!("figures[{}].node", figure.id),
                    format_args!("no node has id '{node}'"),
                );
            }
        }
    }
    for (i, note) in plan.notes.iter().enumerate() {
        checker.required(&format!("notes[{i}]"), "heading", &note.heading);
    }
    checker.problems
}

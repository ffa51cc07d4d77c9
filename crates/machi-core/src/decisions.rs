//! 決裁 (decisions): a 処分 on an application (承認, 却下, 不許可 …) is proposed by the member of
//! staff who reviewed it (起案) and made along the procedure's 決裁ルート, as the city's 事務決裁規程
//! says who decides (専決): the department manager (課長専決) unless the procedure says otherwise,
//! several steps for weighty ones, the reviewer alone for simple ones (担当者専決). A made decision
//! gets a 文書番号.

use serde::{Deserialize, Serialize};

use crate::procedures::Localized;
use crate::staff::Role;

/// Who approves a procedure's decisions, in order. The last step is the one who decides (専決権者).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DecisionRoute(pub Vec<Role>);

impl Default for DecisionRoute {
    /// 課長専決: the department manager decides.
    fn default() -> Self {
        Self(vec![Role::Manager])
    }
}

impl DecisionRoute {
    /// 担当者専決: the reviewer decides alone.
    pub fn reviewer_decides(&self) -> bool {
        self.0 == [Role::Staff]
    }

    /// A route as a catalog spreadsheet writes it: 「担当者専決」「課長専決」, role names, or steps
    /// joined by → > , or 、 (「manager → admin」).
    pub fn parse(text: &str) -> Option<Self> {
        let text = crate::text::fold_width(text.trim());
        match text.as_str() {
            "担当者専決" => return Some(Self(vec![Role::Staff])),
            "課長専決" | "所属長専決" => return Some(Self(vec![Role::Manager])),
            _ => {}
        }
        let steps: Option<Vec<Role>> = text
            .split(['→', '>', ',', '、'])
            .map(str::trim)
            .filter(|step| !step.is_empty())
            .map(|step| {
                Role::parse(step).or_else(|| {
                    crate::staff::ALL_ROLES
                        .into_iter()
                        .find(|r| r.label().ja == step)
                })
            })
            .collect();
        steps.filter(|steps| !steps.is_empty()).map(Self)
    }

    /// Problems with a route as a procedure declares it.
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.0.is_empty() {
            problems.push("decision: name at least one role (staff for 担当者専決)".to_string());
        }
        if self.0.len() > 1 && self.0.contains(&Role::Staff) {
            problems.push("decision: 'staff' (担当者専決) can only be the one step".to_string());
        }
        for role in &self.0 {
            if !role.reviews_applications() {
                problems.push(format!(
                    "decision: '{}' does not decide applications",
                    role.as_str()
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// 「担当者専決」「所属長専決」「所属長 → システム管理者」: the route as staff read it.
    pub fn label(&self) -> Localized {
        if self.reviewer_decides() {
            return Localized::new("担当者専決", "Decided by the reviewer");
        }
        if let [only] = self.0.as_slice() {
            let role = only.label();
            return Localized::new(
                format!("{}専決", role.ja),
                format!("Decided by the {}", role.en.to_lowercase()),
            );
        }
        let joined = |pick: fn(&Localized) -> &str| {
            self.0
                .iter()
                .map(|r| pick(&r.label()).to_string())
                .collect::<Vec<_>>()
                .join(" → ")
        };
        Localized::new(joined(|l| &l.ja), joined(|l| &l.en))
    }

    /// How many leading steps the proposer's own approval covers: the first, when their role
    /// may approve it (a manager proposing a 課長専決 decision decides it there and then).
    pub fn covered_by_proposer(&self, proposer: Role) -> usize {
        match self.0.first() {
            Some(step) if may_approve(proposer, *step) => 1,
            _ => 0,
        }
    }
}

/// Whether someone with `role` may approve a step of `step`'s role: the role itself, and for
/// 担当者専決 anyone who reviews applications.
pub fn may_approve(role: Role, step: Role) -> bool {
    role == step || (step == Role::Staff && role.reviews_applications())
}

/// 文書番号: 「令和8年度市民課第12号」, numbered per department and 年度.
pub fn document_number(fiscal_year: i32, department_ja: &str, number: i64) -> String {
    format!(
        "{}{department_ja}第{number}号",
        crate::wareki::fiscal_year_label(fiscal_year)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manager_decides_unless_the_procedure_says_otherwise() {
        let route = DecisionRoute::default();
        assert_eq!(route.check(), Ok(()));
        assert_eq!(route.label().ja, "所属長専決");
        assert_eq!(
            route.covered_by_proposer(Role::Staff),
            0,
            "staff only propose"
        );
        assert_eq!(
            route.covered_by_proposer(Role::Manager),
            1,
            "the manager decides"
        );
        let simple = DecisionRoute(vec![Role::Staff]);
        assert!(simple.reviewer_decides());
        assert_eq!(simple.covered_by_proposer(Role::Staff), 1);
        assert_eq!(simple.covered_by_proposer(Role::Manager), 1);
    }

    #[test]
    fn a_route_of_several_steps_is_read_in_order() {
        let route = DecisionRoute(vec![Role::Manager, Role::Admin]);
        assert_eq!(route.check(), Ok(()));
        assert_eq!(route.label().ja, "所属長 → システム管理者");
        assert_eq!(route.covered_by_proposer(Role::Manager), 1);
        assert!(DecisionRoute(vec![Role::Staff, Role::Manager])
            .check()
            .is_err());
        assert!(DecisionRoute(vec![Role::Auditor]).check().is_err());
        assert!(
            DecisionRoute(vec![Role::Cio]).check().is_err(),
            "reads no applications"
        );
        assert!(DecisionRoute(Vec::new()).check().is_err());
    }

    #[test]
    fn a_spreadsheet_writes_routes_in_words_or_roles() {
        assert_eq!(
            DecisionRoute::parse("担当者専決"),
            Some(DecisionRoute(vec![Role::Staff]))
        );
        assert_eq!(
            DecisionRoute::parse("課長専決"),
            Some(DecisionRoute::default())
        );
        assert_eq!(
            DecisionRoute::parse("所属長 → システム管理者"),
            Some(DecisionRoute(vec![Role::Manager, Role::Admin]))
        );
        assert_eq!(
            DecisionRoute::parse("manager>admin"),
            Some(DecisionRoute(vec![Role::Manager, Role::Admin]))
        );
        assert_eq!(DecisionRoute::parse("部長"), None);
        assert_eq!(DecisionRoute::parse(""), None);
    }

    #[test]
    fn document_numbers_name_the_year_and_department() {
        assert_eq!(document_number(2026, "市民課", 12), "令和8年度市民課第12号");
        assert_eq!(document_number(2019, "福祉課", 1), "令和元年度福祉課第1号");
    }
}

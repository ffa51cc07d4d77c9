//! 職員の役割 (staff roles) and what each may do. Departments scope everything that holds
//! residents' personal data: a role grants a kind of work, the department says whose.

use serde::{Deserialize, Serialize};

use crate::procedures::Localized;

/// The roles a staff account can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// システム管理者 (情報政策課): accounts, roles and the whole catalog.
    Admin,
    /// 所属長: runs the department's procedures and publishes them.
    Manager,
    /// 担当職員: reviews the department's applications and drafts its procedures.
    Staff,
    /// 窓口職員: fills in forms for visitors at the counter.
    Counter,
    /// 監査担当: reads the audit log, changes nothing.
    Auditor,
    /// CIO: the ICT/DX plan and its evaluation.
    Cio,
}

pub const ALL_ROLES: [Role; 6] = [
    Role::Admin,
    Role::Manager,
    Role::Staff,
    Role::Counter,
    Role::Auditor,
    Role::Cio,
];

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Staff => "staff",
            Role::Counter => "counter",
            Role::Auditor => "auditor",
            Role::Cio => "cio",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        ALL_ROLES.into_iter().find(|r| r.as_str() == input)
    }

    pub fn label(self) -> Localized {
        let (ja, en) = match self {
            Role::Admin => ("システム管理者", "System administrator"),
            Role::Manager => ("所属長", "Department manager"),
            Role::Staff => ("担当職員", "Department staff"),
            Role::Counter => ("窓口職員", "Counter staff"),
            Role::Auditor => ("監査担当", "Auditor"),
            Role::Cio => ("CIO", "CIO"),
        };
        Localized::new(ja, en)
    }

    /// Reviews applications (always only those of the own department).
    pub fn reviews_applications(self) -> bool {
        matches!(self, Role::Admin | Role::Manager | Role::Staff)
    }

    /// Assigns applications to colleagues and acts on many at once.
    pub fn assigns_work(self) -> bool {
        matches!(self, Role::Admin | Role::Manager)
    }

    /// Creates and edits procedures and their forms (drafts).
    pub fn edits_procedures(self) -> bool {
        matches!(self, Role::Admin | Role::Manager | Role::Staff)
    }

    /// Publishes a draft or takes a procedure offline.
    pub fn publishes_procedures(self) -> bool {
        matches!(self, Role::Admin | Role::Manager)
    }

    /// Serves visitors at the counter (書かない窓口): fills in and submits forms for them.
    pub fn serves_counter(self) -> bool {
        matches!(
            self,
            Role::Admin | Role::Manager | Role::Staff | Role::Counter
        )
    }

    /// Creates accounts and changes roles.
    pub fn manages_accounts(self) -> bool {
        self == Role::Admin
    }

    /// Reads the audit log.
    pub fn reads_audit_log(self) -> bool {
        matches!(self, Role::Admin | Role::Auditor)
    }

    /// Publishes open data: datasets and their files, of the own department (administrators:
    /// of every department).
    pub fn publishes_open_data(self) -> bool {
        matches!(self, Role::Admin | Role::Manager | Role::Staff)
    }

    /// Imports and revises ICT/DX plans, sets yearly action plans and evaluates progress (the
    /// CIO and the DX team, which is the administrators' 情報政策課).
    pub fn edits_plans(self) -> bool {
        matches!(self, Role::Admin | Role::Cio)
    }

    /// Reports progress on plan measures: departments on their own, plan editors on any.
    pub fn reports_progress(self) -> bool {
        self.edits_plans() || matches!(self, Role::Manager | Role::Staff)
    }

    /// Edits every system of the 情報資産台帳: the CIO and the DX team (情報政策課).
    pub fn edits_all_assets(self) -> bool {
        matches!(self, Role::Admin | Role::Cio)
    }

    /// Reads the whole 情報資産台帳 (the auditor too); others see their department's systems.
    pub fn reads_all_assets(self) -> bool {
        self.edits_all_assets() || self == Role::Auditor
    }

    /// Reports on systems at all: managers and staff on their own department's.
    pub fn edits_assets(self) -> bool {
        self.edits_all_assets() || matches!(self, Role::Manager | Role::Staff)
    }

    /// Opens the 情報資産台帳.
    pub fn reads_assets(self) -> bool {
        self.edits_assets() || self.reads_all_assets()
    }
}

/// Whether a member of `own` may see data of `department`: only their own.
pub fn same_department(own: Option<&str>, department: &str) -> bool {
    own.is_some_and(|own| own == department)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_the_auditor_changes_nothing() {
        for role in ALL_ROLES {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
        assert!(!Role::Auditor.reviews_applications());
        assert!(!Role::Auditor.assigns_work());
        assert!(!Role::Auditor.manages_accounts());
        assert!(Role::Auditor.reads_audit_log());
        assert!(!Role::Staff.assigns_work());
    }

    #[test]
    fn the_cio_and_the_dx_team_edit_every_asset_and_the_auditor_only_reads() {
        assert!(Role::Admin.edits_all_assets() && Role::Cio.edits_all_assets());
        assert!(!Role::Manager.edits_all_assets() && Role::Manager.edits_assets());
        assert!(Role::Auditor.reads_all_assets() && !Role::Auditor.edits_assets());
        assert!(!Role::Counter.reads_assets());
    }

    #[test]
    fn nobody_without_a_department_sees_a_department() {
        assert!(same_department(Some("kodomo"), "kodomo"));
        assert!(!same_department(Some("shimin"), "kodomo"));
        assert!(!same_department(None, "kodomo"));
    }
}

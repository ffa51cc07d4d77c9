//! The fixed lists of the ledger: 稼働環境, the 20 標準化対象業務 and 移行状況. Each has a stable
//! code (stored, and on the API) and the Japanese label staff write in forms and CSV files.

use serde::Serialize;

use crate::procedures::Localized;

/// 稼働環境 (where the system runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Hosting {
    /// オンプレミス (the city's own server room or data centre contract).
    OnPremises,
    /// クラウド (a commercial cloud or SaaS).
    Cloud,
    /// ガバメントクラウド (the national government cloud, where the 標準準拠システム go).
    GovCloud,
}

pub const ALL_HOSTING: [Hosting; 3] = [Hosting::OnPremises, Hosting::Cloud, Hosting::GovCloud];

impl Hosting {
    pub fn as_str(self) -> &'static str {
        match self {
            Hosting::OnPremises => "on_premises",
            Hosting::Cloud => "cloud",
            Hosting::GovCloud => "gov_cloud",
        }
    }

    pub fn label(self) -> Localized {
        let (ja, en) = match self {
            Hosting::OnPremises => ("オンプレミス", "On premises"),
            Hosting::Cloud => ("クラウド", "Cloud"),
            Hosting::GovCloud => ("ガバメントクラウド", "Government cloud"),
        };
        Localized::new(ja, en)
    }

    /// By code or by Japanese label (half-width kana and full-width letters folded).
    pub fn parse(input: &str) -> Option<Self> {
        let input = crate::text::fold_width(input.trim());
        ALL_HOSTING
            .into_iter()
            .find(|h| h.as_str() == input || h.label().ja == input)
    }

    pub fn all() -> [Hosting; 3] {
        ALL_HOSTING
    }
}

/// 移行状況: how far a 標準化対象業務 system is on its way to the 標準準拠システム.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationStatus {
    /// 未着手.
    NotStarted,
    /// 計画中.
    Planning,
    /// 移行中.
    Migrating,
    /// 移行済.
    Migrated,
    /// 対象外 (not one of the 20 業務).
    NotApplicable,
}

pub const ALL_MIGRATION: [MigrationStatus; 5] = [
    MigrationStatus::NotStarted,
    MigrationStatus::Planning,
    MigrationStatus::Migrating,
    MigrationStatus::Migrated,
    MigrationStatus::NotApplicable,
];

impl MigrationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MigrationStatus::NotStarted => "not_started",
            MigrationStatus::Planning => "planning",
            MigrationStatus::Migrating => "migrating",
            MigrationStatus::Migrated => "migrated",
            MigrationStatus::NotApplicable => "not_applicable",
        }
    }

    pub fn label(self) -> Localized {
        let (ja, en) = match self {
            MigrationStatus::NotStarted => ("未着手", "Not started"),
            MigrationStatus::Planning => ("計画中", "Planning"),
            MigrationStatus::Migrating => ("移行中", "Migrating"),
            MigrationStatus::Migrated => ("移行済", "Migrated"),
            MigrationStatus::NotApplicable => ("対象外", "Not applicable"),
        };
        Localized::new(ja, en)
    }

    /// By code or Japanese label (`移行済み` is read as `移行済`).
    pub fn parse(input: &str) -> Option<Self> {
        let input = input.trim();
        let input = if input == "移行済み" {
            "移行済"
        } else {
            input
        };
        ALL_MIGRATION
            .into_iter()
            .find(|s| s.as_str() == input || s.label().ja == input)
    }

    pub fn all() -> [MigrationStatus; 5] {
        ALL_MIGRATION
    }
}

/// The 20 基幹業務 of 地方公共団体情報システムの標準化に関する法律 (標準化法) 第2条.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StandardBusiness(usize);

/// Code and Japanese name of each of the 20 業務, in the order of the 標準化基本方針.
pub const STANDARD_BUSINESSES: [(&str, &str); 20] = [
    ("resident_registry", "住民基本台帳"),
    ("electoral_roll", "選挙人名簿管理"),
    ("fixed_asset_tax", "固定資産税"),
    ("individual_resident_tax", "個人住民税"),
    ("corporate_resident_tax", "法人住民税"),
    ("light_vehicle_tax", "軽自動車税"),
    ("family_register", "戸籍"),
    ("family_register_annex", "戸籍附票"),
    ("seal_registration", "印鑑登録"),
    ("school_enrolment", "就学"),
    ("health_management", "健康管理"),
    ("child_rearing_allowance", "児童扶養手当"),
    ("public_assistance", "生活保護"),
    ("disability_welfare", "障害者福祉"),
    ("long_term_care", "介護保険"),
    ("national_health_insurance", "国民健康保険"),
    ("late_elderly_medical", "後期高齢者医療"),
    ("national_pension", "国民年金"),
    ("child_support", "子ども・子育て支援"),
    ("child_allowance", "児童手当"),
];

impl StandardBusiness {
    pub fn code(self) -> &'static str {
        STANDARD_BUSINESSES
            .get(self.0)
            .map_or("", |(code, _)| *code)
    }

    pub fn label(self) -> &'static str {
        STANDARD_BUSINESSES.get(self.0).map_or("", |(_, ja)| *ja)
    }

    /// By code or Japanese name (`子ども子育て支援` without the dot too).
    pub fn parse(input: &str) -> Option<Self> {
        let input = crate::text::fold_width(input.trim()).replace(['・', '･'], "");
        STANDARD_BUSINESSES
            .iter()
            .position(|(code, ja)| *code == input || ja.replace('・', "") == input)
            .map(StandardBusiness)
    }

    pub fn all() -> impl Iterator<Item = StandardBusiness> {
        (0..STANDARD_BUSINESSES.len()).map(StandardBusiness)
    }
}

/// On the API and in audit details a business is its code.
impl Serialize for StandardBusiness {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

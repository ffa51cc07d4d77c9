//! 手続 (procedures): the catalog a city offers residents, and the form each one asks for.
//!
//! A procedure is defined as data ([`ProcedureDefinition`]), so a city loads its own 手続棚卸
//! (procedure inventory) without code. The form is JSON Schema 2020-12 plus UI hints; its version
//! travels with every application so that editing a form never changes an application already made.

pub mod builder;
mod compiled;
pub mod display;
mod fees;
mod form;
mod group;
mod import;
pub mod inventory;
mod normalise;

pub use compiled::{CompiledForm, StorableAnswers};
pub use fees::{Fee, FeeExemption};
pub use form::{
    AttachmentKind, AttachmentSpec, Condition, FieldError, FieldHint, FormDefinition, FormError,
    InputKind, UiHints,
};
pub use group::{allowed_in_group, entry_input_name, split_entry_name, DEFAULT_MAX_ITEMS};
pub use import::{parse_catalog, CatalogFormat, ImportError, RowError};
pub use normalise::normalise_typed;

use serde::{Deserialize, Serialize};

/// Text in Japanese and English. English may be empty; pages then fall back to Japanese.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Localized {
    pub ja: String,
    #[serde(default)]
    pub en: String,
}

impl Localized {
    pub fn new(ja: impl Into<String>, en: impl Into<String>) -> Self {
        Self {
            ja: ja.into(),
            en: en.into(),
        }
    }

    /// The text in `lang` ("ja" or "en"), falling back to Japanese.
    pub fn get(&self, lang: &str) -> &str {
        if lang == "en" && !self.en.is_empty() {
            &self.en
        } else {
            &self.ja
        }
    }
}

/// Whether `id` can be a procedure id: 1-80 lowercase ASCII letters, digits and hyphens.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 80
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// How a resident can do the procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// オンライン only.
    Online,
    /// 窓口 (at the counter) only.
    Counter,
    /// Both online and at the counter.
    Both,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Online => "online",
            Channel::Counter => "counter",
            Channel::Both => "both",
        }
    }

    /// Parses the English name or the words a city spreadsheet uses (オンライン, 窓口, 両方).
    pub fn parse(input: &str) -> Option<Self> {
        match crate::text::search_key(input).as_str() {
            "online" | "オンライン" | "電子申請" => Some(Channel::Online),
            "counter" | "窓口" | "紙" | "郵送" => Some(Channel::Counter),
            "both" | "両方" | "併用" | "オンライン・窓口" | "オンライン/窓口" => {
                Some(Channel::Both)
            }
            _ => None,
        }
    }

    pub fn accepts_online(self) -> bool {
        !matches!(self, Channel::Counter)
    }

    pub fn label(self) -> Localized {
        match self {
            Channel::Online => Localized::new("オンライン", "Online"),
            Channel::Counter => Localized::new("窓口", "At the counter"),
            Channel::Both => Localized::new("オンライン・窓口", "Online or at the counter"),
        }
    }
}

/// ライフイベント: the moments of life a procedure belongs to, for browsing the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LifeEvent {
    Birth,
    Childcare,
    Moving,
    Marriage,
    Death,
    NursingCare,
    Disaster,
    Pets,
    Certificates,
    Tax,
    HealthInsurance,
    Waste,
}

impl LifeEvent {
    pub const ALL: [LifeEvent; 12] = [
        LifeEvent::Birth,
        LifeEvent::Childcare,
        LifeEvent::Moving,
        LifeEvent::Marriage,
        LifeEvent::Death,
        LifeEvent::NursingCare,
        LifeEvent::Disaster,
        LifeEvent::Pets,
        LifeEvent::Certificates,
        LifeEvent::Tax,
        LifeEvent::HealthInsurance,
        LifeEvent::Waste,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LifeEvent::Birth => "birth",
            LifeEvent::Childcare => "childcare",
            LifeEvent::Moving => "moving",
            LifeEvent::Marriage => "marriage",
            LifeEvent::Death => "death",
            LifeEvent::NursingCare => "nursing_care",
            LifeEvent::Disaster => "disaster",
            LifeEvent::Pets => "pets",
            LifeEvent::Certificates => "certificates",
            LifeEvent::Tax => "tax",
            LifeEvent::HealthInsurance => "health_insurance",
            LifeEvent::Waste => "waste",
        }
    }

    pub fn label(self) -> Localized {
        let (ja, en) = match self {
            LifeEvent::Birth => ("妊娠・出産", "Pregnancy and birth"),
            LifeEvent::Childcare => ("子育て", "Raising children"),
            LifeEvent::Moving => ("引越し", "Moving"),
            LifeEvent::Marriage => ("結婚・離婚", "Marriage and divorce"),
            LifeEvent::Death => ("おくやみ", "After a death"),
            LifeEvent::NursingCare => ("介護", "Nursing care"),
            LifeEvent::Disaster => ("災害", "Disasters"),
            LifeEvent::Pets => ("ペット", "Pets"),
            LifeEvent::Certificates => ("証明書", "Certificates"),
            LifeEvent::Tax => ("税金", "Taxes"),
            LifeEvent::HealthInsurance => ("健康保険・年金", "Health insurance and pensions"),
            LifeEvent::Waste => ("ごみ", "Rubbish and recycling"),
        };
        Localized::new(ja, en)
    }

    /// Parses the English slug or the Japanese label.
    pub fn parse(input: &str) -> Option<Self> {
        let key = crate::text::search_key(input);
        Self::ALL.into_iter().find(|event| {
            event.as_str() == key || crate::text::search_key(&event.label().ja) == key
        })
    }
}

/// 担当課: the department that owns a procedure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentRef {
    pub code: String,
    pub ja: String,
    #[serde(default)]
    pub en: String,
}

/// One procedure as a city defines it (import format and storage shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureDefinition {
    /// Slug, unique per city: lowercase ASCII letters, digits and hyphens.
    pub id: String,
    pub name: Localized,
    /// The name in plain words, as a resident would say it (「児童手当をもらう（新しく申請する）」),
    /// shown beside the legal name and searched first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plain_title: Option<Localized>,
    /// Reading of the Japanese name in katakana (for search and sorting).
    pub kana: String,
    pub department: DepartmentRef,
    #[serde(default)]
    pub legal_basis: String,
    #[serde(default)]
    pub life_events: Vec<LifeEvent>,
    pub channel: Channel,
    /// Fee in yen; `None` when no fee is stated.
    #[serde(default)]
    pub fee_yen: Option<i64>,
    /// The fee is per unit of this answer (「1通300円」: `copies`), a whole number the form asks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_per: Option<String>,
    /// 減免: answers that reduce or waive the fee (the first that applies counts).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fee_exemptions: Vec<FeeExemption>,
    /// 必要書類: what the resident needs to have at hand.
    #[serde(default)]
    pub documents: Vec<Localized>,
    /// What a refusal of this procedure is called (不許可, 不支給, 不交付 …); 却下 when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<Localized>,
    /// 標準処理期間 in days.
    #[serde(default)]
    pub processing_days: Option<i64>,
    /// 届出期間: by when it must be done, as a resident reads it (「死亡の事実を知った日から
    /// 7日以内」); shown on the procedure's page and in a life event's checklist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_limit: Option<Localized>,
    /// 手続棚卸: applications a year.
    #[serde(default)]
    pub yearly_volume: Option<i64>,
    /// 手続棚卸: share (0..1) of applications made online.
    #[serde(default)]
    pub online_share: Option<f64>,
    /// 手続棚卸: what BPR asks of it (押印・書面・対面, 本人確認, target 年度, national priority).
    #[serde(default, skip_serializing_if = "inventory::Inventory::is_empty")]
    pub inventory: inventory::Inventory,
    #[serde(default)]
    pub summary: Localized,
    #[serde(default)]
    pub keywords: Vec<String>,
    /// The online form; `None` for procedures listed in the catalog but done at the counter.
    #[serde(default)]
    pub form: Option<FormDefinition>,
    /// 決裁ルート: who decides (専決); the department manager (課長専決) when unset, `[staff]` for
    /// 担当者専決, several roles for several steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<crate::decisions::DecisionRoute>,
    /// The review steps, when they differ from the standard workflow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<crate::applications::Workflow>,
    /// 来庁予約: the bookable service (its id) whose slot the applicant books after applying —
    /// 転入予約 books a time at the 転入 counter instead of typing a day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking: Option<String>,
}

impl ProcedureDefinition {
    /// What the applicant reads for `status`: the procedure's own name for a refusal (不支給),
    /// otherwise the status's label.
    pub fn status_label(&self, status: crate::applications::Status) -> Localized {
        match &self.refusal {
            Some(refusal) if status.is_refusal() => refusal.clone(),
            _ => status.label(),
        }
    }

    /// Who decides this procedure's applications (its own route, or 課長専決).
    pub fn decision_route(&self) -> crate::decisions::DecisionRoute {
        self.decision.clone().unwrap_or_default()
    }

    /// The review steps of this procedure (its own, or the standard ones).
    pub fn workflow(&self) -> crate::applications::Workflow {
        self.workflow.clone().unwrap_or_default()
    }

    /// Checks everything a catalog row must satisfy; the messages name the field at fault.
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if !is_valid_id(&self.id) {
            problems.push(format!(
                "id '{}': use 1-80 lowercase letters, digits and hyphens",
                self.id
            ));
        }
        if self.name.ja.trim().is_empty() {
            problems.push("name.ja: the Japanese name is required".into());
        }
        if self.department.code.trim().is_empty() || self.department.ja.trim().is_empty() {
            problems.push("department: code and ja name are required".into());
        }
        problems.extend(self.fee_problems());
        if let Some(service) = self.booking.as_ref().filter(|s| !is_valid_id(s)) {
            problems.push(format!("booking '{service}': not a service id"));
        }
        if self.inventory.identity_level.is_some_and(|level| level > 3) {
            problems.push("inventory.identity_level: 0 (none) or a 保証レベル 1 to 3".into());
        }
        if self
            .online_share
            .is_some_and(|share| !(0.0..=1.0).contains(&share))
        {
            problems.push("online_share: must be between 0 and 1".into());
        }
        for (field, value) in [
            ("processing_days", self.processing_days),
            ("yearly_volume", self.yearly_volume),
        ] {
            if value.is_some_and(|v| v < 0) {
                problems.push(format!("{field}: must be 0 or more"));
            }
        }
        if let Some(form) = &self.form {
            if let Err(form_problems) = form.check() {
                problems.extend(form_problems.into_iter().map(|p| format!("form: {p}")));
            }
        }
        if let Some(Err(route_problems)) = self.decision.as_ref().map(|d| d.check()) {
            problems.extend(route_problems);
        }
        if let Some(Err(workflow_problems)) = self.workflow.as_ref().map(|w| w.check()) {
            problems.extend(workflow_problems);
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// The text catalog search matches against (see [`crate::text::search_key`]).
    pub fn search_text(&self) -> String {
        let mut parts = vec![
            self.name.ja.as_str(),
            self.name.en.as_str(),
            self.kana.as_str(),
            self.department.ja.as_str(),
            self.department.en.as_str(),
        ];
        parts.extend(self.keywords.iter().map(String::as_str));
        parts
            .iter()
            .map(|p| crate::text::search_key(p))
            .collect::<Vec<_>>()
            .join("|")
    }

    /// The key the catalog is ordered by: the reading, or the name when there is no reading,
    /// as a search key (so ひらがな and カタカナ readings sort together).
    pub fn sort_key(&self) -> String {
        crate::text::search_key(if self.kana.is_empty() {
            &self.name.ja
        } else {
            &self.kana
        })
    }

    /// Whether a resident can apply online now.
    pub fn online_form(&self) -> Option<&FormDefinition> {
        self.form.as_ref().filter(|_| self.channel.accepts_online())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_reads_spreadsheet_words() {
        assert_eq!(Channel::parse("オンライン"), Some(Channel::Online));
        assert_eq!(Channel::parse("窓口"), Some(Channel::Counter));
        assert_eq!(Channel::parse("BOTH"), Some(Channel::Both));
        assert_eq!(Channel::parse("fax"), None);
    }

    #[test]
    fn life_events_read_slugs_and_japanese_labels() {
        assert_eq!(LifeEvent::parse("moving"), Some(LifeEvent::Moving));
        assert_eq!(LifeEvent::parse("引越し"), Some(LifeEvent::Moving));
        assert_eq!(LifeEvent::parse("おくやみ"), Some(LifeEvent::Death));
        assert_eq!(LifeEvent::parse("nothing"), None);
    }

    #[test]
    fn search_text_matches_a_hiragana_query_through_the_kana_reading() {
        let text = crate::text::search_key("ジドウテアテノニンテイセイキュウ");
        assert!(text.contains(&crate::text::search_key("じどうてあて")));
    }
}

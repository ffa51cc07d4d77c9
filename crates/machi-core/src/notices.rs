//! お知らせ (notices): what a city tells its residents, by category and area, with an urgency.
//! Residents choose what concerns them (インフォメーションのえらべる化).

use serde::{Deserialize, Serialize};

use crate::procedures::Localized;

/// A category of notices that residents choose (えらべる化). A city sets its own; the id is
/// stable in URLs, feeds and subscriptions, and `cap` is the CAP 1.2 `<category>` it maps to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    pub id: String,
    pub label: Localized,
    pub cap: String,
}

/// The categories of a city that has set none (and of the demo city).
pub fn default_categories() -> Vec<Category> {
    [
        ("bousai", "防災", "Disaster prevention", "Safety"),
        ("kosodate", "子育て", "Child-rearing", "Other"),
        ("kenko", "健康・福祉", "Health and welfare", "Health"),
        ("gomi", "ごみ・環境", "Waste and environment", "Env"),
        ("zei", "税・保険", "Tax and insurance", "Other"),
        ("event", "イベント", "Events", "Other"),
        ("douro", "道路・交通", "Roads and traffic", "Transport"),
    ]
    .into_iter()
    .map(|(id, ja, en, cap)| Category {
        id: id.into(),
        label: Localized::new(ja, en),
        cap: cap.into(),
    })
    .collect()
}

/// The CAP 1.2 `<category>` values.
pub const CAP_CATEGORIES: [&str; 12] = [
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
];

/// Whether a CAP category is of hazards, whose 重要 notices are alerts (CAP feed, signage).
pub fn is_hazard_category(cap: &str) -> bool {
    matches!(
        cap,
        "Geo" | "Met" | "Safety" | "Security" | "Rescue" | "Fire" | "CBRNE"
    )
}

/// Most categories a city may have (residents choose among them on one screen).
pub const MAX_CATEGORIES: usize = 30;

/// The name of a category id among `categories`, if it is one.
pub fn category_label(categories: &[Category], id: &str) -> Option<Localized> {
    categories
        .iter()
        .find(|c| c.id == id)
        .map(|c| c.label.clone())
}

/// Problems with a city's list of categories: each id 1–40 lowercase letters, digits or
/// hyphens and used once, a Japanese name, a CAP category; one to [`MAX_CATEGORIES`].
pub fn check_category_list(categories: &[Category]) -> Result<(), Vec<Problem>> {
    let mut problems = Vec::new();
    let mut add = |message: Localized| problems.push(("categories", message));
    if categories.is_empty() || categories.len() > MAX_CATEGORIES {
        add(Localized::new(
            format!("分類は1から{MAX_CATEGORIES}までです"),
            format!("a city has 1 to {MAX_CATEGORIES} categories"),
        ));
    }
    for (i, category) in categories.iter().enumerate() {
        let id_ok = (1..=40).contains(&category.id.len())
            && category
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !id_ok {
            add(Localized::new(
                format!(
                    "分類のID「{}」は半角英小文字・数字・ハイフン40文字までです",
                    category.id
                ),
                format!(
                    "category id '{}': use 1-40 lowercase letters, digits and hyphens",
                    category.id
                ),
            ));
        }
        if categories[..i].iter().any(|c| c.id == category.id) {
            add(Localized::new(
                format!("分類のID「{}」が重複しています", category.id),
                format!("category id '{}' is used twice", category.id),
            ));
        }
        if category.label.ja.trim().is_empty() || category.label.ja.chars().count() > 40 {
            add(Localized::new(
                format!(
                    "分類「{}」の名前（1〜40文字）を入力してください",
                    category.id
                ),
                format!(
                    "category '{}' needs a Japanese name of 1-40 characters",
                    category.id
                ),
            ));
        }
        if !CAP_CATEGORIES.contains(&category.cap.as_str()) {
            add(Localized::new(
                format!("分類「{}」のCAP分類が正しくありません", category.id),
                format!(
                    "category '{}': unknown CAP category '{}'",
                    category.id, category.cap
                ),
            ));
        }
    }
    problems_or_ok(problems)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Normal,
    /// 重要.
    Important,
    /// 緊急: disaster alerts; they take over the signage screen and jump every queue.
    Emergency,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::Normal => "normal",
            Urgency::Important => "important",
            Urgency::Emergency => "emergency",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        [Urgency::Normal, Urgency::Important, Urgency::Emergency]
            .into_iter()
            .find(|u| u.as_str() == input)
    }

    pub fn label(self) -> Localized {
        let (ja, en) = match self {
            Urgency::Normal => ("通常", "Normal"),
            Urgency::Important => ("重要", "Important"),
            Urgency::Emergency => ("緊急", "Emergency"),
        };
        Localized::new(ja, en)
    }
}

/// Reads areas typed as a list (separated by commas, 、 or line breaks): each cleaned and
/// written as the 町字 list writes it ([`crate::areas::canonical_area`]), so that a notice for
/// 「一丁目」 or 「１丁目」 reaches a subscriber of 「1丁目」; no repeats.
pub fn read_areas(typed: &str) -> Vec<String> {
    let mut areas: Vec<String> = Vec::new();
    for area in typed.split([',', '、', '，', '\n']) {
        let area = crate::areas::canonical_area(area);
        if !area.is_empty() && !areas.contains(&area) {
            areas.push(area);
        }
    }
    areas
}

/// 避難情報 as the national guidelines (避難情報に関するガイドライン, 2021) grade them by 警戒レベル.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EvacuationLevel {
    /// 警戒レベル3 高齢者等避難: those who need time evacuate, everyone else prepares.
    ElderlyEvacuate,
    /// 警戒レベル4 避難指示: everyone in the area evacuates.
    Evacuate,
    /// 警戒レベル5 緊急安全確保: a disaster is happening or imminent; secure your life where you are.
    EmergencySafety,
}

impl EvacuationLevel {
    pub const ALL: [EvacuationLevel; 3] = [
        EvacuationLevel::ElderlyEvacuate,
        EvacuationLevel::Evacuate,
        EvacuationLevel::EmergencySafety,
    ];

    /// The 警戒レベル: 3, 4 or 5.
    pub fn number(self) -> u8 {
        match self {
            EvacuationLevel::ElderlyEvacuate => 3,
            EvacuationLevel::Evacuate => 4,
            EvacuationLevel::EmergencySafety => 5,
        }
    }

    pub fn from_number(level: i64) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|l| i64::from(l.number()) == level)
    }

    pub fn label(self) -> Localized {
        let (ja, en) = match self {
            EvacuationLevel::ElderlyEvacuate => {
                ("高齢者等避難", "Evacuation of older and disabled people")
            }
            EvacuationLevel::Evacuate => ("避難指示", "Evacuation order"),
            EvacuationLevel::EmergencySafety => ("緊急安全確保", "Emergency safety measures"),
        };
        Localized::new(ja, en)
    }
}

/// The 避難情報 a notice carries: its level, and whether it is issued (発令) or lifted (解除).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evacuation {
    pub level: EvacuationLevel,
    pub lifted: bool,
}

impl Evacuation {
    /// 「避難指示（警戒レベル4）」, 「避難指示の解除」.
    pub fn label(self) -> Localized {
        let name = self.level.label();
        let n = self.level.number();
        if self.lifted {
            Localized::new(format!("{}の解除", name.ja), format!("{} lifted", name.en))
        } else {
            Localized::new(
                format!("{}（警戒レベル{n}）", name.ja),
                format!("{} (alert level {n})", name.en),
            )
        }
    }
}

/// Most areas one notice names (a ward's 町丁目; the whole city is no area at all).
pub const MAX_NOTICE_AREAS: usize = 300;

/// A notice as staff write it.
#[derive(Debug, Clone, PartialEq)]
pub struct NoticeDraft {
    pub title: Localized,
    /// Markdown, rendered to sanitised HTML for display.
    pub body: Localized,
    pub categories: Vec<String>,
    /// 町丁目 or school districts; empty means the whole city.
    pub areas: Vec<String>,
    pub urgency: Urgency,
    /// 避難情報 (警戒レベル 3–5, 発令 or 解除), when the notice is one.
    pub evacuation: Option<Evacuation>,
}

impl NoticeDraft {
    /// Problems that keep the notice from being saved, each naming the field; `known` are the
    /// city's categories.
    pub fn check(&self, known: &[Category]) -> Result<(), Vec<(&'static str, Localized)>> {
        let mut problems = Vec::new();
        if self.title.ja.trim().is_empty() {
            problems.push((
                "title_ja",
                Localized::new("件名を入力してください", "enter a title"),
            ));
        }
        if self.title.ja.chars().count() > 200 || self.title.en.chars().count() > 200 {
            problems.push((
                "title_ja",
                Localized::new("件名は200文字までです", "the title is over 200 characters"),
            ));
        }
        if self.body.ja.trim().is_empty() {
            problems.push((
                "body_ja",
                Localized::new("本文を入力してください", "enter the text"),
            ));
        }
        if self.body.ja.chars().count() > 20_000 || self.body.en.chars().count() > 20_000 {
            problems.push((
                "body_ja",
                Localized::new(
                    "本文は20,000文字までです",
                    "the text is over 20,000 characters",
                ),
            ));
        }
        if self.areas.len() > MAX_NOTICE_AREAS || self.areas.iter().any(|a| a.chars().count() > 40)
        {
            problems.push((
                "areas",
                Localized::new(
                    format!("地域は{MAX_NOTICE_AREAS}か所まで、1つ40文字までです（空欄なら市内全域）"),
                    format!("at most {MAX_NOTICE_AREAS} areas of up to 40 characters (none for the whole city)"),
                ),
            ));
        }
        check_categories(
            &self.categories,
            known,
            Localized::new(
                "分類を1つ以上選んでください",
                "choose at least one category",
            ),
            &mut problems,
        );
        problems_or_ok(problems)
    }
}

/// A problem with one field of a form: the field's name and what to tell the person.
pub type Problem = (&'static str, Localized);

/// Adds the problems of a list of category ids (`when_empty` if there is none; any not among
/// the city's `known`) to `problems`.
pub fn check_categories(
    categories: &[String],
    known: &[Category],
    when_empty: Localized,
    problems: &mut Vec<Problem>,
) {
    if categories.is_empty() {
        problems.push(("categories", when_empty));
    }
    if categories
        .iter()
        .any(|c| category_label(known, c).is_none())
    {
        problems.push((
            "categories",
            Localized::new("不明な分類があります", "unknown category"),
        ));
    }
}

/// `Ok` when nothing was found wrong.
pub fn problems_or_ok(problems: Vec<Problem>) -> Result<(), Vec<Problem>> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_city_sets_its_own_categories_within_rules() {
        let mut categories = default_categories();
        assert_eq!(check_category_list(&categories), Ok(()));
        categories.push(Category {
            id: "kouen".into(),
            label: Localized::new("公園・緑地", "Parks"),
            cap: "Env".into(),
        });
        assert_eq!(check_category_list(&categories), Ok(()));
        assert_eq!(
            category_label(&categories, "kouen").unwrap().ja,
            "公園・緑地"
        );
        categories.push(Category {
            id: "Kouen!".into(),
            label: Localized::new("", ""),
            cap: "Weather".into(),
        });
        assert_eq!(check_category_list(&categories).unwrap_err().len(), 3);
        assert!(check_category_list(&[]).is_err());
    }

    #[test]
    fn a_notice_needs_a_title_a_text_and_a_known_category() {
        let mut draft = NoticeDraft {
            title: Localized::new("断水のお知らせ", ""),
            body: Localized::new("北町で断水します。", ""),
            categories: vec!["bousai".into()],
            areas: vec!["北町".into()],
            urgency: Urgency::Important,
            evacuation: None,
        };
        assert_eq!(draft.check(&default_categories()), Ok(()));
        draft.categories = vec!["weather".into()];
        assert_eq!(
            draft.check(&default_categories()).unwrap_err()[0].0,
            "categories"
        );
        draft.areas = (0..301).map(|i| format!("{i}丁目")).collect();
        assert_eq!(
            draft.check(&default_categories()).unwrap_err()[0].0,
            "areas"
        );
        draft.areas = vec!["北町".into()];
        draft.title.ja = " ".into();
        assert_eq!(
            draft.check(&default_categories()).unwrap_err()[0].0,
            "title_ja"
        );
        assert_eq!(Urgency::parse("emergency"), Some(Urgency::Emergency));
        assert_eq!(
            read_areas("北町、 南町,北町\n１丁目"),
            vec!["北町", "南町", "1丁目"]
        );
    }
}

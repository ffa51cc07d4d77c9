//! 手続棚卸: the inventory of every procedure a city has, with what 業務改革 (BPR) asks of each
//! — is a seal (押印), a paper form (書面) or a visit (対面) still required, how sure must the
//! city be of who applies (本人確認, the 保証レベル of the national guideline on online
//! identification), by which 年度 it goes online, and whether it is one of the procedures the
//! national 自治体DX推進計画 singles out — and the figure 情報政策課 reports: the online rate
//! weighted by how often each procedure is used.

use serde::{Deserialize, Serialize};

use super::ProcedureDefinition;
use crate::procedures::Localized;
use crate::text::search_key;

/// Whether something is still required of the applicant (押印, 書面, 対面), as the BPR review
/// left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Review {
    /// 要: still required.
    Required,
    /// 見直し中: under review, to be removed.
    Reviewing,
    /// 不要・廃止済み: not required (any more).
    Removed,
}

impl Review {
    /// 「要」「必要」「あり」「見直し中」「不要」「廃止」 and their English names.
    pub fn parse(text: &str) -> Option<Self> {
        match crate::text::fold_width(text.trim()).to_lowercase().as_str() {
            "要" | "必要" | "あり" | "有" | "required" | "yes" => Some(Review::Required),
            "見直し中" | "見直し予定" | "検討中" | "reviewing" => {
                Some(Review::Reviewing)
            }
            "不要" | "廃止" | "廃止済" | "廃止済み" | "なし" | "無" | "removed" | "no" => {
                Some(Review::Removed)
            }
            _ => None,
        }
    }

    pub fn label(self) -> Localized {
        let (ja, en) = match self {
            Review::Required => ("要", "Required"),
            Review::Reviewing => ("見直し中", "Under review"),
            Review::Removed => ("不要", "Not required"),
        };
        Localized::new(ja, en)
    }
}

/// A procedure's line of the 棚卸 beyond its volume and online share.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Inventory {
    /// 押印.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seal: Option<Review>,
    /// 書面: a paper form or original documents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paper: Option<Review>,
    /// 対面: a visit to the counter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_person: Option<Review>,
    /// 本人確認: 0 (none needed) or the 保証レベル 1–3.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity_level: Option<u8>,
    /// The 年度 it is to go online.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_year: Option<i32>,
    /// One of the national plan's priority procedures; when unset, found by its name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub national_priority: Option<bool>,
}

impl Inventory {
    pub fn is_empty(&self) -> bool {
        self == &Inventory::default()
    }

    /// Reads the 棚卸 columns of a catalog row through `get` (its cleaned value, if any);
    /// each problem names its column.
    pub fn read(get: impl Fn(&str) -> Option<String>) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let mut review = |column: &str| {
            let text = get(column)?;
            let parsed = Review::parse(&text);
            if parsed.is_none() {
                problems.push(format!("{column}: '{text}' is not 要, 見直し中 or 不要"));
            }
            parsed
        };
        let (seal, paper, in_person) = (review("seal"), review("paper"), review("in_person"));
        let identity_level = get("identity_level").and_then(|text| {
            let level = identity_level(&text);
            if level.is_none() {
                problems.push(format!(
                    "identity_level: '{text}' is not 不要 or a 保証レベル 1 to 3"
                ));
            }
            level
        });
        let target_year = get("target_year").and_then(|text| {
            let year = fiscal_year(&text);
            if year.is_none() {
                problems.push(format!(
                    "target_year: '{text}' is not a 年度 (2027, 令和9年度, R9)"
                ));
            }
            year
        });
        let national_priority = get("national_priority").and_then(|text| {
            match crate::text::fold_width(text.trim()).to_lowercase().as_str() {
                "○" | "〇" | "◯" | "対象" | "はい" | "yes" | "true" | "1" => Some(true),
                "×" | "対象外" | "いいえ" | "no" | "false" | "0" | "-" => Some(false),
                _ => {
                    problems.push(format!(
                        "national_priority: '{text}' is not ○ (対象) or × (対象外)"
                    ));
                    None
                }
            }
        });
        if problems.is_empty() {
            Ok(Self {
                seal,
                paper,
                in_person,
                identity_level,
                target_year,
                national_priority,
            })
        } else {
            Err(problems)
        }
    }
}

/// 「不要」→ 0, 「レベル2」「L2」「2」→ 2.
fn identity_level(text: &str) -> Option<u8> {
    let folded = crate::text::fold_width(text.trim()).to_lowercase();
    if matches!(folded.as_str(), "不要" | "なし" | "0") {
        return Some(0);
    }
    let digits: String = folded.chars().filter(char::is_ascii_digit).collect();
    let level: u8 = digits.parse().ok()?;
    let rest = folded.replace(&digits, "");
    ((1..=3).contains(&level) && matches!(rest.as_str(), "" | "レベル" | "l" | "level"))
        .then_some(level)
}

/// 「2027」「2027年度」「令和9年度」「R9」→ 2027.
fn fiscal_year(text: &str) -> Option<i32> {
    let folded = crate::text::fold_width(text.trim());
    let bare = folded.trim_end_matches("年度").trim_end_matches('年');
    if let Ok(year) = bare.parse::<i32>() {
        return (2000..=2100).contains(&year).then_some(year);
    }
    let (era_start, number) = if let Some(n) = bare.strip_prefix("令和") {
        (2018, n)
    } else if let Some(n) = bare.strip_prefix('R').or_else(|| bare.strip_prefix('r')) {
        (2018, n)
    } else {
        return None;
    };
    let n: i32 = if number == "元" {
        1
    } else {
        number.parse().ok()?
    };
    (1..=80).contains(&n).then_some(era_start + n)
}

/// The national plan's priority procedures (see `data/dx-priority-procedures.tsv`): the
/// key of each name, and of the word its group is about (児童手当, 介護保険 …).
fn priority_list() -> &'static [(String, String)] {
    static LIST: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("../../data/dx-priority-procedures.tsv")
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.split_once('\t'))
            .map(|(group, name)| {
                let about = group.split_once('（').map_or_else(
                    || group.trim_end_matches("関係"),
                    |(_, inside)| inside.trim_end_matches('）'),
                );
                (search_key(name), search_key(about))
            })
            .collect()
    })
}

/// Whether a procedure's name is one of the national plan's priority procedures: the same
/// name, or a name that holds it and the word its group is about (so that 「氏名変更／住所変更等
/// の届出」 of 児童手当 is not every change of address).
pub fn is_national_priority_name(name: &str) -> bool {
    let key = search_key(name);
    priority_list().iter().any(|(priority, about)| {
        key == *priority || (key.contains(priority.as_str()) && key.contains(about.as_str()))
    })
}

impl ProcedureDefinition {
    /// Whether the procedure is one of the national plan's priority procedures (as the
    /// inventory says, else by its name).
    pub fn is_national_priority(&self) -> bool {
        self.inventory
            .national_priority
            .unwrap_or_else(|| is_national_priority_name(&self.name.ja))
    }
}

/// The figures of a whole 棚卸.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub procedures: usize,
    /// Procedures that can be applied for online (their channel says so).
    pub online_capable: usize,
    /// Procedures with a yearly volume, the base of the weighted rate.
    pub with_volume: usize,
    pub yearly_volume: i64,
    /// Applications a year made online (volume × online share).
    pub online_volume: f64,
    /// オンライン利用率 weighted by use, in percent with one decimal.
    pub weighted_rate: Option<f64>,
    /// Procedures that still require a seal, paper or a visit.
    pub seal_required: usize,
    pub paper_required: usize,
    pub in_person_required: usize,
    pub national_priority: usize,
    pub national_priority_online: usize,
}

/// Sums up the 棚卸. The weighted rate counts each procedure by its yearly volume: the
/// applications made online (volume × online share; a procedure without a reported share
/// counts none) over all applications, of the procedures whose volume is known.
pub fn summarize<'a>(procedures: impl IntoIterator<Item = &'a ProcedureDefinition>) -> Summary {
    let mut summary = Summary::default();
    for p in procedures {
        summary.procedures += 1;
        let online = p.channel.accepts_online();
        summary.online_capable += usize::from(online);
        if let Some(volume) = p.yearly_volume.filter(|v| *v > 0) {
            summary.with_volume += 1;
            summary.yearly_volume += volume;
            summary.online_volume += volume as f64 * p.online_share.unwrap_or(0.0).clamp(0.0, 1.0);
        }
        let required = |review: Option<Review>| usize::from(review == Some(Review::Required));
        summary.seal_required += required(p.inventory.seal);
        summary.paper_required += required(p.inventory.paper);
        summary.in_person_required += required(p.inventory.in_person);
        if p.is_national_priority() {
            summary.national_priority += 1;
            summary.national_priority_online += usize::from(online);
        }
    }
    summary.weighted_rate = (summary.yearly_volume > 0)
        .then(|| (summary.online_volume / summary.yearly_volume as f64 * 1000.0).round() / 10.0);
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    fn columns<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn bpr_columns_read_as_staff_write_them() {
        let read = Inventory::read(columns(&[
            ("seal", "廃止済み"),
            ("paper", "要"),
            ("in_person", "見直し中"),
            ("identity_level", "レベル２"),
            ("target_year", "令和9年度"),
            ("national_priority", "○"),
        ]))
        .unwrap();
        assert_eq!(read.seal, Some(Review::Removed));
        assert_eq!(read.paper, Some(Review::Required));
        assert_eq!(read.in_person, Some(Review::Reviewing));
        assert_eq!(read.identity_level, Some(2));
        assert_eq!(read.target_year, Some(2027));
        assert_eq!(read.national_priority, Some(true));
        let problems = Inventory::read(columns(&[
            ("seal", "たぶん"),
            ("identity_level", "5"),
            ("target_year", "来年"),
        ]))
        .unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(Inventory::read(columns(&[])).unwrap().is_empty());
    }

    #[test]
    fn priority_procedures_are_found_by_their_name_not_by_a_common_phrase() {
        assert!(is_national_priority_name(
            "児童手当等の受給資格及び児童手当の額についての認定請求"
        ));
        assert!(is_national_priority_name("要介護・要支援認定の申請"));
        assert!(!is_national_priority_name(
            "国民健康保険の氏名変更／住所変更等の届出"
        ));
        assert!(!is_national_priority_name("住民票の写しの交付請求"));
    }
}

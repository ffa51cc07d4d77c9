//! The open-data catalog's rules: what a dataset (a CKAN "package") must carry and how its
//! name, tags, licence and groups are checked, the licences a city may choose, and the groups,
//! which are the categories of the national recommended dataset list.

use serde::{Deserialize, Serialize};

use super::standard::Definitions;
use crate::notices::{problems_or_ok, Problem};
use crate::procedures::Localized;
use crate::text::clean_text;

/// A licence a dataset may be published under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct License {
    /// The id CKAN clients see (`license_id`).
    pub id: &'static str,
    pub title: &'static str,
    pub url: &'static str,
    /// Open Definition conformant (what the openness badge's first star needs).
    pub open: bool,
}

const fn ckan_license(
    id: &'static str,
    title: &'static str,
    url: &'static str,
    open: bool,
) -> License {
    License {
        id,
        title,
        url,
        open,
    }
}

/// CC BY 4.0 first: the default, and what the national guideline (オープンデータ基本指針) asks;
/// then the licences of a default CKAN that machi has no own id for, under CKAN's ids and
/// titles, so that a dataset moved from CKAN keeps its licence.
pub const LICENSES: [License; 16] = [
    License {
        id: "CC-BY-4.0",
        title: "クリエイティブ・コモンズ 表示 4.0 国際 (CC BY 4.0)",
        url: "https://creativecommons.org/licenses/by/4.0/deed.ja",
        open: true,
    },
    License {
        id: "PDL-1.0",
        title: "公共データ利用規約（第1.0版）(PDL1.0)",
        url: "https://www.digital.go.jp/resources/open_data/public_data_license_v1.0",
        open: true,
    },
    License {
        id: "CC0-1.0",
        title: "CC0 1.0 全世界 パブリック・ドメイン提供",
        url: "https://creativecommons.org/publicdomain/zero/1.0/deed.ja",
        open: true,
    },
    License {
        id: "CC-BY-SA-4.0",
        title: "クリエイティブ・コモンズ 表示-継承 4.0 国際 (CC BY-SA 4.0)",
        url: "https://creativecommons.org/licenses/by-sa/4.0/deed.ja",
        open: true,
    },
    License {
        id: "ODbL-1.0",
        title: "Open Data Commons Open Database License 1.0",
        url: "https://opendatacommons.org/licenses/odbl/1-0/",
        open: true,
    },
    License {
        id: "other-closed",
        title: "その他（非オープン）",
        url: "",
        open: false,
    },
    ckan_license("notspecified", "License not specified", "", false),
    ckan_license(
        "odc-pddl",
        "Open Data Commons Public Domain Dedication and License (PDDL)",
        "http://www.opendefinition.org/licenses/odc-pddl",
        true,
    ),
    ckan_license(
        "odc-by",
        "Open Data Commons Attribution License",
        "http://www.opendefinition.org/licenses/odc-by",
        true,
    ),
    ckan_license(
        "gfdl",
        "GNU Free Documentation License",
        "http://www.opendefinition.org/licenses/gfdl",
        true,
    ),
    ckan_license("other-open", "Other (Open)", "", true),
    ckan_license("other-pd", "Other (Public Domain)", "", true),
    ckan_license("other-at", "Other (Attribution)", "", true),
    ckan_license(
        "uk-ogl",
        "UK Open Government Licence (OGL)",
        "http://reference.data.gov.uk/id/open-government-licence",
        true,
    ),
    ckan_license(
        "cc-nc",
        "Creative Commons Non-Commercial (Any)",
        "http://creativecommons.org/licenses/by-nc/2.0/",
        false,
    ),
    ckan_license("other-nc", "Other (Non-Commercial)", "", false),
];

/// A default CKAN's ids for licences machi names its own way: a dataset given one is stored
/// under machi's id (`cc-by` → `CC-BY-4.0`), and `license_list` lists both.
pub const CKAN_LICENSE_ALIASES: [License; 4] = [
    ckan_license(
        "cc-by",
        "Creative Commons Attribution",
        "http://www.opendefinition.org/licenses/cc-by",
        true,
    ),
    ckan_license(
        "cc-by-sa",
        "Creative Commons Attribution Share-Alike",
        "http://www.opendefinition.org/licenses/cc-by-sa",
        true,
    ),
    ckan_license(
        "cc-zero",
        "Creative Commons CCZero",
        "http://www.opendefinition.org/licenses/cc-zero",
        true,
    ),
    ckan_license(
        "odc-odbl",
        "Open Data Commons Open Database License (ODbL)",
        "http://www.opendefinition.org/licenses/odc-odbl",
        true,
    ),
];

pub const DEFAULT_LICENSE: &str = "CC-BY-4.0";

pub fn license(id: &str) -> Option<&'static License> {
    LICENSES.iter().find(|l| l.id == id)
}

/// machi's id for a licence id, CKAN's aliases included (`cc-zero` → `CC0-1.0`); other ids
/// are given back as they are.
pub fn canonical_license(id: &str) -> &str {
    match id {
        "cc-by" => "CC-BY-4.0",
        "cc-by-sa" => "CC-BY-SA-4.0",
        "cc-zero" => "CC0-1.0",
        "odc-odbl" => "ODbL-1.0",
        other => other,
    }
}

/// A group of the catalog: one category of the national recommended dataset list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// The CKAN name: the standard file-name suffix (`aed`, `evacuation_space`), or
    /// `standard-NN` for a category without one.
    pub name: String,
    pub title: String,
    /// The number of the category in the list (01 公共施設一覧 …).
    pub number: String,
}

impl Definitions {
    /// The groups of the catalog, in the order of the national list.
    pub fn groups(&self) -> Vec<Group> {
        self.catalog
            .iter()
            .map(|entry| Group {
                name: entry
                    .file_name_suffix
                    .clone()
                    .unwrap_or_else(|| format!("standard-{}", entry.no)),
                title: entry.name_ja.clone(),
                number: entry.no.clone(),
            })
            .collect()
    }
}

/// A dataset as staff or a CKAN client give it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct DatasetInput {
    pub name: String,
    pub title_ja: String,
    pub title_en: String,
    pub notes_ja: String,
    pub notes_en: String,
    /// The publishing department's code (the CKAN organization's name).
    pub organization: String,
    pub license_id: String,
    /// 更新頻度 (e.g. 毎年度, 随時).
    pub frequency: String,
    /// 対象地域.
    pub spatial: String,
    pub temporal_start: String,
    pub temporal_end: String,
    pub contact_name: String,
    pub contact_email: String,
    pub tags: Vec<String>,
    pub groups: Vec<String>,
}

/// CKAN's rule for names: 2–100 characters of lowercase ASCII letters, digits, `-` and `_`.
pub fn name_is_valid(name: &str) -> bool {
    (2..=100).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// CKAN's rule for tags, with Japanese allowed: 1–100 characters, letters and digits of any
/// script, spaces, `-`, `_` and `.`.
pub fn tag_is_valid(tag: &str) -> bool {
    let count = tag.chars().count();
    (1..=100).contains(&count)
        && tag
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | 'ー' | '・'))
}

fn problem(field: &'static str, ja: String, en: String) -> Problem {
    (field, Localized::new(ja, en))
}

impl DatasetInput {
    /// Checks and tidies the dataset: the licence defaults to CC BY 4.0, tags and groups are
    /// de-duplicated; `departments` are the city's department codes, `groups` the catalog's.
    pub fn check(mut self, departments: &[String], groups: &[Group]) -> Result<Self, Vec<Problem>> {
        let mut problems = Vec::new();
        self.name = self.name.trim().to_string();
        self.title_ja = clean_text(self.title_ja.trim());
        self.title_en = clean_text(self.title_en.trim());
        self.notes_ja = clean_text(self.notes_ja.trim());
        self.notes_en = clean_text(self.notes_en.trim());
        if !name_is_valid(&self.name) {
            problems.push(problem(
                "name",
                "名前（URL）は2〜100文字の半角英小文字・数字・「-」「_」です".into(),
                "name must be 2 to 100 lowercase letters, digits, '-' or '_'".into(),
            ));
        }
        if self.title_ja.is_empty() {
            problems.push(problem(
                "title",
                "タイトルを入力してください".into(),
                "give a title".into(),
            ));
        }
        for (field, text, max) in [
            ("title", &self.title_ja, 200),
            ("notes", &self.notes_ja, 20_000),
        ] {
            if text.chars().count() > max {
                problems.push(problem(
                    field,
                    format!("{max}文字までです"),
                    format!("at most {max} characters"),
                ));
            }
        }
        if !departments.contains(&self.organization) {
            problems.push(problem(
                "owner_org",
                format!("組織「{}」はありません", self.organization),
                format!("no organization '{}'", self.organization),
            ));
        }
        if self.license_id.is_empty() {
            self.license_id = DEFAULT_LICENSE.into();
        }
        self.license_id = canonical_license(&self.license_id).to_string();
        if license(&self.license_id).is_none() {
            let known: Vec<&str> = LICENSES.iter().map(|l| l.id).collect();
            problems.push(problem(
                "license_id",
                format!(
                    "ライセンス「{}」は選べません（{}）",
                    self.license_id,
                    known.join(", ")
                ),
                format!(
                    "unknown license '{}' (use {})",
                    self.license_id,
                    known.join(", ")
                ),
            ));
        }
        self.tags = dedup(
            self.tags
                .iter()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty()),
        );
        if let Some(bad) = self.tags.iter().find(|t| !tag_is_valid(t)) {
            problems.push(problem(
                "tags",
                format!("タグ「{bad}」に使えない文字があります（100文字まで、記号は - _ . のみ）"),
                format!("tag '{bad}' must be 1 to 100 letters, digits, spaces, '-', '_' or '.'"),
            ));
        }
        self.groups = dedup(
            self.groups
                .iter()
                .map(|g| g.trim().to_string())
                .filter(|g| !g.is_empty()),
        );
        if let Some(bad) = self
            .groups
            .iter()
            .find(|g| !groups.iter().any(|k| k.name == **g))
        {
            problems.push(problem(
                "groups",
                format!("グループ「{bad}」は推奨データセットの分類にありません"),
                format!("group '{bad}' is not a category of the recommended dataset list"),
            ));
        }
        for (field, date) in [
            ("temporal_start", &self.temporal_start),
            ("temporal_end", &self.temporal_end),
        ] {
            if !date.is_empty() && crate::wareki::parse_date(date).is_err() {
                problems.push(problem(
                    field,
                    format!("日付「{date}」を読めません"),
                    format!("cannot read the date '{date}'"),
                ));
            }
        }
        problems_or_ok(problems)?;
        Ok(self)
    }
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// A resource's format from its file name or media type, as CKAN clients expect (`CSV`).
pub fn format_of(file_name: &str, media_type: &str) -> String {
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase());
    match (extension.as_deref(), media_type) {
        (Some("csv"), _) | (_, "text/csv") => "CSV",
        (Some("xlsx"), _) => "XLSX",
        (Some("geojson"), _) | (_, "application/geo+json") => "GeoJSON",
        (Some("json"), _) | (_, "application/json") => "JSON",
        (Some("pdf"), _) | (_, "application/pdf") => "PDF",
        _ => "",
    }
    .to_string()
}

/// Stars of the 5-star open data scheme a resource earns: ★ an open licence, ★★ structured
/// data (a spreadsheet), ★★★ in an open format (CSV, JSON, GeoJSON). Four and five stars need
/// URIs and links to other data, which plain files do not have. No open licence, no star.
pub fn openness_stars(format: &str, license_id: &str) -> u8 {
    if !license(license_id).is_some_and(|l| l.open) {
        return 0;
    }
    match format {
        "CSV" | "JSON" | "GeoJSON" => 3,
        "XLSX" => 2,
        _ => 1,
    }
}

/// Coverage of the national recommended dataset list: the categories that have at least one
/// published dataset, out of all of them.
pub fn coverage(groups: &[Group], published: &[String]) -> (usize, usize) {
    let covered = groups
        .iter()
        .filter(|g| published.contains(&g.name))
        .count();
    (covered, groups.len())
}

//! 町字 (the city's towns and their 丁目): the one vocabulary of areas. Notices and
//! subscriptions name areas from it, and an area reaches the areas nested in it and those it
//! lies in: an evacuation order for 中央町 reaches a resident who chose 中央町1丁目, and one
//! for 中央町1丁目 a resident who chose all of 中央町.
//!
//! A city brings its list as the アドレス・ベース・レジストリ 町字マスター (デジタル庁; English or
//! Japanese column names, UTF-8 or Shift_JIS) or as a plain CSV of 町 and 丁目 columns.

use serde::{Deserialize, Serialize};

/// One 町 or 丁目 of the city.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Area {
    /// 町字ID (7 digits in the 町字マスター: the 町's 4, then the 丁目's 3), or the city's own.
    pub code: String,
    /// 「中央町」「中央町1丁目」, as [`canonical_area`] writes it.
    pub name: String,
    /// The 町 a 丁目 lies in; none for a 町.
    pub parent: Option<String>,
    /// Reading in katakana, when the list gives it.
    #[serde(default)]
    pub kana: String,
}

/// An area name as machi keeps and compares it: width folded, spaces dropped, and a 丁目's
/// number in digits (「中央町一丁目」「中央町１丁目」 → 「中央町1丁目」).
pub fn canonical_area(name: &str) -> String {
    let folded: String = crate::text::fold_width(&crate::text::clean_text(name))
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let Some(at) = folded.find("丁目") else {
        return folded;
    };
    let (before, after) = folded.split_at(at);
    let numeral_start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| kanji_digit(*c).is_some() || *c == '十')
        .last()
        .map(|(i, _)| i);
    match numeral_start.and_then(|start| kanji_number(&before[start..]).map(|n| (start, n))) {
        Some((start, number)) => format!("{}{number}{after}", &before[..start]),
        None => folded,
    }
}

fn kanji_digit(c: char) -> Option<u32> {
    "〇一二三四五六七八九"
        .chars()
        .position(|d| d == c)
        .map(|p| p as u32)
}

/// 「十二」→ 12, 「二十」→ 20, 「三」→ 3 (丁目 stay below 100).
fn kanji_number(text: &str) -> Option<u32> {
    match text.split_once('十') {
        None => text
            .chars()
            .try_fold(0, |n, c| kanji_digit(c).map(|d| n * 10 + d)),
        Some((tens, ones)) => {
            let tens = if tens.is_empty() {
                1
            } else {
                kanji_number(tens)?
            };
            let ones = if ones.is_empty() {
                0
            } else {
                kanji_number(ones)?
            };
            Some(tens * 10 + ones)
        }
    }
}

/// Whether `code` is a 地方公共団体コード: five digits and the check digit 総務省 defines
/// (weights 6, 5, 4, 3, 2; eleven minus the remainder by 11, its last digit).
pub fn is_city_code(code: &str) -> bool {
    let digits: Vec<u32> = code.chars().filter_map(|c| c.to_digit(10)).collect();
    if code.len() != 6 || digits.len() != 6 {
        return false;
    }
    let sum: u32 = digits[..5]
        .iter()
        .zip([6, 5, 4, 3, 2])
        .map(|(d, w)| d * w)
        .sum();
    let check = match sum % 11 {
        0 => 0,
        remainder => (11 - remainder) % 10,
    };
    digits[5] == check
}

/// Column names each field is read from (the 町字マスター's English and Japanese headers, and a
/// plain list's).
const CODE: &[&str] = &["machiaza_id", "町字id", "町字ID", "code", "町字コード"];
const TOWN: &[&str] = &["oaza_cho", "大字・町名", "町名", "町", "town"];
const TOWN_KANA: &[&str] = &["oaza_cho_kana", "大字・町名_カナ", "町名カナ"];
const CHOME: &[&str] = &["chome", "丁目名", "丁目", "chome_name"];
const CHOME_NUMBER: &[&str] = &["chome_number", "丁目名_数字"];
const CHOME_KANA: &[&str] = &["chome_kana", "丁目名_カナ"];
/// Problems listed before the reader gives up.
const MAX_PROBLEMS: usize = 20;
/// Most areas one city may list (the largest cities have some 10,000 町字).
pub const MAX_AREAS: usize = 50_000;

/// Reads a 町字 list: every 町, and every 丁目 under its 町 (a 町 the list names only through
/// its 丁目 is added). All or nothing: bad lines are reported by number.
pub fn parse_area_list(bytes: &[u8]) -> Result<Vec<Area>, Vec<String>> {
    let (headers, mut reader) = crate::text::csv_with_headers(bytes)?;
    let column = |names: &[&str]| headers.iter().position(|h| names.contains(&h.trim()));
    let Some(town_column) = column(TOWN) else {
        return Err(vec![format!(
            "line 1: no column for the 町 (one of: {})",
            TOWN.join(", ")
        )]);
    };
    let columns = Columns {
        code: column(CODE),
        town: town_column,
        town_kana: column(TOWN_KANA),
        chome: column(CHOME),
        chome_number: column(CHOME_NUMBER),
        chome_kana: column(CHOME_KANA),
    };
    let mut list = AreaList::default();
    let mut problems = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let line = index + 2;
        if problems.len() >= MAX_PROBLEMS {
            break;
        }
        match record {
            Ok(record) => {
                if let Err(problem) = list.add(&columns, &record) {
                    problems.push(format!("line {line}: {problem}"));
                }
            }
            Err(error) => problems.push(format!("line {line}: {error}")),
        }
        if list.areas.len() > MAX_AREAS {
            problems.push(format!("more than {MAX_AREAS} areas"));
            break;
        }
    }
    if list.areas.is_empty() && problems.is_empty() {
        problems.push("the list names no area".into());
    }
    if problems.is_empty() {
        Ok(list.areas)
    } else {
        Err(problems)
    }
}

struct Columns {
    code: Option<usize>,
    town: usize,
    town_kana: Option<usize>,
    chome: Option<usize>,
    chome_number: Option<usize>,
    chome_kana: Option<usize>,
}

#[derive(Default)]
struct AreaList {
    areas: Vec<Area>,
}

impl AreaList {
    fn add(&mut self, columns: &Columns, record: &csv::StringRecord) -> Result<(), String> {
        let get = |at: Option<usize>| {
            at.and_then(|i| record.get(i))
                .map(|v| crate::text::clean_text(v).trim().to_string())
                .unwrap_or_default()
        };
        let town = canonical_area(&get(Some(columns.town)));
        if town.is_empty() {
            return Err("the 町 is empty".into());
        }
        let code = get(columns.code);
        let chome = match get(columns.chome_number).parse::<u32>() {
            Ok(number) if number > 0 => format!("{number}丁目"),
            _ => get(columns.chome),
        };
        if chome.is_empty() {
            return self.town(&town, &code, &get(columns.town_kana));
        }
        let town_code = code.get(..4).map(|c| format!("{c}000")).unwrap_or_default();
        if !self.areas.iter().any(|a| a.name == town) {
            self.town(&town, &town_code, &get(columns.town_kana))?;
        }
        let name = canonical_area(&format!("{town}{chome}"));
        if self.areas.iter().any(|a| a.name == name) {
            return Err(format!("「{name}」 is listed twice"));
        }
        self.areas.push(Area {
            code,
            name,
            parent: Some(town),
            kana: format!("{}{}", get(columns.town_kana), get(columns.chome_kana)),
        });
        Ok(())
    }

    /// A 町; listed again (its own row after its 丁目) it only gains its code and reading.
    fn town(&mut self, name: &str, code: &str, kana: &str) -> Result<(), String> {
        if let Some(known) = self.areas.iter_mut().find(|a| a.name == name) {
            if known.parent.is_some() {
                return Err(format!("「{name}」 is listed twice"));
            }
            if !code.is_empty() {
                known.code = code.to_string();
            }
            if known.kana.is_empty() {
                known.kana = kana.to_string();
            }
            return Ok(());
        }
        self.areas.push(Area {
            code: code.to_string(),
            name: name.to_string(),
            parent: None,
            kana: kana.to_string(),
        });
        Ok(())
    }
}

/// The areas that reach or are reached by `names`: each, the 町 it lies in, and the 丁目 in it.
pub fn family(areas: &[Area], names: &[String]) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !found.iter().any(|f| f == name) {
            found.push(name.to_string());
        }
    };
    for name in names {
        add(name);
        if let Some(parent) = areas
            .iter()
            .find(|a| &a.name == name)
            .and_then(|a| a.parent.as_deref())
        {
            add(parent);
        }
        for child in areas.iter().filter(|a| a.parent.as_ref() == Some(name)) {
            add(&child.name);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn city_codes_carry_their_check_digit() {
        assert!(is_city_code("272230"), "門真市");
        assert!(is_city_code("271004"), "大阪市");
        assert!(is_city_code("279994"), "the demo city");
        assert!(!is_city_code("272231"));
        assert!(!is_city_code("27223"));
        assert!(!is_city_code("２７２２３０"));
    }

    #[test]
    fn names_are_compared_with_digits_and_without_spaces() {
        assert_eq!(canonical_area("中央町一丁目"), "中央町1丁目");
        assert_eq!(canonical_area("中央町 １丁目"), "中央町1丁目");
        assert_eq!(canonical_area("本町十二丁目"), "本町12丁目");
        assert_eq!(canonical_area("本町二十丁目"), "本町20丁目");
        assert_eq!(canonical_area("緑が丘"), "緑が丘");
        assert_eq!(canonical_area("丁目"), "丁目");
    }

    #[test]
    fn the_address_base_registry_list_nests_chome_in_their_town() {
        let csv = "lg_code,machiaza_id,machiaza_type,pref,city,oaza_cho,oaza_cho_kana,chome,chome_kana,chome_number\n\
                   279994,0001001,2,大阪府,デモ市,中央町,チュウオウチョウ,一丁目,1チョウメ,1\n\
                   279994,0001002,2,大阪府,デモ市,中央町,チュウオウチョウ,二丁目,2チョウメ,2\n\
                   279994,0002000,1,大阪府,デモ市,緑が丘,ミドリガオカ,,,\n";
        let areas = parse_area_list(csv.as_bytes()).unwrap();
        let names: Vec<&str> = areas.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["中央町", "中央町1丁目", "中央町2丁目", "緑が丘"]);
        assert_eq!(
            areas[0].code, "0001000",
            "the 町 takes its 丁目's upper digits"
        );
        assert_eq!(areas[1].parent.as_deref(), Some("中央町"));
        let reached = family(&areas, &["中央町".into()]);
        assert_eq!(reached, ["中央町", "中央町1丁目", "中央町2丁目"]);
        assert_eq!(
            family(&areas, &["中央町2丁目".into()]),
            ["中央町2丁目", "中央町"]
        );
    }

    #[test]
    fn a_plain_list_in_japanese_reads_too_and_bad_lines_are_named() {
        let csv = "町名,丁目\n北町,1丁目\n北町,２丁目\n南町,\n";
        let areas = parse_area_list(csv.as_bytes()).unwrap();
        assert_eq!(areas.len(), 4);
        assert_eq!(areas[2].name, "北町2丁目");
        let problems =
            parse_area_list("町名,丁目\n北町,1丁目\n北町,一丁目\n,3丁目\n".as_bytes()).unwrap_err();
        assert!(
            problems[0].starts_with("line 3") && problems[0].contains("twice"),
            "{problems:?}"
        );
        assert!(problems[1].starts_with("line 4"), "{problems:?}");
        assert!(parse_area_list(b"name\nx\n").unwrap_err()[0].contains("no column"));
    }
}

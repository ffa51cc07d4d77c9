//! 郵便番号 → 住所: the national postcode file as Japan Post publishes it (KEN_ALL.CSV, 15
//! columns, Shift_JIS; or its UTF-8 edition), read into one row per postcode and town.
//!
//! The file has quirks a reader must undo (Japan Post's own notes on the format): a town that
//! is not one town says so in words (「以下に掲載がない場合」, 「…の次に番地がくる場合」,
//! 「…一円」), a town's notes are in full-width brackets (「大通西（１～１９丁目）」), and a
//! long note runs on over several lines of the same postcode until its bracket closes. A
//! resident is given the prefecture, city and town without the notes.

use serde::Serialize;

/// The area one postcode names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostcodeArea {
    /// Seven ASCII digits, without the hyphen.
    pub postcode: String,
    pub prefecture: String,
    pub city: String,
    /// Empty when the postcode stands for the whole city (or the rest of it).
    pub town: String,
}

impl PostcodeArea {
    /// 「大阪府デモ市中央町」: what the address field is filled with.
    pub fn address(&self) -> String {
        format!("{}{}{}", self.prefecture, self.city, self.town)
    }
}

/// The digits of a postcode as a resident types it (「５９０－０９０１」, 590-0901, 〒5900901),
/// if it is one.
pub fn digits(input: &str) -> Option<String> {
    let folded = crate::text::fold_width(input);
    let digits: String = folded.chars().filter(char::is_ascii_digit).collect();
    let rest_is_punctuation = folded
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '-' | 'ー' | '−' | '〒' | ' '));
    (digits.len() == 7 && rest_is_punctuation).then_some(digits)
}

/// Columns of KEN_ALL.CSV that are read (0-based).
const POSTCODE: usize = 2;
const PREFECTURE: usize = 6;
const CITY: usize = 7;
const TOWN: usize = 8;
const COLUMNS: usize = 15;
/// Problems listed before the reader gives up.
const MAX_PROBLEMS: usize = 20;

/// Reads the national postcode file (Shift_JIS or UTF-8). All or nothing: any bad line is
/// reported with its number and nothing is returned.
pub fn parse_ken_all(bytes: &[u8]) -> Result<Vec<PostcodeArea>, Vec<String>> {
    if bytes.starts_with(b"PK\x03\x04") {
        return Err(vec![
            "this is a ZIP archive: unzip it and import the KEN_ALL.CSV inside".into(),
        ]);
    }
    let (text, _) = crate::text::decode_spreadsheet(bytes).map_err(|bad| {
        vec![format!(
            "line {}: not {} (save the file as Shift_JIS or UTF-8)",
            bad.line, bad.tried
        )]
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut areas: Vec<PostcodeArea> = Vec::new();
    let mut problems = Vec::new();
    // A town whose bracketed note has not closed yet, continued by the next lines.
    let mut open: Option<PostcodeArea> = None;
    for (index, record) in reader.records().enumerate() {
        let line = index + 1;
        if problems.len() >= MAX_PROBLEMS {
            break;
        }
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                problems.push(format!("line {line}: {error}"));
                continue;
            }
        };
        if record.len() != COLUMNS {
            problems.push(format!(
                "line {line}: {} columns where KEN_ALL.CSV has {COLUMNS}",
                record.len()
            ));
            continue;
        }
        let postcode = record[POSTCODE].trim();
        if postcode.len() != 7 || !postcode.bytes().all(|b| b.is_ascii_digit()) {
            problems.push(format!(
                "line {line}: postcode '{postcode}' is not seven digits"
            ));
            continue;
        }
        let town = record[TOWN].trim();
        if let Some(mut continued) = open.take() {
            if continued.postcode == postcode {
                continued.town.push_str(town);
                finish(continued, &mut open, &mut areas);
                continue;
            }
            // The note never closed: keep what came before it.
            areas.push(without_notes(continued));
        }
        let area = PostcodeArea {
            postcode: postcode.to_string(),
            prefecture: record[PREFECTURE].trim().to_string(),
            city: record[CITY].trim().to_string(),
            town: town.to_string(),
        };
        if area.prefecture.is_empty() || area.city.is_empty() {
            problems.push(format!("line {line}: the prefecture and city are required"));
            continue;
        }
        finish(area, &mut open, &mut areas);
    }
    if let Some(continued) = open {
        areas.push(without_notes(continued));
    }
    if problems.is_empty() && areas.is_empty() {
        problems.push("the file has no rows".into());
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    areas.dedup();
    Ok(areas)
}

/// Keeps a town whose note is still open for the next line; otherwise adds it without notes.
fn finish(area: PostcodeArea, open: &mut Option<PostcodeArea>, areas: &mut Vec<PostcodeArea>) {
    let opened = area.town.matches('（').count();
    let closed = area.town.matches('）').count();
    if opened > closed {
        *open = Some(area);
    } else {
        areas.push(without_notes(area));
    }
}

/// The town as a resident writes it: notes in brackets dropped, and the words that say the
/// postcode is not one town read as no town.
fn without_notes(area: PostcodeArea) -> PostcodeArea {
    let town = match area.town.find('（') {
        Some(at) => &area.town[..at],
        None => area.town.as_str(),
    };
    let not_a_town = town == "以下に掲載がない場合"
        || town.ends_with("の次に番地がくる場合")
        || (town.ends_with("一円") && town.chars().count() > 2);
    PostcodeArea {
        town: if not_a_town {
            String::new()
        } else {
            town.to_string()
        },
        ..area
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(postcode: &str, town: &str) -> String {
        format!(
            "27146,\"590  \",\"{postcode}\",\"ｵｵｻｶﾌ\",\"ﾃﾞﾓｼ\",\"ﾁｭｳｵｳﾁｮｳ\",\"大阪府\",\"デモ市\",\"{town}\",0,0,0,0,0,0\r\n"
        )
    }

    #[test]
    fn notes_and_words_that_are_not_towns_are_dropped() {
        let text = [
            row("5900000", "以下に掲載がない場合"),
            row("5900901", "中央町"),
            row("5900902", "大通西（１～１９丁目）"),
            row("5900903", "港町（次のビルを除く"),
            row("5900903", "「デモタワー」）"),
            row("5900904", "デモ市の次に番地がくる場合"),
            row("5900905", "山間町一円"),
        ]
        .concat();
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(&text);
        let areas = parse_ken_all(&sjis).unwrap();
        let towns: Vec<(&str, &str)> = areas
            .iter()
            .map(|a| (a.postcode.as_str(), a.town.as_str()))
            .collect();
        assert_eq!(
            towns,
            [
                ("5900000", ""),
                ("5900901", "中央町"),
                ("5900902", "大通西"),
                ("5900903", "港町"),
                ("5900904", ""),
                ("5900905", ""),
            ]
        );
        assert_eq!(areas[1].address(), "大阪府デモ市中央町");
    }

    #[test]
    fn bad_lines_are_named_and_nothing_is_read() {
        let text = [row("5900901", "中央町"), row("590-09", "北町")].concat();
        let problems = parse_ken_all(text.as_bytes()).unwrap_err();
        assert!(problems[0].starts_with("line 2:"), "{problems:?}");
        let short = parse_ken_all("27146,590,5900901\n".as_bytes()).unwrap_err();
        assert!(short[0].contains("3 columns"), "{short:?}");
        assert!(parse_ken_all(b"PK\x03\x04rest").unwrap_err()[0].contains("ZIP"));
        assert!(parse_ken_all(b"").is_err());
    }

    #[test]
    fn residents_type_postcodes_many_ways() {
        for typed in [
            "590-0901",
            "５９０－０９０１",
            "〒590-0901",
            "5900901",
            "590ー0901",
        ] {
            assert_eq!(digits(typed).as_deref(), Some("5900901"), "{typed}");
        }
        for bad in ["590-090", "59009011", "590-0901a", ""] {
            assert_eq!(digits(bad), None, "{bad}");
        }
    }
}

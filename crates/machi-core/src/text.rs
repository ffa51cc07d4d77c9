//! 全角/半角 and kana normalisation at the edges.
//!
//! Residents type on phones, kiosks and old PCs with every input method there is, so the same
//! word arrives as 'ｼﾞﾄﾞｳ', 'ジドウ' or 'じどう', and a phone number as '０６－１２３４'. Everything
//! that is compared or stored goes through one of these functions first.

use encoding_rs::{EncoderResult, SHIFT_JIS};
use unicode_normalization::UnicodeNormalization;

/// 〓 (geta) in CP932: what a character without a Shift_JIS code becomes, as printed forms do.
const GETA: &[u8] = &[0x81, 0xAC];

/// Shift_JIS as Windows writes it (encoding_rs's Shift_JIS is the WHATWG one, i.e. CP932 with
/// its NEC and IBM extensions); a character CP932 lacks becomes 〓 rather than an HTML escape.
/// For the CSV files older 基幹 software and Excel read.
pub fn to_cp932(text: &str) -> Vec<u8> {
    let mut encoder = SHIFT_JIS.new_encoder();
    let mut out = Vec::with_capacity(text.len());
    let mut buffer = [0u8; 8192];
    let mut rest = text;
    loop {
        let (result, read, written) =
            encoder.encode_from_utf8_without_replacement(rest, &mut buffer, true);
        out.extend_from_slice(&buffer[..written]);
        rest = &rest[read..];
        match result {
            EncoderResult::InputEmpty => return out,
            EncoderResult::OutputFull => {}
            EncoderResult::Unmappable(_) => out.extend_from_slice(GETA),
        }
    }
}

/// How a spreadsheet file was (or is to be) encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    /// Shift_JIS as Windows writes it (encoding_rs's Shift_JIS is the WHATWG one, i.e. CP932).
    Cp932,
}

impl Encoding {
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Utf8 => "utf-8",
            Encoding::Cp932 => "cp932",
        }
    }
}

/// Bytes that are neither UTF-8 nor CP932: the first line they are on, and what was tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Undecodable {
    pub line: u64,
    pub tried: &'static str,
}

/// A spreadsheet saved as CSV (UTF-8 or Shift_JIS, see [`decode_spreadsheet`]), with its
/// header row read and a reader of the rows after it; the errors name the line.
pub fn csv_with_headers(
    bytes: &[u8],
) -> Result<(csv::StringRecord, csv::Reader<std::io::Cursor<String>>), Vec<String>> {
    let (text, _) = decode_spreadsheet(bytes).map_err(|bad| {
        vec![format!(
            "line {}: not {} (save the file as UTF-8 or Shift_JIS)",
            bad.line, bad.tried
        )]
    })?;
    let text = text.trim_start_matches('\u{feff}').to_string();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(std::io::Cursor::new(text));
    let headers = reader
        .headers()
        .map_err(|e| vec![format!("line 1: {e}")])?
        .clone();
    Ok((headers, reader))
}

/// Reads a file as Japanese spreadsheets are saved: UTF-8 (a BOM is dropped), else CP932.
/// Bytes valid in neither are refused with their line, never silently replaced.
pub fn decode_spreadsheet(bytes: &[u8]) -> Result<(String, Encoding), Undecodable> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return match std::str::from_utf8(rest) {
            Ok(text) => Ok((text.to_string(), Encoding::Utf8)),
            Err(error) => Err(Undecodable {
                line: line_of(rest, error.valid_up_to()),
                tried: "UTF-8",
            }),
        };
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok((text.to_string(), Encoding::Utf8));
    }
    if let Some(text) = SHIFT_JIS.decode_without_bom_handling_and_without_replacement(bytes) {
        return Ok((text.into_owned(), Encoding::Cp932));
    }
    // 0x0A is never the second byte of a Shift_JIS character, so lines can be tried alone.
    let bad = bytes
        .split(|b| *b == b'\n')
        .position(|line| {
            SHIFT_JIS
                .decode_without_bom_handling_and_without_replacement(line)
                .is_none()
        })
        .unwrap_or(0);
    Err(Undecodable {
        line: bad as u64 + 1,
        tried: "UTF-8 / Shift_JIS (CP932)",
    })
}

/// The line a CSV record starts on, from the reader's byte offset, which can sit on the line
/// break before the record (it stops after `\r` of a CRLF), so breaks there are skipped.
pub fn record_line(text: &str, byte: u64) -> u64 {
    let bytes = text.as_bytes();
    let mut at = usize::try_from(byte)
        .unwrap_or(bytes.len())
        .min(bytes.len());
    while bytes.get(at).is_some_and(|b| matches!(b, b'\r' | b'\n')) {
        at += 1;
    }
    line_of(bytes, at)
}

/// [`record_line`] for the records of one text in order, counting each line break once:
/// counting from the start for every record made reading a file quadratic (two minutes for
/// 20,000 rows).
pub struct RecordLines<'a> {
    bytes: &'a [u8],
    at: usize,
    line: u64,
}

impl<'a> RecordLines<'a> {
    pub fn new(text: &'a str) -> Self {
        Self {
            bytes: text.as_bytes(),
            at: 0,
            line: 1,
        }
    }

    /// The line the record at `byte` starts on; offsets must not decrease.
    pub fn line(&mut self, byte: u64) -> u64 {
        let mut target = usize::try_from(byte)
            .unwrap_or(self.bytes.len())
            .min(self.bytes.len());
        while self
            .bytes
            .get(target)
            .is_some_and(|b| matches!(b, b'\r' | b'\n'))
        {
            target += 1;
        }
        if target < self.at {
            return line_of(self.bytes, target);
        }
        self.line += self.bytes[self.at..target]
            .iter()
            .filter(|b| **b == b'\n')
            .count() as u64;
        self.at = target;
        self.line
    }
}

/// The 1-based line of a byte offset.
pub fn line_of(bytes: &[u8], offset: usize) -> u64 {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u64
        + 1
}

/// UTF-8 with a byte order mark, so that Excel detects the encoding of a CSV file.
pub fn with_bom(text: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(text.len() + 3);
    bytes.extend_from_slice(b"\xEF\xBB\xBF");
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

/// A cell of a CSV that staff open in Excel, made inert: a cell that starts with `=`, `+`,
/// `-`, `@`, a tab or a carriage return (also their full-width forms, which Excel folds) is a
/// formula to a spreadsheet, so it gets a leading `'` (OWASP's advice on CSV injection). Plain
/// numbers (`-120`, `+81`, `1.5`) and codes with leading zeros (`0123456`) are written as they
/// are; [`from_spreadsheet_cell`] reads the escape back.
pub fn spreadsheet_cell(cell: &str) -> String {
    if starts_like_a_formula(cell) && !is_plain_number(cell) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

/// A cell as written by [`spreadsheet_cell`], as it was before.
pub fn from_spreadsheet_cell(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if starts_like_a_formula(rest) => rest,
        _ => cell,
    }
}

fn starts_like_a_formula(cell: &str) -> bool {
    // NFKC folds ＝ ＋ － ＠ to their ASCII forms; U+2212 MINUS SIGN it keeps.
    cell.chars().next().is_some_and(|first| {
        matches!(first, '\t' | '\r' | '−')
            || fold_width(&first.to_string()).starts_with(['=', '+', '-', '@'])
    })
}

fn is_plain_number(cell: &str) -> bool {
    let body = cell.strip_prefix(['-', '+']).unwrap_or(cell);
    !body.is_empty()
        && body.chars().all(|c| c.is_ascii_digit() || c == '.')
        && body.matches('.').count() <= 1
        && !body.starts_with('.')
        && !body.ends_with('.')
}

/// Folds width and compatibility forms (NFKC): 全角 ASCII → 半角, 半角カナ → 全角カナ.
pub fn fold_width(input: &str) -> String {
    input.nfkc().collect()
}

/// Maps hiragana to katakana; other characters pass through.
///
/// Written by hand because it is a fixed offset between two Unicode blocks (U+3041..U+3096 and
/// U+30A1..U+30F6) and no crate is needed for that.
pub fn hiragana_to_katakana(input: &str) -> String {
    input
        .chars()
        .map(|c| match c {
            '\u{3041}'..='\u{3096}' | '\u{309D}'..='\u{309E}' => {
                char::from_u32(c as u32 + 0x60).unwrap_or(c)
            }
            _ => c,
        })
        .collect()
}

/// Maps katakana to hiragana (the inverse of [`hiragana_to_katakana`]); ヷ–ヺ, which have no
/// hiragana, and other characters pass through.
pub fn katakana_to_hiragana(input: &str) -> String {
    input
        .chars()
        .map(|c| match c {
            '\u{30A1}'..='\u{30F6}' | '\u{30FD}'..='\u{30FE}' => {
                char::from_u32(c as u32 - 0x60).unwrap_or(c)
            }
            _ => c,
        })
        .collect()
}

/// Width-folded katakana. Composed again after the hiragana shift, because a sound mark that
/// has no precomposed hiragana (わ + ゛) does have one in katakana (ヷ).
pub fn to_katakana(input: &str) -> String {
    fold_width(&hiragana_to_katakana(&fold_width(input)))
}

/// The key used for catalog search: width-folded, katakana, lower-case, without spaces.
///
/// 'じどうてあて', 'ｼﾞﾄﾞｳﾃｱﾃ' and 'ジドウ テアテ' all give 'ジドウテアテ'.
pub fn search_key(input: &str) -> String {
    to_katakana(input)
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '・' | '･'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Normalises a kana (フリガナ) answer: any mix of hiragana, katakana and half-width kana becomes
/// full-width katakana; spaces become one full-width space.
pub fn to_katakana_field(input: &str) -> String {
    to_katakana(input)
        .split(|c: char| c.is_whitespace())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("\u{3000}")
}

/// Folds a string of digits typed in any width, with any dash-like character, into ASCII digits
/// and '-' (phone numbers and postcodes arrive as '０６ー１２３４－５６７８').
pub fn fold_digits_and_dashes(input: &str) -> String {
    fold_width(input)
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '‐' | '‑' | '‒' | '–' | '—' | '―' | 'ー' | '−' | '－' | 'ｰ' | '─' => {
                '-'
            }
            other => other,
        })
        .collect()
}

/// Whether `input` has control characters (NUL and the like), which no answer needs and some
/// databases refuse; line breaks and tabs count only when `allow_line_breaks` is false.
pub fn has_control_chars(input: &str, allow_line_breaks: bool) -> bool {
    input
        .chars()
        .any(|c| c.is_control() && !(allow_line_breaks && matches!(c, '\n' | '\r' | '\t')))
}

/// Removes control characters (for search words and other free input that is not stored).
pub fn strip_control_chars(input: &str) -> String {
    input.chars().filter(|c| !c.is_control()).collect()
}

/// Trims and folds the width of free text, keeping Japanese characters (and IVS) as given.
pub fn clean_text(input: &str) -> String {
    // NFKC would also fold some kanji variants, so only ASCII-range full-width forms and
    // half-width kana are folded here; names keep their exact characters.
    input
        .trim()
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .collect::<String>()
        .replace('\u{3000}', " ")
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_lines_counted_in_order_match_record_line() {
        let text = "a,b\r\n1,\"two\r\nlines\"\r\n\r\n3,x\r\n";
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        let mut lines = RecordLines::new(text);
        let found: Vec<(u64, u64)> = reader
            .records()
            .map(|r| r.unwrap().position().unwrap().byte())
            .map(|byte| (lines.line(byte), record_line(text, byte)))
            .collect();
        assert_eq!(found, [(1, 1), (2, 2), (5, 5)]);
    }

    #[test]
    fn cp932_keeps_ibm_and_nec_characters_and_marks_the_rest() {
        let bytes = to_cp932("髙橋①,山﨑\r\n😀");
        let (decoded, _, errors) = SHIFT_JIS.decode(&bytes);
        assert!(!errors);
        assert_eq!(decoded, "髙橋①,山﨑\r\n〓");
    }

    #[test]
    fn utf8_exports_start_with_a_bom() {
        assert_eq!(&with_bom("受付")[..3], b"\xEF\xBB\xBF");
    }

    #[test]
    fn hiragana_and_half_width_kana_give_the_same_search_key() {
        assert_eq!(search_key("じどうてあて"), search_key("ｼﾞﾄﾞｳﾃｱﾃ"));
        assert_eq!(search_key("じどうてあて"), "ジドウテアテ");
        assert_eq!(search_key("ジドウ テアテ"), "ジドウテアテ");
    }

    #[test]
    fn search_key_folds_full_width_latin_to_lower_ascii() {
        assert_eq!(search_key("ＰＤＦ"), "pdf");
    }

    #[test]
    fn kana_field_accepts_every_kana_form() {
        assert_eq!(to_katakana_field("やまだ たろう"), "ヤマダ\u{3000}タロウ");
        assert_eq!(to_katakana_field("ﾔﾏﾀﾞ  ﾀﾛｳ"), "ヤマダ\u{3000}タロウ");
        assert_eq!(to_katakana_field("ヤマダ　タロウ"), "ヤマダ\u{3000}タロウ");
    }

    #[test]
    fn full_width_digits_and_dashes_become_ascii() {
        assert_eq!(
            fold_digits_and_dashes("０６ー１２３４－５６７８"),
            "06-1234-5678"
        );
        assert_eq!(fold_digits_and_dashes("５６７−０００１"), "567-0001");
    }

    #[test]
    fn control_characters_are_found_and_removed() {
        assert!(has_control_chars("a\u{0}b", true));
        assert!(!has_control_chars("a\nb", true));
        assert!(has_control_chars("a\nb", false));
        assert_eq!(strip_control_chars("じ\u{0}どう"), "じどう");
    }

    #[test]
    fn clean_text_keeps_kanji_and_folds_full_width_ascii() {
        assert_eq!(clean_text("　髙橋　ＡＢＣ１ "), "髙橋 ABC1");
    }

    #[test]
    fn formulas_in_csv_cells_are_made_inert_and_read_back() {
        for formula in [
            "=HYPERLINK(\"http://evil.example\",\"x\")",
            "+cmd|' /C calc'!A0",
            "-2+3",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
            "＝1+1",
            "＋1",
        ] {
            let safe = spreadsheet_cell(formula);
            assert_eq!(safe, format!("'{formula}"), "{formula}");
            assert_eq!(from_spreadsheet_cell(&safe), formula);
        }
        for kept in ["0123456", "-120", "+81", "1.5", "山田", "", "'quoted"] {
            assert_eq!(spreadsheet_cell(kept), kept, "{kept}");
            assert_eq!(from_spreadsheet_cell(kept), kept);
        }
    }
}

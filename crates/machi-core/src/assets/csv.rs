//! The ledger as a CSV file, as 情報政策課 keeps it in Excel: Japanese column names, UTF-8 (with
//! or without a BOM) or Shift_JIS (CP932, what Excel on Windows writes), CRLF line ends.
//!
//! Reading is all or nothing: every row is checked, every problem is reported with its line,
//! column and message, and the file is accepted only when it has none. Columns may come in any
//! order and all but 管理番号, システム名 and 所管課 may be left out.

use std::collections::HashMap;

use super::{Asset, AssetInput, Context, FIELDS};
use crate::procedures::Localized;

/// Column names as written in the header row.
pub const COLUMNS: [&str; 17] = {
    let mut names = [""; 17];
    let mut i = 0;
    while i < FIELDS.len() {
        names[i] = FIELDS[i].1;
        i += 1;
    }
    names
};
/// Columns every file must have.
const REQUIRED: [&str; 3] = ["id", "name", "department"];

pub use crate::text::Encoding;

/// One problem of a file: where (line, and column when it is about one cell) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvProblem {
    /// 1-based line of the file (the header is line 1).
    pub line: u64,
    /// The column's name as in the header, empty when the problem is the whole line.
    pub column: String,
    pub message: Localized,
}

impl CsvProblem {
    fn new(line: u64, column: &str, ja: String, en: String) -> Self {
        Self {
            line,
            column: column.to_string(),
            message: Localized::new(ja, en),
        }
    }
}

/// A file that passed every check.
#[derive(Debug, Clone)]
pub struct CsvFile {
    pub encoding: Encoding,
    /// The systems with the line each came from.
    pub assets: Vec<(u64, Asset)>,
}

/// Reads and checks a whole file.
pub fn parse_csv(bytes: &[u8], context: &Context) -> Result<CsvFile, Vec<CsvProblem>> {
    let (text, encoding) = decode(bytes).map_err(|p| vec![p])?;
    let mut reader = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(header)) => header,
        Some(Err(error)) => return Err(vec![csv_error(&text, &error)]),
        None => return Err(vec![empty_file()]),
    };
    let columns = header_fields(&header)?;
    let mut problems = Vec::new();
    let mut assets = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut lines = crate::text::RecordLines::new(&text);
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                problems.push(csv_error(&text, &error));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| lines.line(p.byte()));
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue; // Excel leaves rows of empty cells after the data.
        }
        match row(&record, &columns, line, context) {
            Ok(asset) => match seen.insert(asset.id.clone(), line) {
                Some(first) => problems.push(CsvProblem::new(
                    line,
                    FIELDS[0].1,
                    format!("管理番号「{}」は{first}行目と重複しています", asset.id),
                    format!("Asset id '{}' is already on line {first}", asset.id),
                )),
                None => assets.push((line, asset)),
            },
            Err(found) => problems.extend(found),
        }
    }
    if problems.is_empty() && assets.is_empty() {
        problems.push(empty_file());
    }
    if problems.is_empty() {
        Ok(CsvFile { encoding, assets })
    } else {
        Err(problems)
    }
}

/// UTF-8 or CP932; bytes that are neither are refused with their line.
fn decode(bytes: &[u8]) -> Result<(String, Encoding), CsvProblem> {
    crate::text::decode_spreadsheet(bytes).map_err(|bad| undecodable(bad.line, bad.tried))
}

fn undecodable(line: u64, tried: &str) -> CsvProblem {
    CsvProblem::new(
        line,
        "",
        format!("{line}行目に読み取れない文字があります（文字コードが {tried} ではありません）。UTF-8 か Shift_JIS で保存し直してください"),
        format!("Line {line} has bytes that are not {tried}; save the file as UTF-8 or Shift_JIS"),
    )
}

fn empty_file() -> CsvProblem {
    CsvProblem::new(
        1,
        "",
        "データの行がありません（1行目は見出し、2行目から1システム1行）".into(),
        "The file has no rows (line 1 is the header, then one system per line)".into(),
    )
}

fn csv_error(text: &str, error: &::csv::Error) -> CsvProblem {
    let line = error
        .position()
        .map_or(0, |p| crate::text::record_line(text, p.byte()));
    CsvProblem::new(
        line,
        "",
        format!("{line}行目をCSVとして読めません: {error}"),
        format!("Line {line} is not valid CSV: {error}"),
    )
}

/// Maps each header cell to its field name; unknown, repeated or missing columns are problems.
fn header_fields(header: &::csv::StringRecord) -> Result<Vec<&'static str>, Vec<CsvProblem>> {
    let mut problems = Vec::new();
    let mut columns = Vec::new();
    for cell in header {
        let key = crate::text::fold_width(cell.trim());
        let field = FIELDS
            .iter()
            .find(|(name, ja, _)| *name == key || crate::text::fold_width(ja) == key);
        match field {
            Some((name, ja, _)) if columns.contains(name) => problems.push(CsvProblem::new(
                1,
                ja,
                format!("列「{ja}」が2つあります"),
                format!("Column '{ja}' appears twice"),
            )),
            Some((name, _, _)) => columns.push(*name),
            None => {
                problems.push(CsvProblem::new(
                    1,
                    cell,
                    format!(
                        "列「{cell}」は台帳の項目にありません（使える列: {}）",
                        COLUMNS.join("、")
                    ),
                    format!("Column '{cell}' is not a ledger field"),
                ));
                columns.push("");
            }
        }
    }
    for required in REQUIRED {
        if !columns.contains(&required) {
            let (_, ja, en) = FIELDS
                .iter()
                .find(|(n, _, _)| *n == required)
                .copied()
                .unwrap_or_default();
            problems.push(CsvProblem::new(
                1,
                ja,
                format!("列「{ja}」がありません"),
                format!("The column '{ja}' ({en}) is missing"),
            ));
        }
    }
    if problems.is_empty() {
        Ok(columns)
    } else {
        Err(problems)
    }
}

fn row(
    record: &::csv::StringRecord,
    columns: &[&'static str],
    line: u64,
    context: &Context,
) -> Result<Asset, Vec<CsvProblem>> {
    if record.len() > columns.len() {
        return Err(vec![CsvProblem::new(
            line,
            "",
            format!(
                "列が見出しより多くあります（{}列、見出しは{}列）",
                record.len(),
                columns.len()
            ),
            format!(
                "The line has {} cells but the header {}",
                record.len(),
                columns.len()
            ),
        )]);
    }
    let mut input = AssetInput::default();
    for (field, cell) in columns.iter().zip(record.iter()) {
        if let Some(slot) = input_field(&mut input, field) {
            *slot = crate::text::from_spreadsheet_cell(cell).to_string();
        }
    }
    input.parse(context).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| {
                let column = FIELDS
                    .iter()
                    .find(|(name, _, _)| *name == e.field)
                    .map_or("", |(_, ja, _)| *ja);
                CsvProblem {
                    line,
                    column: column.to_string(),
                    message: e.message,
                }
            })
            .collect()
    })
}

/// The input's string for a field name.
fn input_field<'a>(input: &'a mut AssetInput, field: &str) -> Option<&'a mut String> {
    Some(match field {
        "id" => &mut input.id,
        "name" => &mut input.name,
        "department" => &mut input.department,
        "purpose" => &mut input.purpose,
        "vendor" => &mut input.vendor,
        "contract_start" => &mut input.contract_start,
        "contract_end" => &mut input.contract_end,
        "yearly_cost" => &mut input.yearly_cost,
        "hosting" => &mut input.hosting,
        "confidentiality" => &mut input.confidentiality,
        "integrity" => &mut input.integrity,
        "availability" => &mut input.availability,
        "personal_data" => &mut input.personal_data,
        "standard_business" => &mut input.standard_business,
        "migration" => &mut input.migration,
        "end_of_life" => &mut input.end_of_life,
        "measures" => &mut input.measures,
        _ => return None,
    })
}

/// Writes the ledger: header and one line per system, CRLF, UTF-8 with a BOM (so Excel reads
/// it) or CP932 (a character CP932 lacks becomes 〓, as printed forms do).
pub fn encode_csv(
    assets: &[Asset],
    departments: &std::collections::BTreeMap<String, String>,
    encoding: Encoding,
) -> Result<Vec<u8>, ::csv::Error> {
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    writer.write_record(COLUMNS)?;
    for asset in assets {
        let mut input = asset.to_input(departments);
        let cells: Vec<String> = FIELDS
            .iter()
            .map(|(field, _, _)| {
                input_field(&mut input, field)
                    .map(|s| s.clone())
                    .unwrap_or_default()
            })
            .collect();
        writer.write_record(cells.iter().map(|c| crate::text::spreadsheet_cell(c)))?;
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(match encoding {
        Encoding::Utf8 => crate::text::with_bom(&text),
        Encoding::Cp932 => crate::text::to_cp932(&text),
    })
}

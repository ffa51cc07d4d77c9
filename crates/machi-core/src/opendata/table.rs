//! A CSV file as a table of text cells, each record with the line it starts on.

use crate::procedures::Localized;
use crate::text::{decode_spreadsheet, Encoding};

/// Most records one file may have (a datastore resource of a city is far below this).
pub const MAX_ROWS: usize = 5_000_000;

/// A CSV file read: its encoding, header and records.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub encoding: Encoding,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// The line each record starts on (the header is line 1).
    pub lines: Vec<u64>,
}

/// Why a file cannot be read as a table, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct TableError {
    pub line: u64,
    pub message: Localized,
}

impl TableError {
    fn new(line: u64, ja: String, en: String) -> Self {
        Self {
            line,
            message: Localized::new(ja, en),
        }
    }
}

impl std::fmt::Display for TableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message.en)
    }
}

/// Reads a CSV file: a header row, then records of as many cells. Rows of empty cells (which
/// Excel leaves after the data) are skipped; cells are kept as written, trimmed of spaces.
pub fn read_csv(bytes: &[u8]) -> Result<Table, TableError> {
    let (text, encoding) = decode_spreadsheet(bytes).map_err(|bad| {
        TableError::new(
            bad.line,
            format!("{}行目に読み取れない文字があります（{} ではありません）。UTF-8 か Shift_JIS で保存し直してください", bad.line, bad.tried),
            format!("line {} has bytes that are not {}; save the file as UTF-8 or Shift_JIS", bad.line, bad.tried),
        )
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let headers: Vec<String> = match records.next() {
        Some(Ok(record)) => record.iter().map(|h| h.trim().to_string()).collect(),
        Some(Err(error)) => return Err(csv_error(&text, &error)),
        None => {
            return Err(TableError::new(
                1,
                "ファイルが空です".into(),
                "the file is empty".into(),
            ))
        }
    };
    check_headers(&headers)?;
    let mut table = Table {
        encoding,
        headers,
        rows: Vec::new(),
        lines: Vec::new(),
    };
    let mut lines = crate::text::RecordLines::new(&text);
    for record in records {
        let record = record.map_err(|e| csv_error(&text, &e))?;
        let line = record.position().map_or(0, |p| lines.line(p.byte()));
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        if record.len() != table.headers.len() {
            return Err(TableError::new(
                line,
                format!(
                    "{line}行目の項目数が{}です（見出しは{}項目）",
                    record.len(),
                    table.headers.len()
                ),
                format!(
                    "line {line} has {} cells; the header has {}",
                    record.len(),
                    table.headers.len()
                ),
            ));
        }
        if table.rows.len() == MAX_ROWS {
            return Err(TableError::new(
                line,
                "行数が多すぎます（500万行まで）".into(),
                "too many rows (5,000,000 at most)".into(),
            ));
        }
        table
            .rows
            .push(record.iter().map(|c| c.trim().to_string()).collect());
        table.lines.push(line);
    }
    Ok(table)
}

fn check_headers(headers: &[String]) -> Result<(), TableError> {
    if let Some(i) = headers.iter().position(String::is_empty) {
        return Err(TableError::new(
            1,
            format!("見出しの{}列目が空です", i + 1),
            format!("column {} of the header is empty", i + 1),
        ));
    }
    for (i, header) in headers.iter().enumerate() {
        if headers[..i].contains(header) {
            return Err(TableError::new(
                1,
                format!("見出し「{header}」が2回あります"),
                format!("the header '{header}' appears twice"),
            ));
        }
    }
    Ok(())
}

fn csv_error(text: &str, error: &csv::Error) -> TableError {
    let line = error
        .position()
        .map_or(0, |p| crate::text::record_line(text, p.byte()));
    TableError::new(
        line,
        format!("{line}行目を CSV として読めません（引用符の閉じ忘れなど）"),
        format!("line {line} is not valid CSV ({error})"),
    )
}

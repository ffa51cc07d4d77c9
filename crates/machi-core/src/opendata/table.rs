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

/// Reads the first sheet of an Excel workbook (XLSX) as a table: its first row is the header.
/// Dates become `YYYY-MM-DD` (times `HH:MM:SS`), whole numbers lose Excel's `.0`, and a cell
/// holding an Excel error (`#N/A` …) is refused with its row and column.
pub fn read_xlsx(bytes: &[u8]) -> Result<Table, TableError> {
    use calamine::{open_workbook_from_rs, Reader, Xlsx};
    let unreadable = |what: String| {
        TableError::new(
            1,
            format!("Excel ファイルとして読めません（{what}）"),
            format!("cannot read the Excel workbook ({what})"),
        )
    };
    let mut workbook: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e: calamine::XlsxError| unreadable(e.to_string()))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or_else(|| unreadable("no sheet".into()))?
        .map_err(|e| unreadable(e.to_string()))?;
    let first_row = range.start().map_or(0, |(row, _)| u64::from(row));
    let mut rows = range.rows().enumerate();
    let headers: Vec<String> = match rows.next() {
        Some((_, cells)) => cells
            .iter()
            .map(|c| cell_text(c).unwrap_or_default().trim().to_string())
            .collect(),
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
        encoding: Encoding::Utf8,
        headers,
        rows: Vec::new(),
        lines: Vec::new(),
    };
    for (i, cells) in rows {
        let line = first_row + i as u64 + 1;
        let mut record = Vec::with_capacity(cells.len());
        for (column, cell) in cells.iter().enumerate() {
            let text = cell_text(cell).ok_or_else(|| {
                let name = table.headers.get(column).cloned().unwrap_or_default();
                TableError::new(
                    line,
                    format!("{line}行目「{name}」のセルがエラー値です"),
                    format!("row {line}, column '{name}' holds an Excel error"),
                )
            })?;
            record.push(text.trim().to_string());
        }
        if record.iter().all(String::is_empty) {
            continue;
        }
        table.rows.push(record);
        table.lines.push(line);
    }
    Ok(table)
}

/// A cell as the text a CSV of the same sheet would hold; `None` for an error value.
fn cell_text(cell: &calamine::Data) -> Option<String> {
    use calamine::Data;
    Some(match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(value) => {
            let moment = value.as_datetime()?;
            if value.is_duration() || moment.date() <= chrono::NaiveDate::from_ymd_opt(1900, 1, 1)?
            {
                moment.format("%H:%M:%S").to_string()
            } else if moment.time() == chrono::NaiveTime::MIN {
                moment.format("%Y-%m-%d").to_string()
            } else {
                moment.format("%Y-%m-%d %H:%M:%S").to_string()
            }
        }
        Data::Error(_) => return None,
    })
}

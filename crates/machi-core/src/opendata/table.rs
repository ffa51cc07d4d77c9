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

/// The most a workbook may hold once unpacked: a 50 MB upload of real data unpacks to a few
/// hundred MB, a zip bomb to gigabytes.
pub const MAX_XLSX_UNPACKED: u64 = 1024 * 1024 * 1024;
/// Columns a sheet may have (the datastore's limit).
pub const MAX_COLUMNS: u32 = 1000;
/// Cells of the table a sheet becomes (rows with data × columns): a million rows of ten.
pub const MAX_CELLS: u64 = 10_000_000;

fn xlsx_refused(ja: String, en: String) -> TableError {
    TableError::new(1, ja, en)
}

/// Refuses a workbook that unpacks to more than [`MAX_XLSX_UNPACKED`], by the sizes its zip
/// directory declares, before anything is unpacked.
fn check_unpacked_size(bytes: &[u8]) -> Result<(), TableError> {
    let unreadable = |e: zip::result::ZipError| {
        xlsx_refused(
            format!("Excel ファイルとして読めません（{e}）"),
            format!("cannot read the Excel workbook ({e})"),
        )
    };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(unreadable)?;
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        total = total.saturating_add(archive.by_index_raw(i).map_err(unreadable)?.size());
    }
    if total > MAX_XLSX_UNPACKED {
        return Err(xlsx_refused(
            format!(
                "Excel ファイルを展開すると {} MB になり、上限の {} MB を超えます",
                total / 1_048_576,
                MAX_XLSX_UNPACKED / 1_048_576
            ),
            format!(
                "the workbook unpacks to {} MB, over the limit of {} MB",
                total / 1_048_576,
                MAX_XLSX_UNPACKED / 1_048_576
            ),
        ));
    }
    Ok(())
}

/// Refuses a sheet of more than [`MAX_COLUMNS`] columns or [`MAX_CELLS`] cells, naming its
/// extent (`A1:XFD1048576`).
fn check_extent(columns: u64, rows: u64) -> Result<(), TableError> {
    if columns > u64::from(MAX_COLUMNS) || columns.saturating_mul(rows) > MAX_CELLS {
        return Err(xlsx_refused(
            format!(
                "シートが大きすぎます（{rows}行×{columns}列）。{MAX_COLUMNS}列まで、行数×列数は{MAX_CELLS}までです。使っていない遠くのセルに値や書式がないか確かめてください"
            ),
            format!(
                "the sheet is too large ({rows} rows × {columns} columns); at most {MAX_COLUMNS} columns and {MAX_CELLS} cells. Check for a stray value far from the data"
            ),
        ));
    }
    Ok(())
}

/// Reads the first sheet of an Excel workbook (XLSX) as a table: its first row is the header.
/// Dates become `YYYY-MM-DD` (times `HH:MM:SS`), whole numbers lose Excel's `.0`, and a cell
/// holding an Excel error (`#N/A` …) is refused with its row and column.
///
/// The sheet is read cell by cell, never as the dense rectangle its corners span: a file of
/// two cells at A1 and XFD1048576 would otherwise reserve gigabytes. Its unpacked size, its
/// declared extent and the extent of the cells really there are checked first.
pub fn read_xlsx(bytes: &[u8]) -> Result<Table, TableError> {
    use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
    let unreadable = |what: String| {
        xlsx_refused(
            format!("Excel ファイルとして読めません（{what}）"),
            format!("cannot read the Excel workbook ({what})"),
        )
    };
    check_unpacked_size(bytes)?;
    let mut workbook: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e: calamine::XlsxError| unreadable(e.to_string()))?;
    let sheet = workbook
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| unreadable("no sheet".into()))?;
    let mut reader = workbook
        .worksheet_cells_reader(&sheet)
        .map_err(|e| unreadable(e.to_string()))?;
    let declared = reader.dimensions();
    check_extent(
        u64::from(declared.end.1.saturating_sub(declared.start.1)) + 1,
        u64::from(declared.end.0.saturating_sub(declared.start.0)) + 1,
    )?;
    // Rows by their number, each with its cells; only cells with a value are kept.
    let mut rows: std::collections::BTreeMap<u32, Vec<(u32, Data)>> = Default::default();
    let (mut first_column, mut last_column) = (u32::MAX, 0);
    while let Some(cell) = reader.next_cell().map_err(|e| unreadable(e.to_string()))? {
        let (row, column) = cell.get_position();
        let value = Data::from(cell.get_value().clone());
        if value == Data::Empty {
            continue;
        }
        first_column = first_column.min(column);
        last_column = last_column.max(column);
        let width = u64::from(last_column - first_column) + 1;
        check_extent(width, rows.len() as u64 + 1)?;
        rows.entry(row).or_default().push((column, value));
    }
    let mut rows = rows.into_iter();
    let Some((_, header_cells)) = rows.next() else {
        return Err(TableError::new(
            1,
            "ファイルが空です".into(),
            "the file is empty".into(),
        ));
    };
    let width = (last_column - first_column) as usize + 1;
    let dense = |cells: Vec<(u32, Data)>| {
        let mut record = vec![Data::Empty; width];
        for (column, value) in cells {
            record[(column - first_column) as usize] = value;
        }
        record
    };
    let headers: Vec<String> = dense(header_cells)
        .iter()
        .map(|c| cell_text(c).unwrap_or_default().trim().to_string())
        .collect();
    check_headers(&headers)?;
    let mut table = Table {
        encoding: Encoding::Utf8,
        headers,
        rows: Vec::new(),
        lines: Vec::new(),
    };
    for (row, cells) in rows {
        let line = u64::from(row) + 1;
        let mut record = Vec::with_capacity(width);
        for (column, cell) in dense(cells).iter().enumerate() {
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

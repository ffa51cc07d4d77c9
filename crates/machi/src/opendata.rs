//! `machi opendata check FILE`: checks a CSV against a standard dataset (自治体標準オープン
//! データセット or 推奨データセット) and prints every finding with its line and column, the way
//! staff fix a file in Excel. Exits non-zero when the file has errors.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use machi_core::opendata::standard::{check, column_types, Definitions, Severity};
use machi_core::opendata::table::read_csv;

#[derive(Args)]
pub struct CheckArgs {
    /// The CSV file (UTF-8 with or without BOM, or Shift_JIS / CP932).
    file: PathBuf,
    /// The dataset it follows (e.g. `aed_legacy`, `evacuation_space`); recognised from the
    /// header when not given.
    #[arg(long)]
    dataset: Option<String>,
    /// A newer definitions file in the format of crates/machi-core/data/standard-datasets.json.
    #[arg(long)]
    definitions: Option<PathBuf>,
}

fn definitions(path: Option<&Path>) -> anyhow::Result<Definitions> {
    let definitions = match path {
        Some(path) => {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            Definitions::from_json(&bytes)
        }
        None => Definitions::bundled(),
    };
    definitions.map_err(anyhow::Error::msg)
}

pub fn run(args: &CheckArgs) -> anyhow::Result<()> {
    let name = args.file.display().to_string();
    let bytes = std::fs::read(&args.file).with_context(|| format!("cannot read {name}"))?;
    let table = read_csv(&bytes).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    let definitions = definitions(args.definitions.as_deref())?;
    let dataset = match &args.dataset {
        Some(id) => definitions.dataset(id).with_context(|| {
            let known: Vec<&str> = definitions.datasets.iter().map(|d| d.id.as_str()).collect();
            format!("no dataset '{id}'; known: {}", known.join(", "))
        })?,
        None => definitions.recognise(&table).with_context(|| {
            format!("{name}: its header matches no standard dataset; name one with --dataset")
        })?,
    };
    let report = check(dataset, &table);
    // Written in one piece, so that a reader that stops early (`| head`) ends nothing badly.
    let mut out = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(
        out,
        "{name}: {} rows ({}), checked against {} {} ({})",
        table.rows.len(),
        table.encoding.as_str(),
        report.dataset,
        report.dataset_name,
        report.edition
    );
    for (header, kind) in table
        .headers
        .iter()
        .zip(column_types(&table, Some(dataset)))
    {
        let _ = writeln!(out, "  column {header}: {}", kind.as_str());
    }
    for finding in &report.findings {
        let severity = match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(
            out,
            "{severity}: line {} {}: {}",
            finding.line, finding.column, finding.message.ja
        );
    }
    let _ = writeln!(
        out,
        "{} error(s), {} warning(s)",
        report.errors(),
        report.warnings()
    );
    let _ = std::io::Write::write_all(&mut std::io::stdout(), out.as_bytes());
    anyhow::ensure!(
        report.errors() == 0,
        "{name} does not follow {}",
        report.dataset
    );
    Ok(())
}

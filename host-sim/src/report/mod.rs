//! Reports: `summary.json`, CSV tables, SVG plots and the console table.

pub mod csv;
pub mod plots;
pub mod table;

use std::fs;
use std::path::Path;

use crate::sim::Summary;

/// Writes every output file into `dir` (created if missing). Returns the paths written.
pub fn write_all(summary: &Summary, dir: &Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let json = serde_json::to_string_pretty(summary).map_err(std::io::Error::other)?;
    let p = dir.join("summary.json");
    fs::write(&p, json + "\n")?;
    written.push(p);
    written.extend(csv::write(summary, dir)?);
    written.extend(plots::write(summary, dir).map_err(|e| std::io::Error::other(e.to_string()))?);
    Ok(written)
}

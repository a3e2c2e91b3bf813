//! CSV exports of the console's tables, safe to open in a spreadsheet: a cell that starts with
//! `=`, `+`, `-`, `@` (or a tab or carriage return) is prefixed with `'`, so it is shown as text
//! and never run as a formula (OWASP "CSV injection").

use rocket::http::{ContentType, Header};

/// A CSV file download.
#[derive(rocket::Responder)]
pub struct CsvFile {
    body: (ContentType, Vec<u8>),
    disposition: Header<'static>,
}

/// Neutralise a cell a spreadsheet would read as a formula.
pub fn safe_cell(value: &str) -> String {
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

/// A CSV file called `filename` with a header row and `rows`.
pub fn csv_file(
    filename: &str,
    header: &[&str],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> anyhow::Result<CsvFile> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(header)?;
    for row in rows {
        writer.write_record(row.iter().map(|cell| safe_cell(cell)))?;
    }
    let body = writer
        .into_inner()
        .map_err(|e| anyhow::anyhow!("writing CSV: {e}"))?;
    Ok(CsvFile {
        body: (ContentType::CSV, body),
        disposition: Header::new(
            "Content-Disposition",
            format!("attachment; filename=\"{filename}\""),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::safe_cell;

    #[test]
    fn formula_cells_are_neutralised() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("+1"), "'+1");
        assert_eq!(safe_cell("-2"), "'-2");
        assert_eq!(safe_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_cell("plain"), "plain");
    }
}

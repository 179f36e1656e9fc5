//! The people-screened table (外流贩毒嫌疑人员摸排表、登记表): typed rows, or a CSV/XLSX file in
//! the office's template. It holds personal data of suspects, so it is sealed on its own and
//! only the county brigade opens it (`super::people_table`).

use serde::{Deserialize, Serialize};

/// The office's template: these headers, in this order.
pub const HEADERS: [&str; 6] = [
    "姓名",
    "身份证号",
    "户籍地（村组）",
    "现去向（省市）",
    "摸排情况",
    "备注",
];

pub const MAX_ROWS: usize = 2000;
const MAX_CELL: usize = 500;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub name: String,
    #[serde(default)]
    pub id_number: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub whereabouts: String,
    #[serde(default)]
    pub screening: String,
    #[serde(default)]
    pub remarks: String,
}

impl Person {
    pub fn cells(&self) -> [&str; 6] {
        [
            &self.name,
            &self.id_number,
            &self.address,
            &self.whereabouts,
            &self.screening,
            &self.remarks,
        ]
    }

    fn from_cells(cells: &[String]) -> Person {
        let get = |i: usize| {
            cells
                .get(i)
                .map(|s| s.trim().to_string())
                .unwrap_or_default()
        };
        Person {
            name: get(0),
            id_number: get(1),
            address: get(2),
            whereabouts: get(3),
            screening: get(4),
            remarks: get(5),
        }
    }

    fn is_blank(&self) -> bool {
        self.cells().iter().all(|c| c.trim().is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("the file is not in the office's template (first row: {})", HEADERS.join(", "))]
    NotTemplate,
    #[error("row {0}: a name is needed")]
    NoName(usize),
    #[error("row {0}: a cell is longer than 500 characters")]
    TooLong(usize),
    #[error("more than 2000 rows")]
    TooMany,
    #[error("the file could not be read as CSV (UTF-8) or XLSX")]
    Unreadable,
}

/// Checks typed or parsed rows: blank rows dropped, each remaining row needs a name.
pub fn check(rows: Vec<Person>) -> Result<Vec<Person>, TableError> {
    let rows: Vec<Person> = rows.into_iter().filter(|p| !p.is_blank()).collect();
    if rows.len() > MAX_ROWS {
        return Err(TableError::TooMany);
    }
    for (i, p) in rows.iter().enumerate() {
        if p.name.trim().is_empty() {
            return Err(TableError::NoName(i + 1));
        }
        if p.cells()
            .iter()
            .any(|c| c.chars().count() > MAX_CELL || c.contains('\0'))
        {
            return Err(TableError::TooLong(i + 1));
        }
    }
    Ok(rows)
}

/// The empty template as CSV (UTF-8 with a byte-order mark, which spreadsheet programs in
/// China expect).
pub fn template_csv() -> String {
    format!("\u{feff}{}\r\n", HEADERS.join(","))
}

/// The empty template as XLSX.
pub fn template_xlsx() -> Result<Vec<u8>, TableError> {
    rows_xlsx(&[])
}

/// Rows as XLSX in the template's layout. Cells are written as strings, never formulas.
pub fn rows_xlsx(rows: &[Person]) -> Result<Vec<u8>, TableError> {
    use rust_xlsxwriter::{Format, Workbook};
    let x = |_| TableError::Unreadable;
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet();
    ws.set_name("摸排登记表").map_err(x)?;
    for (i, h) in HEADERS.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, *h, &bold)
            .map_err(x)?;
        ws.set_column_width(i as u16, 18).map_err(x)?;
    }
    for (r, p) in rows.iter().enumerate() {
        for (i, c) in p.cells().iter().enumerate() {
            ws.write_string(r as u32 + 1, i as u16, *c).map_err(x)?;
        }
    }
    wb.save_to_buffer().map_err(x)
}

/// Rows as CSV with the template's headers, formula-safe.
pub fn rows_csv(rows: &[Person]) -> String {
    use crate::rewards::payouts::cell;
    let mut out = template_csv();
    for p in rows {
        let line: Vec<String> = p.cells().iter().map(|c| cell(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Reads an uploaded table: XLSX (by its zip signature) or UTF-8 CSV. The first row must be
/// the template's headers.
pub fn parse_upload(bytes: &[u8]) -> Result<Vec<Person>, TableError> {
    let grid = if bytes.starts_with(b"PK\x03\x04") {
        xlsx_grid(bytes)?
    } else {
        let text = std::str::from_utf8(bytes).map_err(|_| TableError::Unreadable)?;
        csv_grid(text.trim_start_matches('\u{feff}'))?
    };
    let mut it = grid.into_iter();
    let head = it.next().ok_or(TableError::NotTemplate)?;
    let head: Vec<&str> = head.iter().map(|s| s.trim()).collect();
    if head.len() < HEADERS.len() || head[..HEADERS.len()] != HEADERS {
        return Err(TableError::NotTemplate);
    }
    let rows: Vec<Person> = it.map(|r| Person::from_cells(&r)).collect();
    if rows.len() > MAX_ROWS * 2 {
        return Err(TableError::TooMany);
    }
    check(rows)
}

/// RFC 4180 CSV: quoted cells may hold commas, quotes ("") and line breaks.
pub fn csv_grid(text: &str) -> Result<Vec<Vec<String>>, TableError> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        if quoted {
            match ch {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => quoted = false,
                c => cell.push(c),
            }
            continue;
        }
        match ch {
            '"' if cell.is_empty() => quoted = true,
            ',' => row.push(std::mem::take(&mut cell)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            c => cell.push(c),
        }
        if rows.len() > MAX_ROWS * 2 {
            return Err(TableError::TooMany);
        }
    }
    if quoted {
        return Err(TableError::Unreadable);
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    Ok(rows)
}

/// The first worksheet of an XLSX file as text cells.
fn xlsx_grid(bytes: &[u8]) -> Result<Vec<Vec<String>>, TableError> {
    use calamine::{Reader, Xlsx};
    let mut wb: Xlsx<_> =
        Xlsx::new(std::io::Cursor::new(bytes)).map_err(|_| TableError::Unreadable)?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or(TableError::Unreadable)?
        .map_err(|_| TableError::Unreadable)?;
    if range.height() > MAX_ROWS * 2 + 1 {
        return Err(TableError::TooMany);
    }
    Ok(range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_in_the_template_reads_back() {
        let p = Person {
            name: "=张三".into(),
            id_number: "430421199001011234".into(),
            address: "洪市镇, 一组".into(),
            whereabouts: "广东\"东莞\"".into(),
            ..Person::default()
        };
        let csv = rows_csv(std::slice::from_ref(&p));
        assert!(csv.contains("'=张三"), "formula-safe: {csv}");
        let back = parse_upload(csv.as_bytes()).unwrap();
        assert_eq!(back[0].address, "洪市镇, 一组");
        assert_eq!(back[0].whereabouts, "广东\"东莞\"");
        assert_eq!(back[0].name, "'=张三");
        assert_eq!(
            parse_upload("姓名,电话\r\n张三,1\r\n".as_bytes()),
            Err(TableError::NotTemplate)
        );
        assert_eq!(
            parse_upload(format!("{}\r\n,1,2\r\n", HEADERS.join(",")).as_bytes()),
            Err(TableError::NoName(1))
        );
    }

    #[test]
    fn xlsx_in_the_template_reads_back() {
        let p = Person {
            name: "李四".into(),
            remarks: "=1+1".into(),
            ..Person::default()
        };
        let x = rows_xlsx(std::slice::from_ref(&p)).unwrap();
        let back = parse_upload(&x).unwrap();
        assert_eq!(back, vec![p]);
        assert!(parse_upload(&template_xlsx().unwrap()).unwrap().is_empty());
    }
}

//! Rows of `trailwatch query` as an aligned table, CSV or JSON lines.
//!
//! Every value comes from a log record and is attacker-controlled. Every
//! format escapes control characters and bidirectional overrides the way
//! the text output does ([`trailwatch_core::text`]): the table shows them as
//! `\u{..}` and cuts long values; CSV shows them as `\u{..}` too and keeps
//! the whole value, with a leading `'` on cells a spreadsheet would run as a
//! formula (`=`, `+`, `-`, `@`, after any leading whitespace or line break);
//! JSON lines write them as `\uXXXX` escapes (the same data once parsed).

use std::io::Write;

use clap::ValueEnum;
use trailwatch_core::text::{csv_cell, json_safe, printable};

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    /// Aligned columns, long values cut (readable on a terminal).
    Table,
    /// One JSON object per line: the whole record, or the columns with --columns or a report.
    Jsonl,
    /// Comma-separated values with a header line.
    Csv,
}

enum Out<W: Write> {
    Plain(W),
    Csv(Box<csv::Writer<W>>),
}

/// Writes rows in one format.
pub struct RowWriter<W: Write> {
    out: Out<W>,
    format: QueryFormat,
    header: Vec<String>,
    /// For JSON lines: each column name as a JSON string, with its colon.
    json_keys: Vec<String>,
}

/// The width of a table column, by its name.
fn width(name: &str) -> usize {
    match name {
        "time" | "first_seen" | "last_seen" | "access_key" | "derived_key" | "group_id" => 20,
        "day" | "mfa" | "outcome" | "via" | "read_only" | "record" | "requests" | "events" => 10,
        "account" | "type" => 12,
        "region" | "event_type" | "source" | "dimension" => 16,
        "why" | "value" => 30,
        "ip" => 18,
        "event" => 30,
        "principal" => 40,
        "user" | "user_agent" | "error" | "bucket" => 24,
        "event_id" => 36,
        _ => 36,
    }
}

/// Shortens what only the table shows in full elsewhere: the service
/// suffix of event sources, the `arn:aws:iam::ACCOUNT:` of principals.
fn shorten<'a>(name: &str, value: &'a str) -> &'a str {
    match name {
        "source" => value.strip_suffix(".amazonaws.com").unwrap_or(value),
        "principal" if value.starts_with("arn:aws:iam::") || value.starts_with("arn:aws:sts::") => {
            value.splitn(6, ':').nth(5).unwrap_or(value)
        }
        _ => value,
    }
}

impl<W: Write> RowWriter<W> {
    pub fn new(out: W, format: QueryFormat, header: Vec<String>) -> Self {
        let out = match format {
            QueryFormat::Csv => Out::Csv(Box::new(csv::Writer::from_writer(out))),
            _ => Out::Plain(out),
        };
        let json_keys = header.iter().map(|h| format!("{}:", serde_json::Value::from(h.as_str()))).collect();
        RowWriter { out, format, header, json_keys }
    }

    /// The header line (table and CSV).
    pub fn header(&mut self) -> std::io::Result<()> {
        match &mut self.out {
            Out::Csv(w) => w.write_record(self.header.iter().map(|h| csv_cell(h).into_owned())).map_err(csv_io),
            Out::Plain(w) if self.format == QueryFormat::Table => {
                let names: Vec<String> = self.header.iter().map(|h| h.to_uppercase()).collect();
                let line = table_line(&self.header, names.iter().map(|n| Some(n.as_str())));
                writeln!(w, "{line}")
            }
            Out::Plain(_) => Ok(()),
        }
    }

    /// One row of column values.
    pub fn row(&mut self, values: &[Option<String>]) -> std::io::Result<()> {
        match &mut self.out {
            Out::Csv(w) => {
                w.write_record(values.iter().map(|v| csv_cell(v.as_deref().unwrap_or("")).into_owned())).map_err(csv_io)
            }
            Out::Plain(w) => match self.format {
                QueryFormat::Table => {
                    writeln!(w, "{}", table_line(&self.header, values.iter().map(|v| v.as_deref())))
                }
                _ => {
                    let mut line = String::from("{");
                    for (i, (key, value)) in self.json_keys.iter().zip(values).enumerate() {
                        if i > 0 {
                            line.push(',');
                        }
                        line.push_str(key);
                        line.push_str(&serde_json::Value::from(value.as_deref()).to_string());
                    }
                    line.push('}');
                    writeln!(w, "{}", json_safe(&line))
                }
            },
        }
    }

    /// One whole record as compact JSON, its fields in their order.
    pub fn record(&mut self, json: &str) -> std::io::Result<()> {
        let Out::Plain(w) = &mut self.out else { return Ok(()) };
        let mut de = serde_json::Deserializer::from_str(json);
        let mut compact = Vec::with_capacity(json.len());
        serde_transcode::transcode(&mut de, &mut serde_json::Serializer::new(&mut compact))
            .map_err(std::io::Error::from)?;
        writeln!(w, "{}", json_safe(&String::from_utf8_lossy(&compact)))
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.out {
            Out::Csv(w) => w.flush(),
            Out::Plain(w) => w.flush(),
        }
    }
}

/// A CSV error as the I/O error it wraps, when it does (a closed pipe stays one).
fn csv_io(e: csv::Error) -> std::io::Error {
    if !e.is_io_error() {
        return std::io::Error::other(e);
    }
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => std::io::Error::other(format!("{other:?}")),
    }
}

/// Cells padded to their column's width; the last one is not padded.
fn table_line<'a>(header: &[String], values: impl Iterator<Item = Option<&'a str>>) -> String {
    let mut line = String::new();
    let count = header.len();
    for (i, (name, value)) in header.iter().zip(values).enumerate() {
        let last = i + 1 == count;
        let max = if last { 200 } else { width(name) };
        let cell = printable(shorten(name, value.unwrap_or("-")), max);
        if last {
            line.push_str(&cell);
        } else {
            line.push_str(&format!("{cell:<max$}  "));
        }
    }
    line.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(format: QueryFormat, rows: &[Vec<Option<String>>]) -> String {
        let mut out = Vec::new();
        let mut w = RowWriter::new(&mut out, format, vec!["source".into(), "principal".into(), "error".into()]);
        w.header().unwrap();
        for row in rows {
            w.row(row).unwrap();
        }
        w.flush().unwrap();
        drop(w);
        String::from_utf8(out).unwrap()
    }

    fn row(values: [&str; 3]) -> Vec<Option<String>> {
        values.iter().map(|v| (!v.is_empty()).then(|| v.to_string())).collect()
    }

    #[test]
    fn tables_shorten_escape_and_align() {
        let text = render(
            QueryFormat::Table,
            &[row(["iam.amazonaws.com", "arn:aws:iam::123456789012:user/al\x1b[2Jice", ""])],
        );
        assert_eq!(
            text,
            "SOURCE            PRINCIPAL                                 ERROR\n\
             iam               user/al\\u{1b}[2Jice                       -\n"
        );
    }

    #[test]
    fn csv_cells_cannot_become_formulas() {
        let text = render(QueryFormat::Csv, &[row(["=HYPERLINK(\"x\")", "a,b", "-1+2"])]);
        assert_eq!(text, "source,principal,error\n\"'=HYPERLINK(\"\"x\"\")\",\"a,b\",'-1+2\n");
    }

    #[test]
    fn given_attacker_text_when_written_as_csv_then_controls_and_bidi_are_escaped_not_dropped() {
        let text = render(QueryFormat::Csv, &[row(["a\x1b]0;pwned\x07b", "evil\u{202E}fdp.exe", "\n=cmd"])]);
        assert_eq!(text, "source,principal,error\na\\u{1b}]0;pwned\\u{7}b,evil\\u{202e}fdp.exe,'\\u{a}=cmd\n");
    }

    #[test]
    fn given_bidi_text_when_written_as_json_lines_then_it_is_a_json_escape() {
        let text = render(QueryFormat::Jsonl, &[row(["s\u{202E}", "p\u{2028}", ""])]);
        assert_eq!(text, "{\"source\":\"s\\u202e\",\"principal\":\"p\\u2028\",\"error\":null}\n");
    }

    #[test]
    fn json_rows_keep_column_order_and_nulls() {
        let text = render(QueryFormat::Jsonl, &[row(["s", "p\n", ""])]);
        assert_eq!(text, "{\"source\":\"s\",\"principal\":\"p\\n\",\"error\":null}\n");
    }

    #[test]
    fn whole_records_are_compacted_in_their_field_order() {
        let mut out = Vec::new();
        let mut w = RowWriter::new(&mut out, QueryFormat::Jsonl, Vec::new());
        w.record("{\n  \"z\": 1,\n  \"a\": {\"k\": \"\\u001b\"}\n}").unwrap();
        drop(w);
        assert_eq!(String::from_utf8(out).unwrap(), "{\"z\":1,\"a\":{\"k\":\"\\u001b\"}}\n");
    }
}

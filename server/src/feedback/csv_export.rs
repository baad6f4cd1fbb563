//! CSV export. Values stay verbatim except for two defences, both because visitors write these
//! cells and the team opens the file in a spreadsheet: invisible format characters (bidi
//! overrides and the like, see `display_text`) are taken out, and then a cell a spreadsheet
//! would run as a formula (starting with `=`, `+`, `-`, `@`, tab or CR) gets a leading `'`, the
//! OWASP advice against CSV injection.

use super::display_text::neutralised;
use super::error::ApiError;
use super::store::{FeedbackRow, StoreError};

const HEADER: [&str; 16] = [
    "id",
    "received_ms",
    "kind",
    "model",
    "verdict",
    "predicted",
    "corrected",
    "input_text",
    "speed",
    "stability",
    "usability",
    "comment",
    "email",
    "backend",
    "latency_ms",
    "device",
];

pub fn to_csv(rows: &[FeedbackRow]) -> Result<Vec<u8>, ApiError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let io = |e: csv::Error| ApiError::Store(StoreError::Export(e.to_string()));
    w.write_record(HEADER).map_err(io)?;
    for r in rows {
        let opt = |v: &Option<String>| v.as_deref().map(defuse).unwrap_or_default();
        let num = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
        w.write_record([
            defuse(&r.id),
            r.received_ms.to_string(),
            defuse(&r.kind),
            opt(&r.model),
            opt(&r.verdict),
            opt(&r.predicted),
            opt(&r.corrected),
            opt(&r.input_text),
            num(r.speed),
            num(r.stability),
            num(r.usability),
            opt(&r.comment),
            opt(&r.email),
            opt(&r.backend),
            r.latency_ms.map(|v| v.to_string()).unwrap_or_default(),
            opt(&r.device),
        ])
        .map_err(io)?;
    }
    w.into_inner()
        .map_err(|e| ApiError::Store(StoreError::Export(e.to_string())))
}

fn defuse(s: &str) -> String {
    // First the hidden characters, so that none can stand in front of a formula's `=`.
    let s = neutralised(s);
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::defuse;

    #[test]
    fn formulas_are_defused_and_the_rest_kept() {
        assert_eq!(defuse("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(
            defuse("<script>alert(1)</script>"),
            "<script>alert(1)</script>"
        );
        assert_eq!(defuse("\u{202E}=1+1"), "'=1+1");
        assert_eq!(
            defuse("'; DROP TABLE feedback; --"),
            "'; DROP TABLE feedback; --"
        );
    }
}

//! A labelled TSV (`text<TAB>label`, or `filename<TAB>label` for images) read against a model's
//! labels: `import-model --eval FILE` and `eval-image --labels FILE` both read it here. And the
//! figures measured on it (accuracy, macro-F1, per-label recall, confusion matrix) as the
//! `[metrics]` a manifest records.

use std::path::Path;

use anyhow::{bail, ensure, Context, Result};

/// One labelled row: the input (a text, or an image file name) and the label's index.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub input: String,
    pub label: usize,
}

/// Reads `path`. Labels are given by name (as the model lists them) or by index. A first line
/// whose label is neither is taken as a header (`sentence<TAB>label`). No quoting: a field runs
/// to the tab, so quotes are literal text.
pub fn read(path: &Path, labels: &[String]) -> Result<Vec<Row>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the eval file", path.display()))?;
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        let Some((input, label)) = line.rsplit_once('\t') else {
            bail!(
                "{} line {}: no tab; each row is `input<TAB>label`",
                path.display(),
                n + 1
            );
        };
        let label = label.trim();
        // ImageNet repeats two names (`crane`, `maillot`): such a name cannot say which class.
        let named: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == label).collect();
        ensure!(
            named.len() <= 1,
            "{} line {}: label \"{label}\" names classes {named:?}; give the index instead",
            path.display(),
            n + 1
        );
        match label_index(label, labels) {
            Some(label) => rows.push(Row {
                input: input.to_owned(),
                label,
            }),
            None if n == 0 => {} // a header
            None => bail!(
                "{} line {}: label \"{}\" is not one of the model's ({})",
                path.display(),
                n + 1,
                label,
                shown(labels)
            ),
        }
    }
    ensure!(!rows.is_empty(), "{} has no labelled rows", path.display());
    Ok(rows)
}

/// The labels for an error message: all of a short list, the first ten of ImageNet's.
fn shown(labels: &[String]) -> String {
    match labels.len() {
        0..=20 => labels.join(", "),
        n => format!(
            "{}, … ({n} in all, or an index 0–{})",
            labels[..10].join(", "),
            n - 1
        ),
    }
}

fn label_index(label: &str, labels: &[String]) -> Option<usize> {
    labels
        .iter()
        .position(|l| l == label)
        .or_else(|| label.parse::<usize>().ok().filter(|&i| i < labels.len()))
}

/// Accuracy, macro-F1, per-label recall and the confusion matrix (rows: the true label,
/// columns: the predicted one) of `predicted` against `rows`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    pub n: usize,
    /// Rows with no answer (a text the model cannot read): counted as wrong.
    pub refused: usize,
    pub accuracy: f64,
    pub macro_f1: f64,
    pub recall: Vec<f64>,
    pub confusion: Vec<Vec<u64>>,
}

pub fn score(rows: &[Row], predicted: &[Option<usize>], label_count: usize) -> Scores {
    let mut confusion = vec![vec![0u64; label_count]; label_count];
    let mut refused = 0;
    for (row, p) in rows.iter().zip(predicted) {
        match p {
            Some(p) => confusion[row.label][*p] += 1,
            None => refused += 1,
        }
    }
    let correct: u64 = (0..label_count).map(|i| confusion[i][i]).sum();
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let recall: Vec<f64> = (0..label_count)
        .map(|i| ratio(confusion[i][i], confusion[i].iter().sum()))
        .collect();
    let f1: Vec<f64> = (0..label_count)
        .map(|i| {
            let precision = ratio(
                confusion[i][i],
                (0..label_count).map(|r| confusion[r][i]).sum(),
            );
            let (p, r) = (precision, recall[i]);
            if p + r == 0.0 {
                0.0
            } else {
                2.0 * p * r / (p + r)
            }
        })
        .collect();
    Scores {
        n: rows.len(),
        refused,
        accuracy: ratio(correct, rows.len() as u64),
        macro_f1: f1.iter().sum::<f64>() / label_count as f64,
        recall,
        confusion,
    }
}

impl Scores {
    /// The manifest's `[metrics]`, naming the data (`data`) and the file measured (`model`).
    pub fn metrics(&self, data: &str, model_file: &str) -> toml::Table {
        let round = |x: f64| (x * 10_000.0).round() / 10_000.0;
        let mut table = toml::Table::new();
        table.insert("accuracy".into(), round(self.accuracy).into());
        table.insert("macro_f1".into(), round(self.macro_f1).into());
        table.insert("n".into(), (self.n as i64).into());
        if self.refused > 0 {
            table.insert("refused".into(), (self.refused as i64).into());
        }
        table.insert(
            "recall".into(),
            toml::Value::Array(self.recall.iter().map(|&r| round(r).into()).collect()),
        );
        table.insert(
            "confusion".into(),
            toml::Value::Array(
                self.confusion
                    .iter()
                    .map(|row| toml::Value::Array(row.iter().map(|&c| (c as i64).into()).collect()))
                    .collect(),
            ),
        );
        table.insert("data".into(), data.into());
        table.insert("model".into(), model_file.into());
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        ["very negative", "neutral", "positive"]
            .map(String::from)
            .to_vec()
    }

    #[test]
    fn labels_by_name_or_index_and_a_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("eval.tsv");
        std::fs::write(
            &path,
            "sentence\tlabel\n\"Quoted\" text\tvery negative\nfine\t2\n",
        )
        .unwrap();
        let rows = read(&path, &labels()).unwrap();
        assert_eq!(
            rows,
            [
                Row {
                    input: "\"Quoted\" text".into(),
                    label: 0
                },
                Row {
                    input: "fine".into(),
                    label: 2
                },
            ]
        );
        std::fs::write(&path, "a\tpositive\nb\tterrible\n").unwrap();
        let err = read(&path, &labels()).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("terrible"), "{err}");
        // eval-image's rows: a class index (header allowed), or a name only if it is unique.
        let imagenet: Vec<String> = ["tench", "crane", "goldfish", "crane"]
            .map(String::from)
            .to_vec();
        std::fs::write(&path, "filename\tclass_index\nx.jpg\t3\ny.png\tgoldfish\n").unwrap();
        let rows = read(&path, &imagenet).unwrap();
        assert_eq!((rows[0].label, rows[1].label), (3, 2));
        std::fs::write(&path, "x.jpg\tcrane\n").unwrap();
        let err = read(&path, &imagenet).unwrap_err().to_string();
        assert!(err.contains("crane") && err.contains("[1, 3]"), "{err}");
    }

    #[test]
    fn scores_count_what_they_say() {
        let rows: Vec<Row> = [0, 0, 1, 2]
            .iter()
            .map(|&label| Row {
                input: String::new(),
                label,
            })
            .collect();
        let s = score(&rows, &[Some(0), Some(1), Some(1), Some(2)], 3);
        assert_eq!(s.accuracy, 0.75);
        assert_eq!(s.recall, [0.5, 1.0, 1.0]);
        assert_eq!(s.confusion, [[1, 1, 0], [0, 1, 0], [0, 0, 1]]);
        // F1: label 0 = 2·1·0.5/1.5, label 1 = 2·0.5·1/1.5, label 2 = 1.
        assert!((s.macro_f1 - (2.0 / 3.0 + 2.0 / 3.0 + 1.0) / 3.0).abs() < 1e-12);
    }
}

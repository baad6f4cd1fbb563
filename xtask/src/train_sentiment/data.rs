//! SST-2 style TSV (`sentence<TAB>label`), the seeded train/validation split, and length-bucketed
//! batches.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{bail, Context, Result};
use model_wasm::text::TextTokenizer;

use super::rng::Rng;

#[derive(Clone)]
pub struct Example {
    pub text: String,
    pub label: u32,
}

pub struct Encoded {
    pub ids: Vec<u32>,
    pub label: u32,
}

/// Reads a TSV with a header line and `sentence<TAB>label(0|1)` rows.
pub fn read_tsv(path: &Path) -> Result<Vec<Example>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut rows = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let Some((sentence, label)) = line.rsplit_once('\t') else {
            bail!(
                "{}:{}: expected `sentence<TAB>label`",
                path.display(),
                n + 1
            );
        };
        let label = match label.trim() {
            "0" => 0,
            "1" => 1,
            other => bail!(
                "{}:{}: label must be 0 or 1, got {other:?}",
                path.display(),
                n + 1
            ),
        };
        rows.push(Example {
            text: sentence.trim().to_owned(),
            label,
        });
    }
    Ok(rows)
}

pub fn write_tsv(path: &Path, rows: &[Example]) -> Result<()> {
    let mut out = String::from("sentence\tlabel\n");
    for r in rows {
        out.push_str(&format!("{}\t{}\n", r.text, r.label));
    }
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}

/// Seeded hold-out: `fraction` of the distinct sentences go to validation, and any training row
/// whose (lower-cased) text equals a validation sentence is dropped so validation is not simply
/// memorised. SST-2 rows are phrases of shared parent sentences, so the split is still easier
/// than a truly unseen test set.
pub fn split(rows: Vec<Example>, fraction: f64, seed: u64) -> (Vec<Example>, Vec<Example>) {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    Rng::derive(seed, 0x5b17, 0).shuffle(&mut order);
    let n_val = ((rows.len() as f64) * fraction).round() as usize;
    let val: Vec<Example> = order[..n_val].iter().map(|&i| rows[i].clone()).collect();
    let val_keys: HashSet<String> = val.iter().map(|r| r.text.to_lowercase()).collect();
    let train = order[n_val..]
        .iter()
        .map(|&i| &rows[i])
        .filter(|r| !val_keys.contains(&r.text.to_lowercase()))
        .cloned()
        .collect();
    (train, val)
}

/// Tokenizes every row; rows with no words are skipped (there are none in SST-2).
pub fn encode(tokenizer: &TextTokenizer, rows: &[Example]) -> Result<Vec<Encoded>> {
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        match tokenizer.encode(&r.text) {
            Ok(t) => out.push(Encoded {
                ids: t.ids,
                label: r.label,
            }),
            Err(model_wasm::ModelError::EmptyText) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

/// The batches of one epoch, as indices into the training set. Rows are shuffled, then sorted by
/// length inside windows of 50 batches so each batch holds similar lengths (SST-2 mixes 3-token
/// phrases with 60-token sentences: padding everything to the longest wastes most of the CPU),
/// then the batch order is shuffled again so lengths do not follow a pattern.
pub fn epoch_batches(
    data: &[Encoded],
    batch_size: usize,
    seed: u64,
    epoch: u64,
) -> Vec<Vec<usize>> {
    let mut rng = Rng::derive(seed, 0xe90c, epoch);
    let mut order: Vec<usize> = (0..data.len()).collect();
    rng.shuffle(&mut order);
    let mut batches = Vec::new();
    for window in order.chunks(batch_size * 50) {
        let mut window = window.to_vec();
        window.sort_by_key(|&i| data[i].ids.len());
        batches.extend(window.chunks(batch_size).map(<[usize]>::to_vec));
    }
    rng.shuffle(&mut batches);
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize) -> Vec<Example> {
        (0..n)
            .map(|i| Example {
                text: format!("phrase {}", i % (n / 2)),
                label: (i % 2) as u32,
            })
            .collect()
    }

    #[test]
    fn validation_sentences_never_appear_in_training() {
        let (train, val) = split(rows(1000), 0.05, 7);
        assert_eq!(val.len(), 50);
        let val_keys: HashSet<_> = val.iter().map(|r| r.text.to_lowercase()).collect();
        assert!(train
            .iter()
            .all(|r| !val_keys.contains(&r.text.to_lowercase())));
        // Same seed, same split.
        let (_, again) = split(rows(1000), 0.05, 7);
        assert!(val.iter().zip(&again).all(|(a, b)| a.text == b.text));
    }

    #[test]
    fn batches_cover_every_example_once_with_similar_lengths() {
        let data: Vec<Encoded> = (0..1000)
            .map(|i| Encoded {
                ids: vec![1; 3 + (i * 7919) % 60],
                label: 0,
            })
            .collect();
        let batches = epoch_batches(&data, 16, 1, 0);
        let mut seen: Vec<usize> = batches.iter().flatten().copied().collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..1000).collect::<Vec<_>>());
        let padded: usize = batches
            .iter()
            .map(|b| b.len() * b.iter().map(|&i| data[i].ids.len()).max().unwrap_or(0))
            .sum();
        let real: usize = data.iter().map(|e| e.ids.len()).sum();
        assert!(
            (padded as f64) < 1.1 * real as f64,
            "bucketing should keep padding small: {padded} vs {real}"
        );
        assert_ne!(
            epoch_batches(&data, 16, 1, 1),
            batches,
            "each epoch has its own order"
        );
    }
}

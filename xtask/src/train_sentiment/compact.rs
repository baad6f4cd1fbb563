//! A small reader for one language: the vocabulary cut down to the tokens its training text
//! uses, and the word table cut to match. A Chinese model needs its few thousand characters, not
//! MiniLM's 30,522 English word pieces: that table alone is 11.7 M of the model's 22.7 M
//! parameters, and the catalogue allows a Chinese reader 8 MB.

use std::collections::{HashMap, HashSet};

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use serde_json::Value;

use super::rng::Rng;

/// A tokenizer.json with the compact vocabulary, and its tokens in id order.
pub struct Compact {
    pub json: Vec<u8>,
    pub tokens: Vec<String>,
}

/// The tokens of `tokenizer_json` that are special (its `added_tokens`), that the training text
/// uses (`used` ids), or that are one ASCII character (alone or as `##x`): with those every
/// word in Latin letters and digits still splits into pieces instead of becoming `[UNK]`.
/// Specials keep their order at the front ([PAD] stays 0); the rest keep the original order,
/// except that tokens `known` rejects (rows the initial weights lack) go last, so the rows that
/// learn from nothing are one block with their own learning rate.
pub fn compact_vocabulary(
    tokenizer_json: &[u8],
    used: &HashSet<u32>,
    known: impl Fn(&str) -> bool,
) -> Result<Compact> {
    let mut json: Value =
        serde_json::from_slice(tokenizer_json).context("tokenizer.json is not JSON")?;
    let vocab = json
        .pointer("/model/vocab")
        .and_then(Value::as_object)
        .context("tokenizer.json has no model.vocab (not a WordPiece tokenizer)")?;
    let mut by_id: Vec<(u64, &str)> = vocab
        .iter()
        .filter_map(|(token, id)| Some((id.as_u64()?, token.as_str())))
        .collect();
    by_id.sort_unstable();
    let specials: Vec<String> = json
        .get("added_tokens")
        .and_then(Value::as_array)
        .map(|added| {
            added
                .iter()
                .filter_map(|t| Some(t.get("content")?.as_str()?.to_owned()))
                .collect()
        })
        .unwrap_or_default();
    let is_ascii_piece = |t: &str| {
        let bare = t.strip_prefix("##").unwrap_or(t);
        bare.len() == 1 && bare.is_ascii() && !bare.chars().all(char::is_whitespace)
    };
    let mut tokens = specials.clone();
    for (id, token) in &by_id {
        let keep = used.contains(&(*id as u32)) || is_ascii_piece(token);
        if keep && !specials.iter().any(|s| s == token) {
            tokens.push((*token).to_owned());
        }
    }
    // A stable sort: specials (known) stay first and in order.
    tokens[specials.len()..].sort_by_key(|t| !known(t));
    let new_id: HashMap<&str, usize> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    let Some(&unk) = new_id.get("[UNK]") else {
        bail!("tokenizer.json has no [UNK] among its added tokens");
    };

    let new_vocab: serde_json::Map<String, Value> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), Value::from(i)))
        .collect();
    *json
        .pointer_mut("/model/vocab")
        .context("tokenizer.json has no model.vocab")? = Value::Object(new_vocab);
    if let Some(added) = json.get_mut("added_tokens").and_then(Value::as_array_mut) {
        for t in added {
            let id = t
                .get("content")
                .and_then(Value::as_str)
                .and_then(|c| new_id.get(c).copied())
                .unwrap_or(unk);
            t["id"] = Value::from(id);
        }
    }
    // The template that wraps every text in [CLS] … [SEP] names the tokens by id as well.
    if let Some(specials) = json
        .pointer_mut("/post_processor/special_tokens")
        .and_then(Value::as_object_mut)
    {
        for (name, entry) in specials.iter_mut() {
            let id = new_id
                .get(name.as_str())
                .copied()
                .with_context(|| format!("post-processor token {name} is not in the vocabulary"))?;
            entry["ids"] = Value::from(vec![id]);
        }
    }
    Ok(Compact {
        json: serde_json::to_vec(&json)?,
        tokens,
    })
}

/// The vocabulary of a tokenizer.json: token → id.
pub fn vocabulary(tokenizer_json: &[u8]) -> Result<HashMap<String, usize>> {
    let json: Value =
        serde_json::from_slice(tokenizer_json).context("tokenizer.json is not JSON")?;
    let vocab = json
        .pointer("/model/vocab")
        .and_then(Value::as_object)
        .context("tokenizer.json has no model.vocab")?;
    Ok(vocab
        .iter()
        .filter_map(|(t, id)| Some((t.clone(), id.as_u64()? as usize)))
        .collect())
}

/// Rows of `table` (one per token of `from`) for `tokens`, in that order. A token `from` lacks
/// starts at the table's mean (where an unseen word sits on average) plus N(0, 0.02) noise.
/// Returns the table and how many rows were new.
pub fn remap_rows(
    table: &Tensor,
    from: &HashMap<String, usize>,
    tokens: &[String],
    rng: &mut Rng,
) -> Result<(Tensor, usize)> {
    let (rows, width) = table.dims2()?;
    let mean = table.mean_keepdim(0)?;
    let mut new_rows = 0;
    let mut parts = Vec::with_capacity(tokens.len());
    for token in tokens {
        match from.get(token) {
            Some(&id) if id < rows => parts.push(table.narrow(0, id, 1)?),
            _ => {
                new_rows += 1;
                let noise: Vec<f32> = (0..width).map(|_| rng.normal() * 0.02).collect();
                let noise = Tensor::from_vec(noise, (1, width), &Device::Cpu)?;
                parts.push(noise.to_device(table.device())?.broadcast_add(&mean)?);
            }
        }
    }
    Ok((Tensor::cat(&parts, 0)?, new_rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokenizer() -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "added_tokens": [
                {"content": "[PAD]", "id": 0}, {"content": "[UNK]", "id": 3},
                {"content": "[CLS]", "id": 4}, {"content": "[SEP]", "id": 5}
            ],
            "post_processor": {"special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [4], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [5], "tokens": ["[SEP]"]}
            }},
            "model": {"type": "WordPiece", "vocab": {
                "[PAD]": 0, "the": 1, "a": 2, "[UNK]": 3, "[CLS]": 4, "[SEP]": 5,
                "好": 6, "差": 7, "##b": 8, "很": 9, "é": 10
            }}
        }))
        .unwrap_or_default()
    }

    #[test]
    fn keeps_specials_used_tokens_and_ascii_pieces_with_ids_rewritten() -> Result<()> {
        let used: HashSet<u32> = [6, 9].into_iter().collect();
        let c = compact_vocabulary(&tokenizer(), &used, |_| true)?;
        // "the" and "差" are unused, "é" is not ASCII: dropped.
        assert_eq!(
            c.tokens,
            ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "好", "##b", "很"]
        );
        let json: Value = serde_json::from_slice(&c.json)?;
        assert_eq!(json["model"]["vocab"]["很"], 7);
        assert_eq!(json["added_tokens"][2]["id"], 2);
        assert_eq!(
            json["post_processor"]["special_tokens"]["[SEP]"]["ids"][0],
            3
        );
        Ok(())
    }

    #[test]
    fn tokens_without_initial_rows_go_last() -> Result<()> {
        let used: HashSet<u32> = [6, 9].into_iter().collect();
        let c = compact_vocabulary(&tokenizer(), &used, |t| t != "好")?;
        assert_eq!(
            c.tokens,
            ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "##b", "很", "好"]
        );
        Ok(())
    }

    #[test]
    fn known_rows_are_copied_and_unknown_ones_start_at_the_mean() -> Result<()> {
        let table = Tensor::new(&[[1f32, 0.], [3., 4.]], &Device::Cpu)?;
        let from: HashMap<String, usize> = [("x".into(), 1), ("y".into(), 0)].into();
        let tokens = ["x".to_owned(), "new".to_owned(), "y".to_owned()];
        let (t, new_rows) = remap_rows(&table, &from, &tokens, &mut Rng::derive(1, 2, 3))?;
        assert_eq!(new_rows, 1);
        let rows = t.to_vec2::<f32>()?;
        assert_eq!(rows[0], [3., 4.]);
        assert_eq!(rows[2], [1., 0.]);
        assert!((rows[1][0] - 2.0).abs() < 0.1 && (rows[1][1] - 2.0).abs() < 0.1);
        Ok(())
    }
}

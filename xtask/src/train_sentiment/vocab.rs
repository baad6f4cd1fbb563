//! Teaching an English WordPiece vocabulary to read Chinese: the base MiniLM vocabulary holds 244
//! Han characters, so almost every Chinese character becomes `[UNK]`. BERT's normalizer already
//! splits Han characters into one word each, so adding a character to the vocabulary is enough
//! for the tokenizer to produce it; its embedding row is new and is learnt in fine-tuning.

use std::collections::HashMap;

use anyhow::{Context, Result};
use serde_json::Value;

/// A tokenizer.json with added vocabulary entries, and what was added (in id order).
pub struct Extended {
    pub json: Vec<u8>,
    pub base_size: usize,
    pub added: Vec<char>,
}

impl Extended {
    pub fn size(&self) -> usize {
        self.base_size + self.added.len()
    }
}

/// Adds every character of `texts` that the vocabulary lacks, is Chinese (a Han ideograph, or
/// CJK or full-width punctuation) and occurs at least `min_count` times. Rarer characters stay
/// `[UNK]`: one or two sightings do not train an embedding row. The order (most frequent first,
/// ties by code point) makes the ids reproducible.
pub fn add_chinese_characters(
    tokenizer_json: &[u8],
    texts: &[&str],
    min_count: usize,
) -> Result<Extended> {
    let mut json: Value =
        serde_json::from_slice(tokenizer_json).context("the base tokenizer.json is not JSON")?;
    let vocab = json
        .pointer_mut("/model/vocab")
        .and_then(Value::as_object_mut)
        .context("the base tokenizer.json has no model.vocab (not a WordPiece tokenizer)")?;
    let base_size = vocab.len();
    let mut counts: HashMap<char, usize> = HashMap::new();
    for text in texts {
        for c in text.chars().filter(|&c| is_chinese(c)) {
            *counts.entry(c).or_default() += 1;
        }
    }
    let mut added: Vec<(char, usize)> = counts
        .into_iter()
        .filter(|&(c, n)| n >= min_count && !vocab.contains_key(c.to_string().as_str()))
        .collect();
    added.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for (i, (c, _)) in added.iter().enumerate() {
        vocab.insert(c.to_string(), Value::from(base_size + i));
    }
    Ok(Extended {
        json: serde_json::to_vec(&json)?,
        base_size,
        added: added.into_iter().map(|(c, _)| c).collect(),
    })
}

/// Han ideographs (the blocks BERT's normalizer splits into single-character words), CJK
/// symbols and punctuation, and the full-width punctuation Chinese text is typed with.
pub fn is_chinese(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2CEAF
        | 0xF900..=0xFAFF | 0x2F800..=0x2FA1F
        | 0x3000..=0x303F)
        || (matches!(c as u32, 0xFF00..=0xFF65) && !c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_tokenizer() -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "model": {"type": "WordPiece", "vocab": {"[PAD]": 0, "[UNK]": 1, "我": 2, "a": 3}}
        }))
        .unwrap_or_default()
    }

    #[test]
    fn frequent_missing_characters_get_new_ids_after_the_base_vocabulary() -> Result<()> {
        let ext =
            add_chinese_characters(&tiny_tokenizer(), &["我很好，很好", "很差。", "a 罕"], 2)?;
        // 很 ×3, 好 ×2; 我 is known; ，。罕 once each; "a" is not Chinese.
        assert_eq!(ext.added, vec!['很', '好']);
        assert_eq!(ext.base_size, 4);
        let json: Value = serde_json::from_slice(&ext.json)?;
        assert_eq!(json["model"]["vocab"]["很"], 4);
        assert_eq!(json["model"]["vocab"]["好"], 5);
        assert_eq!(json["model"]["vocab"]["我"], 2);
        Ok(())
    }

    #[test]
    fn chinese_means_han_and_chinese_punctuation_not_latin_or_kana() {
        for c in ['中', '，', '。', '、', '！', '（', '㐀'] {
            assert!(is_chinese(c), "{c}");
        }
        for c in ['a', 'Ａ', '１', 'の', 'カ', '한', '!'] {
            assert!(!is_chinese(c), "{c}");
        }
    }
}

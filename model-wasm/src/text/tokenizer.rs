//! The model's WordPiece tokenizer, configured the way the model was trained: no padding (we
//! pad per batch ourselves), truncation at the model's `max_tokens` (from its catalogue entry),
//! and truncation reported to the caller.

use tokenizers::{Tokenizer, TruncationParams};

use crate::ModelError;

/// Text longer than this is cut before tokenizing. A model's few hundred WordPiece tokens never need this much
/// text unless it is pathological (runs of whitespace or control characters), and cutting keeps
/// a pasted megabyte from costing a megabyte of tokenizer work.
const MAX_INPUT_BYTES: usize = 32 * 1024;

/// One word of the input: its byte range in the original text and the tokens it became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub start: usize,
    pub end: usize,
    /// Positions in [`Tokens::ids`].
    pub tokens: std::ops::Range<usize>,
}

/// Token ids for one text, with `[CLS]` and `[SEP]`.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub ids: Vec<u32>,
    /// True when some of the text did not fit in the model's `max_tokens`.
    pub truncated: bool,
    pub words: Vec<Word>,
    /// The word pieces the share of unknown ones is measured on: those of words with a letter
    /// in them, or every piece when no word has one. An emoji is unknown to the vocabulary but
    /// says little about whether the model can read the text ("👍 great" is English).
    pub pieces_read: usize,
    /// How many of those are the vocabulary's unknown token.
    pub unknown: usize,
}

pub struct TextTokenizer {
    inner: Tokenizer,
    unknown_id: Option<u32>,
}

impl TextTokenizer {
    /// The tokenizer JSON (as in the model file), truncating at `max_tokens` tokens, special
    /// tokens included ([`super::TextModelSpec::max_tokens`]).
    pub fn from_bytes(json: &[u8], max_tokens: usize) -> Result<Self, ModelError> {
        let mut inner =
            Tokenizer::from_bytes(json).map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        // The base model's tokenizer.json pads every input to 128 tokens: that would multiply the work
        // for a short sentence by ten and is not how the model was trained here.
        inner.with_padding(None);
        inner
            .with_truncation(Some(TruncationParams {
                max_length: max_tokens,
                ..Default::default()
            }))
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        let unknown_id = inner.token_to_id("[UNK]");
        Ok(Self { inner, unknown_id })
    }

    /// Tokenizes `text`. Text with no word at all (empty, whitespace or control characters only)
    /// is [`ModelError::EmptyText`].
    pub fn encode(&self, text: &str) -> Result<Tokens, ModelError> {
        let (text, cut) = clip(text, MAX_INPUT_BYTES);
        let encoding = self
            .inner
            .encode(text, true)
            .map_err(|e| ModelError::Tokenizer(e.to_string()))?;
        let ids = encoding.get_ids().to_vec();
        let words = group_words(encoding.get_word_ids(), encoding.get_offsets());
        if words.is_empty() {
            return Err(ModelError::EmptyText);
        }
        let has_letter = |w: &&Word| {
            text.get(w.start..w.end)
                .is_some_and(|s| s.chars().any(char::is_alphabetic))
        };
        let counted: Vec<&Word> = if words.iter().any(|w| has_letter(&w)) {
            words.iter().filter(has_letter).collect()
        } else {
            words.iter().collect()
        };
        let pieces_read = counted.iter().map(|w| w.tokens.len()).sum();
        let unknown = counted
            .iter()
            .flat_map(|w| ids[w.tokens.clone()].iter())
            .filter(|&&id| Some(id) == self.unknown_id)
            .count();
        Ok(Tokens {
            ids,
            truncated: cut || !encoding.get_overflowing().is_empty(),
            words,
            pieces_read,
            unknown,
        })
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn clip(text: &str, max: usize) -> (&str, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], true)
}

/// Consecutive tokens with the same word index form one word; special tokens have none.
fn group_words(word_ids: &[Option<u32>], offsets: &[(usize, usize)]) -> Vec<Word> {
    let mut words: Vec<(Option<u32>, Word)> = Vec::new();
    for (pos, (word, &(start, end))) in word_ids.iter().zip(offsets).enumerate() {
        let Some(word) = word else { continue };
        match words.last_mut() {
            Some((Some(last), w)) if last == word && w.tokens.end == pos => {
                w.tokens.end = pos + 1;
                w.end = end;
            }
            _ => words.push((
                Some(*word),
                Word {
                    start,
                    end,
                    tokens: pos..pos + 1,
                },
            )),
        }
    }
    words.into_iter().map(|(_, w)| w).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_respects_char_boundaries() {
        let text = "ab\u{1F600}";
        assert_eq!(clip(text, 3), ("ab", true));
        assert_eq!(clip(text, 6), (text, false));
    }

    #[test]
    fn unknown_pieces_are_counted_on_words_with_letters() {
        let tokenizer = crate::text::tiny::tokenizer(32);
        // The emoji is unknown, but only "good film" has letters: nothing unknown there.
        let t = tokenizer.encode("👍 good film").expect("tokens");
        assert_eq!((t.pieces_read, t.unknown), (2, 0));
        // "zzz" has letters and is unknown.
        let t = tokenizer.encode("good zzz").expect("tokens");
        assert_eq!((t.pieces_read, t.unknown), (2, 1));
        // No word has a letter: every piece counts.
        let t = tokenizer.encode("👍 👍").expect("tokens");
        assert_eq!((t.pieces_read, t.unknown), (2, 2));
    }

    #[test]
    fn subword_tokens_of_one_word_are_grouped() {
        let ids = [None, Some(0), Some(1), Some(1), None];
        let offsets = [(0, 0), (0, 3), (4, 8), (8, 10), (0, 0)];
        let words = group_words(&ids, &offsets);
        assert_eq!(words.len(), 2);
        assert_eq!(
            words[1],
            Word {
                start: 4,
                end: 10,
                tokens: 2..4
            }
        );
    }
}

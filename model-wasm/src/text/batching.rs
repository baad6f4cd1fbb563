//! Length-sorted batching, shared by the CPU encoder ([`super::TextClassifier::pooled`]) and the
//! GPU one (`crate::gpu::text::GpuEncoder::pooled`). A batch is padded to its longest sequence,
//! so sequences of similar length go together: padding a 4-token explanation variant to the
//! text's 128 would waste most of the work.

/// Sequence indices, shortest first (ties keep their order), split into runs of at most
/// `max_rows` sequences whose padded size — count × the longest's length — stays within
/// `max_tokens`. A sequence longer than `max_tokens` goes alone. Every index appears once.
pub fn length_sorted_chunks(lens: &[usize], max_rows: usize, max_tokens: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lens.len()).collect();
    order.sort_by_key(|&i| lens[i]);
    let max_rows = max_rows.max(1);
    let mut chunks: Vec<Vec<usize>> = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    for i in order {
        // Shortest first: the newcomer is the chunk's longest.
        let fits =
            current.len() < max_rows && (current.len() + 1).saturating_mul(lens[i]) <= max_tokens;
        if !fits && !current.is_empty() {
            chunks.push(std::mem::take(&mut current));
        }
        current.push(i);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// Rows computed chunk by chunk (`sorted`: the chunks' rows concatenated, `width` values each)
/// put back in the sequences' own order.
pub fn unsort(chunks: &[Vec<usize>], sorted: &[f32], width: usize) -> Vec<f32> {
    let rows: usize = chunks.iter().map(Vec::len).sum();
    let mut out = vec![0f32; rows * width];
    for (rank, &i) in chunks.iter().flatten().enumerate() {
        if let (Some(dst), Some(src)) = (
            out.get_mut(i * width..(i + 1) * width),
            sorted.get(rank * width..(rank + 1) * width),
        ) {
            dst.copy_from_slice(src);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_stay_within_the_token_budget_and_keep_every_sequence_once() {
        let lens = [3, 5, 5, 9, 12, 20];
        let chunks = length_sorted_chunks(&lens, usize::MAX, 24);
        for chunk in &chunks {
            let longest = chunk.iter().map(|&i| lens[i]).max().unwrap();
            assert!(chunk.len() * longest <= 24, "{chunk:?}");
        }
        assert_eq!(chunks, [vec![0, 1, 2], vec![3, 4], vec![5]]);
    }

    #[test]
    fn a_sequence_over_the_budget_goes_alone() {
        let lens = [2, 50, 60];
        assert_eq!(
            length_sorted_chunks(&lens, usize::MAX, 10),
            [vec![0], vec![1], vec![2]]
        );
    }

    #[test]
    fn rows_are_capped_and_sorted_shortest_first() {
        let lens = [9, 1, 5, 1, 7];
        let chunks = length_sorted_chunks(&lens, 2, usize::MAX);
        assert_eq!(chunks, [vec![1, 3], vec![2, 4], vec![0]]);
    }

    #[test]
    fn unsort_puts_rows_back_in_input_order() {
        let chunks = vec![vec![2, 0], vec![1]];
        let sorted = [20.0, 21.0, 0.0, 1.0, 10.0, 11.0];
        assert_eq!(
            unsort(&chunks, &sorted, 2),
            [0.0, 1.0, 10.0, 11.0, 20.0, 21.0]
        );
    }
}

//! How many threads the CPU kernels may use, and the one way they split work across them.
//!
//! Natively that is rayon's pool (as candle does). In the browser it is one thread, except in the
//! `threads` build once the worker has started a pool of Web Workers (`initThreadPool`): candle
//! itself never threads on wasm32 (it sizes its pool from `num_cpus`, which says 1 there), so the
//! hot kernels ([`crate::matmul`], the depthwise conv) ask here instead.
//!
//! With one thread nothing goes through rayon: the serial build runs the very same loop bodies,
//! in order, with no scheduling cost.

use rayon::prelude::*;

/// Threads the kernels may use now. In the browser's `threads` build the worker starts the pool
/// (`initThreadPool`) before anything asks: asking rayon first would make it start its default
/// pool, which cannot spawn threads on the web, and the real pool could then not be installed.
pub fn threads() -> usize {
    #[cfg(not(target_arch = "wasm32"))]
    {
        candle_core::utils::get_num_threads()
    }
    #[cfg(all(target_arch = "wasm32", feature = "threads"))]
    {
        rayon::current_num_threads()
    }
    #[cfg(all(target_arch = "wasm32", not(feature = "threads")))]
    {
        1
    }
}

/// Runs `body(index, chunk)` for every `chunk_len`-sized chunk of `data` (the last may be
/// shorter): across rayon's pool when `threads > 1`, in order on this thread otherwise.
pub fn for_each_chunk_mut<T: Send>(
    data: &mut [T],
    chunk_len: usize,
    threads: usize,
    body: impl Fn(usize, &mut [T]) + Send + Sync,
) {
    let chunk_len = chunk_len.max(1);
    if threads > 1 {
        data.par_chunks_mut(chunk_len)
            .enumerate()
            .for_each(|(i, chunk)| body(i, chunk));
    } else {
        data.chunks_mut(chunk_len)
            .enumerate()
            .for_each(|(i, chunk)| body(i, chunk));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visits_every_chunk_once_with_its_index_whatever_the_thread_count() {
        for threads in [1, 4] {
            let mut data = vec![0usize; 103];
            for_each_chunk_mut(&mut data, 10, threads, |i, chunk| {
                for v in chunk.iter_mut() {
                    *v += i + 1;
                }
            });
            let expected: Vec<usize> = (0..103).map(|j| j / 10 + 1).collect();
            assert_eq!(data, expected, "threads = {threads}");
        }
    }
}

//! Which request paths could name a file at all. Linux refuses a file name over 255 bytes
//! (`ENAMETOOLONG`), and tower-http's `ServeDir` turns that error into a bare 500 with an ERROR
//! log line — once per request, on routes that are not rate-limited. Paths that no file in
//! `dist/` could have never reach the file system: they get the site's ordinary 404.

use percent_encoding::percent_decode_str;

/// Longest file name the file system takes (Linux `NAME_MAX`).
const NAME_MAX: usize = 255;
/// `ServeDir` also tries `<name>.br` and `<name>.gz` for pre-compressed files.
const LONGEST_SUFFIX: usize = ".br".len();
/// Far above any path in `dist/`, and far below `PATH_MAX` (4096) with the dist prefix added.
pub const MAX_PATH_BYTES: usize = 1024;

/// True when `path` (as in the request line, percent-encoded) could name a file: no decoded
/// segment longer than a file name, with its pre-compressed suffix, may be, and not too long
/// as a whole.
pub fn could_be_a_file(path: &str) -> bool {
    path.len() <= MAX_PATH_BYTES
        && path.split('/').all(|segment| {
            // Decoding only shrinks a segment: short raw segments need no decoding.
            segment.len() + LONGEST_SUFFIX <= NAME_MAX
                || percent_decode_str(segment).count() + LONGEST_SUFFIX <= NAME_MAX
        })
}

#[cfg(test)]
mod tests {
    use super::could_be_a_file;

    #[test]
    fn names_the_file_system_would_refuse_are_not_files() {
        assert!(could_be_a_file("/app-0123456789abcdef_bg.wasm"));
        assert!(could_be_a_file(&format!("/{}", "a".repeat(252))));
        // 253 bytes + ".br" is one over the limit.
        assert!(!could_be_a_file(&format!("/{}", "a".repeat(253))));
        assert!(!could_be_a_file(&format!("/sdk/{}", "a".repeat(256))));
        // Percent-encoded bytes count once decoded.
        assert!(could_be_a_file(&format!("/{}", "%61".repeat(252))));
        assert!(!could_be_a_file(&format!("/{}", "%61".repeat(253))));
        // Many short segments that add up to a long path.
        assert!(!could_be_a_file(&"/abcdefghij".repeat(200)));
    }
}

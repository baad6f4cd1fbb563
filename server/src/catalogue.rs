//! The model catalogue the site ships (`dist/models/manifest.json`, written by the site build
//! from `assets/models/<id>/model.toml`). Feedback names a model by its id and a label by its id;
//! both are checked against this, so a model added as a folder is accepted with no server change.

use std::path::Path;

use anyhow::Context;
pub use wire::catalog::Catalogue;

/// Reads the catalogue from the built site. A site built without models (a bare `dist/` in a
/// test, say) gets an empty catalogue, with a warning: result feedback is then refused, since
/// no model could have given the result.
pub fn load(dist_dir: &Path) -> anyhow::Result<Catalogue> {
    let path = dist_dir.join("models/manifest.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::warn!(
                "{} is missing (build the site: cargo xtask build); feedback on results is refused",
                path.display()
            );
            return Ok(Catalogue::default());
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not a model catalogue", path.display()))
}

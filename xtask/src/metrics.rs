//! `assets/models/metrics.toml`: the figures the eval commands measured on the shipped model
//! files (`--record`). `app/build.rs` writes them into the landing copy, so the accuracy a model
//! card shows is always the one measured, never one typed by hand.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::project::root;

pub fn path() -> PathBuf {
    root().join("assets/models/metrics.toml")
}

const HEADER: &str = "\
# Measured by the eval commands with --record (see README, \"The models\"); read by app/build.rs,
# which fills `{{section.key|format}}` placeholders in assets/content/*.toml. Do not edit by hand.
";

/// Replaces the `[section]` table with `values`, keeping the other sections.
pub fn record(section: &str, values: toml::Table) -> Result<()> {
    let path = path();
    let mut all: toml::Table = match std::fs::read_to_string(&path) {
        Ok(text) => text
            .parse()
            .with_context(|| format!("{} is not valid TOML", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    all.insert(section.to_owned(), toml::Value::Table(values));
    std::fs::write(&path, format!("{HEADER}\n{}", toml::to_string(&all)?))
        .with_context(|| format!("writing {}", path.display()))?;
    eprintln!("recorded [{section}] in {}", path.display());
    Ok(())
}

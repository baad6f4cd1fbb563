//! What the integration tests share.

/// A test that cannot run on this machine (no GPU adapter, no shared data, no model file). Outside
/// CI it skips, saying why; under CI (`CI` set) that would hide a broken install step, so it
/// fails the test instead.
pub fn cannot_run(reason: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{reason} (CI is set: a test that cannot run fails instead of skipping)");
    }
    eprintln!("SKIPPED: {reason}");
}

/// The machine's GPU adapter (lavapipe, Mesa's CPU Vulkan, where there is no GPU), or `None`
/// (with [`cannot_run`]) where there is none.
#[cfg(feature = "gpu")]
#[allow(dead_code)]
pub fn gpu() -> Option<model_wasm::gpu::Gpu> {
    match pollster::block_on(model_wasm::gpu::Gpu::new()) {
        Ok(gpu) => {
            eprintln!(
                "GPU tests on {} ({:?})",
                gpu.adapter.name, gpu.adapter.backend
            );
            Some(gpu)
        }
        Err(e) => {
            cannot_run(&format!(
                "no GPU adapter ({e}); install mesa-vulkan-drivers for lavapipe"
            ));
            None
        }
    }
}

/// A shipped model's weights and manifest, found through its catalogue folder (`assets/models/<id>/`).
#[allow(dead_code)] // each test file uses what it needs
pub struct ShippedModel {
    /// The weights file's name, as engines name it in their errors.
    pub name: String,
    pub bytes: Vec<u8>,
    pub sha256: String,
    /// Its `model.toml`.
    pub manifest: wire::catalog::ModelManifest,
}

#[allow(dead_code)]
impl ShippedModel {
    /// The text model this entry describes (shape, labels, max tokens).
    pub fn text_spec(&self) -> model_wasm::text::TextModelSpec {
        model_wasm::text::TextModelSpec::from_manifest(&self.manifest)
            .expect("the shipped manifest describes a text model")
    }
}

/// The weights of the catalogue's model `id`, or `None` (with [`cannot_run`]) when the folder or
/// its weights are missing.
#[allow(dead_code)]
pub fn shipped_model(id: &str) -> Option<ShippedModel> {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../assets/models")
        .join(id);
    let manifest = folder.join("model.toml");
    let read = || -> Result<ShippedModel, String> {
        let text = std::fs::read_to_string(&manifest).map_err(|e| e.to_string())?;
        let parsed: wire::catalog::ModelManifest =
            toml::from_str(&text).map_err(|e| e.to_string())?;
        let weights = parsed.weights().ok_or("no [[files]]")?;
        let bytes = std::fs::read(folder.join(&weights.name)).map_err(|e| e.to_string())?;
        Ok(ShippedModel {
            name: weights.name.clone(),
            bytes,
            sha256: weights.sha256.clone(),
            manifest: parsed.clone(),
        })
    };
    read()
        .map_err(|e| cannot_run(&format!("the shipped model {}: {e}", manifest.display())))
        .ok()
}

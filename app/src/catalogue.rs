//! The model catalogue as the app sees it: `/models/manifest.json` ([`wire::catalog::Catalogue`]),
//! fetched once per page and shared through context. Every page that lists or shows models
//! (landing cards and demos, kiosk tabs, embeds, tour steps) reads it here, so a model added to
//! the catalogue as a folder appears everywhere with no change to the app.

use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wire::catalog::{Catalogue, CatalogueEntry, TaskKind};

use crate::dom::fetch_json;

#[derive(Clone, Debug, PartialEq)]
pub enum CatalogueState {
    Loading,
    Ready(Arc<Catalogue>),
    Failed(String),
}

#[derive(Clone, Copy)]
pub struct SiteCatalogue {
    pub state: RwSignal<CatalogueState>,
}

impl SiteCatalogue {
    /// Model `id`'s entry; `None` while loading or when the catalogue has no such model.
    pub fn entry(self, id: &str) -> Option<CatalogueEntry> {
        self.state.with(|state| match state {
            CatalogueState::Ready(catalogue) => catalogue.get(id).cloned(),
            _ => None,
        })
    }

    /// Every model, in list order (`order`, then id: the build writes them so).
    pub fn entries(self) -> Vec<CatalogueEntry> {
        self.state.with(|state| match state {
            CatalogueState::Ready(catalogue) => catalogue.models.clone(),
            _ => Vec::new(),
        })
    }

    /// The models that get a demo of their own (landing, kiosk tabs, attract loop), in list
    /// order: all but those that only read other languages for an earlier model
    /// ([`wire::catalog::ModelManifest::reads_for`]), which answer inside its demo.
    pub fn demos(self) -> Vec<CatalogueEntry> {
        let all = self.entries();
        all.iter()
            .enumerate()
            .filter(|(i, e)| {
                !all[..*i]
                    .iter()
                    .any(|before| e.manifest.reads_for(&before.manifest))
            })
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// The languages `entry`'s demo reads: its own, then those of the models that read for it
    /// (the router sends them text in their scripts).
    pub fn demo_languages(self, entry: &CatalogueEntry) -> Vec<String> {
        let mut languages = entry.manifest.languages.clone();
        for reader in self.entries() {
            if reader.manifest.reads_for(&entry.manifest) {
                for l in reader.manifest.languages {
                    if !languages.contains(&l) {
                        languages.push(l);
                    }
                }
            }
        }
        languages
    }

    /// The models that read for `entry` in `language` (a Chinese page's sentiment demo: the
    /// Chinese reader), which that page's examples will be routed to.
    pub fn readers_in(self, entry: &CatalogueEntry, language: &str) -> Vec<String> {
        self.entries()
            .into_iter()
            .filter(|r| {
                r.manifest.reads_for(&entry.manifest)
                    && r.manifest.languages.iter().any(|l| l == language)
            })
            .map(|r| r.manifest.id)
            .collect()
    }

    /// The first model of `kind` in list order.
    pub fn first_of(self, kind: TaskKind) -> Option<CatalogueEntry> {
        self.entries().into_iter().find(|e| e.manifest.task == kind)
    }
}

pub fn provide_catalogue() {
    let state = RwSignal::new(CatalogueState::Loading);
    spawn_local(async move {
        let loaded = async {
            let catalogue = match fetch_json("/models/manifest.json").await {
                Ok(value) => serde_wasm_bindgen::from_value::<Catalogue>(value),
                // Offline, the worker still has the copy it cached with the models.
                Err(_) => serde_wasm_bindgen::from_value(crate::engine::catalogue_entries().await?)
                    .map(|models| Catalogue { models }),
            };
            catalogue.map_err(|e| format!("the model catalogue is not readable: {e}"))
        }
        .await;
        state.set(match loaded {
            Ok(catalogue) => CatalogueState::Ready(Arc::new(catalogue)),
            Err(e) => CatalogueState::Failed(e),
        });
    });
    provide_context(SiteCatalogue { state });
}

pub fn use_catalogue() -> SiteCatalogue {
    expect_context::<SiteCatalogue>()
}

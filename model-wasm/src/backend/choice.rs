//! The backend choice. [`choose_backend`] reads what the worker has found out about one model
//! ([`Facts`]) and answers either the next thing to find out ([`Choice::Adapter`],
//! [`Choice::Verify`], [`Choice::Time`]) or the backend to answer on ([`Choice::Use`]), with
//! why and what to remember. The worker does each step it is asked for, adds what it found to
//! the facts and asks again, so the policy is all here:
//!
//! - `'wasm'`: wasm SIMD, never the GPU.
//! - `'webgpu'`: the GPU path on any adapter, software included, once it passes its check
//!   ([`super::verification`]) before the first answer; wasm if it fails.
//! - `'auto'`: the first answer comes from wasm at once. Once the worker is idle after it, the
//!   GPU is tried, on a real GPU only (never a missing, fallback or software adapter: SwiftShader,
//!   llvmpipe and lavapipe are slower than wasm SIMD by one or two orders of magnitude, and even
//!   measuring that costs seconds): the GPU path is checked, the probe timed on both backends,
//!   and the faster is used and remembered for the model on this device. A remembered wasm is
//!   kept without trying the GPU; a remembered WebGPU is checked again, not timed.
//! - Any GPU failure (enabling, checking, timing, or answering later) leaves the model on wasm,
//!   and is remembered.

use serde::{Deserialize, Deserializer, Serialize};

use super::verification::{Disagreement, Verdict};
use super::Backend;

/// Untimed runs of the probe on a backend before the timed ones (the first run compiles
/// pipelines and warms caches).
pub const WARMUP_RUNS: u32 = 1;
/// Timed runs of the probe on each backend; the choice compares their means.
pub const TIMED_RUNS: u32 = 3;

/// The backend the SDK's caller asked for (`pipeline(id, { backend })`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preference {
    Auto,
    Wasm,
    #[serde(rename = "webgpu")]
    WebGpu,
}

/// When the choice is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// The model has just loaded; its first answer waits for this choice.
    Load,
    /// The model has answered and the worker is idle: the time for `'auto'`'s GPU trial.
    Idle,
}

/// What the worker knows about one model's backends: the choice's inputs. As the worker sends
/// them (camelCase): `{ stage, preference, webgpu, remembered, adapter, verdict, timings,
/// failure }`, all but the first two optional.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Facts {
    pub stage: Stage,
    pub preference: Preference,
    /// The browser offers WebGPU (`navigator.gpu`) and this engine build has a GPU path.
    #[serde(default)]
    pub webgpu: bool,
    /// The backend remembered for this model on this device: read from the record a previous
    /// [`Decision::remember`] stored, leniently (anything unreadable is as if nothing was).
    #[serde(default, deserialize_with = "remembered_backend")]
    pub remembered: Option<Backend>,
    /// What the browser said about its adapter, once [`Choice::Adapter`] was asked.
    #[serde(default)]
    pub adapter: Option<AdapterFacts>,
    /// The GPU path's check, once [`Choice::Verify`] was asked and it ran.
    #[serde(default)]
    pub verdict: Option<Verdict>,
    /// The probe's timings, one per backend [`Choice::Time`] asked for.
    #[serde(default)]
    pub timings: Vec<Timing>,
    /// The GPU path failed with this message: enabling it, checking, timing or answering.
    #[serde(default)]
    pub failure: Option<String>,
}

impl Facts {
    /// Nothing found out yet.
    pub fn new(stage: Stage, preference: Preference, webgpu: bool) -> Self {
        Self {
            stage,
            preference,
            webgpu,
            remembered: None,
            adapter: None,
            verdict: None,
            timings: Vec::new(),
            failure: None,
        }
    }

    fn timing(&self, backend: Backend) -> Option<&Timing> {
        self.timings.iter().find(|t| t.backend == backend)
    }
}

fn remembered_backend<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Backend>, D::Error> {
    let record = serde_json::Value::deserialize(d)?;
    Ok(record
        .get("backend")
        .and_then(|b| Backend::deserialize(b).ok()))
}

/// What the browser says about its WebGPU adapter (`navigator.gpu.requestAdapter()` and its
/// `info`). Missing fields are empty.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct AdapterFacts {
    /// The browser gave an adapter at all.
    pub found: bool,
    /// `isFallbackAdapter` (on the adapter, or on its `info` in newer browsers).
    pub is_fallback_adapter: bool,
    pub vendor: String,
    pub architecture: String,
    pub device: String,
    pub description: String,
}

/// Names that mark a software adapter in its vendor, architecture, device or description.
const SOFTWARE_ADAPTERS: [&str; 4] = ["swiftshader", "llvmpipe", "lavapipe", "software"];

impl AdapterFacts {
    /// Why this adapter is not worth trying on its own, or `None` for a real GPU.
    pub fn not_worth_trying(&self) -> Option<AdapterSkip> {
        if !self.found {
            return Some(AdapterSkip::Missing);
        }
        if self.is_fallback_adapter {
            return Some(AdapterSkip::Fallback);
        }
        let named = [
            &self.vendor,
            &self.architecture,
            &self.device,
            &self.description,
        ]
        .map(|s| s.to_lowercase())
        .join(" ");
        // The name that appears first, as a search of the joined strings finds it.
        SOFTWARE_ADAPTERS
            .iter()
            .filter_map(|&name| named.find(name).map(|at| (at, name)))
            .min_by_key(|&(at, _)| at)
            .map(|(_, name)| AdapterSkip::Software { name })
    }
}

/// Why `'auto'` does not try an adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
pub enum AdapterSkip {
    #[error("no WebGPU adapter")]
    Missing,
    #[error("a fallback adapter")]
    Fallback,
    #[error("a software adapter ({name})")]
    Software { name: &'static str },
}

/// The probe's timed runs on one backend, in milliseconds (`performance.now()` differences).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Timing {
    pub backend: Backend,
    pub ms: Vec<f64>,
}

impl Timing {
    fn mean(&self) -> f64 {
        self.ms.iter().sum::<f64>() / self.ms.len() as f64
    }
}

/// The next thing to find out, or the backend. As the worker reads it: `{ next: 'adapter' |
/// 'verify' | 'time' | 'use', … }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "next", rename_all = "camelCase")]
pub enum Choice {
    /// Ask the browser for its WebGPU adapter; its facts go in [`Facts::adapter`].
    Adapter,
    /// Enable the model's GPU path and check it: [`Facts::verdict`], or [`Facts::failure`].
    Verify,
    /// Run the probe on `backend` `warmups` times, then time `runs` runs one by one:
    /// [`Facts::timings`], or [`Facts::failure`].
    Time {
        backend: Backend,
        warmups: u32,
        runs: u32,
    },
    /// Answer on this backend from now on.
    Use(Decision),
}

/// The backend a model answers on, why, and what to remember.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub backend: Backend,
    pub reason: Reason,
    /// What to store as this model's choice on this device (`backend-choice.json`), if there
    /// is anything new to remember.
    pub remember: Option<Record>,
    /// Ask again (stage [`Stage::Idle`], with what is remembered) once the model has answered
    /// and the worker is idle.
    pub trial_when_idle: bool,
}

/// Why a backend was chosen.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Reason {
    /// `'wasm'` was asked for.
    AskedForWasm,
    /// The browser has no WebGPU, or this build no GPU path.
    NoWebGpu,
    /// `'auto'`: the first answer never waits for the GPU.
    FirstAnswerFromWasm,
    /// `'webgpu'` was asked for and the GPU path passed its check.
    Verified,
    /// This device measured wasm faster before (or the GPU failed here).
    RememberedWasm,
    /// This device measured the GPU faster before, and it passed its check again.
    RememberedWebGpu,
    /// `'auto'` does not try this adapter.
    Skipped { adapter: AdapterSkip },
    /// The GPU path gave another answer than the CPU on the probe.
    Disagreed { disagreement: Disagreement },
    /// The GPU path failed.
    Failed { message: String },
    /// Both backends were timed on the probe (means of [`TIMED_RUNS`]); the faster won (wasm on
    /// a tie).
    Measured { cpu_ms: f64, gpu_ms: f64 },
}

/// What is remembered for a model on a device, as `backend-choice.json` stores it under the
/// model's id: `{ backend, skipped? , cpuMs?, gpuMs?, gpuError? }`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    pub backend: Backend,
    /// Why the GPU was not tried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_ms: Option<f64>,
    /// How the GPU path failed or disagreed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu_error: Option<String>,
}

impl Record {
    fn new(backend: Backend) -> Self {
        Self {
            backend,
            skipped: None,
            cpu_ms: None,
            gpu_ms: None,
            gpu_error: None,
        }
    }
}

impl Reason {
    /// What this reason leaves to remember: every outcome of a trial or a failure; nothing for a
    /// preference, a first answer, or what was remembered already.
    fn record(&self, backend: Backend) -> Option<Record> {
        let record = Record::new(backend);
        match self {
            Self::AskedForWasm
            | Self::NoWebGpu
            | Self::FirstAnswerFromWasm
            | Self::Verified
            | Self::RememberedWasm
            | Self::RememberedWebGpu => None,
            Self::Skipped { adapter } => Some(Record {
                skipped: Some(adapter.to_string()),
                ..record
            }),
            Self::Disagreed { disagreement } => Some(Record {
                gpu_error: Some(disagreement.to_string()),
                ..record
            }),
            Self::Failed { message } => Some(Record {
                gpu_error: Some(message.clone()),
                ..record
            }),
            Self::Measured { cpu_ms, gpu_ms } => Some(Record {
                cpu_ms: Some(*cpu_ms),
                gpu_ms: Some(*gpu_ms),
                ..record
            }),
        }
    }
}

fn answer_on(backend: Backend, reason: Reason) -> Choice {
    Choice::Use(Decision {
        backend,
        remember: reason.record(backend),
        reason,
        trial_when_idle: false,
    })
}

/// The next step, or the backend, for what is known of one model: the policy of the module
/// documentation.
pub fn choose_backend(facts: &Facts) -> Choice {
    if let Some(message) = &facts.failure {
        let message = message.clone();
        return answer_on(Backend::Wasm, Reason::Failed { message });
    }
    match (facts.preference, facts.stage) {
        (Preference::Wasm, _) => answer_on(Backend::Wasm, Reason::AskedForWasm),
        _ if !facts.webgpu => answer_on(Backend::Wasm, Reason::NoWebGpu),
        (Preference::WebGpu, _) => match &facts.verdict {
            None => Choice::Verify,
            Some(verdict) => {
                disagreed(verdict).unwrap_or_else(|| answer_on(Backend::WebGpu, Reason::Verified))
            }
        },
        (Preference::Auto, Stage::Load) => Choice::Use(Decision {
            backend: Backend::Wasm,
            reason: Reason::FirstAnswerFromWasm,
            remember: None,
            trial_when_idle: true,
        }),
        (Preference::Auto, Stage::Idle) => trial(facts),
    }
}

/// `'auto'`'s GPU trial, once the worker is idle after the first answer.
fn trial(facts: &Facts) -> Choice {
    if facts.remembered == Some(Backend::Wasm) {
        return answer_on(Backend::Wasm, Reason::RememberedWasm);
    }
    let Some(adapter) = &facts.adapter else {
        return Choice::Adapter;
    };
    if let Some(adapter) = adapter.not_worth_trying() {
        return answer_on(Backend::Wasm, Reason::Skipped { adapter });
    }
    let Some(verdict) = &facts.verdict else {
        return Choice::Verify;
    };
    if let Some(wasm) = disagreed(verdict) {
        return wasm;
    }
    if facts.remembered == Some(Backend::WebGpu) {
        return answer_on(Backend::WebGpu, Reason::RememberedWebGpu);
    }
    let time = |backend| Choice::Time {
        backend,
        warmups: WARMUP_RUNS,
        runs: TIMED_RUNS,
    };
    let Some(cpu) = facts.timing(Backend::Wasm) else {
        return time(Backend::Wasm);
    };
    let Some(gpu) = facts.timing(Backend::WebGpu) else {
        return time(Backend::WebGpu);
    };
    let (cpu_ms, gpu_ms) = (cpu.mean(), gpu.mean());
    let faster = if gpu_ms < cpu_ms {
        Backend::WebGpu
    } else {
        Backend::Wasm
    };
    answer_on(faster, Reason::Measured { cpu_ms, gpu_ms })
}

/// Wasm, if the check disagreed; `None` if the GPU path passed it.
fn disagreed(verdict: &Verdict) -> Option<Choice> {
    match verdict {
        Verdict::Agrees { .. } => None,
        Verdict::Disagrees { disagreement } => Some(answer_on(
            Backend::Wasm,
            Reason::Disagreed {
                disagreement: disagreement.clone(),
            },
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Backend::{Wasm, WebGpu};

    /// What the browser and the GPU path would answer to each step.
    struct World {
        adapter: AdapterFacts,
        verdict: Verdict,
        cpu_ms: Vec<f64>,
        gpu_ms: Vec<f64>,
    }

    fn hardware(description: &str) -> AdapterFacts {
        AdapterFacts {
            found: true,
            vendor: "nvidia".into(),
            architecture: "ampere".into(),
            description: description.into(),
            ..AdapterFacts::default()
        }
    }

    const AGREES: Verdict = Verdict::Agrees {
        difference: 3e-5,
        tolerance: 1e-2,
    };

    fn disagrees() -> Verdict {
        Verdict::Disagrees {
            disagreement: Disagreement::Label {
                gpu: "negative".into(),
                gpu_score: 0.6,
                cpu: "positive".into(),
                cpu_score: 0.9,
            },
        }
    }

    /// A real GPU on which the GPU path agrees and is `gpu_ms` per probe against wasm's 40 ms.
    fn gpu_world(gpu_ms: f64) -> World {
        World {
            adapter: hardware("NVIDIA GeForce RTX 3060"),
            verdict: AGREES,
            cpu_ms: vec![41.0, 40.0, 39.0],
            gpu_ms: vec![gpu_ms; 3],
        }
    }

    /// Follows the choice as the worker does, answering each step from `world`: the steps
    /// asked for, in order, and the decision.
    fn follow(mut facts: Facts, world: &World) -> (Vec<Choice>, Decision) {
        let mut steps = Vec::new();
        loop {
            let choice = choose_backend(&facts);
            match &choice {
                Choice::Use(decision) => return (steps, decision.clone()),
                Choice::Adapter => facts.adapter = Some(world.adapter.clone()),
                Choice::Verify => facts.verdict = Some(world.verdict.clone()),
                Choice::Time { backend, .. } => facts.timings.push(Timing {
                    backend: *backend,
                    ms: match backend {
                        Wasm => world.cpu_ms.clone(),
                        WebGpu => world.gpu_ms.clone(),
                    },
                }),
            }
            assert!(steps.len() < 8, "the choice never settles: {steps:?}");
            steps.push(choice);
        }
    }

    fn idle(remembered: Option<Backend>) -> Facts {
        Facts {
            remembered,
            ..Facts::new(Stage::Idle, Preference::Auto, true)
        }
    }

    const TIME_CPU: Choice = Choice::Time {
        backend: Wasm,
        warmups: WARMUP_RUNS,
        runs: TIMED_RUNS,
    };
    const TIME_GPU: Choice = Choice::Time {
        backend: WebGpu,
        warmups: WARMUP_RUNS,
        runs: TIMED_RUNS,
    };

    #[test]
    fn auto_answers_first_from_wasm_at_once_and_tries_the_gpu_when_idle() {
        let (steps, decision) = follow(
            Facts::new(Stage::Load, Preference::Auto, true),
            &gpu_world(1.0),
        );
        assert!(
            steps.is_empty(),
            "nothing is asked of the GPU before the first answer: {steps:?}"
        );
        assert_eq!(
            decision,
            Decision {
                backend: Wasm,
                reason: Reason::FirstAnswerFromWasm,
                remember: None,
                trial_when_idle: true,
            }
        );
    }

    #[test]
    fn on_a_real_gpu_the_trial_checks_times_both_and_keeps_the_faster() {
        let (steps, decision) = follow(idle(None), &gpu_world(10.0));
        assert_eq!(
            steps,
            [Choice::Adapter, Choice::Verify, TIME_CPU, TIME_GPU],
            "checked before it is timed, wasm timed first"
        );
        assert_eq!(decision.backend, WebGpu);
        assert_eq!(
            decision.reason,
            Reason::Measured {
                cpu_ms: 40.0,
                gpu_ms: 10.0
            }
        );
        assert_eq!(
            decision.remember,
            Some(Record {
                cpu_ms: Some(40.0),
                gpu_ms: Some(10.0),
                ..Record::new(WebGpu)
            })
        );
        assert!(!decision.trial_when_idle);

        let (_, slower) = follow(idle(None), &gpu_world(55.0));
        assert_eq!(slower.backend, Wasm, "a slower GPU is not used");
        assert_eq!(slower.remember.map(|r| r.backend), Some(Wasm));
        let (_, tie) = follow(idle(None), &gpu_world(40.0));
        assert_eq!(tie.backend, Wasm, "a tie stays on wasm");
    }

    #[test]
    fn software_and_fallback_adapters_are_never_tried_on_auto() {
        let adapters = [
            (AdapterFacts::default(), "no WebGPU adapter"),
            (
                AdapterFacts {
                    is_fallback_adapter: true,
                    ..hardware("")
                },
                "a fallback adapter",
            ),
            // Chromium's own SwiftShader adapter, as `adapter.info` describes it.
            (
                AdapterFacts {
                    found: true,
                    vendor: "google".into(),
                    architecture: "swiftshader".into(),
                    device: String::new(),
                    description: "SwiftShader Device (Subzero)".into(),
                    ..AdapterFacts::default()
                },
                "a software adapter (swiftshader)",
            ),
            (
                AdapterFacts {
                    found: true,
                    vendor: "mesa".into(),
                    description: "llvmpipe (LLVM 15.0.7, 256 bits)".into(),
                    ..AdapterFacts::default()
                },
                "a software adapter (llvmpipe)",
            ),
            (
                AdapterFacts {
                    found: true,
                    device: "Lavapipe".into(),
                    ..AdapterFacts::default()
                },
                "a software adapter (lavapipe)",
            ),
            (
                AdapterFacts {
                    found: true,
                    description: "Microsoft Basic Render Driver (Software Adapter)".into(),
                    ..AdapterFacts::default()
                },
                "a software adapter (software)",
            ),
        ];
        for (adapter, why) in adapters {
            // However fast the GPU would measure and whatever was remembered for it.
            for remembered in [None, Some(WebGpu)] {
                let world = World {
                    adapter: adapter.clone(),
                    ..gpu_world(0.1)
                };
                let (steps, decision) = follow(idle(remembered), &world);
                assert_eq!(steps, [Choice::Adapter], "{why}: neither checked nor timed");
                assert_eq!(decision.backend, Wasm, "{why}");
                assert_eq!(
                    decision.remember,
                    Some(Record {
                        skipped: Some(why.to_owned()),
                        ..Record::new(Wasm)
                    }),
                    "{why}"
                );
            }
        }
    }

    #[test]
    fn real_gpus_are_worth_trying() {
        for (vendor, architecture, description) in [
            ("nvidia", "ampere", "NVIDIA GeForce RTX 3060"),
            ("apple", "metal-3", "Apple M2"),
            ("intel", "gen-12lp", "Intel(R) UHD Graphics 770"),
            ("amd", "rdna-2", ""),
            ("", "", ""),
        ] {
            let adapter = AdapterFacts {
                found: true,
                vendor: vendor.into(),
                architecture: architecture.into(),
                description: description.into(),
                ..AdapterFacts::default()
            };
            assert_eq!(adapter.not_worth_trying(), None, "{adapter:?}");
        }
    }

    #[test]
    fn the_name_found_first_is_the_one_reported() {
        let adapter = AdapterFacts {
            found: true,
            vendor: "Mesa".into(),
            architecture: "LLVMpipe".into(),
            description: "software rasterizer".into(),
            ..AdapterFacts::default()
        };
        assert_eq!(
            adapter.not_worth_trying(),
            Some(AdapterSkip::Software { name: "llvmpipe" })
        );
    }

    #[test]
    fn a_remembered_wasm_is_kept_without_asking_the_browser() {
        let (steps, decision) = follow(idle(Some(Wasm)), &gpu_world(0.1));
        assert!(steps.is_empty(), "{steps:?}");
        assert_eq!(decision.backend, Wasm);
        assert_eq!(decision.reason, Reason::RememberedWasm);
        assert_eq!(decision.remember, None, "nothing new to remember");
    }

    #[test]
    fn a_remembered_webgpu_is_checked_again_but_not_timed() {
        let (steps, decision) = follow(idle(Some(WebGpu)), &gpu_world(500.0));
        assert_eq!(steps, [Choice::Adapter, Choice::Verify]);
        assert_eq!(decision.backend, WebGpu);
        assert_eq!(decision.reason, Reason::RememberedWebGpu);
        assert_eq!(decision.remember, None);

        let broken = World {
            verdict: disagrees(),
            ..gpu_world(1.0)
        };
        let (_, decision) = follow(idle(Some(WebGpu)), &broken);
        assert_eq!(
            decision.backend, Wasm,
            "a GPU that no longer agrees is dropped"
        );
        assert_eq!(
            decision.remember.and_then(|r| r.gpu_error),
            Some("the GPU answered negative (0.6), the CPU positive (0.9)".to_owned())
        );
    }

    #[test]
    fn a_gpu_path_that_disagrees_is_never_timed_or_used() {
        let world = World {
            verdict: disagrees(),
            ..gpu_world(0.1)
        };
        let (steps, decision) = follow(idle(None), &world);
        assert_eq!(steps, [Choice::Adapter, Choice::Verify]);
        assert_eq!(decision.backend, Wasm);
        assert!(matches!(decision.reason, Reason::Disagreed { .. }));
        assert_eq!(decision.remember.map(|r| r.backend), Some(Wasm));
    }

    #[test]
    fn webgpu_is_checked_before_the_first_answer_on_any_adapter() {
        // A software adapter: 'webgpu' may still ask for one, so the browser is not even asked.
        let world = World {
            adapter: AdapterFacts {
                found: true,
                architecture: "swiftshader".into(),
                ..AdapterFacts::default()
            },
            ..gpu_world(900.0)
        };
        let load = Facts::new(Stage::Load, Preference::WebGpu, true);
        let (steps, decision) = follow(load.clone(), &world);
        assert_eq!(steps, [Choice::Verify], "checked, not timed");
        assert_eq!(
            decision,
            Decision {
                backend: WebGpu,
                reason: Reason::Verified,
                remember: None,
                trial_when_idle: false,
            }
        );

        let broken = World {
            verdict: disagrees(),
            ..world
        };
        let (_, decision) = follow(load, &broken);
        assert_eq!(decision.backend, Wasm);
        assert!(!decision.trial_when_idle);
        assert_eq!(
            decision.remember.and_then(|r| r.gpu_error),
            Some("the GPU answered negative (0.6), the CPU positive (0.9)".to_owned())
        );
    }

    #[test]
    fn wasm_or_no_webgpu_never_touch_the_gpu() {
        let cases = [
            (Preference::Wasm, true, Reason::AskedForWasm),
            (Preference::Auto, false, Reason::NoWebGpu),
            (Preference::WebGpu, false, Reason::NoWebGpu),
        ];
        for (preference, webgpu, reason) in cases {
            for stage in [Stage::Load, Stage::Idle] {
                let (steps, decision) =
                    follow(Facts::new(stage, preference, webgpu), &gpu_world(0.1));
                assert!(steps.is_empty(), "{preference:?} {stage:?}: {steps:?}");
                assert_eq!(
                    decision,
                    Decision {
                        backend: Wasm,
                        reason: reason.clone(),
                        remember: None,
                        trial_when_idle: false,
                    },
                    "{preference:?}, webgpu {webgpu}, {stage:?}"
                );
            }
        }
    }

    #[test]
    fn any_gpu_failure_leaves_wasm_for_good_and_is_remembered() {
        // Enabling or checking failed before 'webgpu''s first answer; timing failed in the
        // trial; an answer failed later on a model that was on the GPU.
        let failed_timing = Facts {
            adapter: Some(hardware("")),
            verdict: Some(AGREES),
            ..idle(None)
        };
        for facts in [
            Facts::new(Stage::Load, Preference::WebGpu, true),
            failed_timing,
            idle(Some(WebGpu)),
        ] {
            let failed = Facts {
                failure: Some("GPU device lost (test)".into()),
                ..facts
            };
            let (steps, decision) = follow(failed, &gpu_world(0.1));
            assert!(steps.is_empty(), "{steps:?}");
            assert_eq!(decision.backend, Wasm);
            assert!(!decision.trial_when_idle);
            assert_eq!(
                decision.remember,
                Some(Record {
                    gpu_error: Some("GPU device lost (test)".into()),
                    ..Record::new(Wasm)
                })
            );
        }
    }

    /// The facts exactly as `public/sdk/worker.js` sends them (the remembered record as it was
    /// stored, an adapter's partial info, the verdict as `verifyGpu` returned it).
    #[test]
    fn facts_read_as_the_worker_sends_them() {
        let verdict = serde_json::to_value(AGREES).unwrap();
        let sent = serde_json::json!({
            "stage": "idle",
            "preference": "auto",
            "webgpu": true,
            "remembered": { "backend": "webgpu", "cpuMs": 40.1, "gpuMs": 9.5 },
            "adapter": { "found": true, "vendor": "apple" },
            "verdict": verdict,
            "timings": [{ "backend": "wasm-simd", "ms": [40.0, 41.0] }],
        });
        let facts: Facts = serde_json::from_value(sent).unwrap();
        assert_eq!(
            facts,
            Facts {
                remembered: Some(WebGpu),
                adapter: Some(AdapterFacts {
                    found: true,
                    vendor: "apple".into(),
                    ..AdapterFacts::default()
                }),
                verdict: Some(AGREES),
                timings: vec![Timing {
                    backend: Wasm,
                    ms: vec![40.0, 41.0]
                }],
                ..idle(None)
            }
        );
        // The first ask, before anything is known.
        let first: Facts = serde_json::from_value(
            serde_json::json!({ "stage": "load", "preference": "webgpu", "webgpu": false }),
        )
        .unwrap();
        assert_eq!(first, Facts::new(Stage::Load, Preference::WebGpu, false));
    }

    #[test]
    fn an_unreadable_remembered_choice_is_as_if_none() {
        for remembered in [
            serde_json::json!({ "backend": "quantum" }),
            serde_json::json!({ "backend": 7 }),
            serde_json::json!("webgpu"),
            serde_json::json!(42),
            serde_json::json!(null),
        ] {
            let facts: Facts = serde_json::from_value(serde_json::json!({
                "stage": "idle", "preference": "auto", "webgpu": true, "remembered": remembered,
            }))
            .unwrap();
            assert_eq!(facts.remembered, None, "{remembered}");
        }
    }

    /// The choices exactly as `public/sdk/worker.js` reads them.
    #[test]
    fn choices_read_as_the_worker_expects() {
        assert_eq!(
            serde_json::to_value(TIME_GPU).unwrap(),
            serde_json::json!({ "next": "time", "backend": "webgpu", "warmups": 1, "runs": 3 })
        );
        assert_eq!(
            serde_json::to_value(Choice::Adapter).unwrap(),
            serde_json::json!({ "next": "adapter" })
        );
        let world = World {
            adapter: AdapterFacts {
                found: true,
                architecture: "swiftshader".into(),
                ..AdapterFacts::default()
            },
            ..gpu_world(1.0)
        };
        let (_, skipped) = follow(idle(None), &world);
        assert_eq!(
            serde_json::to_value(Choice::Use(skipped)).unwrap(),
            serde_json::json!({
                "next": "use",
                "backend": "wasm-simd",
                "reason": { "kind": "skipped", "adapter": { "software": { "name": "swiftshader" } } },
                "remember": { "backend": "wasm-simd", "skipped": "a software adapter (swiftshader)" },
                "trialWhenIdle": false,
            })
        );
        let (_, measured) = follow(idle(None), &gpu_world(10.0));
        assert_eq!(
            serde_json::to_value(measured.remember).unwrap(),
            serde_json::json!({ "backend": "webgpu", "cpuMs": 40.0, "gpuMs": 10.0 })
        );
    }
}

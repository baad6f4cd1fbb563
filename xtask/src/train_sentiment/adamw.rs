//! AdamW with decoupled weight decay, fused into one pass per tensor on the host.
//!
//! Same update as `candle_nn::AdamW`, with three differences that matter here: its moments can be
//! saved and restored (candle's are private, so `--resume` would restart Adam from scratch), biases
//! and LayerNorm parameters get no weight decay (standard for BERT fine-tuning), and one fused loop
//! replaces a dozen full-size temporary tensors per parameter per step.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use candle_core::backprop::GradStore;
use candle_core::{Device, Tensor, Var};

pub struct AdamW {
    params: Vec<(String, Var)>,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    pub step: usize,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    /// A parameter whose elements from an index on learn at a multiple of the rate: (name,
    /// first element, multiple). The rows a grown vocabulary adds start from nothing.
    scaled: Option<(String, usize, f32)>,
}

impl AdamW {
    pub fn new(mut params: Vec<(String, Var)>, weight_decay: f32) -> Self {
        params.sort_by(|a, b| a.0.cmp(&b.0));
        let m = params
            .iter()
            .map(|(_, v)| vec![0.0; v.elem_count()])
            .collect();
        let v = params
            .iter()
            .map(|(_, v)| vec![0.0; v.elem_count()])
            .collect();
        Self {
            params,
            m,
            v,
            step: 0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
            scaled: None,
        }
    }

    /// Elements `from..` of parameter `name` learn at `scale` × the learning rate.
    pub fn scale_lr_from(&mut self, name: &str, from: usize, scale: f32) {
        self.scaled = Some((name.to_owned(), from, scale));
    }

    /// One update. Gradients are clipped to a global L2 norm of `max_norm` first (stabilises the
    /// first steps of fine-tuning). Returns the norm before clipping.
    pub fn step(&mut self, grads: &GradStore, lr: f32, max_norm: f32) -> Result<f32> {
        let mut host_grads = Vec::with_capacity(self.params.len());
        let mut sq = 0f64;
        for (_, var) in &self.params {
            let g = match grads.get(var.as_tensor()) {
                Some(g) => Some(g.flatten_all()?.to_vec1::<f32>()?),
                None => None,
            };
            if let Some(g) = &g {
                sq += g.iter().map(|x| (*x as f64) * (*x as f64)).sum::<f64>();
            }
            host_grads.push(g);
        }
        let norm = sq.sqrt() as f32;
        let clip = if norm > max_norm {
            max_norm / norm
        } else {
            1.0
        };
        self.step += 1;
        let t = self.step as i32;
        let bc1 = 1.0 - self.beta1.powi(t);
        let bc2 = 1.0 - self.beta2.powi(t);
        for (i, g) in host_grads.into_iter().enumerate() {
            let Some(g) = g else { continue };
            let (name, var) = &self.params[i];
            let decay = if no_decay(name) {
                0.0
            } else {
                self.weight_decay
            };
            let mut p = var.flatten_all()?.to_vec1::<f32>()?;
            let (from, scale) = match &self.scaled {
                Some((scaled, from, scale)) if scaled == name => (*from, *scale),
                _ => (usize::MAX, 1.0),
            };
            let (m, v) = (&mut self.m[i], &mut self.v[i]);
            for j in 0..p.len() {
                let gj = g[j] * clip;
                m[j] = self.beta1 * m[j] + (1.0 - self.beta1) * gj;
                v[j] = self.beta2 * v[j] + (1.0 - self.beta2) * gj * gj;
                let update = (m[j] / bc1) / ((v[j] / bc2).sqrt() + self.eps);
                let lr = if j >= from { lr * scale } else { lr };
                p[j] -= lr * (update + decay * p[j]);
            }
            var.set(&Tensor::from_vec(p, var.shape(), var.device())?)?;
        }
        Ok(norm)
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let mut tensors = HashMap::new();
        for (i, (name, _)) in self.params.iter().enumerate() {
            tensors.insert(
                format!("m.{name}"),
                Tensor::new(self.m[i].as_slice(), &Device::Cpu)?,
            );
            tensors.insert(
                format!("v.{name}"),
                Tensor::new(self.v[i].as_slice(), &Device::Cpu)?,
            );
        }
        candle_core::safetensors::save(&tensors, path)
            .with_context(|| format!("writing {}", path.display()))
    }

    pub fn load(&mut self, path: &Path, step: usize) -> Result<()> {
        let tensors = candle_core::safetensors::load(path, &Device::Cpu)
            .with_context(|| format!("reading {}", path.display()))?;
        for (i, (name, _)) in self.params.iter().enumerate() {
            let get = |k: String| -> Result<Vec<f32>> {
                let t = tensors
                    .get(&k)
                    .with_context(|| format!("{} has no {k}", path.display()))?;
                Ok(t.to_vec1::<f32>()?)
            };
            self.m[i] = get(format!("m.{name}"))?;
            self.v[i] = get(format!("v.{name}"))?;
        }
        self.step = step;
        Ok(())
    }
}

fn no_decay(name: &str) -> bool {
    name.ends_with(".bias") || name.contains("LayerNorm")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_elements_move_by_the_multiple() -> Result<()> {
        let table = Var::from_vec(vec![1.0f32; 4], (2, 2), &Device::Cpu)?;
        let loss = table.as_tensor().sum_all()?;
        let grads = loss.backward()?;
        let mut opt = AdamW::new(vec![("table".into(), table.clone())], 0.0);
        // The second row (elements 2 and 3) learns ten times as fast.
        opt.scale_lr_from("table", 2, 10.0);
        opt.step(&grads, 1e-3, f32::INFINITY)?;
        let after = table.flatten_all()?.to_vec1::<f32>()?;
        let moved: Vec<f32> = after.iter().map(|p| 1.0 - p).collect();
        assert!(
            (moved[0] - 1e-3).abs() < 1e-6 && (moved[1] - moved[0]).abs() < 1e-9,
            "{moved:?}"
        );
        assert!(
            (moved[2] - 1e-2).abs() < 1e-5 && (moved[3] - moved[2]).abs() < 1e-9,
            "{moved:?}"
        );
        Ok(())
    }
}

//! Typed GPU operations over the WGSL kernels in this folder. Pipelines are compiled once per
//! device ([`Kernels::new`]; attention, compiled per head width, is in [`super::attention`]);
//! each operation records one dispatch into the caller's encoder, so a whole forward pass is one
//! submission and one read-back.

use wgpu::util::DeviceExt;

use super::{Gpu, GpuError};

/// Values per Q8_0 block (as in the GGUF file).
const QK: usize = 32;
/// Invocations per workgroup of every kernel here (`@workgroup_size(64)` in the WGSL).
pub(super) const WORKGROUP: u32 = 64;

/// An 8-bit weight matrix resident on the GPU: `rows` outputs × `cols` inputs, Q8_0 blocks.
pub struct Q8Matrix {
    pub rows: usize,
    pub cols: usize,
    qs: wgpu::Buffer,
    scales: wgpu::Buffer,
}

impl Q8Matrix {
    /// Uploads Q8_0 bytes (an f16 scale then 32 signed bytes per block, row-major), as stored in
    /// the model file.
    pub fn upload(gpu: &Gpu, rows: usize, cols: usize, q8_0: &[u8]) -> Result<Self, GpuError> {
        if !cols.is_multiple_of(QK) || q8_0.len() != rows * cols / QK * (2 + QK) {
            return Err(GpuError::Shape(format!(
                "{rows}×{cols} Q8_0 matrix from {} bytes",
                q8_0.len()
            )));
        }
        let (qs, scales) = crate::text::q8_0::split(q8_0);
        Ok(Self {
            rows,
            cols,
            qs: gpu.upload("q8 values", &qs),
            scales: gpu.upload("q8 scales", &scales),
        })
    }
}

/// A linear layer resident on the GPU: 8-bit weights and an f32 bias.
pub struct Linear {
    pub weight: Q8Matrix,
    bias: wgpu::Buffer,
}

impl Linear {
    pub fn upload(gpu: &Gpu, weight: Q8Matrix, bias: &[f32]) -> Result<Self, GpuError> {
        if bias.len() != weight.rows {
            return Err(GpuError::Shape(format!(
                "{} biases for {} outputs",
                bias.len(),
                weight.rows
            )));
        }
        Ok(Self {
            bias: gpu.upload("bias", bias),
            weight,
        })
    }
}

/// What a linear layer applies to its outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    None = 0,
    /// The exact (erf) GELU of BERT's feed-forward layers.
    Gelu = 1,
}

/// A layer norm's parameters resident on the GPU.
pub struct Norm {
    gamma: wgpu::Buffer,
    beta: wgpu::Buffer,
    cols: usize,
    eps: f32,
}

impl Norm {
    pub fn upload(gpu: &Gpu, gamma: &[f32], beta: &[f32], eps: f32) -> Result<Self, GpuError> {
        if gamma.len() != beta.len() {
            return Err(GpuError::Shape(format!(
                "{} scales and {} shifts",
                gamma.len(),
                beta.len()
            )));
        }
        Ok(Self {
            gamma: gpu.upload("norm gamma", gamma),
            beta: gpu.upload("norm beta", beta),
            cols: gamma.len(),
            eps,
        })
    }
}

/// The compiled kernels of one device.
pub struct Kernels {
    matmul_q8: wgpu::ComputePipeline,
    add_layer_norm: wgpu::ComputePipeline,
    embed: wgpu::ComputePipeline,
    mean_pool: wgpu::ComputePipeline,
}

impl Kernels {
    pub fn new(gpu: &Gpu) -> Self {
        let pipeline = |label, source| pipeline(gpu, label, source);
        Self {
            matmul_q8: pipeline("matmul_q8", include_str!("matmul_q8.wgsl")),
            add_layer_norm: pipeline("add_layer_norm", include_str!("add_layer_norm.wgsl")),
            embed: pipeline("embed", include_str!("embed.wgsl")),
            mean_pool: pipeline("mean_pool", include_str!("mean_pool.wgsl")),
        }
    }

    /// Records `y[m, n] = act(x[m, k] · Wᵀ + bias)` (W is `n × k`, 8-bit). `y` holds `m × n`.
    #[allow(clippy::too_many_arguments)] // one dispatch's operands; a struct would only rename them
    pub fn linear(
        &self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        x: &wgpu::Buffer,
        m: usize,
        layer: &Linear,
        act: Activation,
        y: &wgpu::Buffer,
    ) -> Result<(), GpuError> {
        let w = &layer.weight;
        need(x, m * w.cols, "x")?;
        need(y, m * w.rows, "y")?;
        let dims = uniform(gpu, &[m as u32, w.rows as u32, w.cols as u32, act as u32]);
        let buffers = [&dims, x, &w.qs, &w.scales, &layer.bias, y];
        dispatch(
            gpu,
            encoder,
            &self.matmul_q8,
            &buffers,
            ((w.rows as u32).div_ceil(WORKGROUP), m as u32),
        );
        Ok(())
    }

    /// Records `y = LayerNorm(x + residual)` over `rows` rows of the norm's width.
    #[allow(clippy::too_many_arguments)] // as for `linear`
    pub fn add_layer_norm(
        &self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        x: &wgpu::Buffer,
        residual: &wgpu::Buffer,
        rows: usize,
        norm: &Norm,
        y: &wgpu::Buffer,
    ) -> Result<(), GpuError> {
        let len = rows * norm.cols;
        need(x, len, "x")?;
        need(residual, len, "residual")?;
        need(y, len, "y")?;
        let dims: [u32; 4] = [rows as u32, norm.cols as u32, norm.eps.to_bits(), 0];
        let dims = uniform(gpu, &dims);
        let buffers = [&dims, x, residual, &norm.gamma, &norm.beta, y];
        dispatch(
            gpu,
            encoder,
            &self.add_layer_norm,
            &buffers,
            (rows as u32, 1),
        );
        Ok(())
    }
}

/// Token embedding tables resident on the GPU.
pub struct EmbeddingTables {
    /// `vocab × hidden`, 8-bit.
    pub words: Q8Matrix,
    /// `max_positions × hidden`, f32.
    pub positions: wgpu::Buffer,
    pub max_positions: usize,
    /// The type-0 row (single-sentence input), f32.
    pub token_type: wgpu::Buffer,
}

impl Kernels {
    /// Records `out[t] = words[ids[t]] + positions[t mod len] + token_type` for `batch × len`
    /// token ids (u32; every id must be below the vocabulary size, which the tokenizer ensures).
    #[allow(clippy::too_many_arguments)] // as for `linear`
    pub fn embed(
        &self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        ids: &wgpu::Buffer,
        (batch, len): (usize, usize),
        tables: &EmbeddingTables,
        out: &wgpu::Buffer,
    ) -> Result<(), GpuError> {
        let hidden = tables.words.cols;
        if len > tables.max_positions {
            return Err(GpuError::Shape(format!(
                "{len} tokens, the model has {} positions",
                tables.max_positions
            )));
        }
        need(ids, batch * len, "ids")?;
        need(out, batch * len * hidden, "out")?;
        let dims = uniform(gpu, &[(batch * len) as u32, len as u32, hidden as u32, 0]);
        let words = &tables.words;
        let buffers = [
            &dims,
            ids,
            &words.qs,
            &words.scales,
            &tables.positions,
            &tables.token_type,
            out,
        ];
        let values = (batch * len * hidden) as u32;
        dispatch(
            gpu,
            encoder,
            &self.embed,
            &buffers,
            (values.div_ceil(WORKGROUP), 1),
        );
        Ok(())
    }

    /// Records the mean over real tokens: `x [batch·len, hidden]` → `out [batch, hidden]`.
    #[allow(clippy::too_many_arguments)] // as for `linear`
    pub fn mean_pool(
        &self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        x: &wgpu::Buffer,
        mask: &wgpu::Buffer,
        (batch, len, hidden): (usize, usize, usize),
        out: &wgpu::Buffer,
    ) -> Result<(), GpuError> {
        need(x, batch * len * hidden, "x")?;
        need(mask, batch * len, "mask")?;
        need(out, batch * hidden, "out")?;
        let dims = uniform(gpu, &[batch as u32, len as u32, hidden as u32, 0]);
        let buffers = [&dims, x, mask, out];
        let values = (batch * hidden) as u32;
        dispatch(
            gpu,
            encoder,
            &self.mean_pool,
            &buffers,
            (values.div_ceil(WORKGROUP), 1),
        );
        Ok(())
    }
}

/// Compiles one WGSL kernel (entry point `main`).
pub(super) fn pipeline(gpu: &Gpu, label: &str, source: &str) -> wgpu::ComputePipeline {
    let module = gpu
        .device
        .create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(label),
            source: wgpu::ShaderSource::Wgsl(source.into()),
        });
    gpu.device
        .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(label),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        })
}

/// Fails unless `buffer` holds at least `values` f32.
pub(super) fn need(buffer: &wgpu::Buffer, values: usize, what: &str) -> Result<(), GpuError> {
    if buffer.size() < (values * 4) as u64 {
        return Err(GpuError::Shape(format!(
            "{what} holds {} bytes, needs {}",
            buffer.size(),
            values * 4
        )));
    }
    Ok(())
}

/// A small uniform buffer of a kernel's dimensions.
pub(super) fn uniform(gpu: &Gpu, words: &[u32]) -> wgpu::Buffer {
    gpu.device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("dims"),
            contents: bytemuck::cast_slice(words),
            usage: wgpu::BufferUsages::UNIFORM,
        })
}

/// Binds `buffers` in order (binding 0, 1, …) and records one dispatch of `pipeline`.
pub(super) fn dispatch(
    gpu: &Gpu,
    encoder: &mut wgpu::CommandEncoder,
    pipeline: &wgpu::ComputePipeline,
    buffers: &[&wgpu::Buffer],
    (x, y): (u32, u32),
) {
    let entries: Vec<wgpu::BindGroupEntry<'_>> = buffers
        .iter()
        .zip(0..)
        .map(|(buffer, binding)| wgpu::BindGroupEntry {
            binding,
            resource: buffer.as_entire_binding(),
        })
        .collect();
    let bind = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: None,
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    });
    let mut pass = encoder.begin_compute_pass(&Default::default());
    pass.set_pipeline(pipeline);
    pass.set_bind_group(0, &bind, &[]);
    pass.dispatch_workgroups(x, y, 1);
}

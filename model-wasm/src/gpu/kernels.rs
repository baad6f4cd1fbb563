//! Typed GPU operations over the WGSL kernels in this folder. Pipelines are compiled once per
//! device ([`Kernels::new`]); each operation records one dispatch into the caller's encoder, so
//! a whole forward pass is one submission and one read-back.

use wgpu::util::DeviceExt;

use super::{Gpu, GpuError};

/// Values per Q8_0 block (as in the GGUF file).
const QK: usize = 32;
const WORKGROUP: u32 = 64;

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
        let (qs, scales) = crate::sentiment::q8_0::split(q8_0);
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

/// The compiled kernels of one device.
pub struct Kernels {
    matmul_q8: wgpu::ComputePipeline,
}

impl Kernels {
    pub fn new(gpu: &Gpu) -> Self {
        let pipeline = |label: &str, source: &str| {
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
        };
        Self {
            matmul_q8: pipeline("matmul_q8", include_str!("matmul_q8.wgsl")),
        }
    }

    /// Records `y[m, n] = x[m, k] · Wᵀ + bias` (W is `n × k`, 8-bit). `y` holds `m × n` f32.
    pub fn linear(
        &self,
        gpu: &Gpu,
        encoder: &mut wgpu::CommandEncoder,
        x: &wgpu::Buffer,
        m: usize,
        layer: &Linear,
        y: &wgpu::Buffer,
    ) -> Result<(), GpuError> {
        let (w, bias) = (&layer.weight, &layer.bias);
        let need = |buffer: &wgpu::Buffer, values: usize, what: &str| {
            if buffer.size() < (values * 4) as u64 {
                return Err(GpuError::Shape(format!(
                    "{what} holds {} bytes, needs {}",
                    buffer.size(),
                    values * 4
                )));
            }
            Ok(())
        };
        need(x, m * w.cols, "x")?;
        need(y, m * w.rows, "y")?;
        let dims = [m as u32, w.rows as u32, w.cols as u32, 0];
        let dims = gpu
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("matmul_q8 dims"),
                contents: bytemuck::cast_slice(&dims),
                usage: wgpu::BufferUsages::UNIFORM,
            });
        let layout = self.matmul_q8.get_bind_group_layout(0);
        let bind = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("matmul_q8"),
            layout: &layout,
            entries: &[
                entry(0, &dims),
                entry(1, x),
                entry(2, &w.qs),
                entry(3, &w.scales),
                entry(4, bias),
                entry(5, y),
            ],
        });
        let mut pass = encoder.begin_compute_pass(&Default::default());
        pass.set_pipeline(&self.matmul_q8);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups((w.rows as u32).div_ceil(WORKGROUP), m as u32, 1);
        Ok(())
    }
}

fn entry(binding: u32, buffer: &wgpu::Buffer) -> wgpu::BindGroupEntry<'_> {
    wgpu::BindGroupEntry {
        binding,
        resource: buffer.as_entire_binding(),
    }
}

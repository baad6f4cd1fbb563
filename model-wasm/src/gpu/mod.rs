//! The GPU backend: WGSL compute kernels through wgpu — WebGPU in the browser, Vulkan natively
//! (Mesa's lavapipe in tests, so the kernels are checked on every machine, GPU or not).
//!
//! Weights are uploaded once and stay resident; an inference records its kernels into one
//! command buffer and reads back once. This module holds the device and the buffer plumbing;
//! [`kernels`] and [`attention`] hold the WGSL and the typed operations built on it.

pub mod attention;
pub mod image;
pub mod image_classifier;
pub mod kernels;
pub mod text;
pub mod text_classifier;

use std::sync::{Arc, Mutex};

use wgpu::util::DeviceExt;

/// Why the GPU path is unavailable or failed. The caller falls back to the CPU path on any of
/// these: the visitor must never see them.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    #[error("no GPU adapter is available ({0})")]
    NoAdapter(String),
    #[error("the GPU refused a device ({0})")]
    NoDevice(String),
    #[error("reading results back from the GPU failed ({0})")]
    ReadBack(String),
    #[error("a GPU operation was given mismatched sizes: {0}")]
    Shape(String),
    #[error("the model's weights cannot go to the GPU: {0}")]
    Weights(String),
    /// The model has a shape the GPU kernels do not cover; it runs on the CPU.
    #[error("{0}")]
    Unsupported(String),
    /// Attention heads outside what the kernel holds per query ([`attention::MAX_HEAD_DIM`]);
    /// the model runs on the CPU.
    #[error("the GPU path takes attention heads 1 to {max} wide; this model's are {width}")]
    HeadWidth { width: usize, max: usize },
    #[error("the GPU reported an error ({0})")]
    Device(String),
    /// The CPU half of a GPU answer failed (reading the model file, tokenizing, the head).
    #[error(transparent)]
    Model(#[from] crate::ModelError),
}

/// A device and its queue, plus what the adapter is (for the backend badge and the benchmark).
pub struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: wgpu::AdapterInfo,
    /// The first validation error or device loss the device reported. wgpu's default is to
    /// panic, which in the browser would take the CPU engine down with it; instead the next
    /// read-back fails, and the caller falls back to the CPU.
    fault: Arc<Mutex<Option<String>>>,
}

impl Gpu {
    /// The first adapter the platform offers, with its default limits.
    pub async fn new() -> Result<Self, GpuError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("vitrine"),
                required_limits: adapter.limits(),
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::NoDevice(e.to_string()))?;
        let fault = Arc::new(Mutex::new(None));
        let record = |fault: &Arc<Mutex<Option<String>>>| {
            let fault = fault.clone();
            move |message: String| {
                if let Ok(mut slot) = fault.lock() {
                    slot.get_or_insert(message);
                }
            }
        };
        let on_error = record(&fault);
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| on_error(e.to_string())));
        let on_lost = record(&fault);
        device.set_device_lost_callback(move |reason, message| {
            on_lost(format!("device lost ({reason:?}): {message}"))
        });
        Ok(Self {
            device,
            queue,
            adapter: adapter.get_info(),
            fault,
        })
    }

    /// A read-only storage buffer holding `data` (weights, inputs).
    pub fn upload<T: bytemuck::Pod>(&self, label: &str, data: &[T]) -> wgpu::Buffer {
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::cast_slice(data),
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            })
    }

    /// A storage buffer of `len` f32 that kernels write and that can be read back, or gather
    /// other buffers' results by copy (the text encoder's chunks).
    pub fn output(&self, label: &str, len: usize) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (len * 4) as u64,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// Copies `buffer` (f32) back to the CPU: the one read-back of an inference.
    pub async fn read(&self, buffer: &wgpu::Buffer) -> Result<Vec<f32>, GpuError> {
        let size = buffer.size();
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("read-back"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(buffer, 0, &staging, 0, size);
        self.queue.submit([encoder.finish()]);
        let (tx, rx) = futures_channel::oneshot::channel();
        staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        // Natively nothing happens until the device is polled; in the browser this is a no-op
        // and the callback comes from the event loop.
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| GpuError::ReadBack(e.to_string()))?;
        rx.await
            .map_err(|_| GpuError::ReadBack("the device was lost".into()))?
            .map_err(|e| GpuError::ReadBack(e.to_string()))?;
        if let Some(fault) = self.fault.lock().ok().and_then(|f| f.clone()) {
            return Err(GpuError::Device(fault));
        }
        let values = {
            let view = staging
                .slice(..)
                .get_mapped_range()
                .map_err(|e| GpuError::ReadBack(e.to_string()))?;
            bytemuck::cast_slice(&view).to_vec()
        };
        staging.unmap();
        Ok(values)
    }
}

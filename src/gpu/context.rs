//! Adapter selection, device creation and error capture.
//!
//! [`Gpu`] is the handle every kernel and model works through: a device and queue (ours
//! or the caller's), the pipeline cache, the buffer pool and the error plumbing that
//! turns wgpu's validation errors, out-of-memory and device loss into [`Error`] values
//! instead of panics.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::Serialize;

use super::buffers::BufferPool;
use super::pipelines::PipelineCache;
use super::profile::{AdapterFeatures, AdapterProfile, SubgroupSizes};
use crate::error::{Error, Result};

/// Environment variable: case-insensitive substring of the adapter name to use.
pub const ADAPTER_ENV: &str = "GPU_VGAE_ADAPTER";
/// Environment variable: backend to use (`vulkan`, `metal`, `dx12`).
pub const BACKEND_ENV: &str = "GPU_VGAE_BACKEND";

/// The storage buffers one kernel binds at most: the pair decoder binds nine (z twice,
/// for windows of its own rows and of the other nodes'). WebGPU's default is 8; native
/// Vulkan, Metal and DX12 adapters allow far more.
const STORAGE_BUFFERS_PER_STAGE: u32 = 9;

/// The optional features a device is requested with where the adapter has them:
/// timestamp queries (benchmarks), subgroup operations (kernels' subgroup layouts, see
/// [`AdapterProfile`]) and 16-bit floats in shaders. None is required: a device without
/// them (e.g. one a caller made, [`Gpu::from_device`]) runs the other layouts.
pub const WANTED_FEATURES: wgpu::Features = wgpu::Features::TIMESTAMP_QUERY
    .union(wgpu::Features::SUBGROUP)
    .union(wgpu::Features::SHADER_F16);

/// How to pick an adapter. `Default` takes the environment variables [`ADAPTER_ENV`] and
/// [`BACKEND_ENV`] into account; without them, the most capable adapter wins
/// (discrete GPU, then integrated, virtual, CPU such as lavapipe).
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct GpuOptions {
    /// Case-insensitive substring of the adapter name (e.g. `"llvmpipe"`, `"H100"`).
    pub adapter_name: Option<String>,
    /// Backend name: `vulkan`, `metal` or `dx12`.
    pub backend: Option<String>,
}

impl GpuOptions {
    /// Options from [`ADAPTER_ENV`] and [`BACKEND_ENV`], where set and non-empty.
    pub fn from_env() -> Self {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        GpuOptions {
            adapter_name: var(ADAPTER_ENV),
            backend: var(BACKEND_ENV),
        }
    }

    /// Selects the adapter whose name contains `name` (case-insensitive).
    pub fn with_adapter_name(mut self, name: impl Into<String>) -> Self {
        self.adapter_name = Some(name.into());
        self
    }

    /// Selects a backend by name: `vulkan`, `metal` or `dx12`.
    pub fn with_backend(mut self, backend: impl Into<String>) -> Self {
        self.backend = Some(backend.into());
        self
    }

    fn backends(&self) -> Result<wgpu::Backends> {
        match self
            .backend
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None => Ok(wgpu::Backends::PRIMARY),
            Some("vulkan") => Ok(wgpu::Backends::VULKAN),
            Some("metal") => Ok(wgpu::Backends::METAL),
            Some("dx12") => Ok(wgpu::Backends::DX12),
            Some(other) => Err(Error::InvalidConfig {
                setting: "backend",
                message: format!(
                    "unknown backend `{other}` (from {BACKEND_ENV} or --backend); expected \
                     vulkan, metal or dx12"
                ),
            }),
        }
    }
}

/// What the chosen adapter is and what the device was created with.
#[derive(Clone, Debug, Serialize)]
pub struct AdapterReport {
    /// Adapter name, e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`.
    pub name: String,
    /// Backend, e.g. `Vulkan`.
    pub backend: String,
    /// Device type, e.g. `Cpu`, `DiscreteGpu`.
    pub device_type: String,
    /// Driver name.
    pub driver: String,
    /// Driver version details, e.g. the Mesa version.
    pub driver_info: String,
    /// Whether GPU timestamp queries are enabled (used by benchmarks).
    pub timestamp_queries: bool,
    /// Whether the device was created with `SHADER_F16` (16-bit floats in shaders).
    pub shader_f16: bool,
    /// Whether the device was created with `SUBGROUP` (subgroup operations in compute
    /// shaders).
    pub subgroups: bool,
    /// The adapter's smallest and largest subgroup size (lavapipe: 8 and 8); meaningful
    /// where [`AdapterReport::subgroups`] is set.
    pub subgroup_size: [u32; 2],
    /// Largest storage binding, bytes.
    pub max_storage_buffer_binding_size: u64,
    /// Largest buffer, bytes.
    pub max_buffer_size: u64,
    /// Storage buffers per shader stage.
    pub max_storage_buffers_per_shader_stage: u32,
    /// Workgroups per dispatch dimension.
    pub max_compute_workgroups_per_dimension: u32,
    /// Invocations per workgroup.
    pub max_compute_invocations_per_workgroup: u32,
    /// Alignment of a storage binding's offset (windows of large tensors start there).
    pub min_storage_buffer_offset_alignment: u32,
}

impl AdapterReport {
    fn new(info: &wgpu::AdapterInfo, features: wgpu::Features, limits: &wgpu::Limits) -> Self {
        AdapterReport {
            name: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: info.driver.clone(),
            driver_info: info.driver_info.clone(),
            timestamp_queries: features.contains(wgpu::Features::TIMESTAMP_QUERY),
            shader_f16: features.contains(wgpu::Features::SHADER_F16),
            subgroups: features.contains(wgpu::Features::SUBGROUP),
            subgroup_size: [info.subgroup_min_size, info.subgroup_max_size],
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_buffer_size: limits.max_buffer_size,
            max_storage_buffers_per_shader_stage: limits.max_storage_buffers_per_shader_stage,
            max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            min_storage_buffer_offset_alignment: limits.min_storage_buffer_offset_alignment,
        }
    }
}

impl AdapterReport {
    /// The optional features as the adapter profile records them.
    pub fn features(&self) -> AdapterFeatures {
        AdapterFeatures {
            timestamp_queries: self.timestamp_queries,
            shader_f16: self.shader_f16,
            subgroups: self.subgroups.then_some(SubgroupSizes {
                min: self.subgroup_size[0],
                max: self.subgroup_size[1],
            }),
        }
    }
}

/// Errors the device reported outside any error scope, or its loss.
#[derive(Default)]
struct DeviceHealth {
    lost: Option<String>,
    uncaptured: Vec<String>,
}

pub(crate) struct GpuInner {
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    pub(crate) limits: wgpu::Limits,
    pub(crate) report: AdapterReport,
    pub(crate) pipelines: PipelineCache,
    pub(crate) pool: BufferPool,
    health: Arc<Mutex<DeviceHealth>>,
}

/// A device and queue with the engine's pipeline cache, buffer pool and adapter
/// profile. Cheap to clone (reference-counted); every kernel, recording and model holds
/// one.
#[derive(Clone)]
pub struct Gpu {
    pub(crate) inner: Arc<GpuInner>,
    profile: Arc<AdapterProfile>,
    /// A storage binding limit below the device's, set by [`Gpu::with_binding_limit`].
    binding_cap: Option<u64>,
    /// A workgroups-per-dimension limit below the device's ([`Gpu::with_grid_limit`])
    /// and the count of grids folded under it.
    grid_cap: Option<(u32, Arc<AtomicU64>)>,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu")
            .field("adapter", &self.inner.report.name)
            .finish()
    }
}

impl Gpu {
    /// Picks an adapter by `options` (see [`GpuOptions`]) and creates a device on it.
    pub fn new(options: &GpuOptions) -> Result<Gpu> {
        pollster::block_on(Self::new_async(options))
    }

    /// Like [`Gpu::new`] with [`GpuOptions::from_env`].
    pub fn from_env() -> Result<Gpu> {
        Self::new(&GpuOptions::from_env())
    }

    /// The device type (`Cpu`, `DiscreteGpu`, … as [`AdapterReport::device_type`] gives
    /// it) of the adapter [`Gpu::new`] would open with `options`, found without opening a
    /// device: the memory check needs it before a graph is built (a CPU adapter's device
    /// memory is host memory).
    pub fn probe_device_type(options: &GpuOptions) -> Result<String> {
        pollster::block_on(async {
            let backends = options.backends()?;
            let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
                backends,
                ..wgpu::InstanceDescriptor::new_without_display_handle()
            });
            let adapters = instance.enumerate_adapters(backends).await;
            let adapter = choose_adapter(adapters, options)?;
            Ok(format!("{:?}", adapter.get_info().device_type))
        })
    }

    async fn new_async(options: &GpuOptions) -> Result<Gpu> {
        let backends = options.backends()?;
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapters = instance.enumerate_adapters(backends).await;
        let adapter = choose_adapter(adapters, options)?;
        let info = adapter.get_info();
        let adapter_limits = adapter.limits();
        let required_limits = wgpu::Limits {
            max_storage_buffer_binding_size: adapter_limits.max_storage_buffer_binding_size,
            max_buffer_size: adapter_limits.max_buffer_size,
            max_storage_buffers_per_shader_stage: STORAGE_BUFFERS_PER_STAGE,
            max_compute_workgroups_per_dimension: adapter_limits
                .max_compute_workgroups_per_dimension,
            // Windows of large tensors are bound at row offsets: the finer, the better.
            min_storage_buffer_offset_alignment: adapter_limits.min_storage_buffer_offset_alignment,
            ..wgpu::Limits::downlevel_defaults()
        };
        if adapter_limits.max_storage_buffers_per_shader_stage < STORAGE_BUFFERS_PER_STAGE {
            return Err(Error::RequestDevice(format!(
                "adapter `{}` allows {} storage buffers per shader stage; the kernels need {}",
                info.name,
                adapter_limits.max_storage_buffers_per_shader_stage,
                STORAGE_BUFFERS_PER_STAGE
            )));
        }
        let required_features = adapter.features() & WANTED_FEATURES;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("gpu_vgae.device"),
                required_features,
                required_limits,
                experimental_features: wgpu::ExperimentalFeatures::disabled(),
                memory_hints: wgpu::MemoryHints::Performance,
                trace: wgpu::Trace::Off,
            })
            .await
            .map_err(|e| Error::RequestDevice(format!("adapter `{}`: {e}", info.name)))?;
        Ok(Self::assemble(device, queue, &info))
    }

    /// Wraps a device and queue the caller created. `adapter_info` names the adapter in
    /// reports; the device must allow 9 storage buffers per shader stage.
    pub fn from_device(
        device: wgpu::Device,
        queue: wgpu::Queue,
        adapter_info: &wgpu::AdapterInfo,
    ) -> Result<Gpu> {
        let have = device.limits().max_storage_buffers_per_shader_stage;
        if have < STORAGE_BUFFERS_PER_STAGE {
            return Err(Error::RequestDevice(format!(
                "the device allows {have} storage buffers per shader stage; the kernels need \
                 {STORAGE_BUFFERS_PER_STAGE} (request them in DeviceDescriptor::required_limits)"
            )));
        }
        Ok(Self::assemble(device, queue, adapter_info))
    }

    fn assemble(device: wgpu::Device, queue: wgpu::Queue, info: &wgpu::AdapterInfo) -> Gpu {
        let health = Arc::new(Mutex::new(DeviceHealth::default()));
        let lost = Arc::clone(&health);
        device.set_device_lost_callback(move |reason, message| {
            if let Ok(mut h) = lost.lock() {
                h.lost = Some(format!("{reason:?}: {message}"));
            }
        });
        // wgpu's default handler panics; keep the error so the next check returns it.
        let uncaptured = Arc::clone(&health);
        device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
            if let Ok(mut h) = uncaptured.lock() {
                h.uncaptured.push(error.to_string());
            }
        }));
        let limits = device.limits();
        let report = AdapterReport::new(info, device.features(), &limits);
        Gpu {
            binding_cap: None,
            grid_cap: None,
            profile: Arc::new(AdapterProfile {
                features: report.features(),
                ..AdapterProfile::for_device_type(info.device_type)
            }),
            inner: Arc::new(GpuInner {
                pool: BufferPool::new(device.clone(), &limits),
                pipelines: PipelineCache::default(),
                device,
                queue,
                limits,
                report,
                health,
            }),
        }
    }

    /// The kernels' tuning choices for this adapter.
    pub fn profile(&self) -> &AdapterProfile {
        &self.profile
    }

    /// The same device with other tuning choices (e.g. the GPU layouts run on a CPU
    /// adapter, to test them); pipelines and buffers stay shared. The profile's
    /// [`features`](AdapterProfile::features) are replaced by this device's: they are
    /// facts, not choices.
    pub fn with_profile(&self, profile: AdapterProfile) -> Gpu {
        Gpu {
            profile: Arc::new(AdapterProfile {
                features: self.profile.features,
                ..profile
            }),
            ..self.clone()
        }
    }

    /// The same device with storage bindings capped at `bytes` (at most the device's
    /// own limit): kernels then split tensors larger than that into windows exactly as
    /// they do past the device's limit. Lets tests and benchmarks run the windowed paths
    /// at small sizes on any adapter.
    pub fn with_binding_limit(&self, bytes: u64) -> Gpu {
        Gpu {
            binding_cap: Some(bytes),
            ..self.clone()
        }
    }

    /// The same device with at most `workgroups` workgroups per grid dimension (at most
    /// the device's own limit, at least 1): grids then fold into two dimensions exactly
    /// as they do past the device's limit (65,535 on most adapters), so tests check every
    /// kernel's folded indexing at small sizes.
    pub fn with_grid_limit(&self, workgroups: u32) -> Gpu {
        Gpu {
            grid_cap: Some((workgroups.max(1), Arc::new(AtomicU64::new(0)))),
            ..self.clone()
        }
    }

    /// Workgroups per grid dimension a dispatch may use: the device's
    /// `max_compute_workgroups_per_dimension`, or less after [`Gpu::with_grid_limit`].
    pub fn grid_limit(&self) -> u32 {
        let device = self.inner.limits.max_compute_workgroups_per_dimension;
        self.grid_cap
            .as_ref()
            .map_or(device, |(cap, _)| (*cap).min(device))
    }

    /// Grids folded into two dimensions under [`Gpu::with_grid_limit`] so far (0
    /// without one): lets a test check that its kernels really ran folded.
    pub fn folded_grids(&self) -> u64 {
        self.grid_cap
            .as_ref()
            .map_or(0, |(_, folds)| folds.load(Ordering::Relaxed))
    }

    pub(crate) fn count_folded_grid(&self) {
        if let Some((_, folds)) = &self.grid_cap {
            folds.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The largest storage binding a kernel may use, bytes: the device's
    /// `max_storage_buffer_binding_size`, or less after [`Gpu::with_binding_limit`].
    pub fn binding_limit(&self) -> u64 {
        let device = self.inner.limits.max_storage_buffer_binding_size;
        self.binding_cap.map_or(device, |cap| cap.min(device))
    }

    /// The alignment of a storage binding's offset, bytes.
    pub fn binding_alignment(&self) -> u64 {
        self.inner.limits.min_storage_buffer_offset_alignment as u64
    }

    /// The wgpu device.
    pub fn device(&self) -> &wgpu::Device {
        &self.inner.device
    }

    /// The wgpu queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.inner.queue
    }

    /// The device's limits.
    pub fn limits(&self) -> &wgpu::Limits {
        &self.inner.limits
    }

    /// What the adapter is, for logs, `gpu-vgae info` and benchmark reports.
    pub fn report(&self) -> &AdapterReport {
        &self.inner.report
    }

    /// Bytes of device memory the buffer pool holds (live and cached buffers).
    pub fn pool_bytes(&self) -> u64 {
        self.inner.pool.bytes_held()
    }

    /// Fails with [`Error::DeviceLost`] if the device was lost, or with the first error
    /// raised outside an error scope since the last check.
    pub fn check_health(&self) -> Result<()> {
        let mut health = self
            .inner
            .health
            .lock()
            .map_err(|_| Error::DeviceLost("device state poisoned".into()))?;
        if let Some(reason) = &health.lost {
            return Err(Error::DeviceLost(reason.clone()));
        }
        if !health.uncaptured.is_empty() {
            let message = health.uncaptured.join("; ");
            health.uncaptured.clear();
            return Err(Error::Kernel {
                kernel: "(outside an error scope)".into(),
                message,
            });
        }
        Ok(())
    }

    /// Runs `work` inside validation and out-of-memory error scopes and turns what they
    /// catch into an error naming `what`.
    pub(crate) fn scoped<T>(&self, what: &str, work: impl FnOnce() -> T) -> Result<T> {
        self.check_health()?;
        let device = &self.inner.device;
        let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let value = work();
        let validation_error = block_on(validation.pop());
        let oom_error = block_on(oom.pop());
        if let Some(e) = oom_error {
            return Err(Error::OutOfMemory {
                what: format!("{what}: {e}"),
            });
        }
        if let Some(e) = validation_error {
            return Err(Error::Kernel {
                kernel: what.to_string(),
                message: e.to_string(),
            });
        }
        self.check_health()?;
        Ok(value)
    }

    /// Blocks until all submitted work has finished.
    pub fn wait(&self) -> Result<()> {
        self.inner
            .device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::DeviceLost(format!("waiting for the GPU: {e}")))?;
        self.check_health()
    }
}

fn block_on<F: Future>(future: F) -> F::Output {
    pollster::block_on(future)
}

fn choose_adapter(adapters: Vec<wgpu::Adapter>, options: &GpuOptions) -> Result<wgpu::Adapter> {
    let names: Vec<String> = adapters
        .iter()
        .map(|a| {
            let i = a.get_info();
            format!("{} ({:?}, {:?})", i.name, i.backend, i.device_type)
        })
        .collect();
    let compute_capable: Vec<wgpu::Adapter> = adapters
        .into_iter()
        .filter(|a| {
            a.get_downlevel_capabilities()
                .flags
                .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
        })
        .collect();
    let backend_note = options
        .backend
        .as_deref()
        .map(|b| format!(" for backend `{b}`"))
        .unwrap_or_default();
    if compute_capable.is_empty() {
        return Err(Error::NoAdapter {
            details: if names.is_empty() {
                format!("no adapter found{backend_note}")
            } else {
                format!(
                    "none of the adapters found{backend_note} runs compute shaders: {}",
                    names.join(", ")
                )
            },
        });
    }
    let rank = |a: &wgpu::Adapter| match a.get_info().device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    };
    let mut candidates: Vec<wgpu::Adapter> = match &options.adapter_name {
        Some(wanted) => {
            let wanted_lower = wanted.to_lowercase();
            let matching: Vec<_> = compute_capable
                .into_iter()
                .filter(|a| a.get_info().name.to_lowercase().contains(&wanted_lower))
                .collect();
            if matching.is_empty() {
                return Err(Error::NoAdapter {
                    details: format!(
                        "no adapter name contains `{wanted}` (from {ADAPTER_ENV} or \
                         --adapter); found: {}",
                        names.join(", ")
                    ),
                });
            }
            matching
        }
        None => compute_capable,
    };
    candidates.sort_by_key(rank);
    Ok(candidates.swap_remove(0))
}

//! Recordings: ordered lists of prepared dispatches (pipeline, bind group, grid) built
//! once over typed buffers and submitted as one command buffer. A training epoch is one
//! recording; a kernel test is a recording of one dispatch.

use std::sync::Arc;

use bytemuck::{Pod, Zeroable};
use wgpu::util::DeviceExt;

use super::buffers::{GpuArray, GpuBuffer, GpuMatrix};
use super::context::Gpu;
use super::pipelines::{KernelDef, ParamsLayout, Pipeline, Scalar};
use crate::error::{Error, Result};

/// One compute dispatch, ready to record: its bind group owns the parameter uniform.
#[derive(Debug)]
pub struct Dispatch {
    label: String,
    pipeline: Arc<Pipeline>,
    bind_group: wgpu::BindGroup,
    workgroups: [u32; 3],
    /// The bound buffers, so the pool cannot recycle them while this dispatch exists.
    _bound: Vec<GpuBuffer>,
}

impl Dispatch {
    /// The kernel's label, e.g. `gpu_vgae.spmm`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The kernel (shader file stem).
    pub fn kernel(&self) -> &'static str {
        self.pipeline.def.name
    }

    /// Workgroups launched along x, y, z.
    pub fn workgroups(&self) -> [u32; 3] {
        self.workgroups
    }

    /// Records this dispatch into `pass`. Used by `Gpu::run_timed` (timing.rs), which
    /// gives every dispatch a compute pass of its own so that it can carry timestamps.
    pub(crate) fn encode(&self, pass: &mut wgpu::ComputePass<'_>) {
        pass.set_pipeline(&self.pipeline.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        let [x, y, z] = self.workgroups;
        pass.dispatch_workgroups(x, y, z);
    }
}

/// An ordered list of dispatches submitted together.
#[derive(Debug, Default)]
pub struct Recording {
    label: String,
    dispatches: Vec<Dispatch>,
}

impl Recording {
    /// An empty recording; `label` names it in errors and debuggers.
    pub fn new(label: impl Into<String>) -> Self {
        Recording {
            label: label.into(),
            dispatches: Vec::new(),
        }
    }

    /// Appends a dispatch.
    pub fn push(&mut self, dispatch: Dispatch) {
        self.dispatches.push(dispatch);
    }

    /// Appends several dispatches in order.
    pub fn extend(&mut self, dispatches: impl IntoIterator<Item = Dispatch>) {
        self.dispatches.extend(dispatches);
    }

    /// The dispatches in order.
    pub fn dispatches(&self) -> &[Dispatch] {
        &self.dispatches
    }

    /// The recording's label, for labels of wgpu objects made outside this module.
    pub(crate) fn label(&self) -> &str {
        &self.label
    }
}

/// Per-step values that change every epoch without rebuilding bind groups: the epoch
/// that keys the reparameterization noise, the Adam step count and the subgraph
/// objective's gradient scale. Mirrored by the WGSL struct `Step` in
/// `shaders/shared/step.wgsl` (checked by tests/shaders.rs).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Pod, Zeroable)]
pub struct StepParams {
    /// Epoch index (keys ε).
    pub epoch: u32,
    /// Adam step, starting at 1.
    pub adam_step: u32,
    /// The subgraph objective's gradient scale of this epoch, 2·norm_S/n² (1 for the
    /// other objectives, which do not read it).
    pub decoder_scale: f32,
    /// Padding to 16 bytes.
    pub _pad0: u32,
}

impl Default for StepParams {
    fn default() -> Self {
        Self::for_epoch(0)
    }
}

impl StepParams {
    /// The values of training epoch `epoch` (0-based): ε keyed by `epoch`, Adam step
    /// `epoch + 1`, decoder scale 1.
    pub fn for_epoch(epoch: u32) -> Self {
        StepParams {
            epoch,
            adam_step: epoch + 1,
            decoder_scale: 1.0,
            _pad0: 0,
        }
    }

    /// The layout tests/shaders.rs compares with the WGSL struct `Step`.
    pub const LAYOUT: ParamsLayout = ParamsLayout {
        size: std::mem::size_of::<StepParams>() as u64,
        fields: &[
            ("epoch", Scalar::U32),
            ("adam_step", Scalar::U32),
            ("decoder_scale", Scalar::F32),
            ("_pad0", Scalar::U32),
        ],
    };
}

/// A uniform buffer holding [`StepParams`], written once per epoch.
#[derive(Debug)]
pub struct StepBuffer {
    buffer: wgpu::Buffer,
}

impl StepBuffer {
    /// Writes new step values (queued before the next submission).
    pub fn write(&self, gpu: &Gpu, params: StepParams) {
        gpu.queue()
            .write_buffer(&self.buffer, 0, bytemuck::bytes_of(&params));
    }

    pub(crate) fn binding(&self) -> wgpu::BindingResource<'_> {
        self.buffer.as_entire_binding()
    }
}

/// A resource bound to binding 1.. of a dispatch.
pub enum Bind<'a> {
    /// `bytes` bytes of a storage buffer from byte `offset` (0 but for windows).
    Buffer {
        /// The buffer.
        buffer: &'a GpuBuffer,
        /// First byte bound.
        offset: u64,
        /// Meaningful bytes (the binding is rounded up to 16).
        bytes: u64,
    },
    /// The per-step uniform.
    Step(&'a StepBuffer),
}

impl<'a> Bind<'a> {
    /// An array's elements.
    pub fn array<T: Pod>(array: &'a GpuArray<T>) -> Self {
        Bind::Buffer {
            buffer: array.buffer(),
            offset: 0,
            bytes: array.bytes(),
        }
    }

    /// A matrix's elements.
    pub fn matrix<T: Pod>(matrix: &'a GpuMatrix<T>) -> Self {
        Self::array(matrix.data())
    }

    /// Elements `range` of an array (a window; `range.start` must give an aligned
    /// offset, see [`super::windows`]).
    pub fn elements<T: Pod>(array: &'a GpuArray<T>, range: std::ops::Range<usize>) -> Self {
        let size = std::mem::size_of::<T>() as u64;
        Bind::Buffer {
            buffer: array.buffer(),
            offset: range.start as u64 * size,
            bytes: range.len() as u64 * size,
        }
    }

    /// Rows `range` of a matrix (a window).
    pub fn rows<T: Pod>(matrix: &'a GpuMatrix<T>, range: std::ops::Range<usize>) -> Self {
        let cols = matrix.cols();
        Self::elements(matrix.data(), range.start * cols..range.end * cols)
    }
}

impl Gpu {
    /// A new per-step uniform initialised to `params`.
    pub fn step_buffer(&self, params: StepParams) -> StepBuffer {
        StepBuffer {
            buffer: self
                .device()
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some("gpu_vgae.step_params"),
                    contents: bytemuck::bytes_of(&params),
                    usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                }),
        }
    }

    /// The workgroup grid that covers `invocations` threads of `workgroup_size`, folded
    /// into two dimensions when one would exceed the device's per-dimension limit.
    /// Kernels linearise it as `(wid.x + wid.y * nwg.x) * WG + lid`.
    pub fn grid(&self, invocations: u64, workgroup_size: u32) -> Result<[u32; 3]> {
        let groups = invocations.div_ceil(workgroup_size as u64).max(1);
        let max = self.grid_limit() as u64;
        if groups <= max {
            return Ok([groups as u32, 1, 1]);
        }
        let y = groups.div_ceil(max);
        self.count_folded_grid();
        if y > max {
            return Err(Error::TooLarge {
                what: format!(
                    "the invocation count of one dispatch (workgroups of {workgroup_size}, at most \
                     {max} x {max} of them on this device)"
                ),
                size: invocations,
                limit: max * max * u64::from(workgroup_size),
            });
        }
        Ok([max as u32, y as u32, 1])
    }

    /// Prepares a dispatch of `pipeline`: uploads `params` as binding 0 and binds
    /// `resources` to bindings 1.. in the kernel's order.
    pub fn dispatch<P: Pod>(
        &self,
        pipeline: &Arc<Pipeline>,
        params: &P,
        resources: &[Bind<'_>],
        workgroups: [u32; 3],
    ) -> Result<Dispatch> {
        let def = pipeline.def;
        debug_assert_eq!(
            std::mem::size_of::<P>() as u64,
            def.params.size,
            "{}: parameter struct and KernelDef disagree",
            def.name
        );
        if resources.len() != def.bindings.len() {
            return Err(Error::InvalidArgument {
                argument: "resources",
                message: format!(
                    "kernel `{}` binds {} resources, {} given",
                    def.name,
                    def.bindings.len(),
                    resources.len()
                ),
            });
        }
        let label = format!("gpu_vgae.{}", def.name);
        self.check_bindings(def, resources)?;
        let uniform = self
            .device()
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(&label),
                contents: bytemuck::bytes_of(params),
                usage: wgpu::BufferUsages::UNIFORM,
            });
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: uniform.as_entire_binding(),
        }];
        for (i, resource) in resources.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: match resource {
                    Bind::Buffer {
                        buffer,
                        offset,
                        bytes,
                    } => buffer.binding_at(*offset, *bytes),
                    Bind::Step(step) => step.binding(),
                },
            });
        }
        let bind_group = self.scoped(&label, || {
            self.device().create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(&label),
                layout: &pipeline.layout,
                entries: &entries,
            })
        })?;
        let bound = resources
            .iter()
            .filter_map(|r| match r {
                Bind::Buffer { buffer, .. } => Some((*buffer).clone()),
                Bind::Step(_) => None,
            })
            .collect();
        Ok(Dispatch {
            label,
            pipeline: Arc::clone(pipeline),
            bind_group,
            workgroups,
            _bound: bound,
        })
    }

    /// Every storage binding within [`Gpu::binding_limit`] and at an aligned offset: a
    /// typed error naming the kernel's binding rather than a validation failure.
    fn check_bindings(&self, def: &KernelDef, resources: &[Bind<'_>]) -> Result<()> {
        let limit = self.binding_limit();
        let alignment = self.binding_alignment();
        for (resource, binding) in resources.iter().zip(def.bindings) {
            if let Bind::Buffer { offset, bytes, .. } = resource {
                let name = format!("gpu_vgae.{}.{}", def.name, binding.name);
                if !super::windows::fits_binding(self, *bytes) {
                    return Err(Error::BufferTooLarge {
                        label: name,
                        bytes: *bytes,
                        limit,
                        limit_kind: "storage binding",
                    });
                }
                if offset % alignment != 0 {
                    return Err(Error::InvalidArgument {
                        argument: "resources",
                        message: format!(
                            "{name}: window offset {offset} is not a multiple of the device's \
                             storage offset alignment ({alignment} bytes)"
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Records every dispatch of `recording` into one compute pass and submits it inside
    /// an error scope. Does not wait.
    pub fn submit(&self, recording: &Recording) -> Result<()> {
        self.submit_all(&[recording])
    }

    /// Records the dispatches of several recordings, in order, into one compute pass and
    /// one submission (e.g. a training epoch: forward and backward, then the optimizer).
    pub fn submit_all(&self, recordings: &[&Recording]) -> Result<()> {
        let names: Vec<&str> = recordings.iter().map(|r| r.label.as_str()).collect();
        let label = format!("gpu_vgae.{}", names.join("+"));
        self.scoped(&label, || {
            let mut encoder =
                self.device()
                    .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                        label: Some(&label),
                    });
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some(&label),
                    timestamp_writes: None,
                });
                for d in recordings.iter().flat_map(|r| &r.dispatches) {
                    pass.set_pipeline(&d.pipeline.pipeline);
                    pass.set_bind_group(0, &d.bind_group, &[]);
                    let [x, y, z] = d.workgroups;
                    pass.dispatch_workgroups(x, y, z);
                }
            }
            self.queue().submit(Some(encoder.finish()));
        })
    }

    /// Submits `recording` and waits for it to finish.
    pub fn run(&self, recording: &Recording) -> Result<()> {
        self.submit(recording)?;
        self.wait()
    }
}

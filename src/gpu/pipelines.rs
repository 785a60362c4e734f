//! Kernel definitions and the pipeline cache: one compute pipeline per kernel and
//! configuration (its overridable constants, the workgroup size always among them),
//! built once per device inside an error scope so that a shader that fails to compile
//! becomes [`Error::ShaderCompile`] naming the kernel.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::context::Gpu;
use crate::error::{Error, Result};

/// How a kernel binds one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindingKind {
    /// `var<uniform>`.
    Uniform,
    /// `var<storage, read>`.
    ReadOnly,
    /// `var<storage, read_write>`.
    ReadWrite,
}

/// One binding of a kernel: the WGSL variable's name and how it is bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BindingDef {
    /// The `var` name in the shader.
    pub name: &'static str,
    /// Uniform, read-only or read-write storage.
    pub kind: BindingKind,
}

impl BindingDef {
    /// A `var<storage, read>` binding.
    pub const fn read(name: &'static str) -> Self {
        BindingDef {
            name,
            kind: BindingKind::ReadOnly,
        }
    }

    /// A `var<storage, read_write>` binding.
    pub const fn write(name: &'static str) -> Self {
        BindingDef {
            name,
            kind: BindingKind::ReadWrite,
        }
    }

    /// A `var<uniform>` binding (other than the parameters at binding 0).
    pub const fn uniform(name: &'static str) -> Self {
        BindingDef {
            name,
            kind: BindingKind::Uniform,
        }
    }
}

/// The scalar type of a parameter field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    /// `u32`.
    U32,
    /// `f32`.
    F32,
}

/// Rust types allowed in a parameter struct.
pub trait ParamScalar {
    /// The matching WGSL scalar.
    const SCALAR: Scalar;
}

impl ParamScalar for u32 {
    const SCALAR: Scalar = Scalar::U32;
}

impl ParamScalar for f32 {
    const SCALAR: Scalar = Scalar::F32;
}

/// The layout of a kernel's parameter uniform (binding 0) as the Rust side writes it:
/// its size and its fields in order. tests/shaders.rs checks both against the WGSL
/// struct `Params`.
#[derive(Clone, Copy, Debug)]
pub struct ParamsLayout {
    /// `size_of` the Rust struct, bytes.
    pub size: u64,
    /// Field names and types in declaration order.
    pub fields: &'static [(&'static str, Scalar)],
}

/// A kernel: its WGSL source, entry point, parameter layout and binding table.
/// Binding 0 is always the parameter uniform `params`; `bindings[i]` is binding `i + 1`.
#[derive(Debug)]
pub struct KernelDef {
    /// Shader file stem (`shaders/<name>.wgsl`), also the stem of the wrapper
    /// (`src/kernels/<name>.rs`), the CPU twin (`src/cpu/<name>.rs`) and the test
    /// (`tests/kernels/<name>.rs`); used in labels and errors.
    pub name: &'static str,
    /// Complete WGSL source (shared snippets already prepended).
    pub source: &'static str,
    /// The compute entry point.
    pub entry_point: &'static str,
    /// The parameter uniform's layout.
    pub params: ParamsLayout,
    /// Bindings 1.. in order.
    pub bindings: &'static [BindingDef],
}

/// A built pipeline with its explicit bind group layout.
#[derive(Debug)]
pub struct Pipeline {
    pub(crate) def: &'static KernelDef,
    pub(crate) pipeline: wgpu::ComputePipeline,
    pub(crate) layout: wgpu::BindGroupLayout,
    pub(crate) workgroup_size: u32,
}

impl Pipeline {
    /// The workgroup size the pipeline was built with (its `WG` constant).
    pub fn workgroup_size(&self) -> u32 {
        self.workgroup_size
    }
}

/// A pipeline's definition (by address: a kernel's variants, e.g. its subgroup or f16
/// source, share its name) and its constants.
type CacheKey = (usize, Vec<(&'static str, u64)>);

#[derive(Default)]
pub(crate) struct PipelineCache {
    pipelines: Mutex<HashMap<CacheKey, Arc<Pipeline>>>,
}

impl Gpu {
    /// The pipeline for `def` with the profile's workgroup size, built on first use.
    pub fn pipeline(&self, def: &'static KernelDef) -> Result<Arc<Pipeline>> {
        self.pipeline_with(def, &[])
    }

    /// The pipeline for `def` with overridable constants set (e.g. `("CPL", 4.0)`).
    /// `WG` is always set: from `constants` when given there, else from the adapter
    /// profile, so the grid the host computes and the shader's workgroup agree.
    pub fn pipeline_with(
        &self,
        def: &'static KernelDef,
        constants: &[(&'static str, f64)],
    ) -> Result<Arc<Pipeline>> {
        let mut constants = constants.to_vec();
        let workgroup_size = match constants.iter().find(|(k, _)| *k == "WG") {
            Some(&(_, wg)) => wg as u32,
            None => {
                let wg = self.profile().workgroup_size;
                constants.push(("WG", f64::from(wg)));
                wg
            }
        };
        constants.sort_by(|a, b| a.0.cmp(b.0));
        let key: CacheKey = (
            std::ptr::from_ref(def) as usize,
            constants.iter().map(|&(k, v)| (k, v.to_bits())).collect(),
        );
        if let Some(found) = self.cache().lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(found);
        }
        let built = Arc::new(self.build_pipeline(def, &constants, workgroup_size)?);
        if let Ok(mut map) = self.cache().lock() {
            map.insert(key, Arc::clone(&built));
        }
        Ok(built)
    }

    fn cache(&self) -> &Mutex<HashMap<CacheKey, Arc<Pipeline>>> {
        &self.inner.pipelines.pipelines
    }

    fn build_pipeline(
        &self,
        def: &'static KernelDef,
        constants: &[(&'static str, f64)],
        workgroup_size: u32,
    ) -> Result<Pipeline> {
        let label = format!("gpu_vgae.{}", def.name);
        let device = self.device();
        let mut entries = vec![layout_entry(0, BindingKind::Uniform)];
        for (i, binding) in def.bindings.iter().enumerate() {
            entries.push(layout_entry(i as u32 + 1, binding.kind));
        }
        let build = || {
            let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(&label),
                source: wgpu::ShaderSource::Wgsl(def.source.into()),
            });
            let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some(&label),
                entries: &entries,
            });
            let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(&label),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
            let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&label),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some(def.entry_point),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants,
                    zero_initialize_workgroup_memory: false,
                },
                cache: None,
            });
            (pipeline, layout)
        };
        let (pipeline, layout) = self.scoped(&label, build).map_err(|e| match e {
            Error::Kernel { message, .. } => Error::ShaderCompile {
                kernel: def.name,
                message,
            },
            other => other,
        })?;
        Ok(Pipeline {
            def,
            pipeline,
            layout,
            workgroup_size,
        })
    }
}

fn layout_entry(binding: u32, kind: BindingKind) -> wgpu::BindGroupLayoutEntry {
    let ty = match kind {
        BindingKind::Uniform => wgpu::BufferBindingType::Uniform,
        BindingKind::ReadOnly => wgpu::BufferBindingType::Storage { read_only: true },
        BindingKind::ReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
    };
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty,
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

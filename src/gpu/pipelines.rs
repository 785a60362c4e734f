//! The pipeline cache: one compute pipeline per kernel and configuration (its overridable
//! constants), built once per device inside an error scope so that a shader that fails
//! to compile becomes [`Error::ShaderCompile`] naming the kernel.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::context::Gpu;
use crate::error::{Error, Result};

/// How a kernel binds one resource after its parameter uniform (binding 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BindingKind {
    /// `var<uniform>`.
    Uniform,
    /// `var<storage, read>`.
    ReadOnly,
    /// `var<storage, read_write>`.
    ReadWrite,
}

/// A kernel's source and binding table. Binding 0 is always the kernel's parameter
/// uniform; `bindings[i]` describes binding `i + 1`.
#[derive(Debug)]
pub struct KernelDef {
    /// Shader file stem, used in labels and errors (e.g. `spmm`).
    pub name: &'static str,
    /// Complete WGSL source (shared snippets already prepended).
    pub source: &'static str,
    /// Bindings 1.. in order.
    pub bindings: &'static [BindingKind],
    /// Workgroup size, the `WG` override every kernel declares.
    pub workgroup_size: u32,
}

/// A built pipeline with its explicit bind group layout.
#[derive(Debug)]
pub struct Pipeline {
    pub(crate) def: &'static KernelDef,
    pub(crate) pipeline: wgpu::ComputePipeline,
    pub(crate) layout: wgpu::BindGroupLayout,
    pub(crate) workgroup_size: u32,
}

type CacheKey = (&'static str, Vec<(&'static str, u64)>);

#[derive(Default)]
pub(crate) struct PipelineCache {
    pipelines: Mutex<HashMap<CacheKey, Arc<Pipeline>>>,
}

impl Gpu {
    /// The pipeline for `def` with its default workgroup size, built on first use.
    pub fn pipeline(&self, def: &'static KernelDef) -> Result<Arc<Pipeline>> {
        self.pipeline_with(def, &[])
    }

    /// The pipeline for `def` with overridable constants set (e.g. `("WG", 128.0)`).
    pub fn pipeline_with(
        &self,
        def: &'static KernelDef,
        constants: &[(&'static str, f64)],
    ) -> Result<Arc<Pipeline>> {
        let key: CacheKey = (
            def.name,
            constants.iter().map(|&(k, v)| (k, v.to_bits())).collect(),
        );
        if let Some(found) = self.cache().lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(found);
        }
        let built = Arc::new(self.build_pipeline(def, constants)?);
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
    ) -> Result<Pipeline> {
        let workgroup_size = constants
            .iter()
            .find(|(k, _)| *k == "WG")
            .map_or(def.workgroup_size, |&(_, v)| v as u32);
        let label = format!("gpu_vgae.{}", def.name);
        let device = self.device();
        let mut entries = vec![layout_entry(0, BindingKind::Uniform)];
        for (i, &kind) in def.bindings.iter().enumerate() {
            entries.push(layout_entry(i as u32 + 1, kind));
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
                entry_point: Some("main"),
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

//! Per-adapter tuning: the layouts the kernel wrappers choose (register blocking, columns
//! per invocation, workgroup size) as one typed value, picked from the adapter's device
//! type when the device is opened and replaceable by the caller ([`Gpu::with_profile`]).
//!
//! CPU adapters (Mesa's lavapipe/llvmpipe) run a workgroup as SIMD lanes of one CPU
//! thread, where every storage load is a per-lane sequence (a bounds check and a branch
//! per lane and component) and a subgroup shuffle a register move; there, one invocation
//! doing more outputs (and reusing every load), lanes sharing what they all need through
//! shuffles, and few fat invocations for elementwise work win. GPUs keep one output
//! group per invocation for the most parallelism. The figures behind each CPU choice
//! are in benches/RESULTS.md. The profile also records the device's optional features
//! ([`AdapterFeatures`]), which decide whether the subgroup layouts can run.
//!
//! [`Gpu::with_profile`]: crate::gpu::Gpu::with_profile

use serde::Serialize;

/// What kind of processor runs the kernels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum AdapterClass {
    /// A software rasterizer on the host CPU (lavapipe, WARP, SwiftShader).
    Cpu,
    /// A discrete, integrated or virtual GPU.
    Gpu,
}

/// Rows × column groups (of 4) one invocation of a dense product computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Blocking {
    /// Output rows per invocation (1..=4).
    pub rows: usize,
    /// Output column groups of 4 per invocation (1..=8).
    pub column_groups: usize,
}

/// Optional device features the kernels can use. Facts about the device, not choices:
/// the [`Gpu`](crate::gpu::Gpu) that holds a profile fills them in from its device
/// (a profile built by [`AdapterProfile::cpu`] or [`AdapterProfile::gpu`] has none until
/// then).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AdapterFeatures {
    /// GPU timestamp queries (`TIMESTAMP_QUERY`).
    pub timestamp_queries: bool,
    /// 16-bit floats in shaders (`SHADER_F16`).
    pub shader_f16: bool,
    /// Subgroup operations (`SUBGROUP`), with the adapter's smallest and largest
    /// subgroup size; `None` where the device was created without them.
    pub subgroups: Option<SubgroupSizes>,
}

/// The range of subgroup sizes an adapter may run a compute shader with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SubgroupSizes {
    /// Smallest subgroup size.
    pub min: u32,
    /// Largest subgroup size.
    pub max: u32,
}

/// The tuning choices of every kernel wrapper for one adapter.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AdapterProfile {
    /// The adapter class the values were chosen for.
    pub class: AdapterClass,
    /// Invocations per workgroup of every kernel (the shaders' `override WG`), except
    /// where a kernel's layout sizes its own workgroup (`matmul_tn_partial` blocked).
    pub workgroup_size: u32,
    /// spmm: column groups (of 4) per invocation (the shader's `CPL`, 1..=8).
    pub spmm_column_groups: usize,
    /// spmm's subgroup layout: rows each workgroup (one subgroup) walks (`RPW`).
    pub spmm_rows_per_workgroup: usize,
    /// matmul A·B blocking.
    pub matmul: Blocking,
    /// matmul A·Bᵀ blocking.
    pub matmul_transposed: Blocking,
    /// matmul blocking in the subgroup layout (both A·B and A·Bᵀ; column groups at
    /// most the subgroup size / 4).
    pub matmul_subgroup: Blocking,
    /// matmul_tn_partial: whether a workgroup owns one chunk and a run of column
    /// groups (`BLOCKED`), and how many groups per invocation it then takes.
    pub matmul_tn_blocked: Option<usize>,
    /// decoder_dense: threads the column splits (row layout) or the blocks (tile
    /// layout) aim for (more only add partial sums for decoder_pairs to read).
    pub dense_target_invocations: usize,
    /// kmeans_update: one invocation per chunk of points summing whole rows (the
    /// shader's `ROWS`; for k ≤ 8 and dimension ≤ 16 in registers), rather than one per
    /// (chunk, column). The same sums either way.
    pub kmeans_update_rows: bool,
    /// decoder_dense: the symmetric tile layout (every unordered pair once, through
    /// workgroup memory and barriers) rather than the register-blocked row layout.
    pub dense_symmetric: bool,
    /// topk_rows: rows per invocation (the shader's `R`, 1..=4), each z_j loaded once
    /// for all of them.
    pub topk_rows: usize,
    /// Whether kernels take their subgroup layouts where the device has subgroup
    /// operations of one fixed size ([`AdapterProfile::subgroup_size`]): a subgroup
    /// shares the loads every lane needs (one lane loads, the others read it with a
    /// shuffle), which on llvmpipe replaces a per-lane load sequence by a register
    /// move (benches/RESULTS.md).
    pub use_subgroups: bool,
    /// Elementwise kernels (`adam`): vec4s each invocation updates (1 on GPUs; on CPU
    /// adapters more, since llvmpipe pays a fixed cost per 8 invocations).
    pub elementwise_vec4s: u32,
    /// The device's optional features (facts, filled in by the `Gpu`).
    pub features: AdapterFeatures,
}

impl AdapterProfile {
    /// The profile for CPU adapters (measured on llvmpipe, benches/RESULTS.md): the
    /// subgroup layouts where the device has subgroups (spmm 16 rows a workgroup,
    /// matmul 4 rows × 2 groups); without them spmm 4 column groups per invocation and
    /// matmul 4 rows × 2 groups; matmul_tn blocked with 4 groups; adam 32 vec4s per
    /// invocation; kmeans_update by rows; decoder_dense in rows; topk_rows 4 rows.
    pub fn cpu() -> Self {
        AdapterProfile {
            class: AdapterClass::Cpu,
            workgroup_size: 64,
            spmm_column_groups: 4,
            spmm_rows_per_workgroup: 16,
            matmul: Blocking {
                rows: 4,
                column_groups: 2,
            },
            matmul_transposed: Blocking {
                rows: 4,
                column_groups: 2,
            },
            matmul_subgroup: Blocking {
                rows: 4,
                column_groups: 2,
            },
            matmul_tn_blocked: Some(4),
            dense_target_invocations: 16_384,
            kmeans_update_rows: true,
            dense_symmetric: false,
            topk_rows: 4,
            use_subgroups: true,
            elementwise_vec4s: 32,
            features: AdapterFeatures::default(),
        }
    }

    /// The profile for GPUs: one output group per invocation everywhere; decoder_dense
    /// in symmetric tiles; no subgroup layouts (not measured on a GPU yet; they are
    /// correct there where the subgroup size is fixed, [`AdapterProfile::subgroup_size`]).
    pub fn gpu() -> Self {
        let one = Blocking {
            rows: 1,
            column_groups: 1,
        };
        AdapterProfile {
            class: AdapterClass::Gpu,
            workgroup_size: 64,
            spmm_column_groups: 1,
            spmm_rows_per_workgroup: 1,
            matmul: one,
            matmul_transposed: one,
            matmul_subgroup: one,
            matmul_tn_blocked: None,
            dense_target_invocations: 16_384,
            kmeans_update_rows: false,
            dense_symmetric: true,
            topk_rows: 1,
            use_subgroups: false,
            elementwise_vec4s: 1,
            features: AdapterFeatures::default(),
        }
    }

    /// The profile for an adapter of `device_type`.
    pub fn for_device_type(device_type: wgpu::DeviceType) -> Self {
        match device_type {
            wgpu::DeviceType::Cpu => Self::cpu(),
            _ => Self::gpu(),
        }
    }

    /// The subgroup size the subgroup layouts run with: where the profile asks for them
    /// and the device has subgroup operations of one fixed size between 4 and 64 (a
    /// power of two; lavapipe: 8). Those layouts size a workgroup to one subgroup and
    /// rely on its lanes being the workgroup's invocations, which a fixed size
    /// guarantees; elsewhere the other layouts run.
    pub fn subgroup_size(&self) -> Option<u32> {
        match self.features.subgroups {
            Some(SubgroupSizes { min, max })
                if self.use_subgroups
                    && min == max
                    && min.is_power_of_two()
                    && (4..=64).contains(&min) =>
            {
                Some(min)
            }
            _ => None,
        }
    }
}

impl Default for AdapterProfile {
    /// The GPU profile: what a schedule is planned with before a device is open.
    fn default() -> Self {
        Self::gpu()
    }
}

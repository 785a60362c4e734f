//! Per-adapter tuning: the layouts the kernel wrappers choose (register blocking, columns
//! per invocation, workgroup size) as one typed value, picked from the adapter's device
//! type when the device is opened and replaceable by the caller ([`Gpu::with_profile`]).
//!
//! CPU adapters (Mesa's lavapipe/llvmpipe) run a workgroup as SIMD lanes of one CPU
//! thread, where every storage load is a per-lane sequence; there, one invocation doing
//! more outputs (and reusing every load) wins. GPUs keep one output group per invocation
//! for the most parallelism. The figures behind each CPU choice are in
//! benches/RESULTS.md.
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
    /// matmul A·B blocking.
    pub matmul: Blocking,
    /// matmul A·Bᵀ blocking.
    pub matmul_transposed: Blocking,
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
}

impl AdapterProfile {
    /// The profile for CPU adapters (measured on llvmpipe, benches/RESULTS.md): spmm 4
    /// column groups per invocation; matmul 4 rows × 4 groups (A·B) and 2 rows × 8
    /// groups (A·Bᵀ); matmul_tn blocked with 4 groups; kmeans_update by rows;
    /// decoder_dense in rows; topk_rows 4 rows.
    pub fn cpu() -> Self {
        AdapterProfile {
            class: AdapterClass::Cpu,
            workgroup_size: 64,
            spmm_column_groups: 4,
            matmul: Blocking {
                rows: 4,
                column_groups: 4,
            },
            matmul_transposed: Blocking {
                rows: 2,
                column_groups: 8,
            },
            matmul_tn_blocked: Some(4),
            dense_target_invocations: 16_384,
            kmeans_update_rows: true,
            dense_symmetric: false,
            topk_rows: 4,
        }
    }

    /// The profile for GPUs: one output group per invocation everywhere; decoder_dense
    /// in symmetric tiles.
    pub fn gpu() -> Self {
        let one = Blocking {
            rows: 1,
            column_groups: 1,
        };
        AdapterProfile {
            class: AdapterClass::Gpu,
            workgroup_size: 64,
            spmm_column_groups: 1,
            matmul: one,
            matmul_transposed: one,
            matmul_tn_blocked: None,
            dense_target_invocations: 16_384,
            kmeans_update_rows: false,
            dense_symmetric: true,
            topk_rows: 1,
        }
    }

    /// The profile for an adapter of `device_type`.
    pub fn for_device_type(device_type: wgpu::DeviceType) -> Self {
        match device_type {
            wgpu::DeviceType::Cpu => Self::cpu(),
            _ => Self::gpu(),
        }
    }
}

impl Default for AdapterProfile {
    /// The GPU profile: what a schedule is planned with before a device is open.
    fn default() -> Self {
        Self::gpu()
    }
}

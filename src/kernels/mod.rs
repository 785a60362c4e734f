//! The kernel registry. Every kernel is one entry of [`REGISTRY`] and one name that
//! finds all of its parts:
//!
//! | part | where |
//! |---|---|
//! | WGSL source | `shaders/<name>.wgsl` (shared snippets in `shaders/shared/`) |
//! | wrapper, [`KernelDef`], parameter struct, work formula | `src/kernels/<name>.rs` |
//! | CPU twin | `src/cpu/<name>.rs` |
//! | test against the twin | `tests/kernels/<name>.rs` |
//! | step in a schedule: `<Name>Step` and its [`ScheduleOp`](crate::model::schedule::ScheduleOp) impl (reads, writes, work, description, GPU recording, CPU step) | the end of `src/kernels/<name>.rs`; its registry line names it (`spmm::SPMM => Spmm(SpmmStep)`) |
//!
//! A kernel whose registry line names a step type is a variant of [`Op`] (generated
//! here, used as [`crate::model::schedule::Op`]): the GPU engine, the CPU reference and
//! `benches/kernels` (which times every step of an epoch) run it with no change of
//! their own, and a model's builder (the VGAE's: `src/model/vgae.rs`) places it in an
//! epoch.
//!
//! The k-means kernels (`kmeans_assign`, `kmeans_distances`, `kmeans_update`) are not
//! part of an epoch: they
//! serve [`crate::cluster::kmeans_gpu`] and have their own benchmark cases.
//!
//! Each wrapper checks shapes, fetches the cached pipeline (tuned by the adapter
//! profile) and returns a prepared [`Dispatch`](crate::gpu::Dispatch). tests/shaders.rs
//! checks every entry against its WGSL with naga, without an adapter: entry point,
//! binding names and kinds, and the parameter struct field by field.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::gpu::KernelDef;
use crate::model::schedule::{Elem, TensorElem};

// The macros below are in textual scope for the kernel modules, which `registry!`
// declares after them.

/// The source of a shader in `shaders/`.
macro_rules! shader_source {
    ($file:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/shaders/", $file))
    };
}

/// A kernel's source with the subgroup helpers of `shaders/shared/subgroups.wgsl`
/// (`with`) or their stand-ins (`without`) prepended: the first for the subgroup
/// layouts on devices with subgroup operations, the second (the registry's) for every
/// device. A device without `SUBGROUP` rejects any module that names a subgroup
/// operation, even one it never calls, hence two sources.
macro_rules! subgroup_source {
    (with, $($file:literal),+) => {
        concat!(shader_source!("shared/subgroups.wgsl"), $(shader_source!($file)),+)
    };
    (without, $($file:literal),+) => {
        concat!(shader_source!("shared/subgroups_off.wgsl"), $(shader_source!($file)),+)
    };
}

/// A kernel's source for embeddings stored in `f32` (the registry's) or `f16` (for
/// devices with `SHADER_F16`): `shaders/shared/store_f32.wgsl` or `store_f16.wgsl`
/// first (the latter opens with `enable f16;`, which must lead the module), then the
/// files, e.g. `store_source!(f16, subgroup_source!(with, "topk_rows.wgsl"))`. A device
/// without `SHADER_F16` rejects a module that names `f16`, hence two sources.
macro_rules! store_source {
    (f32, $($part:expr),+) => {
        concat!(shader_source!("shared/store_f32.wgsl"), $($part),+)
    };
    (f16, $($part:expr),+) => {
        concat!(shader_source!("shared/store_f16.wgsl"), $($part),+)
    };
}

/// Declares a kernel's parameter uniform: the `#[repr(C)]` struct and its
/// [`ParamsLayout`](crate::gpu::ParamsLayout) (`LAYOUT`), which tests/shaders.rs
/// compares with the WGSL struct `Params` member by member.
macro_rules! kernel_params {
    ($(#[$meta:meta])* struct $name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
        pub(crate) struct $name {
            $(pub(crate) $field: $ty),*
        }

        impl $name {
            pub(crate) const LAYOUT: crate::gpu::ParamsLayout = crate::gpu::ParamsLayout {
                size: std::mem::size_of::<$name>() as u64,
                fields: &[$((
                    stringify!($field),
                    <$ty as crate::gpu::ParamScalar>::SCALAR,
                )),*],
            };
        }
    };
}

/// The registry: declares the kernel modules, lists their definitions in [`REGISTRY`],
/// and generates [`Op`] from the step types of the kernels that can be steps of a
/// schedule (`module::DEF => Variant(StepType)`).
macro_rules! registry {
    ($($module:ident :: $def:ident $(=> $variant:ident($step:ident))?),+ $(,)?) => {
        $(pub mod $module;)+

        /// Every kernel, in the order of the table in `src/kernels/mod.rs`.
        pub static REGISTRY: &[&KernelDef] = &[$(&$module::$def),+];

        crate::model::schedule::ops! { $($($variant($module::$step),)?)+ }
    };
}

registry! {
    spmm::SPMM => Spmm(SpmmStep),
    matmul::MATMUL => Matmul(MatmulStep),
    matmul_tn_partial::MATMUL_TN_PARTIAL => MatmulTnPartial(MatmulTnPartialStep),
    reduce_sum::REDUCE_SUM => ReduceSum(ReduceSumStep),
    reparam_kl::REPARAM_KL => ReparamKl(ReparamKlStep),
    reparam_backward::REPARAM_BACKWARD => ReparamBackward(ReparamBackwardStep),
    class_mean_grad::CLASS_MEAN_GRAD => ClassMeanGrad(ClassMeanGradStep),
    decoder_dense::DECODER_DENSE => DecoderDense(DecoderDenseStep),
    decoder_pairs::DECODER_PAIRS => DecoderPairs(DecoderPairsStep),
    edge_score::EDGE_SCORE,
    gather_rows::GATHER_ROWS => GatherRows(GatherRowsStep),
    scatter_rows::SCATTER_ROWS => ScatterRows(ScatterRowsStep),
    topk_rows::TOPK_ROWS,
    convert_rows::CONVERT_ROWS => ConvertRows(ConvertRowsStep),
    normalize_rows::NORMALIZE_ROWS,
    normalize_rows_backward::NORMALIZE_ROWS_BACKWARD,
    pair_sigmoid::PAIR_SIGMOID,
    pair_softmax::PAIR_SOFTMAX,
    minmax_rows::MINMAX_ROWS,
    minmax_rows_backward::MINMAX_ROWS_BACKWARD,
    dropout::DROPOUT,
    adam::ADAM => Adam(AdamStep),
    kmeans_assign::KMEANS_ASSIGN,
    kmeans_distances::KMEANS_DISTANCES,
    kmeans_update::KMEANS_UPDATE,
    bias_act::BIAS_ACT => BiasAct(BiasActStep),
    act_backward::ACT_BACKWARD => ActBackward(ActBackwardStep),
    lincomb::LINCOMB => Lincomb(LincombStep),
    mse_grad::MSE_GRAD => MseGrad(MseGradStep),
    row_dot::ROW_DOT => RowDot(RowDotStep),
    student_t::STUDENT_T => StudentT(StudentTStep),
    target_dist::TARGET_DIST => TargetDist(TargetDistStep),
    student_t_grad::STUDENT_T_GRAD => StudentTGrad(StudentTGradStep),
    attention_forward::ATTENTION_FORWARD => AttentionForward(AttentionForwardStep),
    attention_combine::ATTENTION_COMBINE => AttentionCombine(AttentionCombineStep),
    attention_backward::ATTENTION_BACKWARD => AttentionBackward(AttentionBackwardStep),
    pair_mse::PAIR_MSE => PairMse(PairMseStep),
    pair_mse_gradient::PAIR_MSE_GRADIENT => PairMseGradient(PairMseGradientStep),
    pair_mse_mirror::PAIR_MSE_MIRROR => PairMseMirror(PairMseMirrorStep),
    pair_mse_sparse::PAIR_MSE_SPARSE => PairMseSparse(PairMseSparseStep),
}

/// The kernels' definitions with subgroup operations (see `subgroup_source!`): each is
/// its registry entry with `shaders/shared/subgroups.wgsl` prepended. tests/shaders.rs
/// validates them with naga's subgroup capability.
pub static SUBGROUP_VARIANTS: &[&KernelDef] = &[
    &spmm::SPMM_SUBGROUPS,
    &matmul::MATMUL_SUBGROUPS,
    &matmul_tn_partial::MATMUL_TN_PARTIAL_SUBGROUPS,
    &pair_mse::PAIR_MSE_SUBGROUPS,
    &pair_mse_gradient::PAIR_MSE_GRADIENT_SUBGROUPS,
    &pair_mse_mirror::PAIR_MSE_MIRROR_SUBGROUPS,
    &topk_rows::TOPK_ROWS_SUBGROUPS,
];

/// The kernels' definitions that store embeddings in f16 (see `store_source!`): each is
/// its registry entry with `shaders/shared/store_f16.wgsl` in place of
/// `store_f32.wgsl`. tests/shaders.rs validates them with naga's f16 capability alone.
pub static F16_VARIANTS: &[&KernelDef] = &[
    &decoder_dense::DECODER_DENSE_F16,
    &decoder_pairs::DECODER_PAIRS_F16,
    &edge_score::EDGE_SCORE_F16,
    &topk_rows::TOPK_ROWS_F16,
    &reparam_kl::REPARAM_KL_F16,
    &convert_rows::CONVERT_ROWS_F16,
];

/// The subgroup variants (see [`SUBGROUP_VARIANTS`]) that store embeddings in f16,
/// validated with both capabilities.
pub static F16_SUBGROUP_VARIANTS: &[&KernelDef] = &[&topk_rows::TOPK_ROWS_F16_SUBGROUPS];

/// The element types embeddings are stored in for the kernels that read or write them
/// (decoders, pair scores, top-k, the reparameterization's Z): `f32`, or `f16`
/// ([`Precision::F16`](crate::model::Precision::F16)).
pub trait EmbeddingElem: TensorElem {}

impl EmbeddingElem for f32 {}

impl EmbeddingElem for half::f16 {}

/// The definition of a kernel with embedding storage `T`: `f32` (the registry's) or
/// `f16`. A device without `SHADER_F16` is never handed an f16 module: for it, f16 is
/// [`Error::InvalidConfig`] naming the precision and the adapter.
pub(crate) fn store_choice<T: EmbeddingElem>(
    gpu: &crate::gpu::Gpu,
    f32_def: &'static KernelDef,
    f16_def: &'static KernelDef,
) -> Result<&'static KernelDef> {
    match T::ELEM {
        Elem::F16 => {
            check_f16(gpu)?;
            Ok(f16_def)
        }
        _ => Ok(f32_def),
    }
}

/// Fails unless `gpu` runs shaders with 16-bit floats (`SHADER_F16`), with the error a
/// model of [`Precision::F16`](crate::model::Precision::F16) gets before training.
pub fn check_f16(gpu: &crate::gpu::Gpu) -> Result<()> {
    if gpu.profile().features.shader_f16 {
        Ok(())
    } else {
        Err(Error::InvalidConfig {
            setting: "precision",
            message: format!(
                "f16 storage needs 16-bit floats in shaders (SHADER_F16), which the device                  on adapter `{}` does not have; use precision f32",
                gpu.report().name
            ),
        })
    }
}

/// The definition a kernel wrapper builds on `gpu` and the subgroup size its `SG`
/// constant gets: `with` (the subgroup source) and the profile's fixed subgroup size
/// where it takes subgroup layouts ([`AdapterProfile::subgroup_size`]) and `allowed`,
/// else `without` and 0.
///
/// [`AdapterProfile::subgroup_size`]: crate::gpu::AdapterProfile::subgroup_size
pub(crate) fn subgroup_choice(
    gpu: &crate::gpu::Gpu,
    allowed: bool,
    without: &'static KernelDef,
    with: &'static KernelDef,
) -> (&'static KernelDef, u32) {
    match gpu.profile().subgroup_size() {
        Some(size) if allowed => (with, size),
        _ => (without, 0),
    }
}

/// Largest latent dimension the decoder kernels hold in registers.
pub const MAX_LATENT: usize = 64;

/// The work one dispatch (or chain of dispatches) does, for throughput figures; each
/// kernel module has a `work` function with its formula.
///
/// `flops` counts arithmetic floating-point operations (a multiply-add is 2; exp, log
/// and comparisons are not counted); elementwise kernels whose cost is memory traffic
/// report 0 and are rated in GB/s only. `bytes` is the compulsory traffic: every input
/// array read once and every output written once (gathers through an index, such as
/// SpMM's rows of B, count once per element of the array, not per access). Real traffic
/// is higher, so GB/s is a lower bound on the bandwidth the kernel achieved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Work {
    /// Floating-point operations per run.
    pub flops: f64,
    /// Compulsory bytes moved per run.
    pub bytes: f64,
}

/// Bytes of an `f32` or `u32`, for the work formulas.
pub(crate) const WORD: f64 = 4.0;
/// Bytes of one f32 or u32, for window planning.
pub(crate) const WORD_BYTES: u64 = 4;

/// Bytes of one `T`, for window planning.
pub(crate) fn elem_bytes<T>() -> u64 {
    std::mem::size_of::<T>() as u64
}

impl std::ops::Add for Work {
    type Output = Work;

    fn add(self, other: Work) -> Work {
        Work {
            flops: self.flops + other.flops,
            bytes: self.bytes + other.bytes,
        }
    }
}

/// Converts a size to the `u32` the shaders index with, or says which size is too large
/// ([`Error::TooLarge`]).
pub(crate) fn to_u32(what: &str, value: usize) -> Result<u32> {
    u32::try_from(value).map_err(|_| Error::TooLarge {
        what: format!("{what} (indexed in 32 bits by the kernels)"),
        size: value as u64,
        limit: u64::from(u32::MAX),
    })
}

/// Fails unless `cond`, with [`Error::InvalidArgument`] naming the argument and a message
/// naming the kernel.
pub(crate) fn check(
    cond: bool,
    kernel: &str,
    argument: &'static str,
    message: impl FnOnce() -> String,
) -> Result<()> {
    if cond {
        Ok(())
    } else {
        Err(Error::InvalidArgument {
            argument,
            message: format!("{kernel}: {}", message()),
        })
    }
}

/// Checks that `latent` columns fit the decoder kernels and the matrix holding them.
pub(crate) fn check_latent(kernel: &str, latent: usize, cols: usize) -> Result<()> {
    check((1..=MAX_LATENT).contains(&latent), kernel, "latent", || {
        format!("latent dimension {latent} must be between 1 and {MAX_LATENT}")
    })?;
    check(latent <= cols, kernel, "latent", || {
        format!("latent dimension {latent} exceeds the {cols} columns of z")
    })
}

/// `1.0` or `0.0`, for boolean pipeline constants.
pub(crate) fn flag(value: bool) -> f64 {
    if value {
        1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_formulas_match_the_cost_model() {
        // DESIGN.md §6: the dense decoder at Citeseer is ≈ 0.7 GFLOP.
        let w = decoder_dense::work(3327, 16, 1, 4);
        assert!((w.flops / 1e9 - 0.708).abs() < 0.01);
        assert_eq!(spmm::work(2, 3, 4, 5).flops, 40.0);
        assert_eq!(matmul::work(2, 3, 4).bytes, 4.0 * (6.0 + 12.0 + 8.0));
        // DESIGN.md §7: the global top-k scan at Pubmed is ≈ 6.2 GFLOP (N²·L).
        let rows: Vec<u32> = (0..19_717).collect();
        let pairs = topk_rows::scanned_pairs(19_717, &rows, true);
        assert_eq!(pairs, 19_717 * 19_716 / 2);
        assert!((topk_rows::work(pairs, 19_717, 16, 0, 0, 0).flops / 1e9 - 6.22).abs() < 0.01);
    }
}

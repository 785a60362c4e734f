//! `shaders/pair_softmax.wgsl`: over a CSR pattern's entries (i, j), the row
//! log-sum-exp of s = x_i·y_j/τ and coef = gain_i·softmax_row(s), also written in the
//! transposed pattern's order (MAGI's sampled contrastive denominator and its
//! gradient's coefficients, `src/filters/magi.rs`).

use super::{check, to_u32, Work, WORD, WORD_BYTES};
use super::pair_mse::check_bindings;
use crate::error::Result;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuCsr, GpuMatrix, KernelDef};

/// The row-softmax SDDMM kernel.
pub static PAIR_SOFTMAX: KernelDef = KernelDef {
    name: "pair_softmax",
    source: shader_source!("pair_softmax.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("row_ptr"),
        BindingDef::read("col_idx"),
        BindingDef::read("slot"),
        BindingDef::read("gain"),
        BindingDef::read("x"),
        BindingDef::read("y"),
        BindingDef::write("coef"),
        BindingDef::write("coef_t"),
        BindingDef::write("lse"),
    ],
};

kernel_params! {
    struct Params {
        rows: u32,
        cols: u32,
        inv_temperature: f32,
        _pad0: u32,
    }
}

/// The outputs of [`pair_softmax`].
pub struct PairSoftmaxOut<'a> {
    /// Per entry: gain_i·softmax of row i's s at the entry.
    pub coef: &'a GpuArray<f32>,
    /// The same values at their slots (the transposed pattern's order).
    pub coef_t: &'a GpuArray<f32>,
    /// Per entry: its index in coef_t (a permutation of the entries, the caller's; a
    /// repeated slot leaves coef_t partly unwritten). Read, not written.
    pub slot: &'a GpuArray<u32>,
    /// Per row: log Σ exp(s) over its entries (0 for an empty row).
    pub lse: &'a GpuArray<f32>,
}

/// For every row i of `pattern` (its values unused) with entries e = (i, j):
/// s_e = x_i·y_j/temperature, lse[i] = log Σ_e exp(s_e), coef[e] = gain[i]·exp(s_e −
/// lse[i]) and coef_t[slot[e]] = coef[e]; x is pattern.rows() × d, y is
/// pattern.cols() × d. One dispatch; every operand is bound whole
/// (the entries' columns are random), so one larger than a storage binding is refused
/// ([`Error::BufferTooLarge`]).
pub fn pair_softmax(
    gpu: &Gpu,
    pattern: &GpuCsr,
    gain: &GpuArray<f32>,
    x: &GpuMatrix,
    y: &GpuMatrix,
    temperature: f32,
    out: PairSoftmaxOut<'_>,
) -> Result<Dispatch> {
    let (rows, d, nnz) = (pattern.rows(), x.cols(), pattern.nnz());
    check(x.rows() == rows, "pair_softmax", "x", || {
        format!("x has {} rows for a pattern of {rows}", x.rows())
    })?;
    check(
        y.rows() == pattern.cols() && y.cols() == d,
        "pair_softmax",
        "y",
        || {
            format!(
                "y is {} x {}, expected {} x {d}",
                y.rows(),
                y.cols(),
                pattern.cols()
            )
        },
    )?;
    for (name, len, want) in [
        ("slot", out.slot.len(), nnz),
        ("coef", out.coef.len(), nnz),
        ("coef_t", out.coef_t.len(), nnz),
        ("gain", gain.len(), rows),
        ("lse", out.lse.len(), rows),
    ] {
        check(len == want, "pair_softmax", name, || {
            format!("{name} has {len} elements, expected {want}")
        })?;
    }
    check(
        temperature.is_finite() && temperature > 0.0,
        "pair_softmax",
        "temperature",
        || format!("the temperature must be positive, got {temperature}"),
    )?;
    to_u32("pair_softmax x elements", rows * d)?;
    to_u32("pair_softmax y elements", y.rows() * d)?;
    check_bindings(
        gpu,
        "pair_softmax",
        &[
            ("row_ptr", (rows as u64 + 1) * WORD_BYTES),
            ("entries", nnz as u64 * WORD_BYTES),
            ("x", (rows * d) as u64 * WORD_BYTES),
            ("y", (y.rows() * d) as u64 * WORD_BYTES),
        ],
    )?;
    let pipeline = gpu.pipeline(&PAIR_SOFTMAX)?;
    let params = Params {
        rows: to_u32("pair_softmax rows", rows)?,
        cols: to_u32("pair_softmax cols", d)?,
        inv_temperature: 1.0 / temperature,
        _pad0: 0,
    };
    let grid = gpu.grid(rows as u64, pipeline.workgroup_size())?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[
            Bind::array(&pattern.row_ptr),
            Bind::array(&pattern.col_idx),
            Bind::array(out.slot),
            Bind::array(gain),
            Bind::matrix(x),
            Bind::matrix(y),
            Bind::array(out.coef),
            Bind::array(out.coef_t),
            Bind::array(out.lse),
        ],
        grid,
    )
}

/// `nnz` entries of width `cols` in `rows` rows: reads both rows per entry, writes
/// three values; flops = 2·cols + 10 per entry.
pub fn work(rows: usize, nnz: usize, cols: usize) -> Work {
    let (rows, nnz, cols) = (rows as f64, nnz as f64, cols as f64);
    Work {
        flops: nnz * (2.0 * cols + 10.0),
        bytes: WORD * (nnz * (2.0 * cols + 5.0) + 3.0 * rows),
    }
}

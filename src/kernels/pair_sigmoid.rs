//! `shaders/pair_sigmoid.wgsl`: over a CSR pattern's entries (i, j) with weights w,
//! value = w·σ((x_i·y_j − shift)/τ) and coef = gain·w·σ'(·)/τ (NS4GC's sampled
//! sparsity term and its gradient's coefficients, `src/filters/ns4gc.rs`).

use super::{check, to_u32, Work, WORD, WORD_BYTES};
use super::pair_mse::check_bindings;
use crate::error::Result;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuCsr, GpuMatrix, KernelDef};

/// The shifted-sigmoid SDDMM kernel.
pub static PAIR_SIGMOID: KernelDef = KernelDef {
    name: "pair_sigmoid",
    source: shader_source!("pair_sigmoid.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("row_ptr"),
        BindingDef::read("col_idx"),
        BindingDef::read("weight"),
        BindingDef::read("x"),
        BindingDef::read("y"),
        BindingDef::write("value"),
        BindingDef::write("coef"),
    ],
};

kernel_params! {
    struct Params {
        rows: u32,
        cols: u32,
        shift: f32,
        temperature: f32,
        gain: f32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
    }
}

/// The sigmoid's shape: u = (x_i·y_j − shift)/temperature, coef scaled by gain.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairSigmoid {
    /// s.
    pub shift: f32,
    /// τ (positive).
    pub temperature: f32,
    /// The factor on coef (NS4GC's γ).
    pub gain: f32,
}

/// For every entry e = (i, j) of `pattern` (its values are the weights w_e):
/// value[e] = w_e·σ(u), coef[e] = gain·w_e·σ(u)(1 − σ(u))/temperature with
/// u = (x_i·y_j − shift)/temperature; x is pattern.rows() × d, y is pattern.cols() × d.
/// One dispatch; every operand is bound whole (the entries' columns are random), so an
/// operand larger than one storage binding is refused ([`Error::BufferTooLarge`]).
pub fn pair_sigmoid(
    gpu: &Gpu,
    pattern: &GpuCsr,
    x: &GpuMatrix,
    y: &GpuMatrix,
    shape: PairSigmoid,
    value: &GpuArray<f32>,
    coef: &GpuArray<f32>,
) -> Result<Dispatch> {
    let (rows, d, nnz) = (pattern.rows(), x.cols(), pattern.nnz());
    check(x.rows() == rows, "pair_sigmoid", "x", || {
        format!("x has {} rows for a pattern of {rows}", x.rows())
    })?;
    check(
        y.rows() == pattern.cols() && y.cols() == d,
        "pair_sigmoid",
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
    for (name, out) in [("value", value), ("coef", coef)] {
        check(out.len() == nnz, "pair_sigmoid", name, || {
            format!("{name} has {} elements for {nnz} entries", out.len())
        })?;
    }
    check(
        shape.temperature.is_finite() && shape.temperature > 0.0,
        "pair_sigmoid",
        "temperature",
        || format!("the temperature must be positive, got {}", shape.temperature),
    )?;
    to_u32("pair_sigmoid x elements", rows * d)?;
    to_u32("pair_sigmoid y elements", y.rows() * d)?;
    check_bindings(
        gpu,
        "pair_sigmoid",
        &[
            ("row_ptr", (rows as u64 + 1) * WORD_BYTES),
            ("entries", nnz as u64 * WORD_BYTES),
            ("x", (rows * d) as u64 * WORD_BYTES),
            ("y", (y.rows() * d) as u64 * WORD_BYTES),
        ],
    )?;
    let pipeline = gpu.pipeline(&PAIR_SIGMOID)?;
    let params = Params {
        rows: to_u32("pair_sigmoid rows", rows)?,
        cols: to_u32("pair_sigmoid cols", d)?,
        shift: shape.shift,
        temperature: shape.temperature,
        gain: shape.gain,
        _pad0: 0,
        _pad1: 0,
        _pad2: 0,
    };
    let grid = gpu.grid(rows as u64, pipeline.workgroup_size())?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[
            Bind::array(&pattern.row_ptr),
            Bind::array(&pattern.col_idx),
            Bind::array(&pattern.values),
            Bind::matrix(x),
            Bind::matrix(y),
            Bind::array(value),
            Bind::array(coef),
        ],
        grid,
    )
}

/// `nnz` entries of width `cols`: reads both rows per entry, writes two values; flops
/// = 2·cols + 12 per entry.
pub fn work(nnz: usize, cols: usize) -> Work {
    let (nnz, cols) = (nnz as f64, cols as f64);
    Work {
        flops: nnz * (2.0 * cols + 12.0),
        bytes: WORD * nnz * (2.0 * cols + 4.0),
    }
}

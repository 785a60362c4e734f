//! `shaders/topk_rows.wgsl`: each active row's best `capacity` link candidates by the
//! logit z_i · z_j, skipping excluded pairs and, in paging passes, everything up to a
//! cursor. [`crate::predict`] merges the rows' lists into exact top-k answers.

use super::{check, check_latent, to_u32, Work, WORD};
use crate::error::Result;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The row scan kernel.
pub static TOPK_ROWS: KernelDef = KernelDef {
    name: "topk_rows",
    source: shader_source!("topk_rows.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("z"),
        BindingDef::read("excl_ptr"),
        BindingDef::read("excl_col"),
        BindingDef::read("rows"),
        BindingDef::read("cursors"),
        BindingDef::write("out_logit"),
        BindingDef::write("out_col"),
    ],
};

kernel_params! {
    struct Params {
        n: u32,
        rows: u32,
        z_stride: u32,
        capacity: u32,
    }
}

/// Columns per tile of the shader's batched threshold test.
pub const TILE: usize = 32;

/// Largest rows per invocation the shader holds (its `RMAX`).
pub const MAX_ROWS_PER_INVOCATION: usize = 8;

/// The cursor of a row with none: every candidate ranks after it (the logit bits of
/// `f32::MAX`, which no allowed logit reaches, and column 0).
pub const NO_CURSOR: [u32; 2] = [0x7f7f_ffff, 0];

/// The cursor that makes a pass return the candidates ranked after `(logit, col)`.
pub fn cursor(logit: f32, col: u32) -> [u32; 2] {
    [logit.to_bits(), col]
}

/// Excluded pairs as CSR without values: row i's excluded columns are
/// `col[ptr[i]..ptr[i + 1]]`, ascending, unique, both directions of every pair.
#[derive(Clone)]
pub struct ExclusionLists {
    /// n + 1 offsets.
    pub ptr: GpuArray<u32>,
    /// Excluded columns.
    pub col: GpuArray<u32>,
}

/// One pass's active rows, their cursors and their list slots.
#[derive(Clone)]
pub struct RowLists {
    /// The active rows, ascending.
    pub rows: GpuArray<u32>,
    /// 2 words per active row (see [`cursor`] and [`NO_CURSOR`]).
    pub cursors: GpuArray<u32>,
    /// rows × capacity logits (heap order).
    pub logit: GpuArray<f32>,
    /// rows × capacity columns (heap order).
    pub col: GpuArray<u32>,
    /// Slots per row, at least 1.
    pub capacity: usize,
}

/// Scans the rows of `lists` over the first `latent` columns of `z` (row stride
/// `z.cols()`): columns j > i when `global`, else every j ≠ i, skipping `exclusions`.
/// Row e's first min(capacity, candidates after its cursor) slots hold its best
/// candidates as a min-heap (slot 0 = worst); the rest are left as they were.
pub fn topk_rows(
    gpu: &Gpu,
    z: &GpuMatrix,
    latent: usize,
    exclusions: &ExclusionLists,
    lists: &RowLists,
    global: bool,
) -> Result<Dispatch> {
    check_latent("topk_rows", latent, z.cols())?;
    let n = z.rows();
    let rows = lists.rows.len();
    check(exclusions.ptr.len() == n + 1, "topk_rows", || {
        format!(
            "{} exclusion offsets for {n} nodes",
            exclusions.ptr.len()
        )
    })?;
    check(lists.capacity >= 1, "topk_rows", || {
        "the list capacity must be at least 1".into()
    })?;
    check(lists.cursors.len() == 2 * rows, "topk_rows", || {
        format!("{} cursor words for {rows} rows", lists.cursors.len())
    })?;
    let slots = rows.checked_mul(lists.capacity);
    check(
        slots == Some(lists.logit.len()) && slots == Some(lists.col.len()),
        "topk_rows",
        || {
            format!(
                "{} logit and {} column slots for {rows} rows of {}",
                lists.logit.len(),
                lists.col.len(),
                lists.capacity
            )
        },
    )?;
    let params = Params {
        n: to_u32("topk_rows nodes", n)?,
        rows: to_u32("topk_rows rows", rows)?,
        z_stride: to_u32("topk_rows stride", z.cols())?,
        capacity: to_u32("topk_rows capacity", lists.capacity)?,
    };
    to_u32("topk_rows slots", rows * lists.capacity)?;
    to_u32("topk_rows elements", n * z.cols())?;
    let per_invocation = gpu
        .profile()
        .topk_rows
        .clamp(1, MAX_ROWS_PER_INVOCATION);
    let pipeline = gpu.pipeline_with(
        &TOPK_ROWS,
        &[
            ("L", latent as f64),
            ("R", per_invocation as f64),
            ("GLOBAL", super::flag(global)),
        ],
    )?;
    let wg = pipeline.workgroup_size() as usize;
    let groups = rows.div_ceil(wg * per_invocation).max(1);
    let grid = gpu.grid((groups * wg) as u64, pipeline.workgroup_size())?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[
            Bind::matrix(z),
            Bind::array(&exclusions.ptr),
            Bind::array(&exclusions.col),
            Bind::array(&lists.rows),
            Bind::array(&lists.cursors),
            Bind::array(&lists.logit),
            Bind::array(&lists.col),
        ],
        grid,
    )
}

/// Pairs (i, j) a scan of `rows` over n nodes computes: Σ (n − 1 − i) when `global`,
/// rows · (n − 1) otherwise (excluded pairs are computed too, then skipped).
pub fn scanned_pairs(n: usize, rows: &[u32], global: bool) -> u64 {
    if global {
        rows.iter()
            .map(|&i| (n as u64).saturating_sub(u64::from(i) + 1))
            .sum()
    } else {
        rows.len() as u64 * (n as u64).saturating_sub(1)
    }
}

/// A scan of `pairs` pairs (see [`scanned_pairs`]) over n nodes at latent L into
/// `rows` lists of `capacity`: flops = 2·pairs·L (the dot products; comparisons and
/// list insertions are not counted); bytes = 4·n·L (z) + 4·(n + 1 + excluded) (the
/// exclusion lists) + 12·rows (ids, cursors) + 8·rows·capacity (the lists).
pub fn work(
    pairs: u64,
    n: usize,
    latent: usize,
    excluded: usize,
    rows: usize,
    capacity: usize,
) -> Work {
    let (n, l) = (n as f64, latent as f64);
    let rows = rows as f64;
    Work {
        flops: 2.0 * pairs as f64 * l,
        bytes: WORD * n * l
            + WORD * (n + 1.0 + excluded as f64)
            + 3.0 * WORD * rows
            + 2.0 * WORD * rows * capacity as f64,
    }
}

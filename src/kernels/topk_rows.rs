//! `shaders/topk_rows.wgsl`: each active row's best `capacity` link candidates by the
//! logit z_i · z_j, skipping excluded pairs and, in paging passes, everything up to a
//! cursor. [`crate::predict`] merges the rows' lists into exact top-k answers.

use super::{
    check, check_latent, store_choice, subgroup_choice, to_u32, EmbeddingElem, Work, WORD,
};
use crate::error::Result;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The row scan kernel.
pub static TOPK_ROWS: KernelDef = KernelDef {
    name: "topk_rows",
    source: store_source!(f32, subgroup_source!(without, "topk_rows.wgsl")),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("z"),
        BindingDef::read("excl_ptr"),
        BindingDef::read("excl_col"),
        BindingDef::read("rows"),
        BindingDef::read("bounds"),
        BindingDef::write("out_heap"),
        BindingDef::write("out_fill"),
    ],
};

/// [`TOPK_ROWS`] with subgroup operations: the loads of z_j shared across a subgroup
/// (`SG`), where the device has them.
pub static TOPK_ROWS_SUBGROUPS: KernelDef = KernelDef {
    source: store_source!(f32, subgroup_source!(with, "topk_rows.wgsl")),
    ..TOPK_ROWS
};

/// [`TOPK_ROWS`] reading z stored in f16, for devices with `SHADER_F16`.
pub static TOPK_ROWS_F16: KernelDef = KernelDef {
    source: store_source!(f16, subgroup_source!(without, "topk_rows.wgsl")),
    ..TOPK_ROWS
};

/// [`TOPK_ROWS_SUBGROUPS`] reading z stored in f16.
pub static TOPK_ROWS_F16_SUBGROUPS: KernelDef = KernelDef {
    source: store_source!(f16, subgroup_source!(with, "topk_rows.wgsl")),
    ..TOPK_ROWS
};

kernel_params! {
    struct Params {
        n: u32,
        rows: u32,
        z_stride: u32,
        capacity: u32,
        global: u32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
    }
}

/// Columns per tile of the shader's batched threshold test.
pub const TILE: usize = 32;

/// Largest rows per invocation the shader holds (its `RMAX`).
pub const MAX_ROWS_PER_INVOCATION: usize = 4;

/// What a row of a pass may return: only candidates ranked after `cursor` (the worst
/// entry an earlier pass returned), and only those with a logit of at least `floor`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RowBounds {
    /// (logit, column) of the last entry returned so far.
    pub cursor: Option<(f32, u32)>,
    /// Lowest logit wanted.
    pub floor: Option<f32>,
}

impl RowBounds {
    /// The 4 words the shader reads: the cursor's logit bits and column (+f32::MAX and
    /// 0 for none: every allowed logit ranks after it) and the bits of the largest f32
    /// below the floor (the heap's starting threshold; f32::MIN for none).
    pub fn words(&self) -> [u32; 4] {
        let (s, j) = self.cursor.unwrap_or((f32::MAX, 0));
        let start = self.floor.map_or(f32::MIN, f32::next_down);
        [s.to_bits(), j, start.to_bits(), 0]
    }
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

/// One pass's active rows, their bounds and their lists.
#[derive(Clone)]
pub struct RowLists {
    /// The active rows, ascending.
    pub rows: GpuArray<u32>,
    /// 4 words per active row ([`RowBounds::words`]).
    pub bounds: GpuArray<u32>,
    /// rows × capacity slots of 2 words (logit bits, column), each row's a min-heap.
    pub heap: GpuArray<u32>,
    /// Slots filled per active row.
    pub fill: GpuArray<u32>,
    /// Slots per row, at least 1.
    pub capacity: usize,
}

/// Scans the rows of `lists` over the first `latent` columns of `z` (f32, or f16 widened
/// to f32 as it is read; row stride `z.cols()`, a multiple of 4: the kernel loads rows as
/// vec4; see [`padded_rows`]): columns j > i when `global`, else every j ≠ i, skipping
/// `exclusions` and whatever each row's bounds rule out.
/// Row e's best candidates within its bounds, at most `capacity`, fill its first
/// `fill[e]` slots as a min-heap (slot 0 = the worst); the rest are left as they were.
pub fn topk_rows<T: EmbeddingElem>(
    gpu: &Gpu,
    z: &GpuMatrix<T>,
    latent: usize,
    exclusions: &ExclusionLists,
    lists: &RowLists,
    global: bool,
) -> Result<Dispatch> {
    check_latent("topk_rows", latent, z.cols())?;
    check(z.cols().is_multiple_of(4), "topk_rows", "z", || {
        format!(
            "z has {} columns; the kernel reads rows as vec4, so it needs a multiple of 4 \
             (see padded_rows)",
            z.cols()
        )
    })?;
    let n = z.rows();
    let rows = lists.rows.len();
    check(exclusions.ptr.len() == n + 1, "topk_rows", "exclusions", || {
        format!(
            "{} exclusion offsets for {n} nodes",
            exclusions.ptr.len()
        )
    })?;
    check(lists.capacity >= 1, "topk_rows", "lists", || {
        "the list capacity must be at least 1".into()
    })?;
    let slots = rows.checked_mul(lists.capacity);
    check(
        lists.bounds.len() == 4 * rows
            && lists.fill.len() == rows
            && slots.and_then(|s| s.checked_mul(2)) == Some(lists.heap.len()),
        "topk_rows",
        "lists",
        || {
            format!(
                "{} bound words, {} heap words and {} fill counts for {rows} rows of {}",
                lists.bounds.len(),
                lists.heap.len(),
                lists.fill.len(),
                lists.capacity
            )
        },
    )?;
    let per_invocation = gpu.profile().topk_rows.clamp(1, MAX_ROWS_PER_INVOCATION);
    let params = Params {
        n: to_u32("topk_rows nodes", n)?,
        rows: to_u32("topk_rows rows", rows)?,
        z_stride: to_u32("topk_rows stride", z.cols() / 4)?,
        capacity: to_u32("topk_rows capacity", lists.capacity)?,
        global: u32::from(global),
        _pad0: 0,
        _pad1: 0,
        _pad2: 0,
    };
    to_u32("topk_rows slots", 2 * rows * lists.capacity)?;
    to_u32("topk_rows elements", n * z.cols())?;
    // The subgroup form shares each run of SG columns' loads; SG must divide a tile
    // and the workgroup (both powers of two).
    let without = store_choice::<T>(gpu, &TOPK_ROWS, &TOPK_ROWS_F16)?;
    let with = store_choice::<T>(gpu, &TOPK_ROWS_SUBGROUPS, &TOPK_ROWS_F16_SUBGROUPS)?;
    let (def, subgroup) = subgroup_choice(gpu, true, without, with);
    let workgroup = gpu.profile().workgroup_size;
    let (def, subgroup) = if subgroup as usize <= TILE && workgroup.is_multiple_of(subgroup.max(1)) {
        (def, subgroup)
    } else {
        (without, 0)
    };
    // One pipeline per latent size and layout (see the shader's header).
    let pipeline = gpu.pipeline_with(
        def,
        &[
            ("L", latent as f64),
            ("R", per_invocation as f64),
            ("SG", f64::from(subgroup)),
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
            Bind::array(&lists.bounds),
            Bind::array(&lists.heap),
            Bind::array(&lists.fill),
        ],
        grid,
    )
}

/// `values` (n rows of `cols` at `stride`, the first `latent` used) as the kernel
/// reads them: rows of 4·⌈latent/4⌉ columns, zero-padded.
pub fn padded_rows(values: &[f32], n: usize, stride: usize, latent: usize) -> Vec<f32> {
    let width = 4 * latent.div_ceil(4);
    let mut out = vec![0f32; n * width];
    for i in 0..n {
        out[i * width..i * width + latent]
            .copy_from_slice(&values[i * stride..i * stride + latent]);
    }
    out
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
/// exclusion lists) + 24·rows (ids, bounds, fill counts) + 8·rows·capacity (the lists).
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
            + 6.0 * WORD * rows
            + 2.0 * WORD * rows * capacity as f64,
    }
}

//! `shaders/kmeans_update.wgsl`: the first stage of the k-means update step, per-chunk
//! sums and counts of every cluster; [`totals`] adds the chunks up with the
//! [`reduce_sum`] chain. No float atomics: the sums are the same on
//! every run, and the same as the CPU twins'
//! ([`cpu::kmeans_update`](crate::cpu::kmeans_update) then
//! [`cpu::column_sums`](crate::cpu::column_sums)).

use super::kmeans_assign::MAX_DIM;
use super::reduce_sum;
use super::{check, flag, to_u32, Work, WORD};
use crate::error::Result;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The per-chunk k-means update kernel.
pub static KMEANS_UPDATE: KernelDef = KernelDef {
    name: "kmeans_update",
    source: shader_source!("kmeans_update.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("points"),
        BindingDef::read("labels"),
        BindingDef::write("partial"),
    ],
};

kernel_params! {
    struct Params {
        n: u32,
        first: u32,
        k: u32,
        dim: u32,
        cols: u32,
        chunk_rows: u32,
        chunks: u32,
        chunk_base: u32,
    }
}

/// Fewest points a chunk sums sequentially: enough that zeroing a chunk's k partials
/// costs little next to its adds.
pub const MIN_CHUNK_ROWS: usize = 256;

/// Most partial sums ([`UpdateLayout::partial_len`]) the default chunking allocates,
/// 16 MiB of `f32`; larger problems get longer chunks instead.
pub const PARTIAL_BUDGET: usize = 1 << 22;

/// Most clusters whose sums the by-rows layout keeps in registers (the shader's
/// `KREG_MAX`).
const KREG_MAX: usize = 8;

/// Counts are `f32` sums of ones, exact up to 2²⁴ points.
pub const MAX_POINTS: usize = 1 << 24;

/// How the update of `n` points of dimension `dim` into `k` clusters is cut into
/// chunks: the partial sums are `chunks × k × cols` (`cols = dim + 1`, the last column
/// counting points), row-major.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpdateLayout {
    /// Points.
    pub n: usize,
    /// Clusters.
    pub k: usize,
    /// Dimension of the points.
    pub dim: usize,
    /// Points per chunk (one invocation's sequential sum).
    pub chunk_rows: usize,
}

impl UpdateLayout {
    /// The default chunking: [`MIN_CHUNK_ROWS`] points per chunk, or more when the
    /// partial sums would exceed [`PARTIAL_BUDGET`]. A function of the shape only (not
    /// of the adapter), so the GPU's and the CPU twin's sums agree bit for bit.
    pub fn new(n: usize, k: usize, dim: usize) -> Self {
        let per_chunk = k.saturating_mul(dim + 1).max(1);
        let by_budget = n.div_ceil((PARTIAL_BUDGET / per_chunk).max(1));
        UpdateLayout {
            n,
            k,
            dim,
            chunk_rows: MIN_CHUNK_ROWS.max(by_budget),
        }
    }

    /// The same layout with `rows` points per chunk (at least 1).
    pub fn with_chunk_rows(mut self, rows: usize) -> Self {
        self.chunk_rows = rows.max(1);
        self
    }

    /// Columns per cluster: dim sums and a count.
    pub fn cols(&self) -> usize {
        self.dim + 1
    }

    /// Chunks (rows of the partial sums), at least 1.
    pub fn chunks(&self) -> usize {
        self.n.div_ceil(self.chunk_rows).max(1)
    }

    /// Elements of the partial sums: chunks × k × cols.
    pub fn partial_len(&self) -> usize {
        self.chunks() * self.k * self.cols()
    }

    /// Elements of the totals: k × cols.
    pub fn totals_len(&self) -> usize {
        self.k * self.cols()
    }
}

/// Per-chunk sums and counts of the points of `points` (the global points
/// `first..first + points.rows()`, `first` a multiple of `layout.chunk_rows`) by their
/// `labels` (global, each below `layout.k`), into their chunks of `partial`
/// (`layout.partial_len()`).
pub fn kmeans_update(
    gpu: &Gpu,
    points: &GpuMatrix,
    first: usize,
    labels: &GpuArray<u32>,
    layout: &UpdateLayout,
    partial: &GpuArray<f32>,
) -> Result<Dispatch> {
    let (n, dim, k) = (points.rows(), points.cols(), layout.k);
    check(dim == layout.dim && dim > 0, "kmeans_update", "points", || {
        format!(
            "points of dimension {dim}, layout of dimension {}",
            layout.dim
        )
    })?;
    check(n > 0 && k > 0, "kmeans_update", if n == 0 { "points" } else { "layout" }, || {
        format!("{n} points and {k} clusters; both must be at least 1")
    })?;
    check(
        first.is_multiple_of(layout.chunk_rows) && first + n <= layout.n,
        "kmeans_update",
        "first",
        || {
            format!(
                "points {first}..{} do not start a chunk of {} within {} points",
                first + n,
                layout.chunk_rows,
                layout.n
            )
        },
    )?;
    check(labels.len() >= first + n, "kmeans_update", "labels", || {
        format!("{} labels for points {first}..{}", labels.len(), first + n)
    })?;
    check(partial.len() == layout.partial_len(), "kmeans_update", "partial", || {
        format!(
            "partial sums of {} elements, expected {}",
            partial.len(),
            layout.partial_len()
        )
    })?;
    let chunks = n.div_ceil(layout.chunk_rows);
    let cols = layout.cols();
    let params = Params {
        n: to_u32("kmeans_update points", n)?,
        first: to_u32("kmeans_update first point", first)?,
        k: to_u32("kmeans_update clusters", k)?,
        dim: dim as u32,
        cols: cols as u32,
        chunk_rows: to_u32("kmeans_update chunk rows", layout.chunk_rows)?,
        chunks: to_u32("kmeans_update chunks", chunks)?,
        chunk_base: to_u32("kmeans_update chunk base", first / layout.chunk_rows)?,
    };
    to_u32("kmeans_update elements", n * dim)?;
    to_u32("kmeans_update partial sums", layout.partial_len())?;
    check(dim <= MAX_DIM, "kmeans_update", "points", || {
        format!("points of dimension {dim}; the kernel takes 1 to {MAX_DIM}")
    })?;
    let rows = gpu.profile().kmeans_update_rows;
    // By rows, up to 8 clusters of up to 16 coordinates keep their sums in registers.
    let kreg = if rows && k <= KREG_MAX && dim <= 16 { k } else { 0 };
    let pipeline = gpu.pipeline_with(
        &KMEANS_UPDATE,
        &[("L", dim as f64), ("ROWS", flag(rows)), ("KREG", kreg as f64)],
    )?;
    let invocations = if rows { chunks } else { chunks * cols };
    let grid = gpu.grid(invocations as u64, pipeline.workgroup_size())?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[Bind::matrix(points), Bind::array(labels), Bind::array(partial)],
        grid,
    )
}

/// The `reduce_sum` levels that add the chunks of `partial` into `totals`
/// (`layout.totals_len()`: per cluster, dim sums then the count).
pub fn totals(
    gpu: &Gpu,
    layout: &UpdateLayout,
    partial: &GpuArray<f32>,
    totals: &GpuArray<f32>,
) -> Result<Vec<Dispatch>> {
    check(totals.len() == layout.totals_len(), "kmeans_update", "totals", || {
        format!(
            "totals of {} elements, expected {}",
            totals.len(),
            layout.totals_len()
        )
    })?;
    reduce_sum::column_sums(gpu, partial, layout.chunks(), layout.totals_len(), totals)
}

/// The first stage over n points of dimension dim into k clusters, cut into `chunks`:
/// flops = n·(dim + 1) additions; bytes = 4·n·dim (points) + 4·n (labels) +
/// 4·chunks·k·(dim + 1) (partial sums).
pub fn work(n: usize, k: usize, dim: usize, chunks: usize) -> Work {
    let (n, k, d, b) = (n as f64, k as f64, dim as f64, chunks as f64);
    Work {
        flops: n * (d + 1.0),
        bytes: WORD * (n * d + n + b * k * (d + 1.0)),
    }
}

/// [`totals`]' reduce_sum levels over `chunks` rows of k·(dim + 1) columns.
pub fn totals_work(k: usize, dim: usize, chunks: usize) -> Work {
    reduce_sum::levels(chunks)
        .into_iter()
        .map(|rows| reduce_sum::work(rows, k * (dim + 1)))
        .fold(Work::default(), |a, b| a + b)
}

//! `shaders/kmeans_assign.wgsl`: the k-means assignment step (nearest centroid, its
//! squared distance, and how many labels changed), also the distance pass of k-means++.

use super::{check, to_u32, Work, WORD};
use crate::error::Result;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The k-means assignment kernel.
pub static KMEANS_ASSIGN: KernelDef = KernelDef {
    name: "kmeans_assign",
    source: concat!(
        shader_source!("shared/kmeans_rows.wgsl"),
        shader_source!("kmeans_assign.wgsl")
    ),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("points"),
        BindingDef::read("centres"),
        BindingDef::write("labels"),
        BindingDef::write("min_sq"),
        BindingDef::write("changed"),
    ],
};

/// Largest dimension of the points the kernel holds in registers (the shader's `L`).
pub const MAX_DIM: usize = 64;

kernel_params! {
    struct Params {
        n: u32,
        first: u32,
        k: u32,
        dim: u32,
    }
}

/// The outputs of [`kmeans_assign`] for `n` points.
#[derive(Clone)]
pub struct Assignment {
    /// Nearest centroid of each point (read as the previous labels, then overwritten).
    pub labels: GpuArray<u32>,
    /// Squared distance of each point to its nearest centroid.
    pub min_sq: GpuArray<f32>,
    /// One counter: points whose label changed, added to by every dispatch.
    pub changed: GpuArray<u32>,
}

impl Assignment {
    /// Outputs for `n` points with every label `u32::MAX` (so that a first assignment
    /// counts every point as changed) and the counter at 0.
    pub fn new(gpu: &Gpu, n: usize) -> Result<Self> {
        let labels = gpu.alloc("gpu_vgae.kmeans.labels", n)?;
        labels.write(gpu, &vec![u32::MAX; n])?;
        Ok(Assignment {
            labels,
            min_sq: gpu.alloc("gpu_vgae.kmeans.min_sq", n)?,
            changed: gpu.zeros("gpu_vgae.kmeans.changed", 1)?,
        })
    }
}

/// Points per invocation (the shader's `R`): every centroid load serves R points, and
/// R·dim coordinates stay in registers. Measured on llvmpipe (benches/RESULTS.md).
pub fn points_per_invocation(dim: usize) -> usize {
    match dim.div_ceil(4) * 4 {
        0..=16 => 4,
        17..=32 => 2,
        _ => 1,
    }
}

/// Assigns the points of `points` (a slice of `points.rows()` points of dimension
/// `points.cols()`, the global points `first..first + rows`) to their nearest of the
/// `centroids` (k × dim): writes `out.labels` and `out.min_sq` at `first..` and adds the
/// number of labels that changed to `out.changed`.
pub fn kmeans_assign(
    gpu: &Gpu,
    points: &GpuMatrix,
    first: usize,
    centroids: &GpuMatrix,
    out: &Assignment,
) -> Result<Dispatch> {
    let (n, dim, k) = (points.rows(), points.cols(), centroids.rows());
    check((1..=MAX_DIM).contains(&dim), "kmeans_assign", "points", || {
        format!("points of dimension {dim}; the kernel takes 1 to {MAX_DIM}")
    })?;
    check(centroids.cols() == dim, "kmeans_assign", "centroids", || {
        format!(
            "centroids of dimension {}, points of dimension {dim}",
            centroids.cols()
        )
    })?;
    check(n > 0 && k > 0, "kmeans_assign", if n == 0 { "points" } else { "centroids" }, || {
        format!("{n} points and {k} centroids; both must be at least 1")
    })?;
    check(
        out.labels.len() >= first + n && out.min_sq.len() >= first + n && !out.changed.is_empty(),
        "kmeans_assign",
        "out",
        || {
            format!(
                "outputs of {} labels and {} distances for points {first}..{}",
                out.labels.len(),
                out.min_sq.len(),
                first + n
            )
        },
    )?;
    let rows = points_per_invocation(dim);
    let pipeline =
        gpu.pipeline_with(&KMEANS_ASSIGN, &[("L", dim as f64), ("R", rows as f64)])?;
    let params = Params {
        n: to_u32("kmeans_assign points", n)?,
        first: to_u32("kmeans_assign first point", first)?,
        k: to_u32("kmeans_assign centroids", k)?,
        dim: dim as u32,
    };
    to_u32("kmeans_assign elements", n * dim)?;
    to_u32("kmeans_assign labels", first + n)?;
    let wg = pipeline.workgroup_size() as u64;
    let groups = (n as u64).div_ceil(wg * rows as u64);
    let grid = gpu.grid(groups * wg, pipeline.workgroup_size())?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[
            Bind::matrix(points),
            Bind::matrix(centroids),
            Bind::array(&out.labels),
            Bind::array(&out.min_sq),
            Bind::array(&out.changed),
        ],
        grid,
    )
}

/// n points, k centroids of dimension dim: flops = 3·n·k·dim (a subtraction, a
/// multiplication and an addition per coordinate and centroid; the comparisons are
/// not counted); bytes = 4·n·dim (points) + 4·k·dim (centroids) + 4·3·n (labels read
/// and written, distances written).
pub fn work(n: usize, k: usize, dim: usize) -> Work {
    let (n, k, d) = (n as f64, k as f64, dim as f64);
    Work {
        flops: 3.0 * n * k * d,
        bytes: WORD * (n * d + k * d + 3.0 * n),
    }
}

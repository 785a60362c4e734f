//! `shaders/kmeans_distances.wgsl`: squared distances from every point to each of a few
//! centres, the measurement of k-means++'s candidate centres.

use super::kmeans_assign::{points_per_invocation, MAX_DIM};
use super::{check, to_u32, Work, WORD};
use crate::error::Result;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The point-to-centres distance kernel.
pub static KMEANS_DISTANCES: KernelDef = KernelDef {
    name: "kmeans_distances",
    source: concat!(
        shader_source!("shared/kmeans_rows.wgsl"),
        shader_source!("kmeans_distances.wgsl")
    ),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("points"),
        BindingDef::read("centres"),
        BindingDef::write("out"),
    ],
};

kernel_params! {
    struct Params {
        n: u32,
        first: u32,
        m: u32,
        dim: u32,
        stride: u32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
    }
}

/// Writes the squared distance of every point of `points` (a slice of `points.rows()`
/// points of dimension `points.cols()`, the global points `first..first + rows`) to each
/// of the `centres` (m × dim) into `out` (m × stride, row c for centre c, column
/// `first + i` for point i of the slice); `stride` is the number of all points.
pub fn kmeans_distances(
    gpu: &Gpu,
    points: &GpuMatrix,
    first: usize,
    centres: &GpuMatrix,
    stride: usize,
    out: &GpuArray<f32>,
) -> Result<Dispatch> {
    let (n, dim, m) = (points.rows(), points.cols(), centres.rows());
    check((1..=MAX_DIM).contains(&dim), "kmeans_distances", "points", || {
        format!("points of dimension {dim}; the kernel takes 1 to {MAX_DIM}")
    })?;
    check(centres.cols() == dim, "kmeans_distances", "centres", || {
        format!(
            "centres of dimension {}, points of dimension {dim}",
            centres.cols()
        )
    })?;
    check(n > 0 && m > 0, "kmeans_distances", if n == 0 { "points" } else { "centres" }, || {
        format!("{n} points and {m} centres; both must be at least 1")
    })?;
    check(
        first + n <= stride && out.len() == m * stride,
        "kmeans_distances",
        "out",
        || {
            format!(
                "output of {} elements for {m} centres × {stride} points, slice {first}..{}",
                out.len(),
                first + n
            )
        },
    )?;
    let rows = points_per_invocation(dim);
    let pipeline =
        gpu.pipeline_with(&KMEANS_DISTANCES, &[("L", dim as f64), ("R", rows as f64)])?;
    let params = Params {
        n: to_u32("kmeans_distances points", n)?,
        first: to_u32("kmeans_distances first point", first)?,
        m: to_u32("kmeans_distances centres", m)?,
        dim: dim as u32,
        stride: to_u32("kmeans_distances stride", stride)?,
        _pad0: 0,
        _pad1: 0,
        _pad2: 0,
    };
    to_u32("kmeans_distances elements", n * dim)?;
    to_u32("kmeans_distances outputs", m * stride)?;
    let wg = pipeline.workgroup_size() as u64;
    let groups = (n as u64).div_ceil(wg * rows as u64);
    let grid = gpu.grid(groups * wg, pipeline.workgroup_size())?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[Bind::matrix(points), Bind::matrix(centres), Bind::array(out)],
        grid,
    )
}

/// n points, m centres of dimension dim: flops = 3·n·m·dim; bytes = 4·n·dim (points) +
/// 4·m·dim (centres) + 4·m·n (distances).
pub fn work(n: usize, m: usize, dim: usize) -> Work {
    let (n, m, d) = (n as f64, m as f64, dim as f64);
    Work {
        flops: 3.0 * n * m * d,
        bytes: WORD * (n * d + m * d + m * n),
    }
}

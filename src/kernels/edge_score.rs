//! `shaders/edge_score.wgsl`: sigmoid(z_a · z_b) for a list of pairs.

use super::{
    check, check_latent, elem_bytes, flag, store_choice, to_u32, EmbeddingElem, Work, WORD,
    WORD_BYTES,
};
use crate::error::Result;
use crate::gpu::windows::row_windows;
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The pair scoring kernel.
pub static EDGE_SCORE: KernelDef = KernelDef {
    name: "edge_score",
    source: store_source!(f32, shader_source!("edge_score.wgsl")),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("z_a"),
        BindingDef::read("z_b"),
        BindingDef::read("pairs"),
        BindingDef::write("scores"),
    ],
};

/// [`EDGE_SCORE`] reading z stored in f16, for devices with `SHADER_F16`.
pub static EDGE_SCORE_F16: KernelDef = KernelDef {
    source: store_source!(f16, shader_source!("edge_score.wgsl")),
    ..EDGE_SCORE
};

kernel_params! {
    struct Params {
        pairs: u32,
        latent: u32,
        z_stride: u32,
        a_lo: u32,
        a_rows: u32,
        b_lo: u32,
        b_rows: u32,
        _pad0: u32,
    }
}

/// Flattens pairs to the `[a0, b0, a1, b1, …]` layout the kernel reads, checking ids.
pub fn flatten_pairs(pairs: &[(u32, u32)], num_nodes: usize) -> Result<Vec<u32>> {
    let mut flat = Vec::with_capacity(2 * pairs.len());
    for (p, &(a, b)) in pairs.iter().enumerate() {
        check(
            (a as usize) < num_nodes && (b as usize) < num_nodes,
            "edge_score",
            "pairs",
            || format!("pair {p} = ({a}, {b}) is out of range for {num_nodes} nodes"),
        )?;
        flat.push(a);
        flat.push(b);
    }
    Ok(flat)
}

/// `scores[p] = sigmoid(z_a · z_b)` over the first `latent` columns of `z` (f32, or f16
/// widened to f32 as it is read), where `pairs`
/// holds 2 ids per pair (see [`flatten_pairs`]). Where z exceeds one binding, one
/// dispatch per pair of windows of its rows, each scoring the pairs whose ends fall in
/// them (and per window of the pairs, where they exceed one).
pub fn edge_score<T: EmbeddingElem>(
    gpu: &Gpu,
    z: &GpuMatrix<T>,
    latent: usize,
    pairs: &GpuArray<u32>,
    scores: &GpuArray<f32>,
) -> Result<Vec<Dispatch>> {
    edge_values(gpu, z, latent, pairs, scores, false)
}

/// [`edge_score`]'s logits: `logits[p] = z_a · z_b`, summed as the scores' are (the
/// `LOGITS` pipeline constant), for callers that need more than σ's f32 can hold.
pub fn edge_logits<T: EmbeddingElem>(
    gpu: &Gpu,
    z: &GpuMatrix<T>,
    latent: usize,
    pairs: &GpuArray<u32>,
    logits: &GpuArray<f32>,
) -> Result<Vec<Dispatch>> {
    edge_values(gpu, z, latent, pairs, logits, true)
}

fn edge_values<T: EmbeddingElem>(
    gpu: &Gpu,
    z: &GpuMatrix<T>,
    latent: usize,
    pairs: &GpuArray<u32>,
    scores: &GpuArray<f32>,
    logits: bool,
) -> Result<Vec<Dispatch>> {
    check_latent("edge_score", latent, z.cols())?;
    check(pairs.len() == 2 * scores.len(), "edge_score", "scores", || {
        format!("{} pair ids for {} scores", pairs.len(), scores.len())
    })?;
    to_u32("edge_score elements", z.rows() * z.cols())?;
    let row_bytes = z.cols() as u64 * elem_bytes::<T>();
    let windows = row_windows(gpu, "edge_score embeddings", z.rows(), &[row_bytes], 1)?;
    let pipeline = gpu.pipeline_with(
        store_choice::<T>(gpu, &EDGE_SCORE, &EDGE_SCORE_F16)?,
        &[
            ("WINDOWED", flag(windows.len() > 1)),
            ("LOGITS", flag(logits)),
        ],
    )?;
    let pair_windows = row_windows(
        gpu,
        "edge_score pairs",
        scores.len(),
        &[2 * WORD_BYTES, WORD_BYTES],
        1,
    )?;
    // Every pair of windows of z's rows (one for each end), for every window of pairs.
    let row_pairs: Vec<_> = windows
        .iter()
        .flat_map(|a| windows.iter().map(move |b| (a, b)))
        .collect();
    let mut dispatches = Vec::with_capacity(pair_windows.len() * row_pairs.len());
    for pair_range in &pair_windows {
        let grid = gpu.grid(pair_range.len() as u64, pipeline.workgroup_size())?;
        let ids = 2 * pair_range.start..2 * pair_range.end;
        for &(a_rows, b_rows) in &row_pairs {
            let params = Params {
                pairs: to_u32("edge_score pairs", pair_range.len())?,
                latent: latent as u32,
                z_stride: to_u32("edge_score stride", z.cols())?,
                a_lo: to_u32("edge_score rows", a_rows.start)?,
                a_rows: to_u32("edge_score rows", a_rows.len())?,
                b_lo: to_u32("edge_score rows", b_rows.start)?,
                b_rows: to_u32("edge_score rows", b_rows.len())?,
                _pad0: 0,
            };
            dispatches.push(gpu.dispatch(
                &pipeline,
                &params,
                &[
                    Bind::rows(z, a_rows.clone()),
                    Bind::rows(z, b_rows.clone()),
                    Bind::elements(pairs, ids.clone()),
                    Bind::elements(scores, pair_range.clone()),
                ],
                grid,
            )?);
        }
    }
    Ok(dispatches)
}

/// `pairs` pairs at latent L: flops = 2·pairs·L; bytes = 8·pairs (ids) + 2·4·pairs·L
/// (both rows of z; z is usually larger than the pairs touch) + 4·pairs (scores).
pub fn work(pairs: usize, latent: usize) -> Work {
    let (p, l) = (pairs as f64, latent as f64);
    Work {
        flops: 2.0 * p * l,
        bytes: 2.0 * WORD * p + 2.0 * WORD * p * l + WORD * p,
    }
}

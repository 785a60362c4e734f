//! `shaders/decoder_dense.wgsl`: the dense part of the decoder objective, never storing
//! N×N: every ordered pair once in register-blocked rows (CPU adapters), or every
//! unordered pair once in symmetric tiles (GPUs).

use serde::Serialize;

use super::{check, check_latent, flag, store_choice, to_u32, EmbeddingElem, Work, WORD};
use crate::error::Result;
use crate::gpu::{AdapterProfile, Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The dense decoder kernel.
pub static DECODER_DENSE: KernelDef = KernelDef {
    name: "decoder_dense",
    source: store_source!(f32, shader_source!("decoder_dense.wgsl")),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("z"),
        BindingDef::write("grad_partial"),
        BindingDef::write("loss_partial"),
    ],
};

/// [`DECODER_DENSE`] reading z stored in f16, for devices with `SHADER_F16`.
pub static DECODER_DENSE_F16: KernelDef = KernelDef {
    source: store_source!(f16, shader_source!("decoder_dense.wgsl")),
    ..DECODER_DENSE
};

kernel_params! {
    struct Params {
        n: u32,
        latent: u32,
        z_stride: u32,
        block: u32,
        parts: u32,
        groups: u32,
        _pad0: u32,
        _pad1: u32,
    }
}

/// Edge of the sub-tiles of the tile layout (the shader's `T`, and its workgroup
/// size): T² values of σ(S) take 4 KiB of workgroup memory, inside the 16,352 bytes
/// every adapter offers.
pub const TILE: usize = 32;

/// Most blocks of the tile layout: its partial sums then take at most 33 × N × L
/// floats.
pub const MAX_BLOCKS: usize = 32;

/// Partial rows (slots × n) the tile layout picks blocks for by itself, unless 8 slots
/// per node are more: its partial sums stay within max(8·N, 2¹⁸) × L floats (16 MiB at
/// L = 16 below 32,768 nodes, 8 × N × L above), as the row layout's within
/// (16,384 + N) × L.
pub const PARTIAL_ROWS: usize = 1 << 18;

/// Most column splits of the row layout.
pub const MAX_SPLITS: usize = 64;

/// How the tile layout cuts the n nodes: `blocks` blocks of `block_rows` rows (the
/// last one shorter, none empty), `block_rows` a multiple of [`TILE`]. Workgroup
/// (I, J), I ≤ J, takes the pairs of blocks I and J, so there are
/// blocks·(blocks + 1)/2 workgroups and blocks + 1 partial slots per node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct DenseBlocks {
    /// Number of blocks B.
    pub blocks: usize,
    /// Rows per block (a multiple of [`TILE`]).
    pub block_rows: usize,
}

impl DenseBlocks {
    /// About `blocks` blocks for `n` nodes: at least 1, at most [`MAX_BLOCKS`] and at
    /// most one per sub-tile of nodes; rounding the block size up to whole sub-tiles may
    /// leave fewer.
    pub fn new(n: usize, blocks: usize) -> Self {
        let n = n.max(1);
        let wanted = blocks.clamp(1, MAX_BLOCKS).min(n.div_ceil(TILE));
        let block_rows = n.div_ceil(wanted).div_ceil(TILE) * TILE;
        DenseBlocks {
            blocks: n.div_ceil(block_rows),
            block_rows,
        }
    }

    /// Workgroups (unordered block pairs, the diagonal included).
    pub fn tiles(&self) -> usize {
        self.blocks * (self.blocks + 1) / 2
    }
}

/// The layout of a dense pass: which pairs an invocation visits and what its partial
/// slots (summed per node, in order, by decoder_pairs) hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum DenseLayout {
    /// Every ordered pair once, the columns cut into `splits` chunks: slot s of node
    /// i sums its pairs with the columns of chunk s. Register-blocked (several rows per
    /// invocation); the layout for CPU adapters.
    Rows {
        /// Column splits, 1..=n.
        splits: usize,
    },
    /// Every unordered pair once (S = Z Zᵀ is symmetric), blocks × blocks tiles with
    /// I ≤ J, σ(S_ij) exchanged through workgroup memory: slots.len() = blocks + 1, the
    /// loss slots counting off-diagonal sub-tiles twice. The layout for GPUs; on
    /// llvmpipe its barriers cost more than the halved arithmetic saves
    /// (benches/RESULTS.md).
    Tiles(DenseBlocks),
}

impl DenseLayout {
    /// The layout for `n` nodes on an adapter of `profile`, with `parts` column splits
    /// or blocks when given, else as many as make about the profile's
    /// `dense_target_invocations` threads (at [`TILE`] per tile; more only add partial
    /// sums for decoder_pairs to read), the tile layout's within [`PARTIAL_ROWS`].
    pub fn new(n: usize, profile: &AdapterProfile, parts: Option<usize>) -> Self {
        let target = profile.dense_target_invocations;
        if profile.dense_symmetric {
            let tiles = target.div_ceil(TILE);
            let blocks = parts.unwrap_or_else(|| {
                let budget = (PARTIAL_ROWS / n.max(1)).max(8) - 1;
                (1..MAX_BLOCKS)
                    .find(|b| b * (b + 1) / 2 >= tiles)
                    .unwrap_or(MAX_BLOCKS)
                    .min(budget)
            });
            DenseLayout::Tiles(DenseBlocks::new(n, blocks))
        } else {
            let splits = parts.unwrap_or_else(|| target.div_ceil(n.max(1)).min(MAX_SPLITS));
            DenseLayout::Rows {
                splits: splits.clamp(1, n.max(1)),
            }
        }
    }

    /// Partial slots per node.
    pub fn slots(&self) -> usize {
        match self {
            DenseLayout::Rows { splits } => *splits,
            DenseLayout::Tiles(blocks) => blocks.blocks + 1,
        }
    }

    /// Whether the layout is valid for `n` nodes (as [`DenseLayout::new`] makes it).
    fn fits(&self, n: usize) -> bool {
        match *self {
            DenseLayout::Rows { splits } => (1..=n.max(1)).contains(&splits),
            DenseLayout::Tiles(blocks) => DenseBlocks::new(n, blocks.blocks) == blocks,
        }
    }
}

/// Partial sums of the dense pass, [`DenseLayout::slots`] per node, slot-major: `grad`
/// is slots × n × latent (sums of σ(z_i·z_j) z_j), `loss` is slots × n (sums of
/// softplus(z_i·z_j)); a node's slots add up to its full row, all loss slots to the sum
/// over the N² ordered pairs.
#[derive(Clone)]
pub struct DensePartials {
    /// slots × n × latent.
    pub grad: GpuArray<f32>,
    /// slots × n.
    pub loss: GpuArray<f32>,
    /// The layout the partials were written in.
    pub layout: DenseLayout,
}

/// Rows of the row layout one invocation handles (the shader's `R`): enough to reuse
/// every loaded z_j several times, few enough that R·L accumulators do not spill
/// heavily. Measured on llvmpipe (benches/RESULTS.md): 4 rows at L = 16, 2 at L = 32,
/// 1 at L = 64.
fn rows_per_invocation(latent: usize) -> usize {
    match latent.div_ceil(4) * 4 {
        0..=16 => 4,
        17..=32 => 2,
        _ => 1,
    }
}

/// The dense pass over the first `latent` columns of `z` (row stride `z.cols()`; f32,
/// or f16 widened to f32 as it is read), in the layout of `partials`, into `partials`.
pub fn decoder_dense<T: EmbeddingElem>(
    gpu: &Gpu,
    z: &GpuMatrix<T>,
    latent: usize,
    partials: &DensePartials,
) -> Result<Dispatch> {
    check_latent("decoder_dense", latent, z.cols())?;
    let n = z.rows();
    check(n > 0, "decoder_dense", "z", || "z has no rows".into())?;
    let layout = partials.layout;
    check(layout.fits(n), "decoder_dense", "partials", || {
        format!("{layout:?} is not a layout of {n} nodes")
    })?;
    let slots = layout.slots();
    check(
        partials.grad.len() == slots * n * latent && partials.loss.len() == slots * n,
        "decoder_dense",
        "partials",
        || {
            format!(
                "partials hold {} and {} values for {slots} slots of {n} x {latent}",
                partials.grad.len(),
                partials.loss.len()
            )
        },
    )?;
    to_u32(
        "decoder_dense elements",
        (slots * n * latent).max(n * z.cols()),
    )?;
    // One pipeline per layout, latent size (loops over the latent with constant trip
    // counts), rows per invocation and alignment of z's rows (see the shader's header).
    let aligned = flag(z.cols().is_multiple_of(4));
    let def = store_choice::<T>(gpu, &DECODER_DENSE, &DECODER_DENSE_F16)?;
    let (pipeline, block, parts, groups, workgroups) = match layout {
        DenseLayout::Rows { splits } => {
            let rows = rows_per_invocation(latent);
            let pipeline = gpu.pipeline_with(
                def,
                &[
                    ("L", latent as f64),
                    ("R", rows as f64),
                    ("ALIGNED", aligned),
                ],
            )?;
            // Whole workgroups per split, so that a workgroup's column range is uniform.
            let groups = n.div_ceil(pipeline.workgroup_size() as usize * rows);
            let chunk = n.div_ceil(splits).max(1);
            (pipeline, chunk, splits, groups, splits * groups)
        }
        DenseLayout::Tiles(blocks) => {
            let pipeline = gpu.pipeline_with(
                def,
                &[
                    ("SYMMETRIC", 1.0),
                    ("L", latent as f64),
                    ("R", 1.0),
                    ("WG", TILE as f64),
                    ("TILE_LEN", (TILE * TILE) as f64),
                    ("ALIGNED", aligned),
                ],
            )?;
            let tiles = blocks.tiles();
            (pipeline, blocks.block_rows, blocks.blocks, 0, tiles)
        }
    };
    let params = Params {
        n: to_u32("decoder_dense nodes", n)?,
        latent: latent as u32,
        z_stride: to_u32("decoder_dense stride", z.cols())?,
        block: to_u32("decoder_dense block", block)?,
        parts: to_u32("decoder_dense parts", parts)?,
        groups: to_u32("decoder_dense workgroups", groups)?,
        _pad0: 0,
        _pad1: 0,
    };
    let wg = pipeline.workgroup_size();
    let grid = gpu.grid(workgroups as u64 * wg as u64, wg)?;
    gpu.dispatch(
        &pipeline,
        &params,
        &[
            Bind::matrix(z),
            Bind::array(&partials.grad),
            Bind::array(&partials.loss),
        ],
        grid,
    )
}

/// n nodes, latent L, `slots` partial slots per node: flops = 4·n²·L, the useful work
/// of the full pass over the N² ordered pairs (2·L for the dot product z_i·z_j, 2·L
/// for the gradient accumulation σ(S)·z_j; the softplus and sigmoid are not counted),
/// as DESIGN.md §6, whichever layout (the tile layout does 3·L per ordered pair);
/// bytes = z_bytes·n·L (z: 4 in f32, 2 in f16) + 4·slots·n·(L + 1) (partials).
pub fn work(n: usize, latent: usize, slots: usize, z_bytes: u64) -> Work {
    let (n, l, s) = (n as f64, latent as f64, slots as f64);
    Work {
        flops: 4.0 * n * n * l,
        bytes: z_bytes as f64 * n * l + WORD * s * n * (l + 1.0),
    }
}

// Its step in a schedule (src/model/schedule.rs).

use half::f16;

use crate::cpu;
use crate::model::schedule::{Accesses, Elem, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `decoder_dense` in a schedule: per-slot partial sums over all pairs of z's rows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DecoderDenseStep {
    /// Embeddings, f32 or f16 (the first `latent` columns are used).
    pub z: TensorId,
    /// Latent width.
    pub latent: usize,
    /// Which pairs the pass visits and what its partial slots hold.
    pub layout: DenseLayout,
    /// (slots·n) × L.
    pub grad_partial: TensorId,
    /// slots × n.
    pub loss_partial: TensorId,
}

impl ScheduleOp for DecoderDenseStep {
    fn kernel(&self) -> &'static KernelDef {
        &DECODER_DENSE
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        Accesses::new([self.z], [self.grad_partial, self.loss_partial])
    }

    fn work(&self, s: &Schedule) -> Work {
        let z = s.tensor(self.z);
        work(z.rows, self.latent, self.layout.slots(), z.elem.size())
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "{} (N={} L={} {})",
            s.name(self.z),
            s.tensor(self.z).rows,
            self.latent,
            match self.layout {
                DenseLayout::Rows { splits } => format!("splits={splits}"),
                DenseLayout::Tiles(b) => format!("tiles blocks={}", b.blocks),
            }
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        let partials = DensePartials {
            grad: ctx.array(self.grad_partial)?,
            loss: ctx.array(self.loss_partial)?,
            layout: self.layout,
        };
        let gpu = ctx.gpu();
        match ctx.tensor(self.z).elem {
            Elem::F16 => decoder_dense(gpu, &ctx.matrix::<f16>(self.z)?, self.latent, &partials),
            _ => decoder_dense(gpu, &ctx.matrix::<f32>(self.z)?, self.latent, &partials),
        }
        .map(|d| vec![d])
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let (n, stride) = (ctx.tensor(self.z).rows, ctx.tensor(self.z).cols);
        let (grad, loss) =
            cpu::decoder_dense(&ctx.widened(self.z)?, n, stride, self.latent, self.layout);
        ctx.set_f32(self.grad_partial, grad)?;
        ctx.set_f32(self.loss_partial, loss)
    }
}

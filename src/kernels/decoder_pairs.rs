//! `shaders/decoder_pairs.wgsl`: the decoder over listed pairs, row by row — the sparse
//! correction of the dense objective, or the whole sampled objective.

use super::decoder_dense::DensePartials;
use super::{
    check, check_latent, elem_bytes, flag, store_choice, to_u32, EmbeddingElem, Work, WORD,
    WORD_BYTES,
};
use crate::error::{Error, Result};
use crate::gpu::windows::{pass_flags, row_windows};
use crate::gpu::{Bind, BindingDef, Dispatch, Gpu, GpuArray, GpuMatrix, KernelDef};

/// The pair decoder kernel.
pub static DECODER_PAIRS: KernelDef = KernelDef {
    name: "decoder_pairs",
    source: store_source!(f32, shader_source!("decoder_pairs.wgsl")),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("z_rows"),
        BindingDef::read("z_cols"),
        BindingDef::read("pair_ptr"),
        BindingDef::read("pair_col"),
        BindingDef::read("class_weights"),
        BindingDef::read("grad_partial"),
        BindingDef::read("loss_partial"),
        BindingDef::write("dz"),
        BindingDef::write("loss_rows"),
    ],
};

/// [`DECODER_PAIRS`] reading z stored in f16, for devices with `SHADER_F16`.
pub static DECODER_PAIRS_F16: KernelDef = KernelDef {
    source: store_source!(f16, shader_source!("decoder_pairs.wgsl")),
    ..DECODER_PAIRS
};

kernel_params! {
    struct Params {
        n: u32,
        nodes: u32,
        latent: u32,
        z_stride: u32,
        slots: u32,
        grad_scale: f32,
        row_base: u32,
        entry_lo: u32,
        entry_hi: u32,
        z_lo: u32,
        z_hi: u32,
        flags: u32,
    }
}

/// The bit of an entry's column word that selects weight class 1 (node ids use the
/// other 31 bits).
pub const CLASS_BIT: u32 = 1 << 31;

/// Weighted pairs grouped by their first node (CSR by row): entry `p` of row `i` pairs
/// node `i` with node `col[p] & !CLASS_BIT` and contributes
/// `w_pos·softplus(−S) + w_neg·softplus(S)`, its weights those of its class (the
/// [`CLASS_BIT`] of `col[p]`). Every objective needs at most two weight pairs
/// (positives and negatives of the sampled objective; the label pattern of the dense
/// ones), so an entry is one word: 4 bytes where (column, w_pos, w_neg) took 12 (at
/// 10 M edges the sampled list holds 68 M entries). Each row's entries are sorted by
/// column (ties in input order), so that windows of z's rows visit them in list order
/// (see the shader).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PairRows {
    /// Number of nodes (rows).
    pub num_nodes: usize,
    /// `num_nodes + 1` offsets into `col`.
    pub ptr: Vec<u32>,
    /// The other node of each entry, with [`CLASS_BIT`] set for weight class 1.
    pub col: Vec<u32>,
    /// `(w_pos, w_neg)` of class 0, then of class 1.
    pub class_weights: [f32; 4],
}

/// One weighted pair `(i, j, w_pos, w_neg)`.
pub type WeightedPair = (u32, u32, f32, f32);

/// Pairs that share their weights: `(pairs, w_pos, w_neg)`.
pub type PairList<'a> = (&'a [(u32, u32)], f32, f32);

impl PairRows {
    /// Rows from directed entries: entry `(i, j, …)` is listed under row `i` only. The
    /// dense objective's label pattern is given this way (both directions of every edge
    /// plus the diagonal). At most two distinct weight pairs.
    pub fn from_directed(num_nodes: usize, entries: &[WeightedPair]) -> Result<Self> {
        Self::build(num_nodes, entries.len(), |push| {
            for &(i, j, wp, wn) in entries {
                push(i, j, wp, wn)?;
            }
            Ok(())
        })
    }

    /// Rows from undirected pairs: pair `(i, j, …)` is listed under row `i` and row `j`,
    /// so each row's gradient sees every pair it belongs to. The row losses then count
    /// every pair twice. At most two distinct weight pairs.
    pub fn from_pairs(num_nodes: usize, pairs: &[WeightedPair]) -> Result<Self> {
        Self::build(num_nodes, 2 * pairs.len(), |push| {
            for &(i, j, wp, wn) in pairs {
                push(i, j, wp, wn)?;
                push(j, i, wp, wn)?;
            }
            Ok(())
        })
    }

    /// [`PairRows::from_pairs`] over lists of pairs that share their weights, in order
    /// (the sampled objective: positives, then negatives), without building the
    /// weighted list.
    pub fn from_pair_lists(num_nodes: usize, lists: &[PairList<'_>]) -> Result<Self> {
        let total: usize = lists.iter().map(|(pairs, _, _)| 2 * pairs.len()).sum();
        Self::build(num_nodes, total, |push| {
            for &(pairs, wp, wn) in lists {
                for &(i, j) in pairs {
                    push(i, j, wp, wn)?;
                    push(j, i, wp, wn)?;
                }
            }
            Ok(())
        })
    }

    fn build(
        num_nodes: usize,
        capacity: usize,
        fill: impl Fn(&mut dyn FnMut(u32, u32, f32, f32) -> Result<()>) -> Result<()>,
    ) -> Result<Self> {
        if num_nodes > CLASS_BIT as usize {
            return Err(Error::TooLarge {
                what: "the node count of a pair list".into(),
                size: num_nodes as u64,
                limit: u64::from(CLASS_BIT),
            });
        }
        // Two passes (count, then place) keep entries in input order within each row;
        // a stable sort by column then orders each row, so the sums are reproducible.
        let mut counts = vec![0u32; num_nodes + 1];
        let mut classes: Vec<(u32, u32)> = Vec::with_capacity(2);
        fill(&mut |i, j, wp, wn| {
            if i as usize >= num_nodes || j as usize >= num_nodes {
                return Err(Error::InvalidArgument {
                    argument: "pairs",
                    message: format!("pair ({i}, {j}) is out of range for {num_nodes} nodes"),
                });
            }
            if !wp.is_finite() || !wn.is_finite() {
                return Err(Error::InvalidArgument {
                    argument: "pairs",
                    message: format!("pair ({i}, {j}) has non-finite weights ({wp}, {wn})"),
                });
            }
            let key = (wp.to_bits(), wn.to_bits());
            if !classes.contains(&key) {
                if classes.len() == 2 {
                    return Err(Error::InvalidArgument {
                        argument: "pairs",
                        message: format!(
                            "pair ({i}, {j}) has a third pair of weights ({wp}, {wn}); a pair \
                             list holds at most two"
                        ),
                    });
                }
                classes.push(key);
            }
            counts[i as usize + 1] += 1;
            Ok(())
        })?;
        for r in 0..num_nodes {
            counts[r + 1] += counts[r];
        }
        let ptr = counts.clone();
        let mut next = counts;
        let mut col = vec![0u32; capacity];
        fill(&mut |i, j, wp, wn| {
            let class = classes
                .iter()
                .position(|&c| c == (wp.to_bits(), wn.to_bits()))
                .unwrap_or(0);
            let slot = next[i as usize] as usize;
            col[slot] = if class == 1 { j | CLASS_BIT } else { j };
            next[i as usize] += 1;
            Ok(())
        })?;
        to_u32("pair entries", capacity)?;
        sort_rows(&ptr, &mut col);
        let mut class_weights = [0f32; 4];
        for (c, &(wp, wn)) in classes.iter().enumerate() {
            class_weights[2 * c] = f32::from_bits(wp);
            class_weights[2 * c + 1] = f32::from_bits(wn);
        }
        Ok(PairRows {
            num_nodes,
            ptr,
            col,
            class_weights,
        })
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.col.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.col.is_empty()
    }

    /// The other node of entry `p`.
    pub fn other(&self, p: usize) -> u32 {
        self.col[p] & !CLASS_BIT
    }

    /// `(w_pos, w_neg)` of entry `p`.
    pub fn weights(&self, p: usize) -> (f32, f32) {
        let c = (self.col[p] >> 31) as usize;
        (self.class_weights[2 * c], self.class_weights[2 * c + 1])
    }

    /// Uploads the rows.
    pub fn upload(&self, gpu: &Gpu, label: &str) -> Result<GpuPairRows> {
        Ok(GpuPairRows {
            ptr: gpu.upload(&format!("{label}.ptr"), &self.ptr)?,
            col: gpu.upload(&format!("{label}.col"), &self.col)?,
            class_weights: gpu.upload(&format!("{label}.class_weights"), &self.class_weights)?,
            num_nodes: self.num_nodes,
        })
    }
}

/// Sorts the entries of every row by node (not by class), stably.
fn sort_rows(ptr: &[u32], col: &mut [u32]) {
    for bounds in ptr.windows(2) {
        let row = &mut col[bounds[0] as usize..bounds[1] as usize];
        if !row.is_sorted_by_key(|&c| c & !CLASS_BIT) {
            row.sort_by_key(|&c| c & !CLASS_BIT);
        }
    }
}

/// [`PairRows`] on the device.
#[derive(Clone)]
pub struct GpuPairRows {
    /// Row offsets.
    pub ptr: GpuArray<u32>,
    /// Other node per entry, with [`CLASS_BIT`] for weight class 1.
    pub col: GpuArray<u32>,
    /// `(w_pos, w_neg)` of class 0, then of class 1.
    pub class_weights: GpuArray<f32>,
    /// Number of nodes.
    pub num_nodes: usize,
}

/// `dz[i] = grad_scale · (Σ_s dense.grad[s, i] + Σ_p coef_p z_j)` and
/// `loss_rows[i] = Σ_s dense.loss[s, i] + Σ_p loss_p` over the pairs of row `i` and the
/// dense partial slots `s` in order, reading the first `latent` columns of `z` (f32, or
/// f16 widened to f32 as it is read). `dense`
/// is `None` for the sampled objective. Where z, the outputs or the pair list exceed one
/// storage binding, one dispatch per window of rows, of entries and of z's rows for the
/// other node of each pair, bit for bit the single dispatch's result (each row's entries
/// are sorted by column); the offsets and the partials are bound whole.
#[allow(clippy::too_many_arguments)]
pub fn decoder_pairs<T: EmbeddingElem>(
    gpu: &Gpu,
    z: &GpuMatrix<T>,
    latent: usize,
    pairs: &GpuPairRows,
    dense: Option<&DensePartials>,
    grad_scale: f32,
    dz: &GpuMatrix,
    loss_rows: &GpuArray<f32>,
) -> Result<Vec<Dispatch>> {
    check_latent("decoder_pairs", latent, z.cols())?;
    let n = z.rows();
    check(pairs.num_nodes == n, "decoder_pairs", "pairs", || {
        format!("pairs are over {} nodes, z has {n} rows", pairs.num_nodes)
    })?;
    check(
        dz.rows() == n && dz.cols() == latent,
        "decoder_pairs",
        "dz",
        || {
            format!(
                "dz is {} x {}, expected {n} x {latent}",
                dz.rows(),
                dz.cols()
            )
        },
    )?;
    check(loss_rows.len() == n, "decoder_pairs", "loss_rows", || {
        format!("loss_rows has {} elements for {n} nodes", loss_rows.len())
    })?;
    // Without dense partials, bind the pair weights in their place; slots = 0 keeps the
    // kernel from reading them.
    let slots = match dense {
        Some(d) => {
            let slots = d.layout.slots();
            check(
                d.grad.len() == slots * n * latent && d.loss.len() == slots * n,
                "decoder_pairs",
                "dense",
                || "dense partials do not match z's shape".into(),
            )?;
            slots
        }
        None => 0,
    };
    to_u32(
        "decoder_pairs elements",
        n * z.cols().max(latent * slots.max(1)),
    )?;
    // One pipeline per latent size (loops over the latent with constant trip counts), per
    // alignment of z's rows and per windowing of z (see the shader's header).
    let z_row_bytes = z.cols() as u64 * elem_bytes::<T>();
    let row_windows_of = |what: &str, rows: usize, bytes: &[u64]| {
        row_windows(gpu, what, rows, bytes, 1)
    };
    let node_windows = row_windows_of(
        "decoder_pairs rows",
        n,
        &[z_row_bytes, latent as u64 * WORD_BYTES, WORD_BYTES],
    )?;
    let entry_windows = row_windows_of("decoder_pairs entries", pairs.col.len(), &[WORD_BYTES])?;
    let z_windows = row_windows_of("decoder_pairs z", n, &[z_row_bytes])?;
    let windowed = z_windows.len() > 1;
    let pipeline = gpu.pipeline_with(
        store_choice::<T>(gpu, &DECODER_PAIRS, &DECODER_PAIRS_F16)?,
        &[
            ("L", latent as f64),
            ("ALIGNED", flag(z.cols().is_multiple_of(4))),
            ("WINDOWED", flag(windowed)),
        ],
    )?;
    let passes = entry_windows.len() * z_windows.len();
    let mut dispatches = Vec::with_capacity(node_windows.len() * passes);
    for rows in &node_windows {
        let grid = gpu.grid(rows.len() as u64, pipeline.workgroup_size())?;
        for (e, entries) in entry_windows.iter().enumerate() {
            for (w, others) in z_windows.iter().enumerate() {
                let pass = e * z_windows.len() + w;
                // Without dense partials, the class weights stand in for them; slots = 0
                // keeps the kernel from reading them.
                let (grad_partial, loss_partial) = match dense {
                    Some(d) => (Bind::array(&d.grad), Bind::array(&d.loss)),
                    None => (
                        Bind::array(&pairs.class_weights),
                        Bind::array(&pairs.class_weights),
                    ),
                };
                let params = Params {
                    n: to_u32("decoder_pairs nodes", rows.len())?,
                    nodes: to_u32("decoder_pairs nodes", n)?,
                    latent: latent as u32,
                    z_stride: to_u32("decoder_pairs stride", z.cols())?,
                    slots: to_u32("decoder_pairs slots", slots)?,
                    grad_scale,
                    row_base: to_u32("decoder_pairs nodes", rows.start)?,
                    entry_lo: to_u32("decoder_pairs entries", entries.start)?,
                    entry_hi: to_u32("decoder_pairs entries", entries.end)?,
                    z_lo: to_u32("decoder_pairs nodes", others.start)?,
                    z_hi: to_u32("decoder_pairs nodes", others.end)?,
                    flags: pass_flags(pass, passes),
                };
                dispatches.push(gpu.dispatch(
                    &pipeline,
                    &params,
                    &[
                        Bind::rows(z, rows.clone()),
                        Bind::rows(z, others.clone()),
                        Bind::array(&pairs.ptr),
                        Bind::elements(&pairs.col, entries.clone()),
                        Bind::array(&pairs.class_weights),
                        grad_partial,
                        loss_partial,
                        Bind::rows(dz, rows.clone()),
                        Bind::elements(loss_rows, rows.clone()),
                    ],
                    grid,
                )?);
            }
        }
    }
    Ok(dispatches)
}

/// n nodes with `entries` listed pairs and `slots` dense partials per node (0 for the
/// sampled objective): flops = 4·entries·L + slots·n·L; bytes = z_bytes·n·L (z: 4 in
/// f32, 2 in f16) + 4·(n + 1)
/// + 4·entries (col, its class bit selecting the weights) + 4·slots·n·(L + 1) (partials)
/// + 4·n·(L + 1) (dz, loss_rows).
pub fn work(n: usize, latent: usize, entries: usize, slots: usize, z_bytes: u64) -> Work {
    let (n, l, e, s) = (n as f64, latent as f64, entries as f64, slots as f64);
    Work {
        flops: 4.0 * e * l + s * n * l,
        bytes: z_bytes as f64 * n * l
            + WORD * (n + 1.0)
            + WORD * e
            + WORD * s * n * (l + 1.0)
            + WORD * n * (l + 1.0),
    }
}

// Its step in a schedule (src/model/schedule.rs).

use serde::Serialize;

use half::f16;

use super::decoder_dense::DenseLayout;
use crate::cpu;
use crate::model::schedule::{Accesses, Elem, PairsId, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `decoder_pairs` in a schedule: a pair list (plus the dense pass's partials) → dz and
/// the loss rows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DecoderPairsStep {
    /// Embeddings, f32 or f16 (the first `latent` columns are used).
    pub z: TensorId,
    /// Latent width.
    pub latent: usize,
    /// The pair list.
    pub pairs: PairsId,
    /// Dense partials (grad, loss, their layout) to add, for the dense objective.
    pub dense: Option<(TensorId, TensorId, DenseLayout)>,
    /// Scale of dz.
    pub grad_scale: f32,
    /// n × L.
    pub dz: TensorId,
    /// n × 1.
    pub loss_rows: TensorId,
}

impl ScheduleOp for DecoderPairsStep {
    fn kernel(&self) -> &'static KernelDef {
        &DECODER_PAIRS
    }

    fn accesses(&self, s: &Schedule) -> Accesses {
        let pairs = s.pairs(self.pairs).tensors();
        let dense = self.dense.into_iter().flat_map(|(grad, loss, _)| [grad, loss]);
        Accesses::new(
            [self.z].into_iter().chain(pairs).chain(dense),
            [self.dz, self.loss_rows],
        )
    }

    fn work(&self, s: &Schedule) -> Work {
        let z = s.tensor(self.z);
        work(
            z.rows,
            self.latent,
            s.pairs(self.pairs).entries,
            self.dense.map_or(0, |(_, _, layout)| layout.slots()),
            z.elem.size(),
        )
    }

    fn describe(&self, s: &Schedule) -> String {
        let p = s.pairs(self.pairs);
        format!(
            "{} over {} (N={} L={} entries={})",
            s.name(self.z),
            p.name,
            p.nodes,
            self.latent,
            p.entries
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        let spec = ctx.schedule().pairs(self.pairs);
        let pairs = GpuPairRows {
            ptr: ctx.array(spec.ptr)?,
            col: ctx.array(spec.col)?,
            class_weights: ctx.array(spec.weight)?,
            num_nodes: spec.nodes,
        };
        let partials = self
            .dense
            .map(|(grad, loss, layout)| {
                Ok::<_, Error>(DensePartials {
                    grad: ctx.array(grad)?,
                    loss: ctx.array(loss)?,
                    layout,
                })
            })
            .transpose()?;
        let (gpu, dz, loss_rows) = (ctx.gpu(), ctx.matrix(self.dz)?, ctx.array(self.loss_rows)?);
        let (latent, dense, scale) = (self.latent, partials.as_ref(), self.grad_scale);
        match ctx.tensor(self.z).elem {
            Elem::F16 => {
                let z = ctx.matrix::<f16>(self.z)?;
                decoder_pairs(gpu, &z, latent, &pairs, dense, scale, &dz, &loss_rows)
            }
            _ => {
                let z = ctx.matrix::<f32>(self.z)?;
                decoder_pairs(gpu, &z, latent, &pairs, dense, scale, &dz, &loss_rows)
            }
        }
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let stride = ctx.tensor(self.z).cols;
        let dense = self
            .dense
            .map(|(grad, loss, layout)| Ok::<_, Error>((ctx.f32(grad)?, ctx.f32(loss)?, layout.slots())))
            .transpose()?;
        let (dz, loss_rows) = cpu::decoder_pairs(
            &ctx.widened(self.z)?,
            stride,
            self.latent,
            ctx.pair_rows(self.pairs)?,
            dense,
            self.grad_scale,
        );
        ctx.set_f32(self.dz, dz)?;
        ctx.set_f32(self.loss_rows, loss_rows)
    }
}

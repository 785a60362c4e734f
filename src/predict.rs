//! Using what was trained (DESIGN.md §7): the most likely missing links of a graph by the
//! decoder's score σ(μ_i · μ_j), exactly, on the GPU, and the scores of listed pairs.
//!
//! - [`top_k_links`]: the K best candidate pairs, globally ([`TopKMode::Global`]: over
//!   all unordered pairs i < j) or per node ([`TopKMode::PerNode`]: for every node i its
//!   K best partners j ≠ i). Candidates are the pairs that are not in an [`Exclusion`]
//!   (the graph's edges, optionally more pairs); self pairs never are.
//!   [`top_k_links_on_device`] takes μ already on the device (e.g. a view of a model's
//!   buffer) and reports the passes it took; [`top_k_links_cpu`] is the brute-force
//!   reference the tests and benchmarks compare with.
//! - [`score_pairs`]: σ(μ_a · μ_b) for listed pairs (the `edge_score` kernel).
//!
//! ```no_run
//! use gpu_vgae::Gpu;
//! use gpu_vgae::{top_k_links, Exclusion, TopKMode};
//!
//! let gpu = Gpu::from_env()?;
//! let (n, latent) = (4, 2);
//! let mu = [1.0, 0.0, 0.9, 0.1, 0.0, 1.0, 0.1, 0.9];
//! let graph_edges = [(0, 1)];
//! let exclude = Exclusion::new(n, &graph_edges)?;
//! let best = top_k_links(&gpu, &mu, n, latent, &exclude, 2, TopKMode::Global)?;
//! assert_eq!((best[0].source, best[0].target), (2, 3));
//! # Ok::<(), gpu_vgae::Error>(())
//! ```
//!
//! # Ranking and ties
//! σ is monotone, but it saturates in f32 (σ(S) rounds to 1.0 for every S above ≈ 17),
//! so pairs are ranked by the logit S_ij = μ_i · μ_j, computed in f32 over the latent
//! columns in order ([`crate::cpu::link_logit`]; the kernel sums in the same order), and
//! [`ScoredPair`] carries both the logit and the score σ(S). Higher logit first; equal
//! f32 logits are ties, broken by the pair: smaller source first, then smaller target.
//! Per node, the source is the node and rows are in node order.
//!
//! Exactness is on the logits as the device computes them. On lavapipe the kernel, its
//! CPU twin and [`top_k_links_cpu`] compute the same f32 sums (no fused multiply-adds)
//! and agree bit for bit, so the answers are identical (tests/kernels/topk_rows.rs). A
//! device that fuses multiply-adds may round a logit differently in the last bits; its
//! answer is then the exact top K of its own logits, which can differ from the CPU
//! reference only by swapping pairs whose logits differ by a few ulps.
//!
//! # How the search stays exact in bounded memory
//! The kernel `topk_rows` (shaders/topk_rows.wgsl) scans rows: for each active row i it
//! computes S_ij for every column j of the row's scan (j > i globally, j ≠ i per node),
//! tile by tile, skips the row's excluded columns (a merge walk through the exclusion
//! lists, sorted by column, as j ascends) so that excluded pairs never take a slot, and
//! keeps the row's best `c` candidates in a heap in device memory, returning how many
//! it kept. Two bounds narrow a row's candidates: a floor (only S ≥ floor) and a
//! cursor (only candidates ranked after the worst entry an earlier pass returned, so a
//! second pass yields the row's next `c`). A row that fills fewer than `c` slots has
//! no further candidate within its bounds; the host also knows every row's candidate
//! count from the exclusion lists.
//!
//! - Globally, a floor first: the host scores the q nodes of largest norm against all
//!   nodes (q = 64, more for large K: about 64·K pairs, at most 256 nodes;
//!   [`TopKOptions::floor_rows`]) and takes the K-th best logit of those candidate
//!   pairs, lowered by a rounding margin (L·2⁻²³·max|μ|², what another summation order
//!   or fused multiply-adds can change). Those pairs are candidates, so the K-th best
//!   of all candidates is at least that good: no pair of the answer is below the
//!   floor, while the rows insert only the few candidates above it. It also rules out
//!   whole rows: row i pairs only with j > i and S_ij ≤ |μ_i|·|μ_j|, so a row with
//!   |μ_i|·max_{j>i}|μ_j| below the floor (with the rounding margin) is not scanned.
//!   Embeddings put their largest logits on few nodes of large norm, so at Pubmed
//!   this leaves a few dozen rows of 19,717 (benches/RESULTS.md). Then passes: the
//!   pool is the K best of all entries returned so far. A row with candidates left
//!   within its bounds can still contribute only if its cursor (its worst returned
//!   entry) ranks strictly before the pool's K-th entry (or the pool holds fewer than
//!   K): every candidate it has not returned ranks after its cursor. Such rows run
//!   again; the search ends when none is left, and the pool is then exactly the top K.
//! - Per node: every row needs min(K, its candidates); rows that have not got them run
//!   again with their cursor until they have. (A floor does not pay here: a row's
//!   K-th best is only bounded well by scanning most of the row.)
//!
//! The capacity of a pass is c = min(K, the largest number of entries a row still
//! needs, budget / active rows), where the budget ([`TopKOptions::list_budget`],
//! default [`DEFAULT_LIST_BUDGET`] = 2²² slots of 8 bytes) bounds the lists. At Pubmed's
//! size (N = 19,717) that is 212 slots per row, so K ≤ 212 takes one pass in both modes
//! (c ≥ K: no row can hold more than K of the top K); a larger K takes more passes,
//! each over the rows that still need one, with a capacity that grows as rows drop
//! out. Memory: O(N·L) for μ, O(N + |excluded|) for the exclusion lists, O(budget) for
//! a pass's lists and O(K) for the pool (per node O(N·K): the answer itself); never
//! N². Work: O(N²·L) for the first pass per node, O(rows scanned·N·L) globally (at most
//! half of N²·L), tile by tile, plus O(q·N·L) on the host for the floor; the merge on
//! the host sorts each row's list, O(rows·c·log c) per pass, small next to the scan
//! (benches/RESULTS.md has figures).
//!
//! K larger than the number of candidates returns every candidate (globally: all
//! non-excluded pairs; per node: all of a row's); a graph without candidates returns
//! nothing. Embeddings must be finite, and rows must satisfy |μ_i|² ≤ 10³⁷, so that no
//! partial sum of a logit can overflow f32.

use std::cmp::Ordering;

use serde::Serialize;

use crate::cpu::{link_logit, round_f16, sigmoid, through_f16};
use crate::data::GraphView;
use crate::error::{Error, Result};
use crate::gpu::{Gpu, GpuMatrix, Recording};
use crate::kernels::edge_score::{edge_logits, edge_score, flatten_pairs};
use crate::kernels::topk_rows::{
    padded_rows, scanned_pairs, topk_rows, ExclusionLists, RowBounds, RowLists,
};
use crate::kernels::{EmbeddingElem, MAX_LATENT};
use crate::model::Precision;

/// Largest squared row norm |μ_i|² accepted: every partial sum of a logit is at most
/// |μ_i|·|μ_j| in magnitude, which stays well below f32's largest value (3.4·10³⁸).
pub const MAX_SQUARED_NORM: f64 = 1e37;

/// Default list budget of a pass, in slots (8 bytes each: 32 MiB).
pub const DEFAULT_LIST_BUDGET: usize = 1 << 22;

/// Default number of nodes the global floor is computed from.
pub const DEFAULT_FLOOR_ROWS: usize = 64;

/// Which top-K to find.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum TopKMode {
    /// The K best unordered pairs i < j of the whole graph.
    Global,
    /// For every node i, its K best partners j ≠ i.
    PerNode,
}

/// A candidate link and its score.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ScoredPair {
    /// Globally the smaller node of the pair; per node, the node whose row this is.
    pub source: u32,
    /// The other node.
    pub target: u32,
    /// μ_source · μ_target in f32: what the ranking compares.
    pub logit: f32,
    /// σ(logit), the decoder's link probability.
    pub score: f32,
}

/// Pairs that are not candidates: typically the graph's edges (links already known),
/// optionally more (e.g. the validation and test positives). Unordered: (a, b) and
/// (b, a) are the same pair. Stored as sorted adjacency lists in both directions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exclusion {
    num_nodes: usize,
    ptr: Vec<u32>,
    col: Vec<u32>,
}

impl Exclusion {
    /// No pair excluded.
    pub fn none(num_nodes: usize) -> Result<Self> {
        Self::new(num_nodes, &[])
    }

    /// Excludes `pairs` (in either order; duplicates are allowed, self pairs are
    /// ignored since they are never candidates). Fails on a node id ≥ `num_nodes`.
    pub fn new(num_nodes: usize, pairs: &[(u32, u32)]) -> Result<Self> {
        if num_nodes > 1 << 32 {
            return Err(Error::TooLarge {
                what: "the node count of an exclusion (node ids are u32)".into(),
                size: num_nodes as u64,
                limit: 1 << 32,
            });
        }
        if let Some((p, &(a, b))) = pairs
            .iter()
            .enumerate()
            .find(|(_, &(a, b))| a as usize >= num_nodes || b as usize >= num_nodes)
        {
            return Err(Error::InvalidArgument {
                argument: "pairs",
                message: format!(
                    "excluded pair {p} ({a}, {b}) is out of range for {num_nodes} nodes"
                ),
            });
        }
        let mut directed: Vec<(u32, u32)> = pairs
            .iter()
            .filter(|(a, b)| a != b)
            .flat_map(|&(a, b)| [(a, b), (b, a)])
            .collect();
        directed.sort_unstable();
        directed.dedup();
        let mut ptr = vec![0u32; num_nodes + 1];
        for &(a, _) in &directed {
            ptr[a as usize + 1] += 1;
        }
        for i in 0..num_nodes {
            ptr[i + 1] += ptr[i];
        }
        Ok(Exclusion {
            num_nodes,
            ptr,
            col: directed.into_iter().map(|(_, b)| b).collect(),
        })
    }

    /// Excludes the edges of `graph`.
    pub fn from_graph(graph: &GraphView<'_>) -> Result<Self> {
        Self::new(graph.num_nodes(), graph.edges())
    }

    /// These pairs and `extra` excluded.
    pub fn with_pairs(&self, extra: &[(u32, u32)]) -> Result<Self> {
        let mut pairs: Vec<(u32, u32)> = (0..self.num_nodes)
            .flat_map(|i| self.neighbours(i).iter().map(move |&j| (i as u32, j)))
            .filter(|&(i, j)| i < j)
            .collect();
        pairs.extend_from_slice(extra);
        Self::new(self.num_nodes, &pairs)
    }

    /// Number of nodes.
    pub fn num_nodes(&self) -> usize {
        self.num_nodes
    }

    /// Number of excluded unordered pairs.
    pub fn len(&self) -> usize {
        self.col.len() / 2
    }

    /// Whether no pair is excluded.
    pub fn is_empty(&self) -> bool {
        self.col.is_empty()
    }

    /// The nodes paired with `node` in an excluded pair, ascending (empty for a node id
    /// out of range).
    pub fn neighbours(&self, node: usize) -> &[u32] {
        if node >= self.num_nodes {
            return &[];
        }
        &self.col[self.ptr[node] as usize..self.ptr[node + 1] as usize]
    }

    /// Row offsets of the adjacency lists (num_nodes + 1): node i's excluded partners
    /// are `columns()[offsets()[i]..offsets()[i + 1]]`, the layout `topk_rows` reads.
    pub fn offsets(&self) -> &[u32] {
        &self.ptr
    }

    /// The adjacency lists' partners, each node's ascending.
    pub fn columns(&self) -> &[u32] {
        &self.col
    }

    /// Whether the pair (a, b) is excluded.
    pub fn contains(&self, a: u32, b: u32) -> bool {
        self.neighbours(a as usize).binary_search(&b).is_ok()
    }

    /// Candidates of row i: partners j > i (`global`) or j ≠ i, not excluded.
    fn row_candidates(&self, i: usize, global: bool) -> u64 {
        let n = self.num_nodes as u64;
        let neighbours = self.neighbours(i);
        if global {
            let above = neighbours.len() - neighbours.partition_point(|&j| j as usize <= i);
            n - 1 - i as u64 - above as u64
        } else {
            n - 1 - neighbours.len() as u64
        }
    }
}

/// What to search for and how much device memory a pass may use for its lists.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopKOptions {
    /// K: entries globally, or per node.
    pub k: usize,
    /// Global or per node.
    pub mode: TopKMode,
    /// Most list slots (8 bytes each) one pass allocates; a smaller budget means more,
    /// cheaper passes for large K. At least 1.
    pub list_budget: usize,
    /// Globally: the least number of nodes of largest norm the host scores against
    /// every node to set the floor (more, up to 4×, for large K); 0: no floor. See the
    /// module docs.
    pub floor_rows: usize,
    /// How the kernel stores μ: f32, or f16 as a model of [`Precision::F16`] scores
    /// (μ rounded to the nearest f16 and ranked by logits of the rounded values, in
    /// f32; the answer is then exact for the rounded μ). A device without
    /// `SHADER_F16` runs the f32 kernel on the rounded values: the same logits.
    pub precision: Precision,
}

impl TopKOptions {
    /// The K best in `mode`, with the default list budget.
    pub fn new(k: usize, mode: TopKMode) -> Self {
        TopKOptions {
            k,
            mode,
            list_budget: DEFAULT_LIST_BUDGET,
            floor_rows: DEFAULT_FLOOR_ROWS,
            precision: Precision::F32,
        }
    }

    /// Sets how μ is stored for the search.
    pub fn with_precision(mut self, precision: Precision) -> Self {
        self.precision = precision;
        self
    }

    /// Sets the list budget (slots per pass).
    pub fn with_list_budget(mut self, slots: usize) -> Self {
        self.list_budget = slots;
        self
    }

    /// Sets how many nodes the global floor is taken from (0: none).
    pub fn with_floor_rows(mut self, rows: usize) -> Self {
        self.floor_rows = rows;
        self
    }

    fn validate(&self) -> Result<()> {
        if self.k == 0 {
            return Err(Error::InvalidConfig {
                setting: "k",
                message: "the number of links to return must be at least 1".into(),
            });
        }
        if self.list_budget == 0 {
            return Err(Error::InvalidConfig {
                setting: "list_budget",
                message: "a pass needs at least one list slot".into(),
            });
        }
        Ok(())
    }
}

/// The answer of [`top_k_links_on_device`] and how it was found.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TopKOutcome {
    /// Globally the best pairs, best first; per node, every row in node order, each
    /// best first.
    pub links: Vec<ScoredPair>,
    /// Kernel passes run.
    pub passes: usize,
    /// Pairs (i, j) whose logit the passes computed, all passes together.
    pub scanned_pairs: u64,
    /// The global floor used, if any.
    pub floor: Option<f32>,
}

/// The K most likely links among the pairs that `exclude` leaves, with μ
/// (`embeddings`, `num_nodes × latent`, row-major) uploaded for the search. Globally:
/// at most K pairs (source < target), best first. Per node: for each node in order,
/// its best min(K, candidates) partners, best first. See the module docs for the
/// ranking (by the f32 logit, ties by pair) and the memory bound.
///
/// Errors: `k == 0` is [`Error::InvalidConfig`]; a latent width outside 1..=64
/// (`latent`), a length other than `num_nodes × latent`, a non-finite value, a row with
/// |μ_i|² > [`MAX_SQUARED_NORM`] (`embeddings`) or an exclusion for another node count
/// (`exclude`) is [`Error::InvalidArgument`].
pub fn top_k_links(
    gpu: &Gpu,
    embeddings: &[f32],
    num_nodes: usize,
    latent: usize,
    exclude: &Exclusion,
    k: usize,
    mode: TopKMode,
) -> Result<Vec<ScoredPair>> {
    let options = TopKOptions::new(k, mode);
    Ok(top_k_links_with(gpu, embeddings, num_nodes, latent, exclude, &options)?.links)
}

/// [`top_k_links`] with every setting of `options` (list budget, floor, precision), and
/// how the answer was found.
pub fn top_k_links_with(
    gpu: &Gpu,
    embeddings: &[f32],
    num_nodes: usize,
    latent: usize,
    exclude: &Exclusion,
    options: &TopKOptions,
) -> Result<TopKOutcome> {
    options.validate()?;
    check_embeddings("embeddings", embeddings, num_nodes, latent, latent, exclude)?;
    search_stored(gpu, embeddings, num_nodes, latent, latent, exclude, options)
}

/// The search over host values (`n` rows at `stride`), uploaded as the kernel reads
/// them: rows padded to a multiple of 4 columns, in `options.precision` (for f16 the
/// host's floor sees the rounded values, which is what the device reads; a device
/// without f16 in shaders reads them as f32, which gives the f16 kernel's logits to
/// the bit).
fn search_stored(
    gpu: &Gpu,
    values: &[f32],
    n: usize,
    stride: usize,
    latent: usize,
    exclude: &Exclusion,
    options: &TopKOptions,
) -> Result<TopKOutcome> {
    let padded = padded_rows(values, n, stride, latent);
    let width = 4 * latent.div_ceil(4);
    let label = "gpu_vgae.predict.z";
    match options.precision {
        Precision::F32 => {
            let z = gpu.upload_matrix(label, n, width, &padded)?;
            search(gpu, &z, values, stride, latent, exclude, options)
        }
        Precision::F16 => {
            let rounded = through_f16(&padded);
            if gpu.profile().features.shader_f16 {
                let z = gpu.upload_matrix(label, n, width, &round_f16(&padded))?;
                search(gpu, &z, &rounded, width, latent, exclude, options)
            } else {
                let z = gpu.upload_matrix(label, n, width, &rounded)?;
                search(gpu, &z, &rounded, width, latent, exclude, options)
            }
        }
    }
}

/// [`top_k_links`] over the first `latent` columns of a matrix already on the device
/// (rows are nodes; its column count is the row stride, so a view of a wider buffer
/// such as [μ | log σ] works). The matrix is read back once for the input checks.
pub fn top_k_links_on_device(
    gpu: &Gpu,
    z: &GpuMatrix,
    latent: usize,
    exclude: &Exclusion,
    options: &TopKOptions,
) -> Result<TopKOutcome> {
    options.validate()?;
    check_latent_width(latent)?;
    if latent > z.cols() {
        return Err(Error::InvalidArgument {
            argument: "latent",
            message: format!(
                "latent width {latent} exceeds the matrix's {} columns",
                z.cols()
            ),
        });
    }
    let values = gpu.read(z.data())?;
    let (n, stride) = (z.rows(), z.cols());
    check_embeddings("z", &values, n, latent, stride, exclude)?;
    if stride.is_multiple_of(4) && options.precision == Precision::F32 {
        search(gpu, z, &values, stride, latent, exclude, options)
    } else {
        // The kernel reads rows as vec4, in the precision asked for.
        search_stored(gpu, &values, n, stride, latent, exclude, options)
    }
}

/// The brute-force reference of [`top_k_links`] on the host: every candidate's logit
/// ([`crate::cpu::link_logit`]), ranked by the same rule. Memory O(K + N), time
/// O(N²·L); single-threaded.
pub fn top_k_links_cpu(
    embeddings: &[f32],
    num_nodes: usize,
    latent: usize,
    exclude: &Exclusion,
    k: usize,
    mode: TopKMode,
) -> Result<Vec<ScoredPair>> {
    TopKOptions::new(k, mode).validate()?;
    check_embeddings("embeddings", embeddings, num_nodes, latent, latent, exclude)?;
    let z = embeddings;
    let n = num_nodes;
    let mut links = Vec::new();
    match mode {
        TopKMode::Global => {
            // Keep the best k, trimming whenever the buffer doubles.
            let mut best: Vec<Entry> = Vec::new();
            let trim_at = k.saturating_mul(2).max(1024);
            for i in 0..n {
                for j in i + 1..n {
                    if exclude.contains(i as u32, j as u32) {
                        continue;
                    }
                    best.push(Entry {
                        logit: link_logit(z, latent, latent, i, j),
                        i: i as u32,
                        j: j as u32,
                    });
                    if best.len() >= trim_at {
                        keep_best(&mut best, k);
                    }
                }
            }
            keep_best(&mut best, k);
            best.sort_unstable_by(Entry::rank);
            links.extend(best.iter().map(Entry::scored));
        }
        TopKMode::PerNode => {
            for i in 0..n {
                let mut row: Vec<Entry> = (0..n)
                    .filter(|&j| j != i && !exclude.contains(i as u32, j as u32))
                    .map(|j| Entry {
                        logit: link_logit(z, latent, latent, i, j),
                        i: i as u32,
                        j: j as u32,
                    })
                    .collect();
                keep_best(&mut row, k);
                row.sort_unstable_by(Entry::rank);
                links.extend(row.iter().map(Entry::scored));
            }
        }
    }
    Ok(links)
}

/// σ(μ_a · μ_b) for each pair (the `edge_score` kernel), μ being `num_nodes × latent`
/// row-major. Same input checks as [`top_k_links`].
pub fn score_pairs(
    gpu: &Gpu,
    embeddings: &[f32],
    num_nodes: usize,
    latent: usize,
    pairs: &[(u32, u32)],
) -> Result<Vec<f32>> {
    let exclude = Exclusion::none(num_nodes)?;
    check_embeddings(
        "embeddings",
        embeddings,
        num_nodes,
        latent,
        latent,
        &exclude,
    )?;
    let flat = flatten_pairs(pairs, num_nodes)?;
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let z = gpu.upload_matrix("gpu_vgae.predict.z", num_nodes, latent, embeddings)?;
    let ids = gpu.upload("gpu_vgae.predict.pairs", &flat)?;
    let scores = gpu.alloc::<f32>("gpu_vgae.predict.scores", pairs.len())?;
    let mut recording = Recording::new("score_pairs");
    recording.extend(edge_score(gpu, &z, latent, &ids, &scores)?);
    gpu.submit(&recording)?;
    gpu.read(&scores)
}

/// The pairs with their logit μ_a · μ_b and score σ(μ_a · μ_b), both from the device
/// (the `edge_score` kernel, once for σ and once with its `LOGITS` constant, so the
/// logit is the very sum whose σ is the score, finite where σ has rounded to 1), in the
/// order given. Same input checks as [`top_k_links`].
pub fn score_links(
    gpu: &Gpu,
    embeddings: &[f32],
    num_nodes: usize,
    latent: usize,
    pairs: &[(u32, u32)],
) -> Result<Vec<ScoredPair>> {
    score_links_as(gpu, embeddings, num_nodes, latent, pairs, Precision::F32)
}

/// [`score_links`] with μ stored in `precision` for the kernel (f16: rounded to the
/// nearest f16, as a model of [`Precision::F16`] scores; on a device without
/// `SHADER_F16` the f32 kernel reads the rounded values, with the same result).
pub fn score_links_as(
    gpu: &Gpu,
    embeddings: &[f32],
    num_nodes: usize,
    latent: usize,
    pairs: &[(u32, u32)],
    precision: Precision,
) -> Result<Vec<ScoredPair>> {
    let exclude = Exclusion::none(num_nodes)?;
    check_embeddings(
        "embeddings",
        embeddings,
        num_nodes,
        latent,
        latent,
        &exclude,
    )?;
    let flat = flatten_pairs(pairs, num_nodes)?;
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let ids = gpu.upload("gpu_vgae.predict.pairs", &flat)?;
    let scores = gpu.alloc::<f32>("gpu_vgae.predict.scores", pairs.len())?;
    let logits = gpu.alloc::<f32>("gpu_vgae.predict.logits", pairs.len())?;
    let mut recording = Recording::new("score_links");
    let label = "gpu_vgae.predict.z";
    match precision {
        Precision::F32 => {
            let z = gpu.upload_matrix(label, num_nodes, latent, embeddings)?;
            recording.extend(edge_score(gpu, &z, latent, &ids, &scores)?);
            recording.extend(edge_logits(gpu, &z, latent, &ids, &logits)?);
        }
        Precision::F16 if gpu.profile().features.shader_f16 => {
            let z = gpu.upload_matrix(label, num_nodes, latent, &round_f16(embeddings))?;
            recording.extend(edge_score(gpu, &z, latent, &ids, &scores)?);
            recording.extend(edge_logits(gpu, &z, latent, &ids, &logits)?);
        }
        Precision::F16 => {
            // Without f16 in shaders: the f32 kernel on the rounded values, the same sums.
            let z = gpu.upload_matrix(label, num_nodes, latent, &through_f16(embeddings))?;
            recording.extend(edge_score(gpu, &z, latent, &ids, &scores)?);
            recording.extend(edge_logits(gpu, &z, latent, &ids, &logits)?);
        }
    }
    gpu.submit(&recording)?;
    let (scores, logits) = (gpu.read(&scores)?, gpu.read(&logits)?);
    Ok(pairs
        .iter()
        .zip(scores.into_iter().zip(logits))
        .map(|(&(source, target), (score, logit))| ScoredPair {
            source,
            target,
            logit,
            score,
        })
        .collect())
}

fn check_latent_width(latent: usize) -> Result<()> {
    if !(1..=MAX_LATENT).contains(&latent) {
        return Err(Error::InvalidArgument {
            argument: "latent",
            message: format!("the latent width must be between 1 and {MAX_LATENT}, got {latent}"),
        });
    }
    Ok(())
}

/// Checks `values` (the caller's `argument`) as `num_nodes` rows at `stride` whose first
/// `latent` columns are μ.
fn check_embeddings(
    argument: &'static str,
    values: &[f32],
    num_nodes: usize,
    latent: usize,
    stride: usize,
    exclude: &Exclusion,
) -> Result<()> {
    check_latent_width(latent)?;
    if num_nodes.checked_mul(stride) != Some(values.len()) {
        return Err(Error::InvalidArgument {
            argument,
            message: format!(
                "{} embedding values for {num_nodes} nodes × {stride}",
                values.len()
            ),
        });
    }
    if exclude.num_nodes() != num_nodes {
        return Err(Error::InvalidArgument {
            argument: "exclude",
            message: format!(
                "the exclusion is for {} nodes, the embeddings have {num_nodes}",
                exclude.num_nodes()
            ),
        });
    }
    for (i, row) in values.chunks_exact(stride.max(1)).enumerate() {
        let row = &row[..latent];
        if let Some(k) = row.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidArgument {
                argument,
                message: format!("embedding of node {i}, column {k} is {}", row[k]),
            });
        }
        let norm: f64 = row.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
        if norm > MAX_SQUARED_NORM {
            return Err(Error::InvalidArgument {
                argument,
                message: format!(
                    "embedding of node {i} has squared norm {norm:e} > {MAX_SQUARED_NORM:e}: \
                     its logits could overflow f32"
                ),
            });
        }
    }
    Ok(())
}

/// A candidate during the search.
#[derive(Clone, Copy, Debug)]
struct Entry {
    logit: f32,
    i: u32,
    j: u32,
}

impl Entry {
    /// Best first: higher logit, then smaller i, then smaller j. Logits are finite;
    /// −0 and +0 are equal, as in the kernel's comparisons.
    fn rank(a: &Entry, b: &Entry) -> Ordering {
        b.logit
            .partial_cmp(&a.logit)
            .unwrap_or(Ordering::Equal)
            .then(a.i.cmp(&b.i))
            .then(a.j.cmp(&b.j))
    }

    fn scored(&self) -> ScoredPair {
        ScoredPair {
            source: self.i,
            target: self.j,
            logit: self.logit,
            score: sigmoid(self.logit),
        }
    }
}

/// Keeps the `k` best of `entries` (unordered).
fn keep_best(entries: &mut Vec<Entry>, k: usize) {
    if entries.len() > k {
        entries.select_nth_unstable_by(k - 1, Entry::rank);
        entries.truncate(k);
    }
}

/// The global floor of the module docs: the K-th best logit among the candidate pairs
/// that touch the `rows` nodes of largest squared norm (ties: smaller id), lowered by
/// a rounding margin, or `None` when those pairs are fewer than K. Every pair of the
/// global top K has at least this logit. Time O(rows·N·L), memory O(N + K).
fn global_floor(
    z: &[f32],
    stride: usize,
    latent: usize,
    exclude: &Exclusion,
    k: usize,
    rows: usize,
) -> Option<f32> {
    let n = exclude.num_nodes();
    let rows = rows.min(n);
    if rows == 0 {
        return None;
    }
    let norm: Vec<f32> = (0..n)
        .map(|i| {
            z[i * stride..i * stride + latent]
                .iter()
                .map(|v| v * v)
                .sum()
        })
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    let by_norm = |a: &usize, b: &usize| {
        norm[*b]
            .partial_cmp(&norm[*a])
            .unwrap_or(Ordering::Equal)
            .then(a.cmp(b))
    };
    if rows < n {
        order.select_nth_unstable_by(rows - 1, by_norm);
        order.truncate(rows);
    }
    let mut chosen = vec![false; n];
    for &i in &order {
        chosen[i] = true;
    }
    let by_logit = |a: &f32, b: &f32| b.partial_cmp(a).unwrap_or(Ordering::Equal);
    // The best k logits so far, trimmed whenever the buffer doubles.
    let mut best: Vec<f32> = Vec::new();
    let trim_at = k.saturating_mul(2).max(1024);
    for &i in &order {
        let neighbours = exclude.neighbours(i);
        let mut walk = 0;
        for (j, &both) in chosen.iter().enumerate() {
            // Each unordered pair once: a pair of two chosen nodes from its smaller end.
            if j == i || (both && j < i) {
                continue;
            }
            while walk < neighbours.len() && (neighbours[walk] as usize) < j {
                walk += 1;
            }
            if walk < neighbours.len() && neighbours[walk] as usize == j {
                continue;
            }
            best.push(link_logit(z, stride, latent, i, j));
            if best.len() >= trim_at {
                best.select_nth_unstable_by(k - 1, by_logit);
                best.truncate(k);
            }
        }
    }
    if best.len() < k {
        return None;
    }
    let (_, kth, _) = best.select_nth_unstable_by(k - 1, by_logit);
    // The device may round a logit differently (another summation order, fused
    // multiply-adds): by at most L·2⁻²³·Σ|μ_ik·μ_jk| ≤ L·2⁻²³·max|μ|². Lowering the floor
    // by that much keeps every pair it admits on the host admitted on the device.
    let largest = norm.iter().fold(0f32, |m, &v| m.max(v)) as f64;
    let margin = latent as f64 * f64::from(f32::EPSILON) * largest;
    Some(((f64::from(*kth) - margin) as f32).next_down())
}

/// The passes of the module docs.
/// `z` is μ on the device (row stride a multiple of 4), `values` the same on the host
/// with row stride `stride`.
fn search<T: EmbeddingElem>(
    gpu: &Gpu,
    z: &GpuMatrix<T>,
    values: &[f32],
    stride: usize,
    latent: usize,
    exclude: &Exclusion,
    options: &TopKOptions,
) -> Result<TopKOutcome> {
    let n = z.rows();
    let k = options.k;
    let global = options.mode == TopKMode::Global;
    // Candidates each row has not returned yet, whether it may have more within the
    // floor, and where it stopped.
    let mut left: Vec<u64> = (0..n).map(|i| exclude.row_candidates(i, global)).collect();
    let mut exhausted: Vec<bool> = left.iter().map(|&m| m == 0).collect();
    let mut last: Vec<Option<(f32, u32)>> = vec![None; n];
    let mut active: Vec<u32> = (0..n as u32).filter(|&i| !exhausted[i as usize]).collect();
    let (mut passes, mut scanned) = (0usize, 0u64);
    // (The floor below can empty `active` too; the loop then does not run.)
    if active.is_empty() {
        return Ok(TopKOutcome {
            links: Vec::new(),
            passes,
            scanned_pairs: scanned,
            floor: None,
        });
    }
    // Enough rows that their pairs number about 64·K, within [floor_rows, 4·floor_rows]
    // (the host's share of the work stays O(floor_rows·N·L)).
    let floor = if global && options.floor_rows > 0 {
        let wanted = (k as u64).saturating_mul(64).div_ceil(n as u64);
        let rows = (wanted.min(4 * options.floor_rows as u64) as usize).max(options.floor_rows);
        global_floor(values, stride, latent, exclude, k, rows)
    } else {
        None
    };
    if let Some(floor) = floor {
        // Row i pairs only with j > i, and S_ij ≤ |μ_i|·|μ_j| (Cauchy–Schwarz; the
        // device's rounding adds at most L·2⁻²³ of that): a row whose bound
        // |μ_i|·max_{j>i}|μ_j| stays below the floor has no candidate at or above it.
        // Embeddings concentrate their largest logits on few nodes of large norm, so
        // this leaves few rows to scan (benches/RESULTS.md).
        let norm: Vec<f64> = (0..n)
            .map(|i| {
                let row = &values[i * stride..i * stride + latent];
                row.iter()
                    .map(|&v| f64::from(v) * f64::from(v))
                    .sum::<f64>()
                    .sqrt()
            })
            .collect();
        let slack = 1.0 + latent as f64 * 2f64.powi(-22);
        let mut largest_after = 0f64;
        for i in (0..n).rev() {
            if norm[i] * largest_after * slack < f64::from(floor) {
                exhausted[i] = true;
            }
            largest_after = largest_after.max(norm[i]);
        }
        active.retain(|&i| !exhausted[i as usize]);
    }
    // Per node: each row's entries so far, best first. Globally: the pool.
    let mut per_row: Vec<Vec<Entry>> = Vec::new();
    if !global {
        per_row = vec![Vec::new(); n];
    }
    let mut pool: Vec<Entry> = Vec::new();
    let exclusions = ExclusionLists {
        ptr: gpu.upload("gpu_vgae.predict.excl_ptr", &exclude.ptr)?,
        col: gpu.upload("gpu_vgae.predict.excl_col", &exclude.col)?,
    };
    // A list buffer (2 words a slot) must fit one storage binding.
    let binding_slots = (gpu.binding_limit() / 8) as usize;
    let budget = options.list_budget.min(binding_slots).max(1);
    while !active.is_empty() {
        // The most entries a row still needs this pass.
        let needed = active
            .iter()
            .map(|&i| {
                let want = if global {
                    k
                } else {
                    k - per_row[i as usize].len()
                };
                left[i as usize].min(want as u64) as usize
            })
            .max()
            .unwrap_or(1);
        let capacity = needed.min(budget / active.len()).max(1);
        let bounds: Vec<RowBounds> = active
            .iter()
            .map(|&i| RowBounds {
                cursor: last[i as usize],
                floor,
            })
            .collect();
        let (heap, fill) = run_pass(
            gpu,
            z,
            latent,
            &exclusions,
            &active,
            &bounds,
            capacity,
            global,
        )?;
        passes += 1;
        scanned += scanned_pairs(n, &active, global);
        for (e, &i) in active.iter().enumerate() {
            let row = i as usize;
            let got = fill[e] as usize;
            let mut batch: Vec<Entry> = (0..got.min(capacity))
                .map(|s| {
                    let slot = 2 * (e * capacity + s);
                    Entry {
                        logit: f32::from_bits(heap[slot]),
                        i,
                        j: heap[slot + 1],
                    }
                })
                .collect();
            if got > capacity
                || got as u64 > left[row]
                || batch.iter().any(|b| {
                    b.j as usize >= n || b.j == i || (global && b.j < i) || !b.logit.is_finite()
                })
            {
                return Err(Error::Kernel {
                    kernel: "topk_rows".into(),
                    message: format!("row {i} returned an impossible list"),
                });
            }
            batch.sort_unstable_by(Entry::rank);
            left[row] -= got as u64;
            // A row that did not fill its list has nothing more within its bounds.
            exhausted[row] = left[row] == 0 || got < capacity;
            if let Some(worst) = batch.last() {
                last[row] = Some((worst.logit, worst.j));
            }
            if global {
                pool.extend_from_slice(&batch);
            } else {
                // Each batch ranks after the previous one (cursor), so appending keeps
                // the row sorted.
                let keep = k - per_row[row].len();
                per_row[row].extend(batch.into_iter().take(keep));
            }
        }
        active = if global {
            keep_best(&mut pool, k);
            let kth = (pool.len() == k)
                .then(|| pool.iter().copied().max_by(Entry::rank))
                .flatten();
            active
                .into_iter()
                .filter(|&i| {
                    let row = i as usize;
                    !exhausted[row]
                        && kth.is_none_or(|kth| match last[row] {
                            Some((logit, j)) => {
                                Entry::rank(&Entry { logit, i, j }, &kth) == Ordering::Less
                            }
                            None => true,
                        })
                })
                .collect()
        } else {
            active
                .into_iter()
                .filter(|&i| !exhausted[i as usize] && per_row[i as usize].len() < k)
                .collect()
        };
    }
    let links = if global {
        pool.sort_unstable_by(Entry::rank);
        pool.iter().map(Entry::scored).collect()
    } else {
        per_row.iter().flatten().map(Entry::scored).collect()
    };
    Ok(TopKOutcome {
        links,
        passes,
        scanned_pairs: scanned,
        floor,
    })
}

/// One `topk_rows` dispatch over `active` rows; returns every row's `capacity` slots
/// (2 words each) and its fill count.
#[allow(clippy::too_many_arguments)]
fn run_pass<T: EmbeddingElem>(
    gpu: &Gpu,
    z: &GpuMatrix<T>,
    latent: usize,
    exclusions: &ExclusionLists,
    active: &[u32],
    bounds: &[RowBounds],
    capacity: usize,
    global: bool,
) -> Result<(Vec<u32>, Vec<u32>)> {
    let words: Vec<u32> = bounds.iter().flat_map(RowBounds::words).collect();
    let slots = active.len() * capacity;
    let lists = RowLists {
        rows: gpu.upload("gpu_vgae.predict.rows", active)?,
        bounds: gpu.upload("gpu_vgae.predict.bounds", &words)?,
        heap: gpu.alloc("gpu_vgae.predict.heap", 2 * slots)?,
        fill: gpu.alloc("gpu_vgae.predict.fill", active.len())?,
        capacity,
    };
    let mut recording = Recording::new("topk_rows");
    recording.push(topk_rows(gpu, z, latent, exclusions, &lists, global)?);
    gpu.submit(&recording)?;
    let mut read = gpu.read_many(&[&lists.heap, &lists.fill])?;
    let fill = read.pop().unwrap_or_default();
    let heap = read.pop().unwrap_or_default();
    Ok((heap, fill))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusion_is_symmetric_deduplicated_and_ignores_self_pairs() {
        let e = Exclusion::new(5, &[(3, 1), (1, 3), (2, 2), (0, 4), (4, 0)]).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e.offsets(), &[0, 1, 2, 2, 3, 4]);
        assert_eq!(e.columns(), &[4, 3, 1, 0]);
        assert!(e.contains(1, 3) && e.contains(3, 1) && e.contains(4, 0));
        assert!(!e.contains(2, 2) && !e.contains(1, 2) && !e.contains(9, 1));
        assert_eq!(e.neighbours(7), &[] as &[u32]);
        // Global: row 0 has partners 1..4 minus 4; per node: 4 partners minus 4.
        assert_eq!(e.row_candidates(0, true), 3);
        assert_eq!(e.row_candidates(3, true), 1);
        assert_eq!(e.row_candidates(3, false), 3);
        let more = e.with_pairs(&[(2, 3), (3, 1)]).unwrap();
        assert_eq!(more.len(), 3);
        assert!(more.contains(3, 2));
        assert!(matches!(
            Exclusion::new(5, &[(0, 5)]),
            Err(Error::InvalidArgument {
                argument: "pairs",
                ..
            })
        ));
        assert!(Exclusion::none(0).unwrap().is_empty());
    }

    #[test]
    fn brute_force_ranks_by_logit_then_pair() {
        // Rows (1, 0), (0, 1), (1, 0), (2, −1): logits (0,1) = 0, (0,2) = 1, (0,3) = 2,
        // (1,2) = 0, (1,3) = −1, (2,3) = 2.
        let mu = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 2.0, -1.0];
        let none = Exclusion::none(4).unwrap();
        let pairs = |links: &[ScoredPair]| -> Vec<(u32, u32)> {
            links.iter().map(|p| (p.source, p.target)).collect()
        };
        let global = top_k_links_cpu(&mu, 4, 2, &none, 3, TopKMode::Global).unwrap();
        assert_eq!(pairs(&global), [(0, 3), (2, 3), (0, 2)]);
        let edges = Exclusion::new(4, &[(0, 3)]).unwrap();
        let per_node = top_k_links_cpu(&mu, 4, 2, &edges, 1, TopKMode::PerNode).unwrap();
        // Node 1 ties at 0 between partners 0 and 2: the smaller wins.
        assert_eq!(pairs(&per_node), [(0, 2), (1, 0), (2, 3), (3, 2)]);
        assert_eq!(global[0].score, sigmoid(global[0].logit));
    }

    #[test]
    fn the_global_floor_never_exceeds_the_kth_best_logit() {
        let n = 90;
        let latent = 5;
        let mu: Vec<f32> = (0..n * latent)
            .map(|v| ((v * 7919 % 1013) as f32 / 1013.0 - 0.5) * (1.0 + (v % 7) as f32))
            .collect();
        let edges: Vec<(u32, u32)> = (0..n as u32 - 1).map(|i| (i, i + 1)).collect();
        let exclude = Exclusion::new(n, &edges).unwrap();
        for (k, rows) in [(1, 1), (10, 3), (200, 64), (3000, 2)] {
            let best = top_k_links_cpu(&mu, n, latent, &exclude, k, TopKMode::Global).unwrap();
            let floor = global_floor(&mu, latent, latent, &exclude, k, rows);
            match floor {
                Some(f) => assert!(f <= best[k - 1].logit, "k={k} rows={rows}: {f}"),
                // Two rows hold fewer than 3000 candidate pairs.
                None => assert!(rows * n < k),
            }
        }
        assert_eq!(global_floor(&mu, latent, latent, &exclude, 5, 0), None);
    }
}

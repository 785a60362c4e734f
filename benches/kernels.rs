//! Kernel microbenchmarks with a CPU baseline in the same run.
//!
//! Every kernel wrapper at Citeseer's shapes (X: 3327 × 3703 with 105,165 binary
//! nonzeros, hidden 32, latent 16; Â: 3327 nodes, 12,431 nonzeros with self loops), at
//! Pubmed's graph shape (19,717 nodes, Â ≈ 108k nonzeros, featureless so X = I), and a
//! synthetic sweep (N 1k–100k, nonzeros per row 2–50, L 16 and 64). Graphs are uniform
//! random with the stated counts, not the real datasets: kernel cost depends on the
//! shapes and the nonzero counts, and the sweep covers degree spread only on average.
//!
//!     cargo bench --bench kernels                       # everything
//!     cargo bench --bench kernels -- spmm               # cases whose name contains `spmm`
//!     cargo bench --bench kernels -- --quick citeseer   # fewer samples, smaller sweep
//!     cargo bench --bench kernels -- --help
//!
//! The device comes from `GPU_VGAE_ADAPTER` / `GPU_VGAE_BACKEND` as everywhere else.
//! CPU baselines are the single-threaded `gpu_vgae::cpu` twins.

use std::collections::HashSet;
use std::hint::black_box;

use gpu_vgae::bench::{Bench, BenchOptions, Case, Work};
use gpu_vgae::cpu;
use gpu_vgae::gpu::{Dispatch, Gpu, Recording, StepParams};
use gpu_vgae::kernels::adam::{adam, AdamConfig};
use gpu_vgae::kernels::decoder_dense::decoder_dense;
use gpu_vgae::kernels::decoder_pairs::{decoder_pairs, PairRows, WeightedPair};
use gpu_vgae::kernels::edge_score::{edge_score, flatten_pairs};
use gpu_vgae::kernels::matmul::matmul;
use gpu_vgae::kernels::matmul_tn::{matmul_tn, CHUNK_ROWS};
use gpu_vgae::kernels::reduce_sum::reduce_sum;
use gpu_vgae::kernels::relu::{relu, relu_backward};
use gpu_vgae::kernels::reparam::{reparam_backward, reparam_kl};
use gpu_vgae::kernels::spmm::spmm;
use gpu_vgae::{Csr, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const HIDDEN: usize = 32;
const LATENT: usize = 16;

fn main() {
    let options = match BenchOptions::from_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(options) {
        eprintln!("benchmark failed: {e}");
        std::process::exit(1);
    }
}

fn run(options: BenchOptions) -> Result<()> {
    let gpu = Gpu::from_env()?;
    let mut bench = Bench::new(gpu, options);
    bench.print_header();
    // Citeseer: 4,552 undirected edges → Â has 3327 + 2·4552 = 12,431 nonzeros; 85 % of
    // the edges train (3,870), the rest are validation and test pairs.
    model_shapes(
        &mut bench,
        &Dataset {
            name: "citeseer",
            nodes: 3327,
            features: Some((3703, 105_165)),
            edges: 4552,
        },
    )?;
    // Pubmed: featureless here (X = I), Â ≈ 19,717 + 2·44,141 ≈ 108k nonzeros.
    model_shapes(
        &mut bench,
        &Dataset {
            name: "pubmed",
            nodes: 19_717,
            features: None,
            edges: 44_141,
        },
    )?;
    sweep(&mut bench)?;
    bench.print_summary();
    Ok(())
}

/// A graph dataset's shapes.
struct Dataset {
    name: &'static str,
    nodes: usize,
    /// (feature count, nonzeros of X); None = featureless (X = I).
    features: Option<(usize, usize)>,
    /// Undirected edges of the full graph.
    edges: usize,
}

fn recording(label: &str, dispatches: impl IntoIterator<Item = Dispatch>) -> Recording {
    let mut recording = Recording::new(format!("bench.{label}"));
    recording.extend(dispatches);
    recording
}

fn random_vec(rng: &mut StdRng, len: usize, scale: f32) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(-scale..scale)).collect()
}

/// `count` distinct undirected edges (i < j) among `n` nodes, uniformly at random.
fn random_edges(rng: &mut StdRng, n: usize, count: usize) -> Vec<(u32, u32)> {
    let count = count.min(n * n.saturating_sub(1) / 2);
    let mut seen = HashSet::with_capacity(count);
    let mut edges = Vec::with_capacity(count);
    while edges.len() < count {
        let (a, b) = (rng.random_range(0..n) as u32, rng.random_range(0..n) as u32);
        if a != b && seen.insert((a.min(b), a.max(b))) {
            edges.push((a.min(b), a.max(b)));
        }
    }
    edges
}

/// Â = D^-1/2 (A + I) D^-1/2 for the given undirected edges: n + 2·edges nonzeros.
fn normalized_adjacency(n: usize, edges: &[(u32, u32)]) -> Result<Csr> {
    let mut degree = vec![1f32; n];
    for &(a, b) in edges {
        degree[a as usize] += 1.0;
        degree[b as usize] += 1.0;
    }
    let w = |a: u32, b: u32| 1.0 / (degree[a as usize] * degree[b as usize]).sqrt();
    let mut triplets = Vec::with_capacity(n + 2 * edges.len());
    for i in 0..n as u32 {
        triplets.push((i, i, w(i, i)));
    }
    for &(a, b) in edges {
        triplets.push((a, b, w(a, b)));
        triplets.push((b, a, w(a, b)));
    }
    Csr::from_triplets(n, n, &triplets)
}

/// A rows × cols 0/1 matrix with `nnz` distinct nonzeros at random positions.
fn random_binary(rng: &mut StdRng, rows: usize, cols: usize, nnz: usize) -> Result<Csr> {
    let nnz = nnz.min(rows * cols);
    let mut seen = HashSet::with_capacity(nnz);
    let mut triplets = Vec::with_capacity(nnz);
    while triplets.len() < nnz {
        let (r, c) = (
            rng.random_range(0..rows) as u32,
            rng.random_range(0..cols) as u32,
        );
        if seen.insert((r, c)) {
            triplets.push((r, c, 1.0));
        }
    }
    Csr::from_triplets(rows, cols, &triplets)
}

/// The sampled objective's pairs: `positives` edges (weight 1/P) and as many uniform
/// negatives (weight 1/Q), both listed at each endpoint.
fn sampled_pairs(rng: &mut StdRng, n: usize, positives: &[(u32, u32)]) -> Result<PairRows> {
    let p = positives.len().max(1) as f32;
    let mut pairs: Vec<WeightedPair> = positives
        .iter()
        .map(|&(a, b)| (a, b, 1.0 / p, 0.0))
        .collect();
    for _ in 0..positives.len() {
        let (a, b) = (rng.random_range(0..n) as u32, rng.random_range(0..n) as u32);
        pairs.push((a, b, 0.0, 1.0 / p));
    }
    PairRows::from_pairs(n, &pairs)
}

/// The dense objective's label pattern (Â's nonzeros: edges both ways and the
/// diagonal) with w_pos = pos_weight and w_neg = −1, listed under their row.
fn label_pairs(n: usize, adjacency: &Csr) -> Result<PairRows> {
    let e = (adjacency.nnz() - n) as f32;
    let pos_weight = ((n * n) as f32 - e) / e.max(1.0);
    let mut entries = Vec::with_capacity(adjacency.nnz());
    for i in 0..n {
        for k in adjacency.row_range(i) {
            entries.push((i as u32, adjacency.col_idx()[k], pos_weight, -1.0));
        }
    }
    PairRows::from_directed(n, &entries)
}

/// Every kernel at the shapes one epoch of the model runs on `data`.
fn model_shapes(bench: &mut Bench, data: &Dataset) -> Result<()> {
    let group = data.name;
    let gpu = bench.gpu().clone();
    let n = data.nodes;
    let mut rng = StdRng::seed_from_u64(0x5eed ^ n as u64);
    bench.print_group(&format!(
        "{group}: N = {n}, Â nnz = {}, hidden {HIDDEN}, latent {LATENT}",
        n + 2 * data.edges
    ));

    let edges = random_edges(&mut rng, n, data.edges);
    let a_hat = normalized_adjacency(n, &edges)?;
    let g_a_hat = gpu.upload_csr("bench.a_hat", &a_hat)?;
    let train_edges = &edges[..edges.len() * 85 / 100];

    // X · W0 and Xᵀ · dP: the largest sparse products (DESIGN.md §6).
    let (features, x) = match data.features {
        Some((f, nnz)) => (f, random_binary(&mut rng, n, f, nnz)?),
        None => (n, Csr::identity(n)),
    };
    let xt = x.transpose();
    let w0 = random_vec(&mut rng, features * HIDDEN, 0.05);
    let h = random_vec(&mut rng, n * HIDDEN, 1.0);
    let g_w0 = gpu.upload_matrix("bench.w0", features, HIDDEN, &w0)?;
    let g_h = gpu.upload_matrix("bench.h", n, HIDDEN, &h)?;
    let g_nh = gpu.alloc_matrix("bench.out_n_hidden", n, HIDDEN)?;
    let g_fh = gpu.alloc_matrix("bench.out_f_hidden", features, HIDDEN)?;
    let x_note = if data.features.is_some() {
        ""
    } else {
        " (X=I)"
    };
    for (what, a, b, b_host, out, rows, inner) in [
        ("X·W0", &x, &g_w0, &w0, &g_nh, n, features),
        ("Xᵀ·dP", &xt, &g_h, &h, &g_fh, features, n),
    ] {
        let case = Case::new(
            group,
            "spmm",
            format!("{what}{x_note} {rows}x{inner} nnz={} ·{HIDDEN}", a.nnz()),
            Work::spmm(rows, inner, a.nnz(), HIDDEN),
        )
        .per_epoch(1.0);
        if bench.wants(&case) {
            let ga = gpu.upload_csr("bench.x", a)?;
            let rec = recording("spmm", [spmm(&gpu, &ga, b, out)?]);
            bench.run(
                &case,
                &rec,
                Some(&mut || {
                    black_box(cpu::spmm(a, b_host, HIDDEN));
                }),
            )?;
        }
    }

    // Â · H, four times per epoch (Â·P, Â·Y, Â·D, Â·dQ), all with 32 columns.
    let case = Case::new(
        group,
        "spmm",
        format!("Â·H {n}x{n} nnz={} ·{HIDDEN}", a_hat.nnz()),
        Work::spmm(n, n, a_hat.nnz(), HIDDEN),
    )
    .per_epoch(4.0);
    let rec = recording("spmm", [spmm(&gpu, &g_a_hat, &g_h, &g_nh)?]);
    bench.run(
        &case,
        &rec,
        Some(&mut || {
            black_box(cpu::spmm(&a_hat, &h, HIDDEN));
        }),
    )?;

    // Y = H1 · [Wμ|Wσ] and dH1 = dY · [Wμ|Wσ]ᵀ (both 32 × 32 weights here).
    let w = random_vec(&mut rng, HIDDEN * 2 * LATENT, 0.1);
    let g_w = gpu.upload_matrix("bench.w_mu_sigma", HIDDEN, 2 * LATENT, &w)?;
    let g_y = gpu.alloc_matrix("bench.y", n, 2 * LATENT)?;
    for (what, transpose) in [("H1·W", false), ("dY·Wᵀ", true)] {
        let case = Case::new(
            group,
            "matmul",
            format!("{what} {n}x{HIDDEN} · {HIDDEN}x{}", 2 * LATENT),
            Work::matmul(n, HIDDEN, 2 * LATENT),
        )
        .per_epoch(1.0);
        let rec = recording("matmul", [matmul(&gpu, &g_h, &g_w, transpose, &g_y)?]);
        bench.run(
            &case,
            &rec,
            Some(&mut || {
                black_box(cpu::matmul(&h, &w, n, HIDDEN, 2 * LATENT, transpose));
            }),
        )?;
    }

    // d[Wμ|Wσ] = H1ᵀ · dY: partial products + chunk sums.
    let dy = random_vec(&mut rng, n * 2 * LATENT, 1.0);
    let g_dy = gpu.upload_matrix("bench.dy", n, 2 * LATENT, &dy)?;
    let g_dw = gpu.alloc_matrix("bench.dw", HIDDEN, 2 * LATENT)?;
    let case = Case::new(
        group,
        "matmul_tn",
        format!("H1ᵀ·dY {n}x{HIDDEN} ᵀ· {n}x{}", 2 * LATENT),
        Work::matmul_tn(n, HIDDEN, 2 * LATENT, n.div_ceil(CHUNK_ROWS)),
    )
    .per_epoch(1.0);
    let rec = recording("matmul_tn", matmul_tn(&gpu, &g_h, &g_dy, &g_dw)?);
    bench.run(
        &case,
        &rec,
        Some(&mut || {
            black_box(cpu::matmul_tn(&h, &dy, n, HIDDEN, 2 * LATENT));
        }),
    )?;

    // relu and its gradient on N × hidden.
    let g_relu = gpu.alloc::<f32>("bench.relu", n * HIDDEN)?;
    let case = Case::new(
        group,
        "relu",
        format!("{n}x{HIDDEN}"),
        Work::elementwise(n * HIDDEN, 1, 1),
    )
    .per_epoch(1.0);
    let rec = recording("relu", [relu(&gpu, g_h.data(), &g_relu)?]);
    bench.run(
        &case,
        &rec,
        Some(&mut || {
            black_box(cpu::relu(&h));
        }),
    )?;
    let case = Case::new(
        group,
        "relu_backward",
        format!("{n}x{HIDDEN}"),
        Work::elementwise(n * HIDDEN, 2, 1),
    )
    .per_epoch(1.0);
    let rec = recording(
        "relu_backward",
        [relu_backward(&gpu, g_h.data(), g_nh.data(), &g_relu)?],
    );
    let grad_out = h.iter().rev().copied().collect::<Vec<_>>();
    bench.run(
        &case,
        &rec,
        Some(&mut || {
            black_box(cpu::relu_backward(&h, &grad_out));
        }),
    )?;

    // Reparameterization + KL rows, and their gradient, on N × latent.
    let ms = random_vec(&mut rng, n * 2 * LATENT, 1.0);
    let g_ms = gpu.upload_matrix("bench.ms", n, 2 * LATENT, &ms)?;
    let g_z = gpu.alloc_matrix("bench.z", n, LATENT)?;
    let g_kl = gpu.alloc::<f32>("bench.kl_rows", n)?;
    let step = gpu.step_buffer(StepParams {
        epoch: 1,
        adam_step: 1,
        ..Default::default()
    });
    let case = Case::new(
        group,
        "reparam_kl",
        format!("{n}x{LATENT}"),
        Work::reparam_kl(n, LATENT),
    )
    .per_epoch(1.0);
    let rec = recording(
        "reparam_kl",
        [reparam_kl(&gpu, &g_ms, 7, &step, &g_z, &g_kl)?],
    );
    bench.run(
        &case,
        &rec,
        Some(&mut || {
            black_box(cpu::reparam_kl(&ms, n, LATENT, 7, 1));
        }),
    )?;
    let dz = random_vec(&mut rng, n * LATENT, 1.0);
    let g_dz = gpu.upload_matrix("bench.dz", n, LATENT, &dz)?;
    let g_dms = gpu.alloc_matrix("bench.d_ms", n, 2 * LATENT)?;
    let case = Case::new(
        group,
        "reparam_backward",
        format!("{n}x{LATENT}"),
        Work::reparam_backward(n, LATENT),
    )
    .per_epoch(1.0);
    let scale = 1.0 / (n * n) as f32;
    let rec = recording(
        "reparam_backward",
        [reparam_backward(
            &gpu, &g_ms, &g_dz, 7, scale, &step, &g_dms,
        )?],
    );
    bench.run(
        &case,
        &rec,
        Some(&mut || {
            black_box(cpu::reparam_backward(&ms, &dz, n, LATENT, 7, 1, scale));
        }),
    )?;

    // The fused dense decoder over all N² pairs: O(N²·L) work.
    let z = random_vec(&mut rng, n * LATENT, 0.5);
    let g_zs = gpu.upload_matrix("bench.z_sample", n, LATENT, &z)?;
    let split_choices: &[usize] = if n <= 5000 { &[1, 8] } else { &[1] };
    for &splits in split_choices {
        let case = Case::new(
            group,
            "decoder_dense",
            format!("N={n} L={LATENT} splits={splits}"),
            Work::decoder_dense(n, LATENT, splits),
        )
        // splits = 1 stands for the epoch; other splits are alternatives.
        .per_epoch(if splits == 1 { 1.0 } else { 0.0 });
        if bench.wants(&case) {
            let (dispatch, _partials) = decoder_dense(&gpu, &g_zs, LATENT, splits)?;
            let rec = recording("decoder_dense", [dispatch]);
            bench.run(
                &case,
                &rec,
                Some(&mut || {
                    black_box(cpu::decoder_dense(&z, n, LATENT, LATENT, splits));
                }),
            )?;
        }
    }

    // The pair decoder: the dense objective's correction over the label's nonzeros
    // (with one split of dense partials), and the sampled objective.
    let labels = label_pairs(n, &a_hat)?;
    let case = Case::new(
        group,
        "decoder_pairs",
        format!("dense corr. N={n} L={LATENT} entries={}", labels.len()),
        Work::decoder_pairs(n, LATENT, labels.len(), 1),
    )
    .per_epoch(1.0);
    if bench.wants(&case) {
        let (dense, partials) = decoder_dense(&gpu, &g_zs, LATENT, 1)?;
        gpu.run(&recording("decoder_dense", [dense]))?;
        let host_grad = gpu.read(&partials.grad)?;
        let host_loss = gpu.read(&partials.loss)?;
        let g_labels = labels.upload(&gpu, "bench.labels")?;
        let g_loss = gpu.alloc::<f32>("bench.loss_rows", n)?;
        let rec = recording(
            "decoder_pairs",
            [decoder_pairs(
                &gpu,
                &g_zs,
                LATENT,
                &g_labels,
                Some(&partials),
                0.5,
                &g_dz,
                &g_loss,
            )?],
        );
        bench.run(
            &case,
            &rec,
            Some(&mut || {
                black_box(cpu::decoder_pairs(
                    &z,
                    LATENT,
                    LATENT,
                    &labels,
                    Some((&host_grad, &host_loss, 1)),
                    0.5,
                ));
            }),
        )?;
    }
    let sampled = sampled_pairs(&mut rng, n, train_edges)?;
    let case = Case::new(
        group,
        "decoder_pairs",
        format!("sampled N={n} L={LATENT} entries={}", sampled.len()),
        Work::decoder_pairs(n, LATENT, sampled.len(), 0),
    );
    if bench.wants(&case) {
        let g_sampled = sampled.upload(&gpu, "bench.sampled")?;
        let g_loss = gpu.alloc::<f32>("bench.loss_rows", n)?;
        let rec = recording(
            "decoder_pairs",
            [decoder_pairs(
                &gpu, &g_zs, LATENT, &g_sampled, None, 0.5, &g_dz, &g_loss,
            )?],
        );
        bench.run(
            &case,
            &rec,
            Some(&mut || {
                black_box(cpu::decoder_pairs(&z, LATENT, LATENT, &sampled, None, 0.5));
            }),
        )?;
    }

    // Scores of the validation and test pairs (15 % of the edges, as many negatives) on
    // μ, read from [μ | s] at stride 2L.
    let eval_pairs: Vec<(u32, u32)> = edges[train_edges.len()..]
        .iter()
        .copied()
        .chain(
            (0..edges.len() - train_edges.len())
                .map(|_| (rng.random_range(0..n) as u32, rng.random_range(0..n) as u32)),
        )
        .collect();
    let case = Case::new(
        group,
        "edge_score",
        format!(
            "{} pairs L={LATENT} stride={}",
            eval_pairs.len(),
            2 * LATENT
        ),
        Work::edge_score(eval_pairs.len(), LATENT),
    );
    let g_pairs = gpu.upload("bench.pairs", &flatten_pairs(&eval_pairs, n)?)?;
    let g_scores = gpu.alloc::<f32>("bench.scores", eval_pairs.len())?;
    let rec = recording(
        "edge_score",
        [edge_score(&gpu, &g_ms, LATENT, &g_pairs, &g_scores)?],
    );
    bench.run(
        &case,
        &rec,
        Some(&mut || {
            black_box(cpu::edge_score(&ms, 2 * LATENT, LATENT, &eval_pairs));
        }),
    )?;

    // Column sum of the per-node loss or KL rows.
    let case = Case::new(
        group,
        "reduce_sum",
        format!("{n}x1"),
        Work::reduce_sum(n, 1),
    )
    // The reconstruction loss rows and the KL rows.
    .per_epoch(2.0);
    let g_total = gpu.alloc::<f32>("bench.total", 1)?;
    let rec = recording("reduce_sum", reduce_sum(&gpu, &g_kl, n, 1, &g_total)?);
    let kl_host = random_vec(&mut rng, n, 1.0);
    bench.run(
        &case,
        &rec,
        Some(&mut || {
            black_box(cpu::reduce_sum(&kl_host, n, 1));
        }),
    )?;

    // Adam on W0 (the largest tensor) and on [Wμ|Wσ].
    let config = AdamConfig::default();
    for (what, len) in [("W0", features * HIDDEN), ("[Wμ|Wσ]", HIDDEN * 2 * LATENT)] {
        let case = Case::new(
            group,
            "adam",
            format!("{what} {len}"),
            Work::elementwise(len, 4, 3),
        )
        .per_epoch(1.0);
        if !bench.wants(&case) {
            continue;
        }
        let mut param = random_vec(&mut rng, len, 0.1);
        let grad = random_vec(&mut rng, len, 1.0);
        let (mut m, mut v) = (vec![0f32; len], vec![0f32; len]);
        let g_param = gpu.upload("bench.param", &param)?;
        let g_grad = gpu.upload("bench.grad", &grad)?;
        let g_m = gpu.zeros::<f32>("bench.m", len)?;
        let g_v = gpu.zeros::<f32>("bench.v", len)?;
        let rec = recording(
            "adam",
            [adam(&gpu, &config, &g_param, &g_grad, &g_m, &g_v, &step)?],
        );
        bench.run(
            &case,
            &rec,
            Some(&mut || {
                cpu::adam(&config, 1, &mut param, &grad, &mut m, &mut v);
                black_box(&param);
            }),
        )?;
    }
    Ok(())
}

/// Synthetic shapes: N from 1k to 100k, nonzeros per row 2 to 50, L 16 and 64.
fn sweep(bench: &mut Bench) -> Result<()> {
    let group = "sweep";
    let gpu = bench.gpu().clone();
    let quick = bench.options().quick;
    let sizes: &[usize] = if quick {
        &[1_000, 10_000]
    } else {
        &[1_000, 10_000, 100_000]
    };
    let degrees: &[usize] = if quick { &[2, 50] } else { &[2, 10, 50] };
    let latents = [16usize, 64];
    let mut rng = StdRng::seed_from_u64(0x5eed_5eed);
    bench.print_group("sweep: uniform random graphs, nnz/N = average nonzeros per row");

    for &n in sizes {
        for &degree in degrees {
            // Build the graph only if some case at this (N, degree) is wanted.
            let spmm_case = |cols: usize, nnz: usize| {
                Case::new(
                    group,
                    "spmm",
                    format!("Â·H N={n} nnz/N={degree} ·{cols}"),
                    Work::spmm(n, n, nnz, cols),
                )
            };
            let pairs_case = |l: usize, entries: usize| {
                Case::new(
                    group,
                    "decoder_pairs",
                    format!("sampled N={n} pairs/N={degree} L={l}"),
                    Work::decoder_pairs(n, l, entries, 0),
                )
            };
            let approx_nnz = n * degree;
            if !latents.iter().any(|&l| {
                bench.wants(&spmm_case(l, approx_nnz)) || bench.wants(&pairs_case(l, approx_nnz))
            }) {
                continue;
            }
            // nnz = n + 2·edges = degree·n (the self loops count towards the degree).
            let edge_count = (degree.saturating_sub(1) * n) / 2;
            let edges = random_edges(&mut rng, n, edge_count);
            let a = normalized_adjacency(n, &edges)?;
            let g_a = gpu.upload_csr("bench.sweep.a", &a)?;
            // Sampled objective: degree·n/2 pairs listed at both ends → degree·n entries.
            let positives = &edges[..edges.len() / 2];
            let pairs = sampled_pairs(&mut rng, n, positives)?;
            let g_pairs = pairs.upload(&gpu, "bench.sweep.pairs")?;
            for l in latents {
                let case = spmm_case(l, a.nnz());
                if bench.wants(&case) {
                    let b = random_vec(&mut rng, n * l, 1.0);
                    let g_b = gpu.upload_matrix("bench.sweep.h", n, l, &b)?;
                    let g_out = gpu.alloc_matrix("bench.sweep.out", n, l)?;
                    let rec = recording("spmm", [spmm(&gpu, &g_a, &g_b, &g_out)?]);
                    bench.run(
                        &case,
                        &rec,
                        Some(&mut || {
                            black_box(cpu::spmm(&a, &b, l));
                        }),
                    )?;
                }
                let case = pairs_case(l, pairs.len());
                if bench.wants(&case) {
                    let z = random_vec(&mut rng, n * l, 0.3);
                    let g_z = gpu.upload_matrix("bench.sweep.z", n, l, &z)?;
                    let g_dz = gpu.alloc_matrix("bench.sweep.dz", n, l)?;
                    let g_loss = gpu.alloc::<f32>("bench.sweep.loss", n)?;
                    let rec = recording(
                        "decoder_pairs",
                        [decoder_pairs(
                            &gpu, &g_z, l, &g_pairs, None, 1.0, &g_dz, &g_loss,
                        )?],
                    );
                    bench.run(
                        &case,
                        &rec,
                        Some(&mut || {
                            black_box(cpu::decoder_pairs(&z, l, l, &pairs, None, 1.0));
                        }),
                    )?;
                }
            }
        }
        for l in latents {
            // The encoder's dense product N × 32 · 32 × 2L and the reparameterization.
            let case = Case::new(
                group,
                "matmul",
                format!("N={n} {n}x{HIDDEN} · {HIDDEN}x{}", 2 * l),
                Work::matmul(n, HIDDEN, 2 * l),
            );
            if bench.wants(&case) {
                let a = random_vec(&mut rng, n * HIDDEN, 1.0);
                let b = random_vec(&mut rng, HIDDEN * 2 * l, 1.0);
                let g_a = gpu.upload_matrix("bench.sweep.h", n, HIDDEN, &a)?;
                let g_b = gpu.upload_matrix("bench.sweep.w", HIDDEN, 2 * l, &b)?;
                let g_out = gpu.alloc_matrix("bench.sweep.y", n, 2 * l)?;
                let rec = recording("matmul", [matmul(&gpu, &g_a, &g_b, false, &g_out)?]);
                bench.run(
                    &case,
                    &rec,
                    Some(&mut || {
                        black_box(cpu::matmul(&a, &b, n, HIDDEN, 2 * l, false));
                    }),
                )?;
            }
            let case = Case::new(
                group,
                "reparam_kl",
                format!("N={n} L={l}"),
                Work::reparam_kl(n, l),
            );
            if bench.wants(&case) {
                let ms = random_vec(&mut rng, n * 2 * l, 1.0);
                let g_ms = gpu.upload_matrix("bench.sweep.ms", n, 2 * l, &ms)?;
                let g_z = gpu.alloc_matrix("bench.sweep.z", n, l)?;
                let g_kl = gpu.alloc::<f32>("bench.sweep.kl", n)?;
                let step = gpu.step_buffer(StepParams::default());
                let rec = recording(
                    "reparam_kl",
                    [reparam_kl(&gpu, &g_ms, 3, &step, &g_z, &g_kl)?],
                );
                bench.run(
                    &case,
                    &rec,
                    Some(&mut || {
                        black_box(cpu::reparam_kl(&ms, n, l, 3, 0));
                    }),
                )?;
            }
        }
    }

    // The dense decoder is O(N²·L): 1k and 4k nodes only (4k at L = 64 is 4.1 GFLOP).
    let dense_sizes: &[usize] = if quick { &[1_000] } else { &[1_000, 4_000] };
    for &n in dense_sizes {
        for l in latents {
            let case = Case::new(
                group,
                "decoder_dense",
                format!("N={n} L={l} splits=1"),
                Work::decoder_dense(n, l, 1),
            );
            if bench.wants(&case) {
                let z = random_vec(&mut rng, n * l, 0.3);
                let g_z = gpu.upload_matrix("bench.sweep.z", n, l, &z)?;
                let (dispatch, _partials) = decoder_dense(&gpu, &g_z, l, 1)?;
                let rec = recording("decoder_dense", [dispatch]);
                bench.run(
                    &case,
                    &rec,
                    Some(&mut || {
                        black_box(cpu::decoder_dense(&z, n, l, l, 1));
                    }),
                )?;
            }
        }
    }
    Ok(())
}

//! Kernel microbenchmarks with a CPU baseline in the same run, taken from the epoch's
//! schedule: every step of a training epoch is a case at its real shapes, its work
//! comes from the kernel's formula and its count per epoch from the schedule, and its
//! CPU baseline is the same step run by the CPU reference.
//!
//! Groups: Citeseer (the real graph in datasets/planetoid, features) and Pubmed's graph
//! (featureless, X = I), each with the dense, sampled and subgraph (1000 nodes)
//! objectives; a synthetic sweep (N 1k–100k, mean degree 2–50, latent 16 and 64; the
//! dense decoder at N 1k and 4k); and k-means on embeddings (not part of an epoch:
//! `kmeans_assign`, `kmeans_update` and `kmeans_distances` at N = 100k and 1M, dim 16,
//! k = 6, and the whole k-means, GPU against the CPU version).
//!
//!     cargo bench --bench kernels                       # everything
//!     cargo bench --bench kernels -- spmm               # cases whose name contains `spmm`
//!     cargo bench --bench kernels -- --quick citeseer   # fewer samples, smaller sweep
//!     cargo bench --bench kernels -- --help
//!
//! The device comes from `GPU_VGAE_ADAPTER` / `GPU_VGAE_BACKEND` as everywhere else.

mod harness;

use std::collections::HashMap;
use std::hint::black_box;
use std::path::Path;

use clap::Parser;
use harness::{Bench, BenchOptions, Case, CaseResult};

use gpu_vgae::internal::cluster::{kmeans, kmeans_gpu, KMeansConfig};
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::data::{load_planetoid, Graph, GraphView};
use gpu_vgae::internal::gpu::{Gpu, Recording};
use gpu_vgae::internal::kernels::edge_score::EDGE_SCORE;
use gpu_vgae::internal::kernels::kmeans_assign::{self, kmeans_assign, Assignment};
use gpu_vgae::internal::kernels::kmeans_distances::{self, kmeans_distances};
use gpu_vgae::internal::kernels::kmeans_update::{self, kmeans_update, UpdateLayout};
use gpu_vgae::internal::kernels::topk_rows::{self, RowBounds, RowLists, TOPK_ROWS};
use gpu_vgae::internal::kernels::Work;
use gpu_vgae::internal::model::schedule::ScheduleOp;
use gpu_vgae::internal::model::{CpuModel, GaeModel, ModelConfig, ModelSetup, Objective, Weights};
use gpu_vgae::internal::predict::{
    top_k_links, top_k_links_cpu, top_k_links_on_device, Exclusion, TopKMode, TopKOptions,
};
use gpu_vgae::internal::split::split_edges;
use gpu_vgae::internal::synthetic::{generate, SyntheticSpec};
use gpu_vgae::Result;

fn main() {
    let options = BenchOptions::parse();
    if let Err(e) = run(options) {
        eprintln!("benchmark failed: {e}");
        std::process::exit(1);
    }
}

fn run(options: BenchOptions) -> Result<()> {
    let gpu = Gpu::from_env()?;
    let quick = options.quick;
    let mut bench = Bench::new(gpu, options);
    bench.print_header();
    let mut timed = Timed::default();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/planetoid");
    let citeseer = load_planetoid(&dir, "citeseer")?;
    let pubmed = load_planetoid(&dir, "pubmed")?;
    for (name, graph, featureless) in [("citeseer", &citeseer, false), ("pubmed", &pubmed, true)] {
        for objective in [Objective::Dense, Objective::Sampled, Objective::Subgraph] {
            let mut config = ModelConfig::default();
            config.objective = objective;
            config.sample_nodes = 1000;
            let group = format!("{name} {objective}");
            epoch_steps(
                &mut bench,
                &mut timed,
                &group,
                graph,
                featureless,
                &config,
                None,
            )?;
        }
    }
    kmeans_cases(&mut bench, quick)?;
    for (name, graph, featureless) in [("citeseer", &citeseer, false), ("pubmed", &pubmed, true)] {
        top_k(&mut bench, name, graph, featureless, quick)?;
    }
    sweep(&mut bench, &mut timed, quick)?;
    bench.print_summary();
    Ok(())
}

/// Results already measured, by kernel and step description, so that a step that two
/// groups share is timed once.
#[derive(Default)]
struct Timed(HashMap<(String, String), CaseResult>);

/// Builds the model of `config` on `graph`'s training edges (the split of seed 0), runs
/// one epoch on the GPU and on the CPU reference so every buffer holds real values, then
/// times each step of the schedule whose kernel passes `only` (all when `None`), with
/// its count per epoch, and the validation/test scoring.
fn epoch_steps(
    bench: &mut Bench,
    timed: &mut Timed,
    group: &str,
    graph: &Graph,
    featureless: bool,
    config: &ModelConfig,
    only: Option<&[&str]>,
) -> Result<()> {
    let gpu = bench.gpu().clone();
    let split = split_edges(graph.num_nodes, &graph.edges, 0)?;
    let mut view = GraphView::new(graph.num_nodes, &split.train, graph.features.as_ref())?;
    if featureless {
        view = view.without_features();
    }
    let weights = Weights::glorot(config, view.num_features());
    let setup = ModelSetup::new(config, view, gpu.profile())?;
    let schedule = setup.schedule.clone();
    let wanted_kernel = |kernel: &str| only.is_none_or(|k| k.contains(&kernel));
    let describe = |index: usize| {
        let op = &schedule.steps()[index].op;
        (op.kernel().name.to_string(), op.describe(&schedule))
    };
    // Steps with the same kernel and shapes are one case, run that many times an epoch.
    let mut cases: Vec<(usize, f64)> = Vec::new();
    for index in 0..schedule.steps().len() {
        let key = describe(index);
        match cases.iter_mut().find(|(i, _)| describe(*i) == key) {
            Some((_, count)) => *count += 1.0,
            None => cases.push((index, 1.0)),
        }
    }
    let cases: Vec<(usize, f64)> = cases
        .into_iter()
        .filter(|&(index, _)| wanted_kernel(&describe(index).0))
        .filter(|&(index, _)| {
            let (kernel, shape) = describe(index);
            bench.wants(&Case::new(group, kernel, shape, Work::default()))
        })
        .collect();
    if cases.is_empty() {
        return Ok(());
    }
    bench.print_group(&format!(
        "{group}: N = {}, {} train edges, {} features, hidden {}, latent {}",
        view.num_nodes(),
        view.edges().len(),
        view.num_features(),
        config.hidden,
        config.latent
    ));
    // No memory sharing: every step's inputs still hold this epoch's values.
    let mut model = GaeModel::from_setup(&gpu, setup, &weights, false)?;
    model.train_epoch()?;
    gpu.wait()?;
    let mut twin = if bench.options().no_cpu {
        None
    } else {
        let setup = ModelSetup::new(config, view, gpu.profile())?;
        let mut twin = CpuModel::from_setup(setup, &weights)?;
        twin.train_epoch()?;
        twin.prepare_step(0)?;
        Some(twin)
    };
    for (index, per_epoch) in cases {
        let (kernel, shape) = describe(index);
        let case = Case::new(
            group,
            kernel.clone(),
            shape.clone(),
            schedule.steps()[index].op.work(&schedule),
        )
        .per_epoch(per_epoch);
        if let Some(previous) = timed.0.get(&(kernel.clone(), shape.clone())) {
            bench.record(&case, previous.clone());
            continue;
        }
        let recording = model.step_recording(index)?;
        // A step that fails is an error here, not a timing below.
        if let Some(twin) = twin.as_mut() {
            twin.run_step(index)?;
        }
        let mut cpu = twin.as_mut().map(|twin| {
            move || {
                black_box(twin.run_step(index)).ok();
                black_box(twin.schedule());
            }
        });
        let result = bench.run(
            &case,
            &recording,
            cpu.as_mut().map(|f| f as &mut dyn FnMut()),
        )?;
        if let Some(result) = result {
            timed.0.insert((kernel, shape), result);
        }
    }
    // Evaluation: σ(μ_i·μ_j) on the validation and test pairs (not part of an epoch).
    if wanted_kernel(EDGE_SCORE.name) {
        let pairs: Vec<(u32, u32)> = [
            &split.val_pos,
            &split.val_neg,
            &split.test_pos,
            &split.test_neg,
        ]
        .into_iter()
        .flatten()
        .copied()
        .collect();
        let case = Case::new(
            group,
            EDGE_SCORE.name,
            format!("{} pairs L={}", pairs.len(), config.latent),
            gpu_vgae::internal::kernels::edge_score::work(pairs.len(), config.latent),
        );
        if bench.wants(&case) {
            let scorer = model.pair_scorer(&pairs)?;
            let mu = twin.as_mut().map(|t| t.embeddings()).transpose()?;
            let latent = config.latent;
            let mut cpu = mu.map(|mu| {
                move || {
                    black_box(gpu_vgae::internal::cpu::edge_score(
                        &mu, latent, latent, &pairs,
                    ));
                }
            });
            bench.run(
                &case,
                scorer.recording(),
                cpu.as_mut().map(|f| f as &mut dyn FnMut()),
            )?;
        }
    }
    Ok(())
}

/// Top-k link search, K = 100 globally and per node (DESIGN.md §7; not part of an
/// epoch): μ of the sampled-objective model after a few epochs from Glorot weights
/// (20; 5 with `--quick`), the training edges excluded. Two cases per mode:
/// `topk_rows`, one pass over every row with K slots and the search's floor (GPU time;
/// CPU: its loop-for-loop twin) — the full O(N²·L) scan, which the global search
/// avoids by skipping rows that cannot reach its floor —, and `top_k_links`, the whole
/// search with the host's floor, readbacks and merge (wall clock; CPU: the brute
/// force `top_k_links_cpu`). Work is 2·L flops per pair scanned.
fn top_k(
    bench: &mut Bench,
    group: &str,
    graph: &Graph,
    featureless: bool,
    quick: bool,
) -> Result<()> {
    let k = 100;
    let group = format!("{group} top-k");
    let mut config = ModelConfig::default();
    config.objective = Objective::Sampled;
    let (n, latent) = (graph.num_nodes, config.latent);
    let modes = [
        (TopKMode::Global, "global"),
        (TopKMode::PerNode, "per node"),
    ];
    let shape = |label: &str| format!("{label} N={n} L={latent} K={k}");
    let scan_shape = |label: &str| format!("{} all rows", shape(label));
    let wanted = modes.iter().any(|(_, label)| {
        bench.wants(&Case::new(
            &group,
            TOPK_ROWS.name,
            scan_shape(label),
            Work::default(),
        )) || bench.wants(&Case::new(
            &group,
            "top_k_links",
            shape(label),
            Work::default(),
        ))
    });
    if !wanted {
        return Ok(());
    }
    let gpu = bench.gpu().clone();
    let split = split_edges(graph.num_nodes, &graph.edges, 0)?;
    let mut view = GraphView::new(graph.num_nodes, &split.train, graph.features.as_ref())?;
    if featureless {
        view = view.without_features();
    }
    let mut model = GaeModel::new(&gpu, &config, view)?;
    let epochs = if quick { 5 } else { 20 };
    for _ in 0..epochs {
        model.train_epoch()?;
    }
    let mu = model.embeddings()?;
    let exclude = Exclusion::from_graph(&view)?;
    let padded = topk_rows::padded_rows(&mu, n, latent, latent);
    let z = gpu.upload_matrix("gpu_vgae.bench.mu", n, 4 * latent.div_ceil(4), &padded)?;
    let exclusions = topk_rows::ExclusionLists {
        ptr: gpu.upload("gpu_vgae.bench.excl_ptr", exclude.offsets())?,
        col: gpu.upload("gpu_vgae.bench.excl_col", exclude.columns())?,
    };
    let mut title = format!(
        "{group}: N = {n}, {} training edges excluded, latent {latent}, K = {k}, μ after \
         {epochs} sampled epochs",
        exclude.len()
    );
    let mut outcomes = Vec::new();
    for (mode, label) in modes {
        let options = TopKOptions::new(k, mode);
        let outcome = top_k_links_on_device(&gpu, &z, latent, &exclude, &options)?;
        title += &format!(
            "; {label}: {} pass(es), {} pairs scanned, floor {:?}",
            outcome.passes, outcome.scanned_pairs, outcome.floor
        );
        outcomes.push(outcome);
    }
    bench.print_group(&title);
    for ((mode, label), outcome) in modes.into_iter().zip(outcomes) {
        let global = mode == TopKMode::Global;
        // The first pass as the search runs it: every row, K slots, the floor.
        let rows: Vec<u32> = (0..n as u32).collect();
        let bounds: Vec<u32> = rows
            .iter()
            .flat_map(|_| {
                RowBounds {
                    cursor: None,
                    floor: outcome.floor,
                }
                .words()
            })
            .collect();
        let lists = RowLists {
            rows: gpu.upload("gpu_vgae.bench.rows", &rows)?,
            bounds: gpu.upload("gpu_vgae.bench.bounds", &bounds)?,
            heap: gpu.alloc("gpu_vgae.bench.heap", 2 * n * k)?,
            fill: gpu.alloc("gpu_vgae.bench.fill", n)?,
            capacity: k,
        };
        let mut recording = Recording::new("topk_rows");
        recording.push(topk_rows::topk_rows(
            &gpu,
            &z,
            latent,
            &exclusions,
            &lists,
            global,
        )?);
        let pairs = topk_rows::scanned_pairs(n, &rows, global);
        let excluded = 2 * exclude.len();
        let case = Case::new(
            &group,
            TOPK_ROWS.name,
            scan_shape(label),
            topk_rows::work(pairs, n, latent, excluded, n, k),
        );
        let mut twin = || {
            black_box(gpu_vgae::internal::cpu::topk_rows(
                &mu,
                n,
                latent,
                latent,
                exclude.offsets(),
                exclude.columns(),
                &rows,
                &bounds,
                k,
                global,
            ));
        };
        bench.run(&case, &recording, Some(&mut twin))?;
        let case = Case::new(
            &group,
            "top_k_links",
            shape(label),
            topk_rows::work(outcome.scanned_pairs, n, latent, excluded, n, k),
        );
        let mut search = || top_k_links(&gpu, &mu, n, latent, &exclude, k, mode).map(|_| ());
        let mut brute = || {
            black_box(top_k_links_cpu(&mu, n, latent, &exclude, k, mode).ok());
        };
        bench.run_fn(&case, &mut search, Some(&mut brute))?;
    }
    Ok(())
}

/// Synthetic shapes: N from 1k to 100k, mean degree 2 to 50, latent 16 and 64 (sampled
/// objective, featureless: the encoder's and the pair decoder's kernels); the dense
/// decoder at N = 1k and 4k.
fn sweep(bench: &mut Bench, timed: &mut Timed, quick: bool) -> Result<()> {
    let sizes: &[usize] = if quick {
        &[1_000, 10_000]
    } else {
        &[1_000, 10_000, 100_000]
    };
    let degrees: &[f64] = if quick {
        &[2.0, 50.0]
    } else {
        &[2.0, 10.0, 50.0]
    };
    for &n in sizes {
        for &degree in degrees {
            let graph = synthetic(n, degree)?;
            for latent in [16, 64] {
                let mut config = ModelConfig::default();
                config.objective = Objective::Sampled;
                config.latent = latent;
                let group = format!("sweep N={n} deg={degree} L={latent}");
                let kernels: &[&str] = &["spmm", "decoder_pairs", "matmul", "reparam_kl"];
                epoch_steps(bench, timed, &group, &graph, true, &config, Some(kernels))?;
            }
        }
    }
    // The dense decoder is O(N²·L): 1k and 4k nodes only (4k at L = 64 is 4.1 GFLOP).
    let dense_sizes: &[usize] = if quick { &[1_000] } else { &[1_000, 4_000] };
    for &n in dense_sizes {
        let graph = synthetic(n, 4.0)?;
        for latent in [16, 64] {
            let mut config = ModelConfig::default();
            config.latent = latent;
            let group = format!("sweep N={n} L={latent} dense");
            epoch_steps(
                bench,
                timed,
                &group,
                &graph,
                true,
                &config,
                Some(&["decoder_dense"]),
            )?;
        }
    }
    Ok(())
}

/// The embedded stochastic block model with `n` nodes and the given mean degree.
fn synthetic(n: usize, degree: f64) -> Result<Graph> {
    let mut spec = SyntheticSpec::default();
    spec.nodes = n;
    spec.mean_degree = degree;
    let g = generate(&spec)?;
    Graph::from_edges(g.num_nodes, &g.edges, Some(g.features))
}

/// k-means on embeddings at N = 100k and 1M (100k only with `--quick`), dim 16, k = 6
/// (six blobs: centres uniform in [−4, 4]^16, points within ±1 of theirs): one
/// assignment step, one update step (per-chunk sums and the reduce_sum tree), one
/// k-means++ measurement of 3 candidates, each against its single-threaded CPU twin,
/// and the whole k-means (k-means++, Lloyd to no change) on the GPU against
/// `cluster::kmeans`, both wall-clock: the blobs with n_init = 10, and uniform points
/// (50 Lloyd iterations) with n_init = 1.
fn kmeans_cases(bench: &mut Bench, quick: bool) -> Result<()> {
    let sizes: &[usize] = if quick {
        &[100_000]
    } else {
        &[100_000, 1_000_000]
    };
    let (dim, k) = (16, 6);
    for &n in sizes {
        let group = format!("kmeans N={n} dim={dim} k={k}");
        let shape = format!("{n}x{dim} k={k}");
        let layout = UpdateLayout::new(n, k, dim);
        let cases = [
            Case::new(
                &group,
                "kmeans_assign",
                &shape,
                kmeans_assign::work(n, k, dim),
            ),
            Case::new(
                &group,
                "kmeans_update",
                format!("{shape} chunk={} +reduce_sum", layout.chunk_rows),
                kmeans_update::work(n, k, dim, layout.chunks())
                    + kmeans_update::totals_work(k, dim, layout.chunks()),
            ),
            Case::new(
                &group,
                "kmeans_distances",
                format!("{n}x{dim} to 3 candidates"),
                kmeans_distances::work(n, 3, dim),
            ),
            Case::new(
                &group,
                "kmeans",
                format!("{shape} n_init=10 blobs"),
                Work::default(),
            ),
            Case::new(
                &group,
                "kmeans",
                format!("{shape} n_init=1 max_iter=50 uniform"),
                Work::default(),
            ),
        ];
        if !cases.iter().any(|c| bench.wants(c)) {
            continue;
        }
        bench.print_group(&format!(
            "{group}: assignment and update steps, and the whole k-means (wall clock)"
        ));
        let gpu = bench.gpu().clone();
        let points = blobs(n, dim, k);
        // Centroids: one point of each blob, so labels and sums are those of a real step.
        let centroids: Vec<f32> = points[..k * dim].to_vec();
        let gpoints = gpu.upload_matrix("gpu_vgae.bench.points", n, dim, &points)?;
        let gcentroids = gpu.upload_matrix("gpu_vgae.bench.centroids", k, dim, &centroids)?;
        let out = Assignment::new(&gpu, n)?;
        let mut assign = Recording::new("kmeans_assign");
        assign.push(kmeans_assign(&gpu, &gpoints, 0, &gcentroids, &out)?);
        let (mut labels, mut min_sq) = (vec![0u32; n], vec![0f32; n]);
        cpu::kmeans_assign(&points, n, dim, &centroids, k, &mut labels, &mut min_sq);
        bench.run(
            &cases[0],
            &assign,
            Some(&mut || {
                black_box(cpu::kmeans_assign(
                    &points,
                    n,
                    dim,
                    &centroids,
                    k,
                    &mut labels,
                    &mut min_sq,
                ));
            }),
        )?;
        gpu.run(&assign)?;
        let partial = gpu.alloc::<f32>("gpu_vgae.bench.partial", layout.partial_len())?;
        let totals = gpu.alloc::<f32>("gpu_vgae.bench.totals", layout.totals_len())?;
        let mut update = Recording::new("kmeans_update");
        update.push(kmeans_update(
            &gpu,
            &gpoints,
            0,
            &out.labels,
            &layout,
            &partial,
        )?);
        update.extend(kmeans_update::totals(&gpu, &layout, &partial, &totals)?);
        bench.run(
            &cases[1],
            &update,
            Some(&mut || {
                let partial = cpu::kmeans_update(&points, n, dim, &labels, k, layout.chunk_rows);
                black_box(cpu::column_sums(
                    &partial,
                    layout.chunks(),
                    layout.totals_len(),
                ));
            }),
        )?;
        // k-means++ measures 2 + ⌊ln 6⌋ = 3 candidates per centre in one pass.
        let candidates =
            gpu.upload_matrix("gpu_vgae.bench.candidates", 3, dim, &points[..3 * dim])?;
        let distances = gpu.alloc::<f32>("gpu_vgae.bench.distances", 3 * n)?;
        let mut measure = Recording::new("kmeans_distances");
        measure.push(kmeans_distances(
            &gpu,
            &gpoints,
            0,
            &candidates,
            n,
            &distances,
        )?);
        bench.run(
            &cases[2],
            &measure,
            Some(&mut || {
                black_box(cpu::kmeans_distances(
                    &points,
                    n,
                    dim,
                    &points[..3 * dim],
                    3,
                ));
            }),
        )?;
        // The whole k-means: blobs (k-means++ finds them, Lloyd confirms in 2 iterations:
        // mostly seeding) and uniform points (no structure: Lloyd runs to max_iter, cut
        // to 50 so that the case measures iterations in reasonable time).
        let uniform = uniform_points(n * dim);
        for (case, data, n_init, max_iter) in
            [(&cases[3], &points, 10, 300), (&cases[4], &uniform, 1, 50)]
        {
            let mut config = KMeansConfig::new(k);
            config.n_init = n_init;
            config.max_iter = max_iter;
            let mut iterations = None;
            bench.run_host(
                case,
                &mut || {
                    let r = kmeans_gpu(&gpu, data, n, dim, &config)?;
                    iterations = Some(r.runs.iter().map(|run| run.n_iter).collect::<Vec<_>>());
                    black_box(r);
                    Ok(())
                },
                Some(&mut || {
                    black_box(kmeans(data, n, dim, &config).expect("valid input"));
                }),
            )?;
            if let Some(iterations) = iterations {
                println!("  (Lloyd iterations per run: {iterations:?})");
            }
        }
    }
    Ok(())
}

/// `len` values uniform in [−1, 1) (seeded).
fn uniform_points(len: usize) -> Vec<f32> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(2);
    (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// `n` points of dimension `dim` in `k` blobs: centres uniform in [−4, 4]^dim, point i
/// within ±1 of centre i mod k per coordinate (seeded).
fn blobs(n: usize, dim: usize, k: usize) -> Vec<f32> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let centres: Vec<f32> = (0..k * dim)
        .map(|_| rng.random_range(-4.0f32..4.0))
        .collect();
    let mut points = Vec::with_capacity(n * dim);
    for i in 0..n {
        let c = i % k;
        for j in 0..dim {
            points.push(centres[c * dim + j] + rng.random_range(-1.0f32..1.0));
        }
    }
    points
}

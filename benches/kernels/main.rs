//! Kernel microbenchmarks with a CPU baseline in the same run, taken from the epoch's
//! schedule: every step of a training epoch is a case at its real shapes, its work
//! comes from the kernel's formula and its count per epoch from the schedule, and its
//! CPU baseline is the same step run by the CPU reference.
//!
//! Groups: Citeseer (the real graph in datasets/planetoid, features; dense and sampled
//! objectives), Pubmed's graph (featureless, X = I), and a synthetic sweep (N 1k–100k,
//! mean degree 2–50, latent 16 and 64; the dense decoder at N 1k and 4k).
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

use gpu_vgae::data::{load_planetoid, Graph, GraphView};
use gpu_vgae::gpu::{Gpu, Recording};
use gpu_vgae::kernels::edge_score::EDGE_SCORE;
use gpu_vgae::kernels::topk_rows::{self, RowBounds, RowLists, TOPK_ROWS};
use gpu_vgae::kernels::Work;
use gpu_vgae::model::schedule::Schedule;
use gpu_vgae::model::{CpuModel, GaeModel, ModelConfig, ModelSetup, Objective, Weights};
use gpu_vgae::predict::{
    top_k_links, top_k_links_cpu, top_k_links_on_device, Exclusion, TopKMode, TopKOptions,
};
use gpu_vgae::split::split_edges;
use gpu_vgae::synthetic::{generate, SyntheticSpec};
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
        for objective in [Objective::Dense, Objective::Sampled] {
            let mut config = ModelConfig::default();
            config.objective = objective;
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
        (Schedule::kernel(op).to_string(), schedule.describe(op))
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
            schedule.work(&schedule.steps()[index].op),
        )
        .per_epoch(per_epoch);
        if let Some(previous) = timed.0.get(&(kernel.clone(), shape.clone())) {
            bench.record(&case, previous.clone());
            continue;
        }
        let recording = model.step_recording(index)?;
        let mut cpu = twin.as_mut().map(|twin| {
            move || {
                twin.run_step(index);
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
            gpu_vgae::kernels::edge_score::work(pairs.len(), config.latent),
        );
        if bench.wants(&case) {
            let scorer = model.pair_scorer(&pairs)?;
            let mu = twin.as_mut().map(|t| t.embeddings());
            let latent = config.latent;
            let mut cpu = mu.map(|mu| {
                move || {
                    black_box(gpu_vgae::cpu::edge_score(&mu, latent, latent, &pairs));
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
            black_box(gpu_vgae::cpu::topk_rows(
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

//! End-to-end epoch benchmark: wall time per training epoch (median of samples after
//! warm-up), a per-kernel breakdown from GPU timestamps, device memory held and the CPU
//! reference's epoch time, for one graph and objective ([`bench_epochs`]), and the
//! plan `gpu-vgae bench` runs ([`run_plan`]): the Planetoid graphs and a synthetic sweep,
//! with a markdown table and a plot of epoch time against N.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;

use crate::data::{load_planetoid, GraphView};
use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::model::{CpuModel, GaeModel, ModelConfig, ModelSetup, Objective, Weights};
use crate::synthetic::{generate, SyntheticSpec};

/// Minimum, median and maximum of a set of samples, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Stats {
    /// Fastest sample.
    pub min: f64,
    /// Median (mean of the middle two for an even count).
    pub median: f64,
    /// Slowest sample.
    pub max: f64,
    /// Number of samples.
    pub samples: usize,
}

impl Stats {
    /// The statistics of `samples`, or `None` when there are none.
    pub fn from_samples(samples: &[f64]) -> Option<Stats> {
        if samples.is_empty() {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            0.5 * (sorted[n / 2 - 1] + sorted[n / 2])
        };
        Some(Stats {
            min: sorted[0],
            median,
            max: sorted[n - 1],
            samples: n,
        })
    }
}

/// A graph to benchmark: all its edges train (the split does not change epoch cost).
pub struct EpochCase<'a> {
    /// Name in the table.
    pub name: String,
    /// The graph.
    pub graph: GraphView<'a>,
}

/// GPU time of one kernel within an epoch.
#[derive(Clone, Debug, Serialize)]
pub struct KernelShare {
    /// Shader file stem.
    pub kernel: String,
    /// Dispatches of this kernel per epoch.
    pub dispatches: usize,
    /// Milliseconds per epoch, all its dispatches together.
    pub ms: f64,
}

/// One case's figures.
#[derive(Clone, Debug, Serialize)]
pub struct EpochResult {
    /// Case name.
    pub name: String,
    /// Objective.
    pub objective: Objective,
    /// Nodes.
    pub num_nodes: usize,
    /// Undirected edges.
    pub num_edges: usize,
    /// Nonzeros of Â (2E + N).
    pub adjacency_nnz: usize,
    /// Nonzeros of the feature matrix (N for the identity).
    pub feature_nnz: usize,
    /// Wall time per epoch, seconds (submit and wait).
    pub epoch: Stats,
    /// Wall time per epoch of the same schedule on the CPU twins (single-threaded), when
    /// measured.
    pub cpu_epoch: Option<Stats>,
    /// GPU time per kernel from timestamps, largest first (empty without timestamps).
    pub kernels: Vec<KernelShare>,
    /// Sum of the kernels' GPU time, milliseconds.
    pub gpu_ms: f64,
    /// Bytes of device memory the model holds.
    pub device_bytes: u64,
    /// Dispatches per epoch.
    pub dispatches: usize,
    /// Nodes the subgraph objective draws per epoch (None for the other objectives).
    pub sample_nodes: Option<usize>,
    /// The process's peak resident memory while the case ran (graph included), bytes;
    /// None where the platform does not report it.
    pub peak_rss_bytes: Option<u64>,
}

impl EpochResult {
    /// The objective as the table shows it, e.g. `subgraph n=5000`.
    pub fn objective_label(&self) -> String {
        objective_label(self.objective, self.sample_nodes)
    }
}

/// `objective`, with the sample size for the subgraph objective (`sample_nodes` is
/// ignored for the others).
fn objective_label(objective: Objective, sample_nodes: Option<usize>) -> String {
    match sample_nodes {
        Some(n) if objective == Objective::Subgraph => format!("{objective} n={n}"),
        _ => objective.to_string(),
    }
}

/// Builds a VGAE (default sizes) with `objective` on `case`, runs `warmup` epochs, then
/// times `samples` epochs one by one and one more with timestamps; then times
/// `cpu_samples` epochs of [`CpuModel`] from the same weights (0 skips the baseline).
pub fn bench_epochs(
    gpu: &Gpu,
    case: &EpochCase<'_>,
    config: &ModelConfig,
    warmup: usize,
    samples: usize,
    cpu_samples: usize,
) -> Result<EpochResult> {
    if samples == 0 {
        return Err(Error::InvalidConfig {
            setting: "samples",
            message: "at least one sample is needed".into(),
        });
    }
    gpu.trim_pool();
    crate::memory::reset_peak_rss();
    let weights = Weights::glorot(config, case.graph.num_features());
    let setup = ModelSetup::new(config, case.graph, gpu.profile())?;
    let mut model = GaeModel::from_setup(gpu, setup, &weights, true)?;
    for _ in 0..warmup {
        model.train_epoch()?;
    }
    gpu.wait()?;
    let mut times = Vec::with_capacity(samples);
    for _ in 0..samples {
        let start = Instant::now();
        model.train_epoch()?;
        gpu.wait()?;
        times.push(start.elapsed().as_secs_f64());
    }
    let mut by_kernel: BTreeMap<&'static str, (usize, f64)> = BTreeMap::new();
    for timing in model.train_epoch_timed()?.unwrap_or_default() {
        let entry = by_kernel.entry(timing.kernel).or_default();
        entry.0 += 1;
        entry.1 += timing.nanos / 1e6;
    }
    let mut kernels: Vec<KernelShare> = by_kernel
        .into_iter()
        .map(|(kernel, (dispatches, ms))| KernelShare {
            kernel: kernel.to_string(),
            dispatches,
            ms,
        })
        .collect();
    kernels.sort_by(|a, b| b.ms.total_cmp(&a.ms));
    let device_bytes = gpu.pool_bytes();
    let peak_rss_bytes = crate::memory::peak_rss_bytes();
    let mut cpu_times = Vec::with_capacity(cpu_samples);
    if cpu_samples > 0 {
        let setup = ModelSetup::new(config, case.graph, gpu.profile())?;
        let mut twin = CpuModel::from_setup(setup, &model.weights()?)?;
        for _ in 0..cpu_samples {
            let start = Instant::now();
            twin.train_epoch()?;
            cpu_times.push(start.elapsed().as_secs_f64());
        }
    }
    let graph = &case.graph;
    Ok(EpochResult {
        name: case.name.clone(),
        objective: config.objective,
        num_nodes: graph.num_nodes(),
        num_edges: graph.edges().len(),
        adjacency_nnz: 2 * graph.edges().len() + graph.num_nodes(),
        feature_nnz: graph.feature_nnz(),
        epoch: Stats::from_samples(&times).expect("samples > 0"),
        cpu_epoch: Stats::from_samples(&cpu_times),
        gpu_ms: kernels.iter().map(|k| k.ms).sum(),
        kernels,
        device_bytes,
        dispatches: model.dispatches_per_epoch(),
        sample_nodes: model.subgraph_sample_size(),
        peak_rss_bytes,
    })
}

/// What `gpu-vgae bench` runs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct EpochPlan {
    /// Directory of the Planetoid files; graphs that fail to load are skipped (and
    /// reported).
    pub data_dir: PathBuf,
    /// Fewer sizes and samples.
    pub quick: bool,
    /// Timed epochs per case (after two warm-up epochs).
    pub samples: usize,
    /// Only cases whose name contains this text.
    pub filter: Option<String>,
}

impl EpochPlan {
    /// The full plan over `data_dir` with 5 samples per case.
    pub fn new(data_dir: PathBuf) -> Self {
        EpochPlan {
            data_dir,
            quick: false,
            samples: 5,
            filter: None,
        }
    }
}

/// What happens while a plan runs, for the caller to print.
pub enum PlanEvent<'a> {
    /// A case starts: its name and objective (e.g. `subgraph n=5000`).
    Starting(&'a str, String),
    /// A case finished.
    Finished(&'a EpochResult),
    /// A dataset could not be loaded and is left out.
    Skipped(&'a str, &'a Error),
}

/// The figures of a whole plan.
#[derive(Clone, Debug, Serialize)]
pub struct PlanResults {
    /// Every case, in the order run.
    pub results: Vec<EpochResult>,
    /// Median epoch ms against N for each synthetic series (for [`plot_svg`]).
    pub series: Vec<(String, Vec<(f64, f64)>)>,
}

/// Runs `plan`: the sampled, dense and subgraph (n = 5000; Pubmed also n = 1000)
/// objectives on citeseer, cora and pubmed (graph only); a synthetic sweep over N at mean
/// degree 4 and 20 (sampled, and dense up to 20k nodes, or 3k with `quick`); and the
/// scale sweep at mean degree 10, N = 10k, 100k and 1M (100k with `quick`), sampled
/// and subgraph, with peak resident memory. The single-threaded CPU baseline runs where
/// an epoch takes seconds, not minutes (the dense decoder is O(N²·L)).
pub fn run_plan(
    gpu: &Gpu,
    plan: &EpochPlan,
    mut events: impl FnMut(PlanEvent<'_>),
) -> Result<PlanResults> {
    let wanted = |name: &str| plan.filter.as_deref().is_none_or(|f| name.contains(f));
    let samples = if plan.quick {
        plan.samples.min(3)
    } else {
        plan.samples
    };
    let mut results: Vec<EpochResult> = Vec::new();
    let run_case = |results: &mut Vec<EpochResult>,
                    events: &mut dyn FnMut(PlanEvent<'_>),
                    case: &EpochCase<'_>,
                    config: ModelConfig,
                    samples: usize|
     -> Result<Option<f64>> {
        if !wanted(&case.name) {
            return Ok(None);
        }
        let n = case.graph.num_nodes();
        let cpu_samples = match config.objective {
            Objective::Dense if n > 5000 => 0,
            Objective::Dense => 1,
            Objective::Sampled | Objective::Subgraph if n > 20_000 => 0,
            Objective::Sampled | Objective::Subgraph => 3,
        };
        events(PlanEvent::Starting(
            &case.name,
            objective_label(config.objective, Some(config.sample_nodes)),
        ));
        // A million-node epoch takes seconds: one warm-up is enough.
        let warmup = if n > 200_000 { 1 } else { 2 };
        let result = bench_epochs(gpu, case, &config, warmup, samples, cpu_samples)?;
        events(PlanEvent::Finished(&result));
        let median_ms = 1e3 * result.epoch.median;
        results.push(result);
        Ok(Some(median_ms))
    };
    let with = |objective: Objective, sample_nodes: usize| ModelConfig {
        objective,
        sample_nodes,
        ..ModelConfig::default()
    };
    let default_sample = ModelConfig::default().sample_nodes;

    for name in ["citeseer", "cora", "pubmed"] {
        if !wanted(name) {
            continue;
        }
        match load_planetoid(&plan.data_dir, name) {
            Ok(graph) => {
                let case = EpochCase {
                    name: name.to_string(),
                    graph: graph.view(),
                };
                let sampled = with(Objective::Sampled, default_sample);
                run_case(&mut results, &mut events, &case, sampled, samples)?;
                // Pubmed's dense epoch is ~25 GFLOP: few samples on slow adapters.
                let dense_samples = if name == "pubmed" {
                    samples.min(2)
                } else {
                    samples
                };
                let dense = with(Objective::Dense, default_sample);
                run_case(&mut results, &mut events, &case, dense, dense_samples)?;
                let sizes: &[usize] = if name == "pubmed" {
                    &[5000, 1000]
                } else {
                    &[5000]
                };
                for &n in sizes {
                    let subgraph = with(Objective::Subgraph, n);
                    run_case(&mut results, &mut events, &case, subgraph, samples)?;
                }
            }
            Err(e) => events(PlanEvent::Skipped(name, &e)),
        }
    }

    let sizes: &[usize] = if plan.quick {
        &[1000, 3000, 10_000, 30_000]
    } else {
        &[1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000]
    };
    let dense_limit = if plan.quick { 3000 } else { 20_000 };
    let mut series: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for degree in [4.0, 20.0] {
        let mut sampled_points = Vec::new();
        let mut dense_points = Vec::new();
        for &n in sizes {
            let g = synthetic_graph(n, degree)?;
            let case = EpochCase {
                name: format!("synthetic N={n} deg={degree}"),
                graph: GraphView::new(n, &g.edges, Some(&g.features))?,
            };
            let sampled = with(Objective::Sampled, default_sample);
            if let Some(ms) = run_case(&mut results, &mut events, &case, sampled, samples)? {
                sampled_points.push((n as f64, ms));
            }
            if n <= dense_limit {
                let dense = with(Objective::Dense, default_sample);
                if let Some(ms) = run_case(&mut results, &mut events, &case, dense, samples.min(3))?
                {
                    dense_points.push((n as f64, ms));
                }
            }
        }
        series.push((format!("sampled, mean degree {degree}"), sampled_points));
        series.push((format!("dense, mean degree {degree}"), dense_points));
    }

    // The scale sweep: the objectives whose cost does not grow with N².
    let scale_sizes: &[usize] = if plan.quick {
        &[10_000, 100_000]
    } else {
        &[10_000, 100_000, 1_000_000]
    };
    let degree = 10.0;
    let mut sampled_points = Vec::new();
    let mut subgraph_points = Vec::new();
    for &n in scale_sizes {
        let name = format!("scale N={n} deg={degree}");
        if !wanted(&name) {
            continue;
        }
        let g = synthetic_graph(n, degree)?;
        let case = EpochCase {
            name,
            graph: GraphView::new(n, &g.edges, Some(&g.features))?,
        };
        let samples = if n > 200_000 { samples.min(2) } else { samples };
        let sampled = with(Objective::Sampled, default_sample);
        if let Some(ms) = run_case(&mut results, &mut events, &case, sampled, samples)? {
            sampled_points.push((n as f64, ms));
        }
        let subgraph = with(Objective::Subgraph, default_sample);
        if let Some(ms) = run_case(&mut results, &mut events, &case, subgraph, samples)? {
            subgraph_points.push((n as f64, ms));
        }
    }
    series.push((format!("sampled, mean degree {degree}"), sampled_points));
    series.push((
        format!("subgraph n={default_sample}, mean degree {degree}"),
        subgraph_points,
    ));
    Ok(PlanResults { results, series })
}

/// The embedded synthetic graph (with its sparse features) of `n` nodes at `degree`.
fn synthetic_graph(n: usize, degree: f64) -> Result<crate::synthetic::SyntheticGraph> {
    generate(&SyntheticSpec {
        nodes: n,
        mean_degree: degree,
        ..SyntheticSpec::default()
    })
}

/// A markdown table of `results`: epoch time, memory and the three largest kernels.
pub fn table(results: &[EpochResult]) -> String {
    let mut out = String::from(
        "| case | objective | N | E | epoch ms (min / median / max) | CPU twins ms (median) | GPU speed-up | device MiB | peak RSS MiB | top kernels (GPU ms per epoch) |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in results {
        let top: Vec<String> = r
            .kernels
            .iter()
            .take(3)
            .map(|k| format!("{} {:.1}", k.kernel, k.ms))
            .collect();
        let (cpu, ratio) = match r.cpu_epoch {
            Some(c) => (
                format!("{:.1}", 1e3 * c.median),
                format!("{:.1}x", c.median / r.epoch.median),
            ),
            None => ("-".into(), "-".into()),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.1} / {:.1} / {:.1} | {cpu} | {ratio} | {:.1} | {} | {} |",
            r.name,
            r.objective_label(),
            r.num_nodes,
            r.num_edges,
            1e3 * r.epoch.min,
            1e3 * r.epoch.median,
            1e3 * r.epoch.max,
            r.device_bytes as f64 / (1 << 20) as f64,
            crate::memory::format_mib(r.peak_rss_bytes),
            top.join(", ")
        );
    }
    out
}

/// An SVG line chart of median epoch time against N (log-log), one line per series.
pub fn plot_svg(title: &str, series: &[(String, Vec<(f64, f64)>)]) -> String {
    crate::svg::line_chart(
        title,
        &[crate::svg::Panel {
            series: series
                .iter()
                .map(|(name, points)| crate::svg::Series {
                    name: name.clone(),
                    points: points.clone(),
                })
                .collect(),
            x_label: "nodes N".into(),
            y_label: "epoch time, ms (median)".into(),
            log_x: true,
            log_y: true,
        }],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_take_the_middle_and_the_extremes() {
        let s = Stats::from_samples(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.min, s.median, s.max, s.samples), (1.0, 2.0, 3.0, 3));
        let s = Stats::from_samples(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(s.median, 2.5);
        assert!(Stats::from_samples(&[]).is_none());
    }
}

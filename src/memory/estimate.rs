//! The memory a run will need, from the shapes alone (nodes, edges, features and the
//! settings), before anything large is allocated: what `gpu-vgae run` prints and checks
//! before it generates or trains.
//!
//! A run passes through phases, each holding a known set of structures (RESULTS.md,
//! "Memory per edge", has the measured table): the graph, the split and its hash table,
//! the objective's host sampler, the normalized adjacency Â while it is built, the device
//! tensors of the training schedule (sized exactly as the engine's memory plan sizes
//! them), the evaluation's pairs and scores, the weights read back, the encoder for the
//! embeddings. The estimate of a phase is the sum of its structures' sizes; the peak is
//! the largest phase. On a CPU adapter (lavapipe) device memory is host memory, so the
//! process's resident set holds both.

use crate::error::{Error, Result};
use crate::gpu::{pool_class_bytes, AdapterProfile};
use crate::model::schedule::MemoryPlan;
use crate::model::vgae::{self, GraphShape, PriorShape, SubgraphShape};
use crate::model::{ModelConfig, Objective};
use crate::split::PairTable;
use crate::train::TrainOptions;

use super::TRANSFER_CHUNK_BYTES;
use crate::error::format_bytes as format_gib;

/// Resident memory of the process beyond its data: the binary, the allocator's slack,
/// the Vulkan driver and its compiled shaders (about 150-220 MiB measured with lavapipe
/// at 1-10 M nodes).
pub const PROCESS_BASE_BYTES: u64 = 200 << 20;

/// What a run's memory depends on, known before its graph is built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunShape {
    /// Nodes N.
    pub nodes: usize,
    /// Undirected edges E.
    pub edges: usize,
    /// Feature columns and stored nonzeros of X; `None` trains without features.
    pub features: Option<(usize, usize)>,
    /// Whether the graph is generated (the synthetic graph): its generation is a phase.
    pub generated: bool,
    /// Classes and labelled nodes of the training labels (the class-conditional prior's
    /// sizes); `None` where they are not known yet, which the estimate takes as every
    /// node labelled (the prior's memory is its per-node index, not its classes).
    pub train_labels: Option<(usize, usize)>,
}

impl RunShape {
    /// The same graph scaled by `factor` in nodes and edges (mean degree and features
    /// per node kept).
    pub fn scaled(&self, factor: f64) -> RunShape {
        let scale = |x: usize| ((x as f64 * factor).round() as usize).max(2);
        RunShape {
            nodes: scale(self.nodes),
            edges: scale(self.edges),
            features: self.features.map(|(cols, nnz)| (cols, scale(nnz))),
            generated: self.generated,
            train_labels: self
                .train_labels
                .map(|(classes, labelled)| (classes, scale(labelled))),
        }
    }
}

/// The settings that decide what a run holds besides its shape.
#[derive(Clone, Debug)]
pub struct RunPlan<'a> {
    /// Training settings (model, objective, held-out fractions).
    pub train: &'a TrainOptions,
    /// Whether the features are scaled (a scaled copy of X is held).
    pub scaled_features: bool,
    /// Whether every node is embedded after training (and the results written).
    pub embeddings: bool,
}

/// One phase of a run: what it holds on the host and on the device at its peak.
#[derive(Clone, Debug, PartialEq)]
pub struct PhaseEstimate {
    /// The phase.
    pub name: &'static str,
    /// Host structures, by name, in bytes.
    pub host: Vec<(&'static str, u64)>,
    /// Device buffers, by name, in bytes.
    pub device: Vec<(&'static str, u64)>,
}

impl PhaseEstimate {
    /// Host bytes of the phase's structures (without [`PROCESS_BASE_BYTES`]).
    pub fn host_bytes(&self) -> u64 {
        self.host.iter().map(|&(_, b)| b).sum()
    }

    /// Device bytes the phase holds.
    pub fn device_bytes(&self) -> u64 {
        self.device.iter().map(|&(_, b)| b).sum()
    }

    /// The process's resident bytes in the phase: the host structures and the process
    /// itself, plus the device memory where it is host memory.
    pub fn resident_bytes(&self, device_is_host: bool) -> u64 {
        PROCESS_BASE_BYTES
            + self.host_bytes()
            + if device_is_host {
                self.device_bytes()
            } else {
                0
            }
    }
}

/// The estimate of every phase of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct MemoryEstimate {
    /// The shape it was made for.
    pub shape: RunShape,
    /// Every phase, in run order.
    pub phases: Vec<PhaseEstimate>,
}

impl MemoryEstimate {
    /// The phase with the most resident memory.
    pub fn peak_phase(&self, device_is_host: bool) -> &PhaseEstimate {
        self.phases
            .iter()
            .max_by_key(|p| p.resident_bytes(device_is_host))
            .expect("an estimate has phases")
    }

    /// The peak resident set of the process.
    pub fn peak_resident(&self, device_is_host: bool) -> u64 {
        self.peak_phase(device_is_host)
            .resident_bytes(device_is_host)
    }

    /// The most device memory any phase holds.
    pub fn peak_device(&self) -> u64 {
        self.phases
            .iter()
            .map(PhaseEstimate::device_bytes)
            .max()
            .unwrap_or(0)
    }

    /// One line: the peak resident set, its phase, and its host and device parts.
    pub fn summary(&self, device_is_host: bool) -> String {
        let peak = self.peak_phase(device_is_host);
        format!(
            "peak {} in {} (host {} + device {}{}); device at most {}",
            format_gib(peak.resident_bytes(device_is_host)),
            peak.name,
            format_gib(PROCESS_BASE_BYTES + peak.host_bytes()),
            format_gib(peak.device_bytes()),
            if device_is_host {
                ", host memory on this CPU adapter"
            } else {
                " on the adapter"
            },
            format_gib(self.peak_device())
        )
    }

    /// Every phase with its parts, one per line (what `GPU_VGAE_TRACE_MEMORY` prints).
    pub fn table(&self, device_is_host: bool) -> String {
        let mut out = String::new();
        for phase in &self.phases {
            out.push_str(&format!(
                "{:<10} {:>9}  host: {}; device: {}\n",
                phase.name,
                format_gib(phase.resident_bytes(device_is_host)),
                parts(&phase.host),
                parts(&phase.device)
            ));
        }
        out
    }
}

fn parts(list: &[(&'static str, u64)]) -> String {
    if list.is_empty() {
        return "-".into();
    }
    list.iter()
        .map(|&(name, bytes)| format!("{name} {}", format_gib(bytes)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The estimate of a run of `plan` on a graph of `shape`, its schedule planned for
/// `profile`.
///
/// Errors as the schedule does on settings it refuses (widths, the subgraph sample).
pub fn estimate_run(
    shape: &RunShape,
    plan: &RunPlan<'_>,
    profile: &AdapterProfile,
) -> Result<MemoryEstimate> {
    let config = &plan.train.model;
    let (n, e) = (shape.nodes as u64, shape.edges as u64);
    let num_val = (shape.edges as f64 * plan.train.val_fraction) as u64;
    let num_test = (shape.edges as f64 * plan.train.test_fraction) as u64;
    let held_out = num_val + num_test;
    let t = e.saturating_sub(held_out);
    let (f, x_nnz) = match shape.features {
        Some((cols, nnz)) => (cols as u64, nnz as u64),
        None => (n, n),
    };
    let pair_table = |keys: u64| PairTable::bytes_for(keys as usize);
    // A readback stages at most one chunk at a time.
    let staging = |bytes: u64| bytes.min(TRANSFER_CHUNK_BYTES);
    let csr = |rows: u64, nnz: u64| 4 * (rows + 1) + 8 * nnz;

    // The graph as loaded (edges i < j, features, labels).
    let mut graph = vec![("edges", 8 * e), ("labels", 4 * n)];
    if shape.features.is_some() {
        graph.push(("features X", csr(n, x_nnz)));
        if plan.scaled_features {
            graph.push(("scaled X", csr(n, x_nnz)));
        }
    }
    let split_lists = ("split lists", 8 * e + 8 * held_out);
    // The objective's host side, held while training.
    let sampler: Vec<(&'static str, u64)> = match config.objective {
        Objective::Dense => Vec::new(),
        Objective::Sampled => vec![
            ("positive pairs", 16 * t),
            ("training edge set", pair_table(t)),
        ],
        Objective::Subgraph => vec![("neighbour lists", 4 * (n + 1) + 8 * t + 8 * n)],
    };
    // One epoch's host inputs (the sampled objective's pair rows are 8 entries per
    // training edge: 4·T pairs, each listed at both nodes).
    let epoch_inputs: Vec<(&'static str, u64)> = match config.objective {
        Objective::Dense => Vec::new(),
        Objective::Sampled => vec![("negatives", 16 * t), ("pair rows", 8 * (n + 1) + 32 * t)],
        Objective::Subgraph => vec![("sample keys", 20 * n)],
    };
    let a_hat = csr(n, n + 2 * t);
    let a_hat_build = 12 * n; // 1/√degree in f64 and the fill positions

    let mut phases = Vec::new();
    if shape.generated {
        let mut host = vec![("edges", 8 * e), ("pair table", pair_table(e))];
        if let Some((cols, nnz)) = shape.features {
            host.push(("features X", csr(n, nnz as u64) + 8 * cols as u64));
        }
        phases.push(PhaseEstimate {
            name: "generate",
            host,
            device: Vec::new(),
        });
    }
    let mut host = graph.clone();
    host.extend([
        ("edge set", pair_table(e)),
        ("shuffled edges", 8 * e),
        ("negative pairs", pair_table(held_out) + 8 * held_out),
    ]);
    phases.push(PhaseEstimate {
        name: "split",
        host,
        device: Vec::new(),
    });

    let mut host = graph.clone();
    host.push(split_lists);
    host.extend(sampler.iter().copied());
    host.push(("adjacency", a_hat + a_hat_build));
    if shape.features.is_some() {
        host.push(("transposed X", csr(f, x_nnz)));
    }
    if config.objective == Objective::Dense {
        // Weighted entries (16 bytes), then the rows (4 bytes each, two offset arrays).
        host.push(("label pairs", 20 * (2 * t + n) + 8 * (n + 1)));
    }
    phases.push(PhaseEstimate {
        name: "setup",
        host,
        device: Vec::new(),
    });

    let model_shape = GraphShape {
        nodes: shape.nodes,
        train_edges: t as usize,
        features: f as usize,
        feature_nnz: x_nnz as usize,
        identity_features: shape.features.is_none(),
        subgraph: (config.objective == Objective::Subgraph).then(|| subgraph_shape(shape, config)),
        prior: config.conditional.then(|| {
            let (classes, members) = shape.train_labels.unwrap_or((1, shape.nodes));
            PriorShape { classes, members }
        }),
    };
    let (schedule, _) = vgae::training(config, &model_shape, profile)?;
    let train_device = pooled_bytes(&MemoryPlan::new(&schedule, true));
    let mut host = graph.clone();
    host.push(split_lists);
    host.extend(sampler.iter().copied());
    // The larger of an epoch's inputs and the evaluation's scores and their ranking.
    let evaluation = 12 * 2 * num_test + staging(4 * 2 * num_test);
    let epoch: u64 = epoch_inputs.iter().map(|&(_, b)| b).sum();
    if epoch >= evaluation {
        host.extend(epoch_inputs.iter().copied());
    } else {
        host.push(("scores and ranking", evaluation));
    }
    phases.push(PhaseEstimate {
        name: "training",
        host,
        device: vec![
            ("training tensors", train_device),
            (
                "evaluation pairs",
                [2 * num_val, 2 * num_test]
                    .iter()
                    .map(|&pairs| pool(8 * pairs) + pool(4 * pairs))
                    .sum(),
            ),
        ],
    });

    let weights = 4 * f * config.hidden as u64;
    let mut host = graph.clone();
    host.extend(sampler.iter().copied());
    host.push(("weights", weights + staging(weights)));
    phases.push(PhaseEstimate {
        name: "weights",
        host,
        device: vec![("training tensors", train_device)],
    });

    if plan.embeddings {
        let all_edges = GraphShape {
            train_edges: shape.edges,
            subgraph: None,
            ..model_shape
        };
        let (encoder, handles) = vgae::encoder(config, &all_edges)?;
        let encoder_device = pooled_bytes(&MemoryPlan::new(&encoder, true));
        let ms_cols = encoder.tensor(handles.ms).cols as u64;
        let a_all = csr(n, n + 2 * e);
        let readback = 4 * n * ms_cols + 4 * n * config.latent as u64;
        let mut host = graph.clone();
        host.push(("weights", weights));
        // Â of every edge is built before the encoder's buffers exist and dropped once
        // uploaded; the read-back embeddings come after.
        if a_all + 12 * n > readback {
            host.push(("adjacency (all edges)", a_all + 12 * n));
        } else {
            host.push(("embeddings read back", readback));
        }
        phases.push(PhaseEstimate {
            name: "embed",
            host,
            device: vec![("encoder tensors", encoder_device)],
        });
        let mut host = graph;
        host.extend([
            ("weights", 2 * weights),
            ("embeddings", 4 * n * config.latent as u64),
        ]);
        phases.push(PhaseEstimate {
            name: "write",
            host,
            device: Vec::new(),
        });
    }
    Ok(MemoryEstimate {
        shape: *shape,
        phases,
    })
}

/// Bytes the buffer pool allocates for a buffer of `bytes` (its size class; the
/// device's buffer limit is not known here, so the class is taken as allowed).
fn pool(bytes: u64) -> u64 {
    pool_class_bytes(bytes, u64::MAX)
}

/// Bytes the buffer pool allocates for a memory plan: one buffer per slot.
pub(crate) fn pooled_bytes(plan: &MemoryPlan) -> u64 {
    plan.slot_bytes.iter().map(|&b| pool(b)).sum()
}

/// The subgraph objective's sizes for the estimate: the sample (at most N) and a label
/// capacity from the mean degree (the real one, from the degrees, is a few MiB at most).
fn subgraph_shape(shape: &RunShape, config: &ModelConfig) -> SubgraphShape {
    let sample = config.sample_nodes.min(shape.nodes).max(2);
    let mean_degree = 2 * shape.edges / shape.nodes.max(1);
    SubgraphShape {
        sample,
        label_capacity: sample + (sample * (sample - 1)).min(sample * 4 * (mean_degree + 1)),
    }
}

/// Fails with [`Error::InsufficientMemory`] when the run's estimated peak exceeds
/// `available` bytes: the message gives the estimate, its peak phase and what would fit
/// (the largest graph of the same mean degree, and the subgraph objective where the
/// other objectives do not fit). `held` is what the process holds already (a loaded
/// graph), counted in the estimate and so not in `available`.
pub fn check_fits(
    estimate: &MemoryEstimate,
    plan: &RunPlan<'_>,
    profile: &AdapterProfile,
    device_is_host: bool,
    available: u64,
    held: u64,
) -> Result<()> {
    let budget = available.saturating_add(held);
    let needed = estimate.peak_resident(device_is_host);
    if needed <= budget {
        return Ok(());
    }
    let shape = estimate.shape;
    let fits = |shape: &RunShape, plan: &RunPlan<'_>| -> bool {
        estimate_run(shape, plan, profile).is_ok_and(|e| e.peak_resident(device_is_host) <= budget)
    };
    // The estimate grows with the graph: bisect the scale that fits.
    let (mut low, mut high) = (0.0f64, 1.0f64);
    for _ in 0..30 {
        let mid = (low + high) / 2.0;
        if fits(&shape.scaled(mid), plan) {
            low = mid;
        } else {
            high = mid;
        }
    }
    let smaller = shape.scaled(low);
    let mut would_fit = if low > 0.0 && smaller.nodes >= 2 {
        format!(
            "a graph of about {} nodes and {} edges (this mean degree) would fit",
            smaller.nodes, smaller.edges
        )
    } else {
        "no graph of this mean degree would fit".to_string()
    };
    if plan.train.model.objective != Objective::Subgraph {
        let mut subgraph = plan.train.clone();
        subgraph.model.objective = Objective::Subgraph;
        let other = RunPlan {
            train: &subgraph,
            ..plan.clone()
        };
        if let Ok(e) = estimate_run(&shape, &other, profile) {
            let peak = e.peak_resident(device_is_host);
            if peak <= budget {
                would_fit.push_str(&format!(
                    ", and this one would with --objective subgraph (peak {})",
                    format_gib(peak)
                ));
            }
        }
    }
    Err(Error::InsufficientMemory {
        what: format!(
            "training on {} nodes and {} edges with the {} objective, hidden width {} and \
             latent {} (estimate: {}; {})",
            shape.nodes,
            shape.edges,
            plan.train.model.objective,
            plan.train.model.hidden,
            plan.train.model.latent,
            estimate.summary(device_is_host),
            would_fit
        ),
        needed,
        available: budget,
        limit: if held > 0 {
            "available host memory and what the process holds"
        } else {
            "available host memory"
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::GraphView;
    use crate::model::inputs::{normalized_adjacency, sampled_rows};
    use crate::model::ModelSetup;
    use crate::split::split_edges_with;
    use crate::synthetic::{generate, SyntheticSpec};

    fn graph(nodes: usize, degree: f64, features: usize) -> crate::synthetic::SyntheticGraph {
        let spec = SyntheticSpec {
            nodes,
            mean_degree: degree,
            features,
            ..SyntheticSpec::default()
        };
        generate(&spec).unwrap()
    }

    fn options(objective: Objective) -> TrainOptions {
        let mut train = TrainOptions::default();
        train.model.objective = objective;
        train.model.sample_nodes = 300;
        train
    }

    fn part(phase: &PhaseEstimate, name: &str) -> u64 {
        phase
            .host
            .iter()
            .chain(&phase.device)
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("{} has no {name}: {phase:?}", phase.name))
            .1
    }

    fn phase<'e>(estimate: &'e MemoryEstimate, name: &str) -> &'e PhaseEstimate {
        estimate.phases.iter().find(|p| p.name == name).unwrap()
    }

    /// The device part is the engine's own memory plan of the model it would build
    /// (the subgraph objective's label capacity is estimated from the mean degree, a
    /// pair list of a few thousand entries here).
    #[test]
    fn device_tensors_are_the_engines_plan() {
        for features in [0, 200] {
            let g = graph(3000, 8.0, features);
            let x = g.feature_matrix();
            for objective in [Objective::Dense, Objective::Sampled, Objective::Subgraph] {
                let train = options(objective);
                let split = split_edges_with(3000, &g.edges, 0.05, 0.1, 0).unwrap();
                let view = GraphView::new(3000, &split.train, x).unwrap();
                let setup = ModelSetup::new(&train.model, view, &AdapterProfile::cpu()).unwrap();
                let engine = pooled_bytes(&MemoryPlan::new(&setup.schedule, true));
                let shape = RunShape {
                    nodes: 3000,
                    edges: g.edges.len(),
                    features: x.map(|x| (x.cols(), x.nnz())),
                    generated: true,
                    train_labels: None,
                };
                let plan = RunPlan {
                    train: &train,
                    scaled_features: false,
                    embeddings: true,
                };
                let estimate = estimate_run(&shape, &plan, &AdapterProfile::cpu()).unwrap();
                let estimated = part(phase(&estimate, "training"), "training tensors");
                let what = format!("{objective:?}, {features} features");
                if objective == Objective::Subgraph {
                    let error = (estimated as f64 - engine as f64).abs() / engine as f64;
                    assert!(error < 0.01, "{what}: {estimated} vs {engine}");
                } else {
                    assert_eq!(estimated, engine, "{what}");
                }
            }
        }
    }

    /// Host structures against the sizes of the real ones on a graph.
    #[test]
    fn host_structures_have_their_real_sizes() {
        let g = graph(4000, 10.0, 0);
        let (n, e) = (4000u64, g.edges.len() as u64);
        let split = split_edges_with(4000, &g.edges, 0.05, 0.1, 0).unwrap();
        let lists = [
            &split.train,
            &split.val_pos,
            &split.val_neg,
            &split.test_pos,
            &split.test_neg,
        ];
        let split_bytes: u64 = lists.iter().map(|l| 8 * l.len() as u64).sum();
        let t = split.train.len() as u64;
        let view = GraphView::new(4000, &split.train, None).unwrap();
        let a_hat = normalized_adjacency(&view).unwrap();
        let a_bytes = 4 * a_hat.row_ptr().len() as u64 + 8 * a_hat.nnz() as u64;
        let positives: Vec<(u32, u32)> = split
            .train
            .iter()
            .flat_map(|&(i, j)| [(i, j), (j, i)])
            .collect();
        let rows = sampled_rows(4000, &positives, &positives).unwrap();
        // Two offset arrays while the rows are built.
        let rows_bytes = 8 * rows.ptr.len() as u64 + 4 * rows.len() as u64;

        let shape = RunShape {
            nodes: 4000,
            edges: e as usize,
            features: None,
            generated: true,
            train_labels: None,
        };
        let train = options(Objective::Sampled);
        let plan = RunPlan {
            train: &train,
            scaled_features: false,
            embeddings: false,
        };
        let estimate = estimate_run(&shape, &plan, &AdapterProfile::cpu()).unwrap();
        let training = phase(&estimate, "training");
        assert_eq!(part(training, "split lists"), split_bytes);
        assert_eq!(part(training, "edges"), 8 * e);
        assert_eq!(part(training, "positive pairs"), 8 * positives.len() as u64);
        assert_eq!(part(training, "pair rows"), rows_bytes);
        assert_eq!(part(training, "negatives"), 8 * positives.len() as u64);
        assert_eq!(
            part(training, "training edge set"),
            PairTable::bytes_for(t as usize)
        );
        assert_eq!(
            part(phase(&estimate, "setup"), "adjacency"),
            a_bytes + 12 * n
        );
        let split_phase = phase(&estimate, "split");
        let held_out = (split.val_pos.len() + split.test_pos.len()) as u64;
        assert_eq!(
            part(split_phase, "negative pairs"),
            PairTable::bytes_for(held_out as usize) + 8 * held_out
        );
        assert!(!estimate.phases.iter().any(|p| p.name == "embed"));
    }

    /// The class-conditional prior is in the estimate: its tensors as the engine plans
    /// them where the training labels are known, every node labelled where not.
    #[test]
    fn the_conditional_prior_is_estimated() {
        let g = graph(2000, 8.0, 0);
        let split = split_edges_with(2000, &g.edges, 0.05, 0.1, 0).unwrap();
        let labels: Vec<i32> = (0..2000)
            .map(|i| if i % 3 == 0 { -1 } else { i % 5 })
            .collect();
        let mut train = options(Objective::Sampled);
        train.model.conditional = true;
        let view = GraphView::new(2000, &split.train, None)
            .unwrap()
            .with_trusted_train_labels(&labels);
        let setup = ModelSetup::new(&train.model, view, &AdapterProfile::cpu()).unwrap();
        let engine = pooled_bytes(&MemoryPlan::new(&setup.schedule, true));
        let labelled = labels.iter().filter(|&&l| l >= 0).count();
        let mut shape = RunShape {
            nodes: 2000,
            edges: g.edges.len(),
            features: None,
            generated: false,
            train_labels: Some((5, labelled)),
        };
        let plan = RunPlan {
            train: &train,
            scaled_features: false,
            embeddings: false,
        };
        let estimate = estimate_run(&shape, &plan, &AdapterProfile::cpu()).unwrap();
        assert_eq!(
            part(phase(&estimate, "training"), "training tensors"),
            engine
        );
        shape.train_labels = None;
        let unknown = estimate_run(&shape, &plan, &AdapterProfile::cpu()).unwrap();
        assert!(part(phase(&unknown, "training"), "training tensors") >= engine);
    }

    #[test]
    fn the_check_refuses_with_the_estimate_and_what_would_fit() {
        let shape = RunShape {
            nodes: 1_000_000,
            edges: 10_000_000,
            features: None,
            generated: true,
            train_labels: None,
        };
        let sampled = options(Objective::Sampled);
        let plan = RunPlan {
            train: &sampled,
            scaled_features: false,
            embeddings: false,
        };
        let profile = AdapterProfile::cpu();
        let estimate = estimate_run(&shape, &plan, &profile).unwrap();
        let peak = estimate.peak_resident(true);
        assert!(estimate.peak_resident(false) < peak);
        assert!(estimate.peak_device() > 1 << 30);
        // The peak grows with the graph.
        let smaller = estimate_run(&shape.scaled(0.5), &plan, &profile).unwrap();
        assert!(smaller.peak_resident(true) < peak);
        assert!(check_fits(&estimate, &plan, &profile, true, peak, 0).is_ok());

        let subgraph = options(Objective::Subgraph);
        let subgraph_plan = RunPlan {
            train: &subgraph,
            ..plan.clone()
        };
        let subgraph_peak = estimate_run(&shape, &subgraph_plan, &profile)
            .unwrap()
            .peak_resident(true);
        assert!(subgraph_peak < peak);
        let err = check_fits(&estimate, &plan, &profile, true, subgraph_peak, 0).unwrap_err();
        let message = err.to_string();
        for needle in [
            "1000000 nodes and 10000000 edges",
            "sampled objective, hidden width 32 and latent 16",
            "would fit",
            "--objective subgraph",
            "available host memory",
        ] {
            assert!(message.contains(needle), "{needle}: {message}");
        }
        match err {
            Error::InsufficientMemory {
                needed, available, ..
            } => {
                assert_eq!(needed, peak);
                assert_eq!(available, subgraph_peak);
            }
            other => panic!("{other:?}"),
        }
        // What would fit does fit; nothing fits in a budget below the process itself.
        let message = check_fits(&estimate, &plan, &profile, true, 1 << 20, 0)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("no graph of this mean degree"),
            "{message}"
        );
    }
}

//! `gpu-vgae`: the command line over the library. It parses arguments, calls the
//! library (`gpu_vgae::pipeline`, `gpu_vgae::train`, ...) and prints; all the work is in
//! the library.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use gpu_vgae::internal::output::to_json;
use gpu_vgae::internal::pipeline::{
    cluster, embed, links_csv, predict_links, prepare_output, read_pairs, saved_model,
    write_clusters, write_embeddings, write_report, ClusterReport, GraphRequest, KnownEdges,
    Prediction, RunSummary,
};
use gpu_vgae::internal::profile::{plot_svg, run_plan, table, EpochPlan, PlanEvent};
use gpu_vgae::{
    data_dir, score_pairs, train, ClusterMetrics, EpochReport, FeatureNormalization, Gpu,
    GpuOptions, Graph, LinkMetrics, MissingFeatures, ModelKind, Monitor, Objective, Result,
    SavedModel, ScoredPair, TopKMode, TrainOptions, TrainReport,
};

#[derive(Parser)]
#[command(
    name = "gpu-vgae",
    version,
    about = "Train (variational) graph auto-encoders for link prediction and node embeddings \
             on the GPU"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train on a dataset, an edge list or the embedded synthetic graph; report test
    /// AUC/AP (and node clustering with --cluster); save the model with --out.
    Run(Box<RunArgs>),
    /// Embed a graph with a saved model: embeddings.npy and node_ids.txt.
    Embed(Box<EmbedArgs>),
    /// Cluster the nodes of a graph embedded by a saved model (k-means on μ).
    Cluster(Box<ClusterArgs>),
    /// Rank the most likely missing links with a saved model: CSV source,target,score.
    Predict(Box<PredictArgs>),
    /// Show the GPU adapter, backend, features and limits.
    Info(InfoArgs),
    /// Time training epochs on the Planetoid graphs and a synthetic size sweep.
    Bench(BenchArgs),
}

#[derive(clap::Args)]
struct DeviceArgs {
    /// Use the adapter whose name contains this text (default: $GPU_VGAE_ADAPTER, else
    /// the most capable one).
    #[arg(long)]
    adapter: Option<String>,
    /// Backend: vulkan, metal or dx12 (default: $GPU_VGAE_BACKEND, else any).
    #[arg(long)]
    backend: Option<String>,
}

/// Where the graph comes from.
#[derive(clap::Args)]
struct GraphArgs {
    /// Planetoid dataset: cora, citeseer or pubmed (in datasets/planetoid).
    #[arg(long, conflicts_with = "edges")]
    dataset: Option<String>,
    /// Directory of the Planetoid files (default: $GPU_VGAE_DATA_DIR, else the
    /// repository's datasets/planetoid).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Your own graph: an edge list (CSV, TSV or whitespace; # comments; optional header;
    /// integer or string node ids) or a .npy int array of shape (E, 2) or (2, E).
    #[arg(long)]
    edges: Option<PathBuf>,
    /// Node features for --edges: a dense .npy matrix or a sparse .mtx file (row i =
    /// node i), or a CSV/TSV table whose id column matches the edge list's node ids.
    #[arg(long, requires = "edges")]
    features: Option<PathBuf>,
    /// Nodes without a row in a keyed features table: an error, or zero features.
    #[arg(long, default_value = "error", value_parser = choice::<MissingFeatures>())]
    missing_features: MissingFeatures,
    /// Feature scaling: none, row (each row divided by its sum, PyG's
    /// NormalizeFeatures) or standard (columns to zero mean and unit variance; sparse
    /// features scaled only).
    #[arg(long, default_value = "none", value_parser = choice::<FeatureNormalization>())]
    normalize_features: FeatureNormalization,
}

impl GraphArgs {
    fn request(&self) -> GraphRequest {
        let mut request = GraphRequest::default();
        request.dataset.clone_from(&self.dataset);
        request.data_dir.clone_from(&self.data_dir);
        request.edges.clone_from(&self.edges);
        request.features.clone_from(&self.features);
        request.missing_features = self.missing_features;
        request.normalization = self.normalize_features;
        request
    }
}

#[derive(clap::Args)]
struct RunArgs {
    #[command(flatten)]
    graph: GraphArgs,
    /// Node labels for --edges: lines `node_id label` (integer classes or names).
    #[arg(long, requires = "edges")]
    labels: Option<PathBuf>,
    /// Labels training may use (the conditional prior's): lines `node_id label`.
    /// Planetoid graphs come with their semi-supervised ones.
    #[arg(long)]
    train_labels: Option<PathBuf>,
    /// Nodes of the embedded synthetic graph (used without --dataset and --edges).
    #[arg(long, default_value_t = 2000)]
    synthetic_nodes: usize,
    /// Mean degree of the synthetic graph.
    #[arg(long, default_value_t = 4.0)]
    synthetic_degree: f64,
    /// Model.
    #[arg(long, default_value = "vgae", value_parser = choice::<ModelKind>())]
    model: ModelKind,
    /// Objective: dense (the paper's, all N² pairs), sampled (negative sampling) or
    /// subgraph (the dense objective on a degree-sampled subgraph each epoch, FastGAE).
    #[arg(long, default_value = "dense", value_parser = choice::<Objective>())]
    objective: Objective,
    /// Subgraph objective: nodes drawn per epoch (all nodes with an edge, if fewer).
    #[arg(long, default_value_t = 5000)]
    sample_nodes: usize,
    /// Subgraph objective: draw probability proportional to degree^alpha (0: uniform).
    #[arg(long, default_value_t = 2.0)]
    alpha: f64,
    /// VGAE with the class-conditional prior N(m_y, I) for nodes with a training label.
    #[arg(long)]
    conditional: bool,
    /// Training epochs.
    #[arg(long, default_value_t = 200)]
    epochs: u32,
    /// Adam learning rate.
    #[arg(long, default_value_t = 0.01)]
    lr: f32,
    /// Hidden width.
    #[arg(long, default_value_t = 32)]
    hidden: usize,
    /// Latent width (at most 64).
    #[arg(long, default_value_t = 16)]
    latent: usize,
    /// Seed of the split, the initialisation, every ε, the negatives and the samples.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Ignore node features (identity features, as the paper's "no features" rows).
    #[arg(long)]
    featureless: bool,
    /// Validation metrics every this many epochs (0: only at the end; default 10, or 1
    /// with --patience).
    #[arg(long)]
    eval_every: Option<u32>,
    /// Early stopping: stop when validation AUC (see --monitor) has not improved for
    /// this many epochs, and keep the best weights.
    #[arg(long)]
    patience: Option<u32>,
    /// The validation metric early stopping watches.
    #[arg(long, default_value = "auc", value_parser = choice::<Monitor>())]
    monitor: Monitor,
    /// Cluster the nodes (k-means on the embeddings): ACC, NMI, ARI, F1 against the
    /// labels; clusters.csv with --out.
    #[arg(long)]
    cluster: bool,
    /// Clusters k (default: the number of classes).
    #[arg(long)]
    clusters: Option<usize>,
    /// Write model.gvae, embeddings.npy, node_ids.txt, metrics.json (and clusters.csv)
    /// into this directory.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print the final report as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    device: DeviceArgs,
}

#[derive(clap::Args)]
struct EmbedArgs {
    /// A model saved by `run --out DIR` (DIR/model.gvae).
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    graph: GraphArgs,
    /// Write embeddings.npy and node_ids.txt into this directory.
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    device: DeviceArgs,
}

#[derive(clap::Args)]
struct ClusterArgs {
    /// A model saved by `run --out DIR` (DIR/model.gvae).
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    graph: GraphArgs,
    /// Node labels for --edges: lines `node_id label` (integer classes or names).
    #[arg(long, requires = "edges")]
    labels: Option<PathBuf>,
    /// Clusters k (default: the number of classes).
    #[arg(long)]
    clusters: Option<usize>,
    /// Seed of k-means.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Write clusters.csv and metrics.json into this directory.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    device: DeviceArgs,
}

#[derive(clap::Args)]
struct PredictArgs {
    /// A model saved by `run --out DIR` (DIR/model.gvae).
    #[arg(long)]
    model: PathBuf,
    #[command(flatten)]
    graph: GraphArgs,
    /// The K most likely missing links (pairs that are not known edges).
    #[arg(long, required_unless_present = "pairs", conflicts_with = "pairs")]
    top_k: Option<usize>,
    /// Score these pairs instead (one per line: two node ids, as in the edge list).
    #[arg(long)]
    pairs: Option<PathBuf>,
    /// K per node instead of K overall.
    #[arg(long)]
    per_node: bool,
    /// Which edges count as known: all of the graph's, or the training edges of the
    /// model's split (then the recall of the held-out test edges is reported).
    #[arg(long, default_value = "all", value_parser = choice::<KnownEdges>())]
    known: KnownEdges,
    /// Write the CSV here (default: standard output).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    device: DeviceArgs,
}

#[derive(clap::Args)]
struct InfoArgs {
    /// Print as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    device: DeviceArgs,
}

#[derive(clap::Args)]
struct BenchArgs {
    /// Directory of the Planetoid files (default: the repository's datasets/planetoid).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Fewer sizes and samples.
    #[arg(long)]
    quick: bool,
    /// Timed epochs per case (after two warm-up epochs).
    #[arg(long, default_value_t = 5)]
    samples: usize,
    /// Write results.json, table.md and epoch_scaling.svg into this directory.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Only cases whose name contains this text.
    #[arg(long)]
    filter: Option<String>,
    #[command(flatten)]
    device: DeviceArgs,
}

/// The library's settings enums as clap arguments: their `NAMES` are the possible values
/// (listed by `--help`), their `FromStr` the parser.
trait Choice: std::str::FromStr<Err = gpu_vgae::Error> + Clone + Send + Sync + 'static {
    const NAMES: &'static [&'static str];
}

macro_rules! choices {
    ($($ty:ty),+) => {
        $(impl Choice for $ty {
            const NAMES: &'static [&'static str] = <$ty>::NAMES;
        })+
    };
}

choices!(
    ModelKind,
    Objective,
    Monitor,
    KnownEdges,
    MissingFeatures,
    FeatureNormalization
);

fn choice<T: Choice>() -> impl clap::builder::TypedValueParser<Value = T> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(T::NAMES).try_map(|s| s.parse::<T>())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(&args),
        Command::Embed(args) => embed_command(&args),
        Command::Cluster(args) => cluster_command(&args),
        Command::Predict(args) => predict_command(&args),
        Command::Info(args) => info(&args),
        Command::Bench(args) => bench(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn open_gpu(args: &DeviceArgs) -> Result<Gpu> {
    let mut options = GpuOptions::from_env();
    if args.adapter.is_some() {
        options.adapter_name.clone_from(&args.adapter);
    }
    if args.backend.is_some() {
        options.backend.clone_from(&args.backend);
    }
    Gpu::new(&options)
}

/// Prints phases that took more than a second to stderr.
fn slow_phase(quiet: bool) -> impl Fn(&str, Duration) {
    move |phase, took| {
        if !quiet && took > Duration::from_secs(1) {
            eprintln!("{phase}: {:.1} s", took.as_secs_f64());
        }
    }
}

fn run(args: &RunArgs) -> Result<()> {
    let mut options = TrainOptions::default();
    options.model.kind = args.model;
    options.model.objective = args.objective;
    options.model.sample_nodes = args.sample_nodes;
    options.model.alpha = args.alpha;
    options.model.conditional = args.conditional;
    options.model.hidden = args.hidden;
    options.model.latent = args.latent;
    options.model.adam.lr = args.lr;
    options.model.seed = args.seed;
    options.epochs = args.epochs;
    options.patience = args.patience;
    options.monitor = args.monitor;
    options.eval_every = args
        .eval_every
        .unwrap_or(if args.patience.is_some() { 1 } else { 10 });
    options.validate()?;
    if let Some(out) = &args.out {
        prepare_output(out)?;
    }
    let talk = !args.quiet && !args.json;
    let mut request = args.graph.request();
    request.labels.clone_from(&args.labels);
    request.train_labels.clone_from(&args.train_labels);
    request.featureless = args.featureless;
    request.synthetic.nodes = args.synthetic_nodes;
    request.synthetic.mean_degree = args.synthetic_degree;
    request.synthetic.seed = args.seed;
    let graph = request.load(&slow_phase(!talk))?;
    let gpu = open_gpu(&args.device)?;
    if talk {
        eprintln!("{graph}");
        for note in &graph.notes {
            eprintln!("note: {note}");
        }
        eprintln!(
            "{} with the {} objective{} on {} ({})",
            options.model.kind,
            options.model.objective,
            if args.conditional {
                " and the class-conditional prior"
            } else {
                ""
            },
            gpu.report().name,
            gpu.report().backend
        );
    }
    let mut bar = Progress::new(talk);
    let trained = train(&gpu, graph.view(), &options, |epoch| bar.update(epoch))?;
    bar.finish();
    let report = &trained.report;
    let saved = saved_model(&graph, &trained, args.graph.normalize_features)?;
    let needs_embeddings = args.out.is_some() || args.cluster;
    let embeddings = if needs_embeddings {
        let start = std::time::Instant::now();
        let embeddings = embed(&gpu, &saved, &graph, &graph.name)?;
        slow_phase(!talk)("embed", start.elapsed());
        Some(embeddings)
    } else {
        None
    };
    let clustering = match (&embeddings, args.cluster) {
        (Some(mu), true) => Some(cluster(
            &gpu,
            mu,
            options.model.latent,
            graph.labels.as_deref(),
            args.conditional
                .then_some(graph.train_labels.as_deref())
                .flatten(),
            args.clusters,
            args.seed,
        )?),
        _ => None,
    };
    let summary = RunSummary {
        dataset: &graph.name,
        num_edges: graph.num_edges(),
        report,
        clustering: clustering.as_ref(),
    };
    if let (Some(out), Some(mu)) = (&args.out, &embeddings) {
        let start = std::time::Instant::now();
        saved.save(&out.join("model.gvae"))?;
        write_embeddings(out, &graph, mu, options.model.latent)?;
        if let Some(c) = &clustering {
            write_clusters(out, &graph, c)?;
        }
        write_report(out, "metrics.json", &summary)?;
        slow_phase(!talk)("write", start.elapsed());
    }
    if args.json {
        println!("{}", to_json(&summary)?);
    } else {
        print_summary(report);
        if let Some(c) = &clustering {
            print_clustering(c);
        }
        if let Some(out) = &args.out {
            println!("wrote {}", out.display());
        }
    }
    Ok(())
}

/// Loads a saved model and the graph the flags describe, with the model's feature
/// scaling unless the flags say otherwise.
fn model_and_graph(model: &Path, graph: &GraphArgs) -> Result<(SavedModel, Graph)> {
    let saved = SavedModel::load(model)?;
    let mut request = graph.request();
    if graph.normalize_features == FeatureNormalization::None {
        request.normalization = saved
            .header
            .feature_normalization
            .parse()
            .unwrap_or(FeatureNormalization::None);
    }
    request.featureless = saved.header.featureless;
    if request.dataset.is_none() && request.edges.is_none() {
        return Err(gpu_vgae::Error::InvalidConfig {
            setting: "graph",
            message: "say which graph to use: --dataset NAME or --edges FILE".into(),
        });
    }
    let graph = request.load(&slow_phase(false))?;
    Ok((saved, graph))
}

fn embed_command(args: &EmbedArgs) -> Result<()> {
    prepare_output(&args.out)?;
    let (saved, graph) = model_and_graph(&args.model, &args.graph)?;
    let gpu = open_gpu(&args.device)?;
    let source = args
        .graph
        .edges
        .as_ref()
        .map_or_else(|| graph.name.clone(), |p| p.display().to_string());
    let embeddings = embed(&gpu, &saved, &graph, &source)?;
    write_embeddings(&args.out, &graph, &embeddings, saved.header.config.latent)?;
    println!(
        "embedded {} nodes ({} x {}) with {}; wrote {}",
        graph.num_nodes,
        graph.num_nodes,
        saved.header.config.latent,
        args.model.display(),
        args.out.display()
    );
    Ok(())
}

fn cluster_command(args: &ClusterArgs) -> Result<()> {
    if let Some(out) = &args.out {
        prepare_output(out)?;
    }
    let (saved, mut graph) = model_and_graph(&args.model, &args.graph)?;
    if let Some(path) = &args.labels {
        graph.labels = Some(gpu_vgae::read_labels(path, &graph)?.labels);
    }
    let gpu = open_gpu(&args.device)?;
    let embeddings = embed(&gpu, &saved, &graph, &graph.name)?;
    let report = cluster(
        &gpu,
        &embeddings,
        saved.header.config.latent,
        graph.labels.as_deref(),
        None,
        args.clusters,
        args.seed,
    )?;
    print_clustering(&report);
    if let Some(out) = &args.out {
        write_clusters(out, &graph, &report)?;
        write_report(out, "metrics.json", &report)?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

fn predict_command(args: &PredictArgs) -> Result<()> {
    if args.top_k == Some(0) {
        return Err(gpu_vgae::Error::InvalidConfig {
            setting: "top_k",
            message: "the number of links to return must be at least 1".into(),
        });
    }
    if let Some(parent) = args.out.as_deref().and_then(Path::parent) {
        if !parent.as_os_str().is_empty() {
            prepare_output(parent)?;
        }
    }
    let (saved, graph) = model_and_graph(&args.model, &args.graph)?;
    let gpu = open_gpu(&args.device)?;
    let mode = if args.per_node {
        TopKMode::PerNode
    } else {
        TopKMode::Global
    };
    let prediction = match (&args.pairs, args.top_k) {
        (Some(path), _) => {
            let pairs = read_pairs(path, &graph)?;
            let mu = embed(&gpu, &saved, &graph, &graph.name)?;
            let latent = saved.header.config.latent;
            let scores = score_pairs(&gpu, &mu, graph.num_nodes, latent, &pairs)?;
            let links = pairs
                .iter()
                .zip(scores)
                .map(|(&(source, target), score)| ScoredPair {
                    source,
                    target,
                    logit: (score / (1.0 - score)).ln(),
                    score,
                })
                .collect();
            Prediction {
                links,
                recall: None,
            }
        }
        (None, Some(k)) => predict_links(&gpu, &saved, &graph, args.known, k, mode)?,
        (None, None) => unreachable!("clap requires --top-k or --pairs"),
    };
    let csv = links_csv(&graph, &prediction.links);
    match &args.out {
        Some(path) => {
            gpu_vgae::internal::output::write_atomic(path, csv.as_bytes())?;
            eprintln!(
                "wrote {} links to {}",
                prediction.links.len(),
                path.display()
            );
        }
        None => print!("{csv}"),
    }
    if let Some((found, held_out, candidates)) = prediction.recall {
        let k = prediction.links.len() as f64;
        eprintln!(
            "recall@{}: {found} of the {held_out} held-out test edges ({:.4}); chance \
             would find {:.2} ({:.6})",
            prediction.links.len(),
            found as f64 / held_out.max(1) as f64,
            k * held_out as f64 / candidates.max(1) as f64,
            k / candidates.max(1) as f64
        );
    }
    Ok(())
}

fn info(args: &InfoArgs) -> Result<()> {
    let gpu = open_gpu(&args.device)?;
    let report = gpu.report();
    if args.json {
        println!("{}", to_json(report)?);
        return Ok(());
    }
    println!("adapter:   {}", report.name);
    println!("backend:   {} ({})", report.backend, report.device_type);
    println!("driver:    {} {}", report.driver, report.driver_info);
    let yes_no = |on: bool| if on { "yes" } else { "no" };
    println!(
        "features:  SHADER_F16 {}, SUBGROUP {}, TIMESTAMP_QUERY {}",
        yes_no(report.shader_f16),
        if report.subgroups {
            format!(
                "yes (subgroup size {}..={})",
                report.subgroup_size[0], report.subgroup_size[1]
            )
        } else {
            "no".to_string()
        },
        yes_no(report.timestamp_queries)
    );
    match gpu.profile().subgroup_size() {
        Some(size) => println!("subgroups: the kernels' subgroup layouts run (size {size})"),
        None => println!("subgroups: the kernels run without subgroup operations"),
    }
    println!(
        "limits:    storage binding {} MiB (larger tensors are split into windows aligned \
         to {} bytes), buffer {} MiB, {} storage buffers per stage, {} workgroups per \
         dimension, {} invocations per workgroup",
        report.max_storage_buffer_binding_size >> 20,
        report.min_storage_buffer_offset_alignment,
        report.max_buffer_size >> 20,
        report.max_storage_buffers_per_shader_stage,
        report.max_compute_workgroups_per_dimension,
        report.max_compute_invocations_per_workgroup
    );
    println!("profile:   {:?}", gpu.profile());
    Ok(())
}

fn bench(args: &BenchArgs) -> Result<()> {
    if let Some(out) = &args.out {
        prepare_output(out)?;
    }
    let gpu = open_gpu(&args.device)?;
    let report = gpu.report();
    println!(
        "adapter: {} ({}, {}), driver: {} {}; timing: wall clock per epoch (submit + wait), \
         kernel breakdown from GPU timestamps{}",
        report.name,
        report.backend,
        report.device_type,
        report.driver,
        report.driver_info,
        if report.timestamp_queries {
            ""
        } else {
            " (unavailable on this device)"
        }
    );
    let mut plan = EpochPlan::new(data_dir(args.data_dir.as_deref()));
    plan.quick = args.quick;
    plan.samples = args.samples;
    plan.filter.clone_from(&args.filter);
    let results = run_plan(&gpu, &plan, |event| match event {
        PlanEvent::Starting(name, objective) => eprintln!("timing {name} ({objective})..."),
        PlanEvent::Finished(result) => println!(
            "{}",
            table(std::slice::from_ref(result))
                .lines()
                .nth(2)
                .unwrap_or_default()
        ),
        PlanEvent::Skipped(name, error) => eprintln!("skipping {name}: {error}"),
    })?;
    let markdown = table(&results.results);
    println!("\n{markdown}");
    if let Some(out) = &args.out {
        write_report(out, "results.json", &results.results)?;
        gpu_vgae::internal::output::write_atomic(&out.join("table.md"), markdown.as_bytes())?;
        let title = format!("VGAE epoch time vs N on {}", report.name);
        gpu_vgae::internal::output::write_atomic(
            &out.join("epoch_scaling.svg"),
            plot_svg(&title, &results.series).as_bytes(),
        )?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

fn print_summary(report: &TrainReport) {
    for note in &report.notes {
        println!("note: {note}");
    }
    let show = |name: &str, m: &Option<LinkMetrics>| match m {
        Some(m) => println!("{name:<5} AUC {:.4}  AP {:.4}", m.auc, m.ap),
        None => println!("{name:<5} (no held-out edges)"),
    };
    show("val", &report.val);
    show("test", &report.test);
    if report.options.patience.is_some() {
        println!(
            "early stopping: best validation at epoch {} of {} run{}",
            report.best_epoch,
            report.epochs_run,
            if report.stopped_early {
                " (stopped early)"
            } else {
                ""
            }
        );
    }
    println!(
        "loss {:.5} (reconstruction {:.5}, KL {:.5})",
        report.final_loss.total, report.final_loss.reconstruction, report.final_loss.kl
    );
    println!(
        "time: setup {:.2} s, training {:.2} s ({:.1} ms/epoch, {} dispatches/epoch), \
         evaluation {:.2} s; device memory {:.1} MiB on {}",
        report.setup_seconds,
        report.train_seconds,
        1e3 * report.train_seconds / f64::from(report.epochs_run.max(1)),
        report.dispatches_per_epoch,
        report.eval_seconds,
        report.device_bytes as f64 / (1 << 20) as f64,
        report.adapter.name
    );
}

fn print_clustering(report: &ClusterReport) {
    let show = |what: &str, m: &ClusterMetrics| {
        println!(
            "clustering ({what}, k = {}): ACC {:.4}  NMI {:.4}  ARI {:.4}  F1 {:.4}  \
             ({} nodes, {} classes)",
            m.clusters, m.acc, m.nmi, m.ari, m.f1, m.labelled, m.classes
        )
    };
    if let Some(m) = &report.all_labelled {
        show("all labelled nodes", m);
    }
    if let Some(m) = &report.unseen_labels {
        show("nodes whose labels were not used in training", m);
    }
    if let Some(s) = report.silhouette {
        println!(
            "clustering (k = {}): inertia {:.4}, silhouette {:.4}",
            report.k, report.inertia, s
        );
    }
}

/// A one-line progress bar on stderr (redrawn in place on a terminal, a line per
/// evaluation otherwise).
struct Progress {
    enabled: bool,
    terminal: bool,
    last: String,
}

impl Progress {
    fn new(enabled: bool) -> Self {
        Progress {
            enabled,
            terminal: std::io::stderr().is_terminal(),
            last: String::new(),
        }
    }

    fn update(&mut self, e: &EpochReport) {
        if !self.enabled {
            return;
        }
        if let (Some(loss), Some(val)) = (e.loss, e.val) {
            self.last = format!(
                "loss {:.4}  val AUC {:.4} AP {:.4}",
                loss.total, val.auc, val.ap
            );
        } else if let Some(loss) = e.loss {
            self.last = format!("loss {:.4}", loss.total);
        }
        let width = 30;
        let filled = (width * e.epoch as usize) / e.epochs.max(1) as usize;
        let line = format!(
            "[{}{}] {:>4}/{} {}  {:.1} s",
            "#".repeat(filled),
            ".".repeat(width - filled),
            e.epoch,
            e.epochs,
            self.last,
            e.elapsed.as_secs_f64()
        );
        let mut err = std::io::stderr();
        if self.terminal {
            let _ = write!(err, "\r{line}\x1b[K");
            let _ = err.flush();
        } else if e.loss.is_some() {
            let _ = writeln!(err, "{line}");
        }
    }

    fn finish(&self) {
        if self.enabled && self.terminal {
            eprintln!();
        }
    }
}

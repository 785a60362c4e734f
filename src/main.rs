//! `gpu-vgae`: the command line over the library. It parses flags into the library's
//! option structs (`GraphSource`, `RunOptions`, `PredictOptions`, ...), calls
//! `gpu_vgae::run` and the saved model's tasks, and prints; all the work is in the
//! library. Settings are checked before a device is opened; Ctrl-C and SIGTERM set a
//! flag that stops the run between epochs, phases and files, so that no temporary file
//! or directory outlives the process (a second signal exits at once; the next writer to
//! the same directory removes what was left).

use std::io::{IsTerminal, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};

use gpu_vgae::internal::cluster::fit::PhaseTime;
use gpu_vgae::internal::cluster::ClusterMetrics;
use gpu_vgae::internal::gpu::AdapterProfile;
use gpu_vgae::internal::memory::device_memory_is_host;
use gpu_vgae::internal::memory::RunShape;
use gpu_vgae::internal::metrics::LinkMetrics;
use gpu_vgae::internal::output_set::{write_result_file, OutputSet};
use gpu_vgae::internal::profile::{plot_svg, run_plan, table, EpochPlan, PlanEvent};
use gpu_vgae::internal::run::ClusterReport;
use gpu_vgae::internal::run::{read_pairs, to_json, trace_estimate};
use gpu_vgae::{
    cluster_fit, data_dir, run as run_pipeline, ClusterFitOptions, ClusterOptions, EmbeddingsDtype,
    EpochReport, Error, FeatureNormalization, FitEvent, Gpu, GpuOptions, Graph, GraphSource,
    KnownEdges, MissingFeatures, ModelKind, Monitor, Objective, OutputDir, Precision,
    PredictOptions, Result, RunEvent, RunOptions, SavedModel, TopKMode, TrainReport, WriteOptions,
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
    /// Cluster the nodes of a graph: train and cluster with a method (the best
    /// label-free one unless --method says), or k-means on a saved model's embeddings
    /// (--model).
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
    /// features scaled only). `run`: none unless given; with a saved model: the model's
    /// unless given.
    #[arg(long, value_parser = choice::<FeatureNormalization>())]
    normalize_features: Option<FeatureNormalization>,
}

impl GraphArgs {
    fn source(&self) -> GraphSource {
        let mut source = GraphSource::default();
        source.dataset.clone_from(&self.dataset);
        source.data_dir.clone_from(&self.data_dir);
        source.edges.clone_from(&self.edges);
        source.features.clone_from(&self.features);
        source.missing_features = self.missing_features;
        source
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
    /// Subgraph objective: nodes drawn per epoch (default 5000; all nodes with an edge,
    /// if fewer).
    #[arg(long)]
    sample_nodes: Option<usize>,
    /// Subgraph objective: draw probability proportional to degree^alpha (default 2;
    /// 0: uniform).
    #[arg(long)]
    alpha: Option<f64>,
    /// VGAE with the class-conditional prior N(m_y, I) for nodes with a training label.
    #[arg(long)]
    conditional: bool,
    /// How the decoders, the pair scores and the top-k search store Z (and μ): f32, or
    /// f16 (half the bytes they read, products and sums still f32; needs an adapter
    /// with SHADER_F16, see `gpu-vgae info`). Saved in model.gvae: `predict` ranks as
    /// the model was trained.
    #[arg(long, default_value = "f32", value_parser = choice::<Precision>())]
    precision: Precision,
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
    #[arg(long, conflicts_with = "features")]
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
    /// Clusters k (default: the number of classes); implies --cluster.
    #[arg(long)]
    clusters: Option<usize>,
    /// L2-normalise each embedding row before k-means (default: see `gpu-vgae run
    /// --help`'s clustering defaults in README).
    #[arg(long, value_name = "true|false")]
    normalize_embeddings: Option<bool>,
    /// Write model.gvae, embeddings.npy, node_ids.txt, metrics.json, training.svg,
    /// embeddings.svg (and clusters.csv) and manifest.json into this directory, replacing
    /// it as one set.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Element type of embeddings.npy: f32 (`<f4`) or f16 (`<f2`, half the size).
    #[arg(long, requires = "out", value_parser = choice::<EmbeddingsDtype>())]
    embeddings_dtype: Option<EmbeddingsDtype>,
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
    /// Write embeddings.npy, node_ids.txt and manifest.json into this directory,
    /// replacing it as one set.
    #[arg(long)]
    out: PathBuf,
    /// Element type of embeddings.npy: f32 (`<f4`) or f16 (`<f2`, half the size).
    #[arg(long, default_value = "f32", value_parser = choice::<EmbeddingsDtype>())]
    embeddings_dtype: EmbeddingsDtype,
    #[command(flatten)]
    device: DeviceArgs,
}

/// Which of a method's published settings `cluster --method ns4gc|magi` trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum PublishedSetting {
    /// Both, the lower Davies–Bouldin index kept.
    Auto,
    /// Cora's.
    Cora,
    /// Citeseer's.
    Citeseer,
}

impl PublishedSetting {
    /// From the published settings [Cora's, Citeseer's]: both, or the one named.
    fn pick<T>(self, mut published: Vec<T>) -> Vec<T> {
        match self {
            PublishedSetting::Auto => published,
            PublishedSetting::Cora => {
                published.truncate(1);
                published
            }
            PublishedSetting::Citeseer => published.split_off(1.min(published.len())),
        }
    }
}

#[derive(clap::Args)]
struct ClusterArgs {
    /// Cluster with a model saved by `run --out DIR` (DIR/model.gvae): k-means on its
    /// embeddings of the graph. Without it, a method trains and clusters (--method).
    #[arg(long, conflicts_with_all = ["method", "order", "epochs", "dim"])]
    model: Option<PathBuf>,
    /// The clustering method: ns4gc (the default: the best label-free method within a
    /// minute on lavapipe), s2gc, agc, scgc, magi, vgae, gae, dfcn.
    #[arg(long)]
    method: Option<String>,
    #[command(flatten)]
    graph: GraphArgs,
    /// Node labels for --edges: lines `node_id label` (integer classes or names).
    #[arg(long, requires = "edges")]
    labels: Option<PathBuf>,
    /// Clusters k (default: the number of classes).
    #[arg(long)]
    clusters: Option<usize>,
    /// Seed of everything random (SVD, k-means, training).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// The filter methods' order K (default: chosen by the intra-cluster rule); scgc's
    /// filter power t (default 2).
    #[arg(long)]
    order: Option<usize>,
    /// The trained methods' epochs (default: vgae, gae and dfcn 200, scgc 100; ns4gc's
    /// two candidate settings 200 and 50, magi's 400 and 400; this sets both).
    #[arg(long)]
    epochs: Option<u32>,
    /// DFCN's pretrained weights (.npz, README "DFCN"); without it DFCN pretrains.
    #[arg(long, value_name = "FILE.npz", conflicts_with = "model")]
    pretrained: Option<PathBuf>,
    /// scgc's embedding columns (default 256); the last layer's width of each of ns4gc's
    /// candidate settings (default 64 and 256) and magi's (512 and 512).
    #[arg(long)]
    dim: Option<usize>,
    /// ns4gc's setting: `auto` trains NS4GC's published Cora and Citeseer settings and
    /// keeps the lower Davies–Bouldin index; `cora` or `citeseer` trains that one only.
    #[arg(long, value_enum, default_value_t = PublishedSetting::Auto)]
    ns4gc_setting: PublishedSetting,
    /// magi's setting: `auto` trains MAGI's published Cora and Citeseer settings and
    /// keeps the lower Davies–Bouldin index; `cora` or `citeseer` trains that one only.
    #[arg(long, value_enum, default_value_t = PublishedSetting::Auto)]
    magi_setting: PublishedSetting,
    /// L2-normalise each embedding row before k-means (the filters always do).
    #[arg(long, value_name = "true|false")]
    normalize_embeddings: Option<bool>,
    /// Write clusters.csv, embeddings.npy, node_ids.txt, metrics.json, embeddings.svg
    /// and manifest.json into this directory, replacing it as one set.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print metrics.json's report on stdout.
    #[arg(long)]
    json: bool,
    /// No progress output.
    #[arg(long)]
    quiet: bool,
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
    /// Write the CSV here (default: standard output). A regular file is replaced
    /// atomically; a symlink is followed (its target replaced); a device such as
    /// /dev/null or /dev/stdout is written to.
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
    /// Write results.json, table.md, epoch_scaling.svg and manifest.json into this
    /// directory, replacing it as one set.
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
    Precision,
    EmbeddingsDtype,
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
    let stop = match install_signal_flag() {
        Ok(stop) => stop,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Run(args) => run(&args, &stop),
        Command::Embed(args) => embed_command(&args, &stop),
        Command::Cluster(args) => cluster_command(&args, &stop),
        Command::Predict(args) => predict_command(&args),
        Command::Info(args) => info(&args),
        Command::Bench(args) => bench(&args, &stop),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            match e {
                // The shell's convention for a process stopped by SIGINT.
                Error::Interrupted { .. } => ExitCode::from(130),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

/// A flag that SIGINT, SIGTERM (and SIGHUP where it exists) set; a second signal while
/// it is set exits at once (status 1). signal-hook's handlers only store to atomics.
fn install_signal_flag() -> Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    for &signal in signal_hook::consts::TERM_SIGNALS {
        let io = |source| Error::Io {
            path: "<signal handler>".into(),
            source,
        };
        signal_hook::flag::register_conditional_shutdown(signal, 1, flag.clone()).map_err(io)?;
        signal_hook::flag::register(signal, flag.clone()).map_err(io)?;
    }
    Ok(flag)
}

/// Stops (between epochs, phases, files) once a signal arrived.
fn go_on(stop: &AtomicBool) -> ControlFlow<()> {
    if stop.load(Ordering::SeqCst) {
        ControlFlow::Break(())
    } else {
        ControlFlow::Continue(())
    }
}

/// What a set records as its command: this process's arguments.
fn write_options(stop: &Arc<AtomicBool>) -> WriteOptions {
    WriteOptions::default()
        .with_command(std::env::args().collect())
        .with_interrupt(stop.clone())
}

fn open_gpu(args: &DeviceArgs) -> Result<Gpu> {
    Gpu::new(&gpu_options(args))
}

fn gpu_options(args: &DeviceArgs) -> GpuOptions {
    let mut options = GpuOptions::from_env();
    if args.adapter.is_some() {
        options.adapter_name.clone_from(&args.adapter);
    }
    if args.backend.is_some() {
        options.backend.clone_from(&args.backend);
    }
    options
}

/// The synthetic graph's memory estimate from its shape, before it is generated:
/// printed (unless quiet) and checked against the available memory, the device's memory
/// counted as host memory on a CPU adapter (lavapipe). The adapter is only looked up; if
/// that fails, the device is not counted and opening it reports the failure later.
fn check_generated_memory(
    shape: &RunShape,
    options: &RunOptions,
    device: &DeviceArgs,
    talk: bool,
) -> Result<()> {
    let device_type = Gpu::probe_device_type(&gpu_options(device)).ok();
    let device_is_host = device_type.as_deref().is_some_and(device_memory_is_host);
    let profile = match device_type.as_deref() {
        Some("Cpu") | None => AdapterProfile::cpu(),
        Some(_) => AdapterProfile::gpu(),
    };
    let estimate = options.memory_estimate(shape, &profile)?;
    if talk {
        eprintln!("memory estimate: {}", estimate.summary(device_is_host));
    }
    trace_estimate(&estimate, device_is_host);
    options.check_memory(&estimate, &profile, device_is_host)
}

/// Prints phases that took more than a second to stderr.
fn slow_phase(quiet: bool) -> impl FnMut(&str, Duration) {
    move |phase, took| {
        if !quiet && took > Duration::from_secs(1) {
            eprintln!("{phase}: {:.1} s", took.as_secs_f64());
        }
    }
}

/// The run's settings from its flags; refuses flags that the chosen settings would
/// ignore.
fn run_options(args: &RunArgs) -> Result<RunOptions> {
    let mut options = RunOptions::default();
    let train = &mut options.train;
    let model = &mut train.model;
    model.kind = args.model;
    model.objective = args.objective;
    for (flag, given) in [
        ("sample_nodes", args.sample_nodes.is_some()),
        ("alpha", args.alpha.is_some()),
    ] {
        if given && args.objective != Objective::Subgraph {
            return Err(Error::InvalidConfig {
                setting: flag,
                message: format!(
                    "--{} applies only to the subgraph objective (--objective subgraph); \
                     the {} objective does not sample nodes",
                    flag.replace('_', "-"),
                    args.objective
                ),
            });
        }
    }
    if let Some(n) = args.sample_nodes {
        model.sample_nodes = n;
    }
    if let Some(alpha) = args.alpha {
        model.alpha = alpha;
    }
    model.conditional = args.conditional;
    model.precision = args.precision;
    model.hidden = args.hidden;
    model.latent = args.latent;
    model.adam.lr = args.lr;
    model.seed = args.seed;
    train.epochs = args.epochs;
    train.patience = args.patience;
    train.monitor = args.monitor;
    train.eval_every = args
        .eval_every
        .unwrap_or(if args.patience.is_some() { 1 } else { 10 });
    options.feature_normalization = args
        .graph
        .normalize_features
        .unwrap_or(FeatureNormalization::None);
    options.featureless = args.featureless;
    options.embeddings = args.out.is_some();
    if args.cluster || args.clusters.is_some() {
        let mut cluster = ClusterOptions::default();
        cluster.k = args.clusters;
        cluster.seed = args.seed;
        if let Some(normalize) = args.normalize_embeddings {
            cluster.normalize = normalize;
        }
        options.cluster = Some(cluster);
    }
    options.train.validate()?;
    Ok(options)
}

fn run(args: &RunArgs, stop: &Arc<AtomicBool>) -> Result<()> {
    let options = run_options(args)?;
    // Claimed before any work: a second writer is refused at once, an unusable
    // directory fails in a second rather than after training.
    let out = args.out.as_deref().map(OutputDir::claim).transpose()?;
    let talk = !args.quiet && !args.json;
    let mut source = args.graph.source();
    source.labels.clone_from(&args.labels);
    source.train_labels.clone_from(&args.train_labels);
    source.synthetic.nodes = args.synthetic_nodes;
    source.synthetic.mean_degree = args.synthetic_degree;
    source.synthetic.seed = args.seed;
    if args.featureless {
        source.synthetic.features = 0;
    }
    // The synthetic graph's memory is known before it is generated: estimated, shown and
    // checked before any large allocation (other graphs once loaded, in the run).
    let generated = source.generated_shape(args.featureless);
    if let Some(shape) = &generated {
        check_generated_memory(shape, &options, &args.device, talk)?;
    }
    let graph = source.load_timed(&mut slow_phase(!talk))?;
    options.check(&graph)?;
    let gpu = open_gpu(&args.device)?;
    if talk {
        eprintln!("{graph}");
        for note in &graph.notes {
            eprintln!("note: {note}");
        }
        let model = &options.train.model;
        eprintln!(
            "{} with the {} objective{}{}{} on {} ({})",
            model.kind,
            model.objective,
            if model.conditional {
                " and the class-conditional prior"
            } else {
                ""
            },
            match model.precision {
                Precision::F32 => "",
                Precision::F16 => ", Z stored in f16",
            },
            if args.featureless && graph.features.is_some() {
                ", without the graph's features"
            } else {
                ""
            },
            gpu.report().name,
            gpu.report().backend
        );
    }
    let mut bar = Progress::new(talk);
    let mut phase = slow_phase(!talk);
    let output = run_pipeline(&gpu, &graph, &options, |event| {
        match event {
            RunEvent::Memory {
                estimate,
                device_is_host,
            } => {
                if talk && generated.is_none() {
                    eprintln!("memory estimate: {}", estimate.summary(device_is_host));
                }
                // A signal is heard at the end of an epoch, as it always was (the run
                // then says after which epoch it stopped).
                return ControlFlow::Continue(());
            }
            RunEvent::Epoch(e) => bar.update(e),
            RunEvent::Phase { name, took } => {
                if name == "train" {
                    bar.finish();
                } else {
                    phase(name, took);
                }
            }
            _ => {}
        }
        go_on(stop)
    })?;
    if let Some(out) = out {
        let start = std::time::Instant::now();
        let dtype = args.embeddings_dtype.unwrap_or_default();
        output.write_to(out, &write_options(stop).with_embeddings_dtype(dtype))?;
        phase("write", start.elapsed());
    }
    if args.json {
        print!("{}", output.summary_json()?);
    } else {
        print_summary(&output.report);
        if let Some(c) = &output.clustering {
            print_clustering(c);
        }
        if let Some(out) = &args.out {
            println!("wrote {}", out.display());
        }
    }
    Ok(())
}

/// Loads a saved model and the graph the flags describe. Refuses --features for a
/// model trained without features (they would be ignored).
fn model_and_graph(model: &Path, graph: &GraphArgs) -> Result<(SavedModel, Graph)> {
    let saved = SavedModel::load(model)?;
    if saved.header.featureless && graph.features.is_some() {
        return Err(Error::InvalidConfig {
            setting: "features",
            message: format!(
                "{} was trained without features (its input is the identity); --features \
                 would be ignored, so leave it out",
                model.display()
            ),
        });
    }
    let source = graph.source();
    if !source.is_named() {
        return Err(Error::InvalidConfig {
            setting: "graph",
            message: "say which graph to use: --dataset NAME or --edges FILE".into(),
        });
    }
    let graph = source.load_timed(&mut slow_phase(false))?;
    Ok((saved, graph))
}

/// Claims `out` for a set, refusing the directory that holds the model being read (the
/// set replaces the whole directory, the model with it).
fn claim_beside_model(out: &Path, model: &Path) -> Result<OutputDir> {
    let claimed = OutputDir::claim(out)?;
    let model_dir = std::fs::canonicalize(model)
        .ok()
        .and_then(|m| m.parent().map(Path::to_path_buf));
    if model_dir.as_deref() == Some(claimed.path()) {
        return Err(Error::InvalidArgument {
            argument: "out",
            message: format!(
                "{} holds the model being read; the results replace the whole directory, \
                 so write them to another one",
                out.display()
            ),
        });
    }
    Ok(claimed)
}

fn embed_command(args: &EmbedArgs, stop: &Arc<AtomicBool>) -> Result<()> {
    let out = claim_beside_model(&args.out, &args.model)?;
    let (saved, mut graph) = model_and_graph(&args.model, &args.graph)?;
    if let Some(path) = &args.graph.edges {
        graph.name = path.display().to_string();
    }
    saved.check_graph(&graph, &graph.name)?;
    let gpu = open_gpu(&args.device)?;
    let embeddings = saved.embed(&gpu, &graph, args.graph.normalize_features)?;
    let options = write_options(stop).with_embeddings_dtype(args.embeddings_dtype);
    embeddings.write_to(out, &graph, &options)?;
    println!(
        "embedded {} nodes ({} x {}) with {}; wrote {}",
        graph.num_nodes,
        graph.num_nodes,
        embeddings.cols,
        args.model.display(),
        args.out.display()
    );
    Ok(())
}

fn cluster_command(args: &ClusterArgs, stop: &Arc<AtomicBool>) -> Result<()> {
    let Some(model) = &args.model else {
        return fit_command(args, stop);
    };
    let out = args
        .out
        .as_deref()
        .map(|out| claim_beside_model(out, model))
        .transpose()?;
    let (saved, mut graph) = model_and_graph(model, &args.graph)?;
    if let Some(path) = &args.labels {
        graph.labels = Some(gpu_vgae::read_labels(path, &graph)?.labels);
    }
    let mut options = ClusterOptions::default();
    options.k = args.clusters;
    options.seed = args.seed;
    if let Some(normalize) = args.normalize_embeddings {
        options.normalize = normalize;
    }
    options.resolve_k(graph.num_nodes, graph.labels.as_deref())?;
    saved.check_graph(&graph, &graph.name)?;
    let gpu = open_gpu(&args.device)?;
    let embeddings = saved.embed(&gpu, &graph, args.graph.normalize_features)?;
    let report = embeddings.cluster(&gpu, graph.labels.as_deref(), None, &options)?;
    if args.json {
        print!("{}", to_json(&report)?);
    } else {
        print_clustering(&report);
    }
    if let Some(out) = out {
        report.write_to(out, &graph, &embeddings, &write_options(stop))?;
        if !args.json {
            println!(
                "wrote {}",
                args.out.as_deref().unwrap_or(Path::new("")).display()
            );
        }
    }
    Ok(())
}

/// `cluster` without a model: load, check, train and cluster with a method
/// (`gpu_vgae::cluster_fit`), write the set.
fn fit_command(args: &ClusterArgs, stop: &Arc<AtomicBool>) -> Result<()> {
    let talk = !args.quiet && !args.json;
    let out = args.out.as_deref().map(OutputDir::claim).transpose()?;
    let mut options = ClusterFitOptions::default();
    options.method.clone_from(&args.method);
    options.k = args.clusters;
    options.seed = args.seed;
    options.normalize = args.normalize_embeddings;
    options.filter.order = args.order;
    options.dfcn_weights.clone_from(&args.pretrained);
    if let Some(order) = args.order {
        options.scgc.order = order;
    }
    options.ns4gc = args.ns4gc_setting.pick(options.ns4gc);
    options.magi = args.magi_setting.pick(options.magi);
    if let Some(dim) = args.dim {
        options.scgc.dim = dim;
        let last_layers = options.ns4gc.iter_mut().map(|c| c.hidden.last_mut());
        let last_layers = last_layers.chain(options.magi.iter_mut().map(|c| c.hidden.last_mut()));
        for last in last_layers.flatten() {
            *last = dim;
        }
    }
    if let Some(epochs) = args.epochs {
        options.train.epochs = epochs;
        options.scgc.epochs = epochs;
        for candidate in &mut options.ns4gc {
            candidate.epochs = epochs;
        }
        for candidate in &mut options.magi {
            candidate.epochs = epochs;
        }
    }
    // The method's name is checked before anything is loaded.
    options.method()?;
    let mut source = args.graph.source();
    if !source.is_named() {
        return Err(Error::InvalidConfig {
            setting: "graph",
            message: "say which graph to cluster: --dataset NAME or --edges FILE".into(),
        });
    }
    source.labels.clone_from(&args.labels);
    let start = std::time::Instant::now();
    let mut graph = source.load_timed(&mut slow_phase(!talk))?;
    if let Some(normalization) = args.graph.normalize_features {
        graph.normalize_features(normalization)?;
    }
    let load_seconds = start.elapsed().as_secs_f64();
    let plan = options.check(&graph)?;
    let (method, k) = (plan.method.name, plan.k);
    let start = std::time::Instant::now();
    let gpu = open_gpu(&args.device)?;
    let device_seconds = start.elapsed().as_secs_f64();
    if talk {
        eprintln!("{graph}");
        for note in &graph.notes {
            eprintln!("note: {note}");
        }
        eprintln!(
            "clustering into {k} groups with {method} on {} ({}); load {load_seconds:.2} s, \
             device {device_seconds:.2} s",
            gpu.report().name,
            gpu.report().backend
        );
    }
    let mut bar = Progress::new(talk);
    let mut output = cluster_fit(&gpu, &graph, &options, |event| {
        match event {
            FitEvent::Epoch(e) => bar.update(e),
            FitEvent::Order(step) if talk => eprintln!(
                "order {:>2}: mean intra-cluster squared distance {:.6}, inertia {:.4} \
                 ({:.2} s)",
                step.order, step.intra, step.inertia, step.seconds
            ),
            FitEvent::Ns4gcEpoch(e) if talk => {
                if let Some(loss) = e.loss {
                    eprintln!("epoch {:>4}/{}: loss {loss:.6}", e.epoch, e.epochs);
                }
            }
            FitEvent::MagiEpoch(e) if talk => {
                if let Some(loss) = e.loss {
                    eprintln!("epoch {:>4}/{}: loss {loss:.6}", e.epoch, e.epochs);
                }
            }
            FitEvent::Candidate {
                index,
                of,
                davies_bouldin,
                width,
            } if talk => eprintln!(
                "setting {}/{of}: Davies-Bouldin index {davies_bouldin:.4} (top {width} \
                 principal components)",
                index + 1
            ),
            FitEvent::Phase { name, took } => {
                if name == "train" {
                    bar.finish();
                }
                if talk {
                    eprintln!("{name}: {:.2} s", took.as_secs_f64());
                }
            }
            _ => {}
        }
        go_on(stop)
    })?;
    for (phase, seconds) in [("load", load_seconds), ("device", device_seconds)]
        .into_iter()
        .rev()
    {
        output.timings.insert(
            0,
            PhaseTime {
                phase: phase.into(),
                seconds,
            },
        );
    }
    if let Some(out) = out {
        let start = std::time::Instant::now();
        output.write_to(out, &write_options(stop))?;
        if talk {
            eprintln!("write: {:.2} s", start.elapsed().as_secs_f64());
        }
    }
    if args.json {
        print!("{}", output.summary_json()?);
    } else {
        if let Some(order) = output.details.get("order").and_then(|o| o.as_u64()) {
            let how = if args.order.is_some() {
                "given by --order"
            } else {
                "chosen without labels"
            };
            println!("{method}: order {order} ({how})");
        }
        print_clustering(&output.clustering);
        if let Some(out) = &args.out {
            println!("wrote {}", out.display());
        }
    }
    Ok(())
}

fn predict_command(args: &PredictArgs) -> Result<()> {
    let mode = if args.per_node {
        TopKMode::PerNode
    } else {
        TopKMode::Global
    };
    let mut options = PredictOptions::new(args.top_k.unwrap_or(1), mode);
    options.known = args.known;
    options.feature_normalization = args.graph.normalize_features;
    options.validate()?;
    let (saved, graph) = model_and_graph(&args.model, &args.graph)?;
    if args.known == KnownEdges::Train {
        saved.check_training_graph(&graph, "--known train")?;
    }
    saved.check_graph(&graph, &graph.name)?;
    let pairs = args
        .pairs
        .as_deref()
        .map(|path| read_pairs(path, &graph))
        .transpose()?;
    let gpu = open_gpu(&args.device)?;
    let prediction = match &pairs {
        Some(pairs) => saved.score_links(&gpu, &graph, pairs, args.graph.normalize_features)?,
        None => saved.predict_links(&gpu, &graph, &options)?,
    };
    let csv = prediction.to_csv(&graph);
    match &args.out {
        Some(path) => {
            write_result_file(path, csv.as_bytes())?;
            eprintln!(
                "wrote {} links to {}",
                prediction.links.len(),
                path.display()
            );
        }
        None => print!("{csv}"),
    }
    if let Some(recall) = prediction.recall {
        let k = prediction.links.len() as f64;
        let candidates = recall.candidates.max(1) as f64;
        eprintln!(
            "recall@{}: {} of the {} held-out test edges ({:.4}); chance would find {:.2} \
             ({:.6})",
            prediction.links.len(),
            recall.found,
            recall.held_out,
            recall.found as f64 / recall.held_out.max(1) as f64,
            k * recall.held_out as f64 / candidates,
            k / candidates
        );
    }
    Ok(())
}

fn info(args: &InfoArgs) -> Result<()> {
    let gpu = open_gpu(&args.device)?;
    let report = gpu.report();
    if args.json {
        print!("{}", to_json(report)?);
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

fn bench(args: &BenchArgs, stop: &Arc<AtomicBool>) -> Result<()> {
    let out = args.out.as_deref().map(OutputDir::claim).transpose()?;
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
    if let Some(out) = out {
        let path = out.path().to_path_buf();
        let mut set = OutputSet::begin(out, &write_options(stop))?;
        set.write("results.json", to_json(&results.results)?.as_bytes())?;
        set.write("table.md", markdown.as_bytes())?;
        let title = format!("VGAE epoch time vs N on {}", report.name);
        set.write(
            "epoch_scaling.svg",
            plot_svg(&title, &results.series).as_bytes(),
        )?;
        set.commit()?;
        println!("wrote {}", path.display());
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

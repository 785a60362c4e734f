//! `gpu-vgae`: the command line over the library. It parses arguments, loads the graph,
//! calls `gpu_vgae::train::train`, prints progress and a summary, and writes result
//! files; all the work is in the library.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde::Serialize;

use gpu_vgae::data::{data_dir, load_edge_list, load_planetoid, EdgeListOptions, Graph};
use gpu_vgae::gpu::{Gpu, GpuOptions};
use gpu_vgae::model::{ModelKind, Objective};
use gpu_vgae::output::{npy_f32_bytes, prepare_dir, to_json, write_atomic, write_json};
use gpu_vgae::profile::{plot_svg, run_plan, table, EpochPlan, PlanEvent};
use gpu_vgae::synthetic::{generate, SyntheticSpec};
use gpu_vgae::train::{train, EpochReport, TrainOptions, TrainReport};
use gpu_vgae::Result;

#[derive(Parser)]
#[command(
    name = "gpu-vgae",
    version,
    about = "Train (variational) graph auto-encoders for link prediction on the GPU"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train on a dataset (or the embedded synthetic graph) and report test AUC/AP.
    Run(Box<RunArgs>),
    /// Show the GPU adapter, backend, features and limits.
    Info(InfoArgs),
    /// Time training epochs on the Planetoid graphs and a synthetic size sweep.
    Bench(BenchArgs),
}

#[derive(clap::Args)]
struct BenchArgs {
    /// Directory of the Planetoid files (default: $GPU_VGAE_DATA_DIR, else ./datasets);
    /// without them only the synthetic sweep runs.
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

#[derive(clap::Args)]
struct RunArgs {
    /// Planetoid dataset: cora, citeseer or pubmed. Without --dataset or --edges, the
    /// embedded synthetic graph is used.
    #[arg(long, conflicts_with = "edges")]
    dataset: Option<String>,
    /// Directory of the Planetoid files (default: $GPU_VGAE_DATA_DIR, else ./datasets).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Your own graph: an edge list (CSV, TSV or whitespace; # comments; optional header).
    #[arg(long)]
    edges: Option<PathBuf>,
    /// Node features for --edges, one row per node: a dense float32/float64 .npy matrix
    /// or a sparse Matrix Market .mtx file.
    #[arg(long, requires = "edges")]
    features: Option<PathBuf>,
    /// Node labels for --edges: lines `node_id label`.
    #[arg(long, requires = "edges")]
    labels: Option<PathBuf>,
    /// Nodes of the synthetic graph.
    #[arg(long, default_value_t = 2000)]
    synthetic_nodes: usize,
    /// Model.
    #[arg(long, value_enum, default_value = "vgae")]
    model: ModelKind,
    /// Objective: dense (the paper's, all N² pairs), sampled (negative sampling) or
    /// subgraph (the dense objective on a degree-sampled subgraph each epoch, FastGAE).
    #[arg(long, value_enum, default_value = "dense")]
    objective: Objective,
    /// Subgraph objective: nodes drawn per epoch (all nodes with an edge, if fewer).
    #[arg(long, default_value_t = 5000)]
    sample_nodes: usize,
    /// Subgraph objective: draw probability proportional to degree^alpha (0: uniform).
    #[arg(long, default_value_t = 2.0)]
    alpha: f64,
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
    /// Seed of the split, the initialisation, every ε and the negatives.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Ignore node features (identity features, as the paper's "no features" rows).
    #[arg(long)]
    featureless: bool,
    /// Validation metrics every this many epochs (0: only at the end).
    #[arg(long, default_value_t = 10)]
    eval_every: u32,
    /// Write embeddings.npy, metrics.json and weights.json into this directory.
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
struct InfoArgs {
    /// Print as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    device: DeviceArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(&args),
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
    println!("timestamp queries: {}", report.timestamp_queries);
    println!(
        "limits:    storage binding {} MiB, buffer {} MiB, {} storage buffers per stage, \
         {} workgroups per dimension, {} invocations per workgroup",
        report.max_storage_buffer_binding_size >> 20,
        report.max_buffer_size >> 20,
        report.max_storage_buffers_per_shader_stage,
        report.max_compute_workgroups_per_dimension,
        report.max_compute_invocations_per_workgroup
    );
    Ok(())
}

fn bench(args: &BenchArgs) -> Result<()> {
    if let Some(out) = &args.out {
        prepare_dir(out)?;
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
        write_json(&out.join("results.json"), &results.results)?;
        write_atomic(&out.join("table.md"), markdown.as_bytes())?;
        let title = format!("VGAE epoch time vs N on {}", report.name);
        write_atomic(
            &out.join("epoch_scaling.svg"),
            plot_svg(&title, &results.series).as_bytes(),
        )?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

fn load_graph(args: &RunArgs) -> Result<Graph> {
    if let Some(name) = &args.dataset {
        return load_planetoid(&data_dir(args.data_dir.as_deref()), name);
    }
    if let Some(path) = &args.edges {
        let options = EdgeListOptions {
            num_nodes: None,
            features: args.features.clone(),
            labels: args.labels.clone(),
            ..Default::default()
        };
        return load_edge_list(path, &options);
    }
    let mut spec = SyntheticSpec::default();
    spec.nodes = args.synthetic_nodes;
    spec.seed = args.seed;
    let synthetic = generate(&spec)?;
    let mut graph = Graph::from_edges(
        synthetic.num_nodes,
        &synthetic.edges,
        Some(synthetic.features),
    )?
    .with_labels(synthetic.labels)?;
    graph.name = format!("synthetic-sbm-{}", synthetic.num_nodes);
    Ok(graph)
}

fn run(args: &RunArgs) -> Result<()> {
    let mut options = TrainOptions::default();
    options.model.kind = args.model;
    options.model.objective = args.objective;
    options.model.sample_nodes = args.sample_nodes;
    options.model.alpha = args.alpha;
    options.model.hidden = args.hidden;
    options.model.latent = args.latent;
    options.model.adam.lr = args.lr;
    options.model.seed = args.seed;
    options.epochs = args.epochs;
    options.eval_every = args.eval_every;
    options.validate()?;
    if let Some(out) = &args.out {
        prepare_dir(out)?;
    }
    let graph = load_graph(args)?;
    let view = if args.featureless {
        graph.view().without_features()
    } else {
        graph.view()
    };
    let features = view.features();
    let gpu = open_gpu(&args.device)?;
    let talk = !args.quiet && !args.json;
    if talk {
        eprintln!(
            "{}: {} nodes, {} edges, {}",
            graph.name,
            graph.num_nodes,
            graph.num_edges(),
            match features {
                Some(x) => format!("{} features ({} nonzeros)", x.cols(), x.nnz()),
                None => "no features (identity)".into(),
            }
        );
        for note in &graph.notes {
            eprintln!("note: {note}");
        }
        eprintln!(
            "{} with the {} objective on {} ({})",
            options.model.kind,
            options.model.objective,
            gpu.report().name,
            gpu.report().backend
        );
    }
    let mut bar = Progress::new(talk);
    let trained = train(&gpu, view, &options, |epoch| bar.update(epoch))?;
    bar.finish();
    let report = &trained.report;
    if let Some(out) = &args.out {
        write_outputs(out, &graph, &trained)?;
    }
    if args.json {
        println!("{}", to_json(&Summary::new(&graph, report))?);
    } else {
        print_summary(report);
        if let Some(out) = &args.out {
            println!("wrote {}", out.display());
        }
    }
    Ok(())
}

/// The JSON summary: dataset, settings, metrics, timing, adapter.
#[derive(Serialize)]
struct Summary<'a> {
    dataset: &'a str,
    num_nodes: usize,
    num_edges: usize,
    #[serde(flatten)]
    report: &'a TrainReport,
}

impl<'a> Summary<'a> {
    fn new(graph: &'a Graph, report: &'a TrainReport) -> Self {
        Summary {
            dataset: &graph.name,
            num_nodes: graph.num_nodes,
            num_edges: graph.num_edges(),
            report,
        }
    }
}

fn write_outputs(out: &Path, graph: &Graph, trained: &gpu_vgae::train::Trained) -> Result<()> {
    let latent = trained.report.options.model.latent;
    let embeddings = trained.model.embeddings()?;
    write_atomic(
        &out.join("embeddings.npy"),
        &npy_f32_bytes(graph.num_nodes, latent, &embeddings)?,
    )?;
    write_json(&out.join("weights.json"), &trained.model.weights()?)?;
    if let Some(ids) = &graph.node_ids {
        write_atomic(
            &out.join("node_ids.txt"),
            (ids.join("\n") + "\n").as_bytes(),
        )?;
    }
    write_json(
        &out.join("metrics.json"),
        &Summary::new(graph, &trained.report),
    )
}

fn print_summary(report: &TrainReport) {
    for note in &report.notes {
        println!("note: {note}");
    }
    let show = |name: &str, m: &Option<gpu_vgae::metrics::LinkMetrics>| match m {
        Some(m) => println!("{name:<5} AUC {:.4}  AP {:.4}", m.auc, m.ap),
        None => println!("{name:<5} (no held-out edges)"),
    };
    show("val", &report.val);
    show("test", &report.test);
    let epochs = report.options.epochs as f64;
    println!(
        "loss {:.5} (reconstruction {:.5}, KL {:.5})",
        report.final_loss.total, report.final_loss.reconstruction, report.final_loss.kl
    );
    println!(
        "time: setup {:.2} s, training {:.2} s ({:.1} ms/epoch, {} dispatches/epoch), \
         evaluation {:.2} s; device memory {:.1} MiB on {}",
        report.setup_seconds,
        report.train_seconds,
        1e3 * report.train_seconds / epochs,
        report.dispatches_per_epoch,
        report.eval_seconds,
        report.device_bytes as f64 / (1 << 20) as f64,
        report.adapter.name
    );
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

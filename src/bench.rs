//! A small benchmark harness for kernels: warm-up runs, timed samples with
//! min / median / max, a CPU baseline timed in the same run, and one aligned table row
//! per case (optionally a JSON line as well).
//!
//! GPU time comes from timestamp queries ([`Gpu::run_timed`], summed over a case's
//! dispatches) where the device has `TIMESTAMP_QUERY`, and from wall-clock time around
//! submit + wait ([`Gpu::run`]) otherwise or when asked for with `--wall`. The header
//! always names the adapter, backend, driver and timing method: figures from different
//! adapters or methods are not comparable.
//!
//! Used by `benches/kernels.rs`; kept in the library so that a CLI subcommand can run
//! the same cases.

use std::time::Instant;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::gpu::{Gpu, Recording};

/// How GPU time is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum TimingMethod {
    /// Begin/end-of-pass timestamps around each dispatch, summed over the case.
    Timestamps,
    /// Host wall-clock time around submit + wait (includes submission overhead).
    Wall,
}

/// Command-line options of a benchmark binary.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct BenchOptions {
    /// Substrings; a case runs when its `group/kernel/shape` name contains any of them
    /// (all cases run when empty).
    pub filters: Vec<String>,
    /// Fewer warm-ups and samples and a smaller sweep, for a quick look.
    pub quick: bool,
    /// Also print one JSON object per case on its own line.
    pub json: bool,
    /// Time with the wall clock even where timestamps exist.
    pub force_wall: bool,
    /// Skip the CPU baselines.
    pub no_cpu: bool,
    /// Untimed runs before sampling (the first one also estimates a run's cost).
    pub warmup: usize,
    /// Fewest timed GPU samples per case.
    pub min_samples: usize,
    /// Most timed GPU samples per case.
    pub max_samples: usize,
    /// Most CPU runs per case.
    pub cpu_runs: usize,
    /// Seconds of sampling per case (GPU and CPU each) that the sample counts aim at,
    /// between the minimum and the maximum.
    pub target_seconds: f64,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            filters: Vec::new(),
            quick: false,
            json: false,
            force_wall: false,
            no_cpu: false,
            warmup: 1,
            min_samples: 3,
            max_samples: 15,
            cpu_runs: 5,
            target_seconds: 0.5,
        }
    }
}

/// The usage text of [`BenchOptions::from_args`].
pub const USAGE: &str = "usage: kernels [--quick] [--json] [--wall] [--no-cpu] \
[--samples N] [FILTER ...]
  FILTER      run only cases whose `group/kernel/shape` contains one of these substrings
  --quick     1 warm-up, up to 3 samples, 1 CPU run, smaller sweep
  --json      also print one JSON object per case
  --wall      time with the wall clock (submit + wait) even where timestamps exist
  --no-cpu    skip the CPU baselines
  --samples N at most N timed samples per case (default 15)";

impl BenchOptions {
    /// Parses arguments (without the program name). `--bench`, which `cargo bench`
    /// passes to every bench binary, is ignored; `--help` returns the usage as an error.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Self> {
        let mut options = BenchOptions::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--bench" => {}
                "--quick" => {
                    options.quick = true;
                    options.max_samples = options.max_samples.min(3);
                    options.cpu_runs = 1;
                    options.target_seconds = 0.2;
                }
                "--json" => options.json = true,
                "--wall" => options.force_wall = true,
                "--no-cpu" => options.no_cpu = true,
                "--samples" => {
                    let n = args.next().and_then(|v| v.parse::<usize>().ok());
                    match n {
                        Some(n) if n >= 1 => {
                            options.max_samples = n;
                            options.min_samples = options.min_samples.min(n);
                        }
                        _ => {
                            return Err(Error::InvalidInput(format!(
                                "--samples needs a positive count\n{USAGE}"
                            )))
                        }
                    }
                }
                "-h" | "--help" => return Err(Error::InvalidInput(USAGE.to_string())),
                flag if flag.starts_with("--") => {
                    return Err(Error::InvalidInput(format!(
                        "unknown option `{flag}`\n{USAGE}"
                    )))
                }
                filter => options.filters.push(filter.to_string()),
            }
        }
        Ok(options)
    }
}

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

/// The work one run of a case does, for throughput figures.
///
/// `flops` counts arithmetic floating-point operations (a multiply-add is 2; exp, log
/// and comparisons are not counted); elementwise kernels whose cost is memory traffic
/// report 0 and are rated in GB/s only. `bytes` is the compulsory traffic: every input
/// array read once and every output written once (gathers through an index, such as
/// SpMM's rows of B, count once per element of the array, not per access). Real traffic
/// is higher, so GB/s is a lower bound on the bandwidth the kernel achieved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Work {
    /// Floating-point operations per run.
    pub flops: f64,
    /// Compulsory bytes moved per run.
    pub bytes: f64,
}

const F32: f64 = 4.0;

impl Work {
    /// `spmm`: out (rows × cols) = A (rows × inner, nnz entries) · B (inner × cols).
    /// flops = 2·nnz·cols; bytes = 4·(rows + 1) row_ptr + 8·nnz (col_idx, values)
    /// + 4·inner·cols (B) + 4·rows·cols (out).
    pub fn spmm(rows: usize, inner: usize, nnz: usize, cols: usize) -> Work {
        let (rows, inner, nnz, cols) = (rows as f64, inner as f64, nnz as f64, cols as f64);
        Work {
            flops: 2.0 * nnz * cols,
            bytes: F32 * (rows + 1.0) + 2.0 * F32 * nnz + F32 * inner * cols + F32 * rows * cols,
        }
    }

    /// `matmul`: out (m × n) = A (m × k) · op(B) (k × n). flops = 2·m·k·n;
    /// bytes = 4·(m·k + k·n + m·n).
    pub fn matmul(m: usize, k: usize, n: usize) -> Work {
        let (m, k, n) = (m as f64, k as f64, n as f64);
        Work {
            flops: 2.0 * m * k * n,
            bytes: F32 * (m * k + k * n + m * n),
        }
    }

    /// `matmul_tn` (partial products + `reduce_sum`): out (k × n) = Aᵀ (k × m) · B (m × n)
    /// with `chunks` row chunks. flops = 2·m·k·n + chunks·k·n (the chunk sums);
    /// bytes = 4·(m·k + m·n) + 2·4·chunks·k·n (partials written and read) + 4·k·n.
    pub fn matmul_tn(m: usize, k: usize, n: usize, chunks: usize) -> Work {
        let (m, k, n, c) = (m as f64, k as f64, n as f64, chunks as f64);
        Work {
            flops: 2.0 * m * k * n + c * k * n,
            bytes: F32 * (m * k + m * n) + 2.0 * F32 * c * k * n + F32 * k * n,
        }
    }

    /// `reduce_sum`: column sums of rows × cols. flops = rows·cols (adds, first level;
    /// later levels add under 2 %); bytes = 4·rows·cols + 4·cols.
    pub fn reduce_sum(rows: usize, cols: usize) -> Work {
        let (rows, cols) = (rows as f64, cols as f64);
        Work {
            flops: rows * cols,
            bytes: F32 * rows * cols + F32 * cols,
        }
    }

    /// An elementwise kernel over `len` elements reading `reads` and writing `writes`
    /// f32 arrays (`relu`: 1 + 1, `relu_backward`: 2 + 1, `adam`: 4 + 3). flops = 0.
    pub fn elementwise(len: usize, reads: usize, writes: usize) -> Work {
        Work {
            flops: 0.0,
            bytes: F32 * len as f64 * (reads + writes) as f64,
        }
    }

    /// `reparam_kl` (n × latent): reads [μ | s] (2·n·L), writes z (n·L) and kl_rows (n);
    /// flops = 0 (exp and the Philox integer rounds dominate; rated in GB/s).
    pub fn reparam_kl(n: usize, latent: usize) -> Work {
        let (n, l) = (n as f64, latent as f64);
        Work {
            flops: 0.0,
            bytes: F32 * (2.0 * n * l + n * l + n),
        }
    }

    /// `reparam_backward` (n × latent): reads [μ | s] and dz (3·n·L), writes d_ms
    /// (2·n·L). flops = 0.
    pub fn reparam_backward(n: usize, latent: usize) -> Work {
        let (n, l) = (n as f64, latent as f64);
        Work {
            flops: 0.0,
            bytes: F32 * 5.0 * n * l,
        }
    }

    /// `decoder_dense` over n nodes, latent L, `splits` column splits:
    /// flops = 4·n²·L (2·L for the dot product z_i·z_j, 2·L for the gradient
    /// accumulation σ(S)·z_j; the softplus and sigmoid are not counted), as DESIGN.md §6;
    /// bytes = 4·n·L (z) + 4·splits·n·(L + 1) (the partials).
    pub fn decoder_dense(n: usize, latent: usize, splits: usize) -> Work {
        let (n, l, s) = (n as f64, latent as f64, splits as f64);
        Work {
            flops: 4.0 * n * n * l,
            bytes: F32 * n * l + F32 * s * n * (l + 1.0),
        }
    }

    /// `decoder_pairs` over n nodes with `entries` listed pairs and `splits` dense
    /// partials (0 for the sampled objective): flops = 4·entries·L + splits·n·L;
    /// bytes = 4·n·L (z) + 4·(n + 1) + 12·entries (ptr, col, two weights)
    /// + 4·splits·n·(L + 1) (partials) + 4·n·(L + 1) (dz, loss_rows).
    pub fn decoder_pairs(n: usize, latent: usize, entries: usize, splits: usize) -> Work {
        let (n, l, e, s) = (n as f64, latent as f64, entries as f64, splits as f64);
        Work {
            flops: 4.0 * e * l + s * n * l,
            bytes: F32 * n * l
                + F32 * (n + 1.0)
                + 3.0 * F32 * e
                + F32 * s * n * (l + 1.0)
                + F32 * n * (l + 1.0),
        }
    }

    /// `edge_score` of `pairs` pairs at latent L: flops = 2·pairs·L; bytes =
    /// 8·pairs (ids) + 2·4·pairs·L (both rows of z; z is usually larger than the pairs
    /// touch) + 4·pairs (scores).
    pub fn edge_score(pairs: usize, latent: usize) -> Work {
        let (p, l) = (pairs as f64, latent as f64);
        Work {
            flops: 2.0 * p * l,
            bytes: 2.0 * F32 * p + 2.0 * F32 * p * l + F32 * p,
        }
    }
}

/// A benchmark case: where it belongs, what it runs and how much work that is.
#[derive(Clone, Debug)]
pub struct Case {
    /// Group, e.g. `citeseer`, `pubmed`, `sweep`.
    pub group: String,
    /// Kernel wrapper, e.g. `spmm`.
    pub kernel: String,
    /// Shape and role, e.g. `X·W0 3327x3703 nnz=105165 ·32`.
    pub shape: String,
    /// Work per run.
    pub work: Work,
    /// How many times one training epoch runs this case (0 for alternatives and
    /// evaluation-only kernels); [`Bench::print_summary`] weighs medians by it.
    pub per_epoch: f64,
}

impl Case {
    /// A case in `group` for `kernel` at `shape`.
    pub fn new(
        group: impl Into<String>,
        kernel: impl Into<String>,
        shape: impl Into<String>,
        work: Work,
    ) -> Self {
        Case {
            group: group.into(),
            kernel: kernel.into(),
            shape: shape.into(),
            work,
            per_epoch: 0.0,
        }
    }

    /// Sets how many times an epoch runs this case.
    pub fn per_epoch(mut self, times: f64) -> Self {
        self.per_epoch = times;
        self
    }

    /// `group/kernel/shape`, what filters match against.
    pub fn name(&self) -> String {
        format!("{}/{}/{}", self.group, self.kernel, self.shape)
    }
}

/// What one case measured.
#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    /// Group.
    pub group: String,
    /// Kernel.
    pub kernel: String,
    /// Shape.
    pub shape: String,
    /// How the GPU figures were taken.
    pub method: TimingMethod,
    /// GPU time per run, seconds.
    pub gpu: Stats,
    /// CPU twin time per run, seconds (None with `--no-cpu` or when the case has none).
    pub cpu: Option<Stats>,
    /// Work per run.
    pub work: Work,
    /// flops / median GPU time, in GFLOP/s (None when the case counts no flops).
    pub gflops: Option<f64>,
    /// bytes / median GPU time, in GB/s.
    pub gbytes: f64,
    /// Median CPU time / median GPU time: above 1 the GPU is faster.
    pub speedup: Option<f64>,
    /// Runs per training epoch (see [`Case::per_epoch`]).
    pub per_epoch: f64,
}

/// Runs cases on one device and prints their rows.
pub struct Bench {
    gpu: Gpu,
    options: BenchOptions,
    method: TimingMethod,
    results: Vec<CaseResult>,
    /// A group title not printed yet: printed with the group's first row, so that
    /// groups the filters empty stay silent.
    pending_group: Option<String>,
}

const COLUMNS: [(&str, usize); 10] = [
    ("kernel", 15),
    ("shape", 42),
    ("gpu median", 10),
    ("min", 9),
    ("max", 9),
    ("n", 3),
    ("GFLOP/s", 8),
    ("GB/s", 7),
    ("cpu median", 10),
    ("cpu/gpu", 8),
];

impl Bench {
    /// A harness on `gpu`; the timing method is timestamps when the device has them and
    /// `--wall` was not given.
    pub fn new(gpu: Gpu, options: BenchOptions) -> Self {
        let method = if gpu.timestamps_supported() && !options.force_wall {
            TimingMethod::Timestamps
        } else {
            TimingMethod::Wall
        };
        Bench {
            gpu,
            options,
            method,
            results: Vec::new(),
            pending_group: None,
        }
    }

    /// The device.
    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    /// The options.
    pub fn options(&self) -> &BenchOptions {
        &self.options
    }

    /// The timing method in use.
    pub fn method(&self) -> TimingMethod {
        self.method
    }

    /// The results so far.
    pub fn results(&self) -> &[CaseResult] {
        &self.results
    }

    /// Whether `case` passes the filters (check before building its inputs).
    pub fn wants(&self, case: &Case) -> bool {
        let name = case.name();
        self.options.filters.is_empty() || self.options.filters.iter().any(|f| name.contains(f))
    }

    /// Prints the adapter, driver, timing method and the column header.
    pub fn print_header(&self) {
        let r = self.gpu.report();
        println!("adapter: {} ({}, {})", r.name, r.backend, r.device_type);
        println!("driver:  {} {}", r.driver, r.driver_info);
        println!(
            "timing:  {} (timestamp queries {}); {} warm-up, {}..{} samples, up to {} CPU \
             runs, ~{:.1} s per side per case",
            match self.method {
                TimingMethod::Timestamps => "GPU timestamps per dispatch, summed per case",
                TimingMethod::Wall => "wall clock around submit + wait",
            },
            if r.timestamp_queries {
                "available"
            } else {
                "unavailable"
            },
            self.options.warmup,
            self.options.min_samples,
            self.options.max_samples,
            if self.options.no_cpu {
                0
            } else {
                self.options.cpu_runs
            },
            self.options.target_seconds
        );
        println!(
            "cpu:     single-threaded gpu_vgae::cpu twins; cpu/gpu > 1 means the GPU is faster"
        );
        println!();
    }

    /// Starts a group: its title and the column header are printed before its first
    /// row (not at all if the filters exclude every case of the group).
    pub fn print_group(&mut self, title: &str) {
        self.pending_group = Some(title.to_string());
    }

    fn flush_group(&mut self) {
        let Some(title) = self.pending_group.take() else {
            return;
        };
        println!("\n== {title}");
        let header: Vec<String> = COLUMNS
            .iter()
            .enumerate()
            .map(|(i, (name, width))| {
                if i < 2 {
                    format!("{name:<width$}")
                } else {
                    format!("{name:>width$}")
                }
            })
            .collect();
        println!("{}", header.join(" "));
    }

    /// One timed run of `recording`, in seconds.
    fn time_once(&self, recording: &Recording) -> Result<f64> {
        if self.method == TimingMethod::Timestamps {
            if let Some(timings) = self.gpu.run_timed(recording)? {
                return Ok(timings.iter().map(|t| t.nanos).sum::<f64>() * 1e-9);
            }
        }
        let start = Instant::now();
        self.gpu.run(recording)?;
        Ok(start.elapsed().as_secs_f64())
    }

    /// Sample count that spends about the target time at `estimate` seconds per run,
    /// between `least` and `most`.
    fn sample_count(&self, estimate: f64, least: usize, most: usize) -> usize {
        let wanted = if estimate > 0.0 {
            (self.options.target_seconds / estimate).ceil() as usize
        } else {
            most
        };
        wanted.clamp(least.min(most), most)
    }

    /// Times `recording` (warm-ups, then samples) and `cpu` (the CPU twin, if any), then
    /// prints and records the case's row. Returns `Ok(false)` without running anything
    /// when the filters exclude the case.
    pub fn run(
        &mut self,
        case: &Case,
        recording: &Recording,
        cpu: Option<&mut dyn FnMut()>,
    ) -> Result<bool> {
        if !self.wants(case) {
            return Ok(false);
        }
        // Warm-ups also build any lazily compiled state in the driver; the first one
        // estimates a run's cost so that slow cases take few samples and fast ones many.
        let mut estimate = f64::INFINITY;
        for _ in 0..self.options.warmup {
            estimate = estimate.min(self.time_once(recording)?);
        }
        let count = if estimate.is_finite() {
            self.sample_count(estimate, self.options.min_samples, self.options.max_samples)
        } else {
            self.options.min_samples
        };
        let mut samples = Vec::with_capacity(count);
        for _ in 0..count {
            samples.push(self.time_once(recording)?);
        }
        let gpu = Stats::from_samples(&samples).ok_or_else(|| {
            Error::InvalidInput(format!("{}: no samples were taken", case.name()))
        })?;
        let cpu = match cpu {
            Some(f) if !self.options.no_cpu => {
                let mut times = Vec::new();
                let start = Instant::now();
                f();
                let first = start.elapsed().as_secs_f64();
                times.push(first);
                // The CPU twin may take seconds (Pubmed's dense decoder): a slow one runs
                // once, a fast one up to cpu_runs times.
                let runs = self.sample_count(first, 1, self.options.cpu_runs.max(1));
                for _ in 1..runs {
                    let start = Instant::now();
                    f();
                    times.push(start.elapsed().as_secs_f64());
                }
                Stats::from_samples(&times)
            }
            _ => None,
        };
        let result = CaseResult {
            group: case.group.clone(),
            kernel: case.kernel.clone(),
            shape: case.shape.clone(),
            method: self.method,
            gpu,
            cpu,
            work: case.work,
            gflops: (case.work.flops > 0.0).then(|| case.work.flops / gpu.median * 1e-9),
            gbytes: case.work.bytes / gpu.median * 1e-9,
            speedup: cpu.map(|c| c.median / gpu.median),
            per_epoch: case.per_epoch,
        };
        self.flush_group();
        self.print_row(&result);
        self.results.push(result);
        Ok(true)
    }

    fn print_row(&self, r: &CaseResult) {
        let cells = [
            r.kernel.clone(),
            r.shape.clone(),
            format_time(r.gpu.median),
            format_time(r.gpu.min),
            format_time(r.gpu.max),
            r.gpu.samples.to_string(),
            r.gflops.map_or("-".into(), |g| format!("{g:.2}")),
            format!("{:.2}", r.gbytes),
            r.cpu.map_or("-".into(), |c| format_time(c.median)),
            r.speedup.map_or("-".into(), |s| format!("{s:.2}")),
        ];
        let line: Vec<String> = cells
            .iter()
            .zip(COLUMNS)
            .enumerate()
            .map(|(i, (cell, (_, width)))| {
                if i < 2 {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect();
        println!("{}", line.join(" "));
        if self.options.json {
            if let Ok(json) = serde_json::to_string(r) {
                println!("{json}");
            }
        }
    }

    /// Prints, per group whose cases carry [`Case::per_epoch`] counts, one training
    /// epoch's GPU and CPU time as the weighted sum of the medians, and the kernels'
    /// shares of it (largest first), to show which kernels dominate.
    pub fn print_summary(&self) {
        let mut groups: Vec<&str> = Vec::new();
        for r in &self.results {
            if r.per_epoch > 0.0 && !groups.contains(&r.group.as_str()) {
                groups.push(&r.group);
            }
        }
        for group in groups {
            let mut rows: Vec<&CaseResult> = self
                .results
                .iter()
                .filter(|r| r.group == group && r.per_epoch > 0.0)
                .collect();
            let gpu_total: f64 = rows.iter().map(|r| r.per_epoch * r.gpu.median).sum();
            let cpu_total: Option<f64> = rows
                .iter()
                .map(|r| r.cpu.map(|c| r.per_epoch * c.median))
                .sum();
            rows.sort_by(|a, b| {
                (b.per_epoch * b.gpu.median).total_cmp(&(a.per_epoch * a.gpu.median))
            });
            println!(
                "\n{group}: one epoch as the sum of the cases measured (runs per epoch × median): \
                 GPU {}, CPU {}",
                format_time(gpu_total),
                cpu_total.map_or("-".into(), format_time)
            );
            for r in rows {
                let t = r.per_epoch * r.gpu.median;
                println!(
                    "  {:>5.1}%  {:>10}  {}× {} {}",
                    100.0 * t / gpu_total,
                    format_time(t),
                    r.per_epoch,
                    r.kernel,
                    r.shape
                );
            }
        }
    }
}

/// Seconds as a short string with a unit (ns, µs, ms, s).
pub fn format_time(seconds: f64) -> String {
    if seconds < 1e-6 {
        format!("{:.0} ns", seconds * 1e9)
    } else if seconds < 1e-3 {
        format!("{:.1} µs", seconds * 1e6)
    } else if seconds < 1.0 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{seconds:.2} s")
    }
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

    #[test]
    fn options_parse_flags_and_filters_and_ignore_cargo_bench() {
        let args = ["--bench", "--quick", "spmm", "--samples", "7", "decoder"];
        let o = BenchOptions::from_args(args.map(String::from)).unwrap();
        assert!(o.quick);
        assert_eq!(o.filters, vec!["spmm", "decoder"]);
        assert_eq!(o.max_samples, 7);
        assert!(BenchOptions::from_args(["--nope".to_string()]).is_err());
        assert!(BenchOptions::from_args(["--samples".to_string()]).is_err());
    }

    #[test]
    fn work_formulas_match_the_cost_model() {
        // DESIGN.md §6: the dense decoder at Citeseer is ≈ 0.7 GFLOP.
        let w = Work::decoder_dense(3327, 16, 1);
        assert!((w.flops / 1e9 - 0.708).abs() < 0.01);
        assert_eq!(Work::spmm(2, 3, 4, 5).flops, 40.0);
        assert_eq!(Work::matmul(2, 3, 4).bytes, 4.0 * (6.0 + 12.0 + 8.0));
    }

    #[test]
    fn times_print_with_units() {
        assert_eq!(format_time(2.5), "2.50 s");
        assert_eq!(format_time(0.0125), "12.50 ms");
        assert_eq!(format_time(12.5e-6), "12.5 µs");
        assert_eq!(format_time(5e-9), "5 ns");
    }
}

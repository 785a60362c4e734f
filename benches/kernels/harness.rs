//! The kernel benchmark's harness: warm-up runs, timed samples with min / median / max,
//! a CPU baseline timed in the same run, and one aligned table row per case (optionally
//! a JSON line as well).
//!
//! GPU time comes from timestamp queries ([`Gpu::run_timed`], summed over a case's
//! dispatches) where the device has `TIMESTAMP_QUERY`, and from wall-clock time around
//! submit + wait ([`Gpu::run`]) otherwise or when asked for with `--wall`. The header
//! always names the adapter, backend, driver and timing method: figures from different
//! adapters or methods are not comparable.

use std::time::Instant;

use clap::Parser;
use serde::Serialize;

use gpu_vgae::internal::gpu::{Gpu, Recording};
use gpu_vgae::internal::kernels::Work;
use gpu_vgae::internal::profile::Stats;
use gpu_vgae::Result;

/// How GPU time is measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum TimingMethod {
    /// Begin/end-of-pass timestamps around each dispatch, summed over the case.
    Timestamps,
    /// Host wall-clock time around submit + wait (includes submission overhead).
    Wall,
}

/// Every kernel of a training epoch at Citeseer's and Pubmed's shapes, and a size sweep,
/// with the single-threaded CPU twin timed in the same run.
#[derive(Parser, Clone, Debug)]
#[command(name = "kernels")]
pub struct BenchOptions {
    /// Run only cases whose `group/kernel/shape` contains one of these substrings.
    pub filters: Vec<String>,
    /// One warm-up, up to 3 samples, one CPU run, a smaller sweep.
    #[arg(long)]
    pub quick: bool,
    /// Also print one JSON object per case.
    #[arg(long)]
    pub json: bool,
    /// Time with the wall clock (submit + wait) even where timestamps exist.
    #[arg(long)]
    pub wall: bool,
    /// Skip the CPU baselines.
    #[arg(long)]
    pub no_cpu: bool,
    /// At most this many timed samples per case.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..))]
    pub samples: u32,
    /// Passed by `cargo bench` to every bench binary; ignored.
    #[arg(long, hide = true)]
    pub bench: bool,
}

impl BenchOptions {
    fn warmup(&self) -> usize {
        1
    }

    fn min_samples(&self) -> usize {
        3.min(self.max_samples())
    }

    fn max_samples(&self) -> usize {
        let most = self.samples as usize;
        if self.quick {
            most.min(3)
        } else {
            most
        }
    }

    fn cpu_runs(&self) -> usize {
        if self.quick {
            1
        } else {
            5
        }
    }

    /// Seconds of sampling per case (GPU and CPU each) that the counts aim at.
    fn target_seconds(&self) -> f64 {
        if self.quick {
            0.2
        } else {
            0.5
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
    ("kernel", 16),
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
        let method = if gpu.timestamps_supported() && !options.wall {
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
            self.options.warmup(),
            self.options.min_samples(),
            self.options.max_samples(),
            if self.options.no_cpu {
                0
            } else {
                self.options.cpu_runs()
            },
            self.options.target_seconds()
        );
        println!(
            "cpu:     single-threaded gpu_vgae::internal::cpu twins; cpu/gpu > 1 means the GPU is faster"
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
            (self.options.target_seconds() / estimate).ceil() as usize
        } else {
            most
        };
        wanted.clamp(least.min(most), most)
    }

    /// Times `recording` (warm-ups, then samples) and `cpu` (the CPU twin, if any), then
    /// prints and records the case's row, and returns it. Returns `Ok(None)` without
    /// running anything when the filters exclude the case.
    pub fn run(
        &mut self,
        case: &Case,
        recording: &Recording,
        cpu: Option<&mut dyn FnMut()>,
    ) -> Result<Option<CaseResult>> {
        if !self.wants(case) {
            return Ok(None);
        }
        let result = self.measure(case, self.method, &mut || self.time_once(recording), cpu)?;
        self.record(case, result.clone());
        Ok(Some(result))
    }

    /// Like [`Bench::run`] for work that is not one recording (a whole algorithm with
    /// readbacks between its submissions, e.g. k-means): `gpu` runs it once, and is
    /// timed with the wall clock.
    pub fn run_host(
        &mut self,
        case: &Case,
        gpu: &mut dyn FnMut() -> Result<()>,
        cpu: Option<&mut dyn FnMut()>,
    ) -> Result<Option<CaseResult>> {
        if !self.wants(case) {
            return Ok(None);
        }
        let mut once = || {
            let start = Instant::now();
            gpu()?;
            Ok(start.elapsed().as_secs_f64())
        };
        let result = self.measure(case, TimingMethod::Wall, &mut once, cpu)?;
        self.record(case, result.clone());
        Ok(Some(result))
    }

    /// Warm-ups and samples of `gpu_once` (seconds per run), then the CPU runs.
    fn measure(
        &self,
        case: &Case,
        method: TimingMethod,
        gpu_once: &mut dyn FnMut() -> Result<f64>,
        cpu: Option<&mut dyn FnMut()>,
    ) -> Result<CaseResult> {
        // Warm-ups also build any lazily compiled state in the driver; the first one
        // estimates a run's cost so that slow cases take few samples and fast ones many.
        let mut estimate = f64::INFINITY;
        for _ in 0..self.options.warmup() {
            estimate = estimate.min(gpu_once()?);
        }
        let count = if estimate.is_finite() {
            self.sample_count(
                estimate,
                self.options.min_samples(),
                self.options.max_samples(),
            )
        } else {
            self.options.min_samples()
        };
        let mut samples = Vec::with_capacity(count);
        for _ in 0..count {
            samples.push(gpu_once()?);
        }
        let gpu = Stats::from_samples(&samples).expect("at least one sample is taken");
        let cpu = match cpu {
            Some(f) if !self.options.no_cpu => {
                let mut times = Vec::new();
                let start = Instant::now();
                f();
                let first = start.elapsed().as_secs_f64();
                times.push(first);
                // The CPU twin may take seconds (Pubmed's dense decoder): a slow one runs
                // once, a fast one up to cpu_runs times.
                let runs = self.sample_count(first, 1, self.options.cpu_runs());
                for _ in 1..runs {
                    let start = Instant::now();
                    f();
                    times.push(start.elapsed().as_secs_f64());
                }
                Stats::from_samples(&times)
            }
            _ => None,
        };
        Ok(CaseResult {
            group: case.group.clone(),
            kernel: case.kernel.clone(),
            shape: case.shape.clone(),
            method,
            gpu,
            cpu,
            work: case.work,
            gflops: (case.work.flops > 0.0).then(|| case.work.flops / gpu.median * 1e-9),
            gbytes: case.work.bytes / gpu.median * 1e-9,
            speedup: cpu.map(|c| c.median / gpu.median),
            per_epoch: case.per_epoch,
        })
    }

    /// Like [`Bench::run`] for work that is not one recording (a host-driven search
    /// with readbacks between passes): `gpu` is timed with the wall clock, whatever the
    /// method of the other cases.
    pub fn run_fn(
        &mut self,
        case: &Case,
        gpu: &mut dyn FnMut() -> Result<()>,
        cpu: Option<&mut dyn FnMut()>,
    ) -> Result<Option<CaseResult>> {
        if !self.wants(case) {
            return Ok(None);
        }
        let mut once = || -> Result<f64> {
            let start = Instant::now();
            gpu()?;
            Ok(start.elapsed().as_secs_f64())
        };
        let mut estimate = f64::INFINITY;
        for _ in 0..self.options.warmup() {
            estimate = estimate.min(once()?);
        }
        let count = self.sample_count(
            estimate,
            self.options.min_samples(),
            self.options.max_samples(),
        );
        let samples = (0..count).map(|_| once()).collect::<Result<Vec<f64>>>()?;
        let gpu = Stats::from_samples(&samples).expect("at least one sample is taken");
        let cpu = match cpu {
            Some(f) if !self.options.no_cpu => {
                let start = Instant::now();
                f();
                let first = start.elapsed().as_secs_f64();
                let mut times = vec![first];
                for _ in 1..self.sample_count(first, 1, self.options.cpu_runs()) {
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
            method: TimingMethod::Wall,
            gpu,
            cpu,
            work: case.work,
            gflops: (case.work.flops > 0.0).then(|| case.work.flops / gpu.median * 1e-9),
            gbytes: case.work.bytes / gpu.median * 1e-9,
            speedup: cpu.map(|c| c.median / gpu.median),
            per_epoch: case.per_epoch,
        };
        self.record(case, result.clone());
        Ok(Some(result))
    }

    /// Prints and records a result measured earlier (a step that another group shares)
    /// under `case`'s group and epoch count.
    pub fn record(&mut self, case: &Case, measured: CaseResult) {
        let result = CaseResult {
            group: case.group.clone(),
            per_epoch: case.per_epoch,
            ..measured
        };
        self.flush_group();
        self.print_row(&result);
        self.results.push(result);
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

//! Host memory, read from `/proc`: what the process holds (its peak and current
//! resident set, from `/proc/self/status`, for benchmarks and run reports) and what the
//! system can still give it (`MemAvailable` of `/proc/meminfo`, checked before large host
//! buffers are made from sizes that came from a flag or a file).
//!
//! Linux only; elsewhere every query answers `None` (or `false`), so callers print "n/a"
//! or skip the check rather than fail. The resident figures cover the whole process —
//! host allocations, the driver's mappings, the test harness — not one data structure.

use std::sync::OnceLock;

use crate::error::{Error, Result};

#[path = "memory/estimate.rs"]
mod estimate;

pub use estimate::{
    check_fits, estimate_run, MemoryEstimate, PhaseEstimate, RunPlan, RunShape, PROCESS_BASE_BYTES,
};

/// The most bytes one step of an upload or a readback moves through wgpu's host-visible
/// staging memory (see [`crate::gpu::GpuArray::write`] and [`crate::gpu::Gpu::read_many`]):
/// on a CPU adapter that staging is host memory, so a whole-tensor step would hold a
/// second copy of a tensor of gigabytes.
pub const TRANSFER_CHUNK_BYTES: u64 = 64 << 20;

/// Whether an adapter of this device type (as [`crate::gpu::AdapterReport::device_type`]
/// names it) keeps its device memory in the process's host memory: CPU adapters such as
/// lavapipe do, so their buffers count in the resident set.
pub fn device_memory_is_host(device_type: &str) -> bool {
    device_type == "Cpu"
}

/// Environment variable that makes a run print its memory at the end of every phase
/// (set and not `0`): see [`trace`].
pub const TRACE_MEMORY_ENV: &str = "GPU_VGAE_TRACE_MEMORY";

/// Whether [`TRACE_MEMORY_ENV`] asks for memory traces (read once).
pub fn trace_enabled() -> bool {
    static ENABLED: OnceLock<bool> = OnceLock::new();
    *ENABLED.get_or_init(|| {
        std::env::var_os(TRACE_MEMORY_ENV).is_some_and(|v| !v.is_empty() && v != "0")
    })
}

/// With [`TRACE_MEMORY_ENV`] set, prints one line to stderr at the end of `phase`: the
/// resident set now, its peak so far (a phase that raised it shows as a step from the
/// previous line; the peak is not reset, so `/usr/bin/time` still sees the whole run's),
/// and the device memory the buffer pool holds where the caller knows it. Does nothing
/// otherwise. On lavapipe the device memory is part of the resident set.
pub fn trace(phase: &str, device_bytes: Option<u64>) {
    if !trace_enabled() {
        return;
    }
    let device = device_bytes.map_or(String::new(), |b| {
        format!(", device {}", format_mib(Some(b)))
    });
    eprintln!(
        "memory: {phase:<22} rss {:>12}, peak {:>12}{device}",
        format_mib(current_rss_bytes()),
        format_mib(peak_rss_bytes()),
    );
}

/// The process's peak resident set size in bytes since it started (or since the last
/// successful [`reset_peak_rss`]); `None` where it cannot be read (not Linux, no `/proc`).
pub fn peak_rss_bytes() -> Option<u64> {
    status_field_bytes("VmHWM")
}

/// The process's current resident set size in bytes; `None` where it cannot be read.
pub fn current_rss_bytes() -> Option<u64> {
    status_field_bytes("VmRSS")
}

/// Resets the peak that [`peak_rss_bytes`] reports to the current resident set, so that a
/// phase's own peak can be measured (Linux ≥ 4.0: writes `5` to `/proc/self/clear_refs`).
/// Returns whether the reset happened; where it did not, the peak keeps covering the whole
/// run so far.
pub fn reset_peak_rss() -> bool {
    #[cfg(target_os = "linux")]
    {
        std::fs::write("/proc/self/clear_refs", "5").is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Bytes of memory the system can give this process now without swapping
/// (`MemAvailable` of /proc/meminfo on Linux); `None` where that is unknown.
pub fn available_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_status_field(&text, "MemAvailable")
}

/// Fails with [`Error::InsufficientMemory`] when `needed` bytes of host memory for
/// `what` exceed what is available (never where availability is unknown).
pub fn check_host_memory(what: impl FnOnce() -> String, needed: u64) -> Result<()> {
    match available_memory() {
        Some(available) if needed > available => Err(Error::InsufficientMemory {
            what: what(),
            needed,
            available,
            limit: "available host memory",
        }),
        _ => Ok(()),
    }
}

/// The error for a host allocation of `needed` bytes for `what` that the allocator
/// refused ([`Error::InsufficientMemory`], against the available host memory where that
/// is known).
pub(crate) fn allocation_failed(what: String, needed: u64) -> Error {
    match available_memory() {
        Some(available) => Error::InsufficientMemory {
            what,
            needed,
            available,
            limit: "available host memory",
        },
        None => Error::InsufficientMemory {
            what,
            needed,
            available: 0,
            limit: "memory the allocator would give",
        },
    }
}

/// Formats a byte count as MiB with one decimal, or `n/a` for `None`.
pub fn format_mib(bytes: Option<u64>) -> String {
    match bytes {
        Some(b) => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
        None => "n/a".to_string(),
    }
}

fn status_field_bytes(field: &str) -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let text = std::fs::read_to_string("/proc/self/status").ok()?;
        parse_status_field(&text, field)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = field;
        None
    }
}

/// The value of `field` (a `Name:\t  1234 kB` line of `/proc/<pid>/status` or
/// `/proc/meminfo`) in bytes.
fn parse_status_field(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find_map(|line| {
        line.strip_prefix(field)
            .and_then(|rest| rest.strip_prefix(':'))
    })?;
    let mut words = line.split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    // The kernel always writes kB (KiB); refuse anything else rather than guess.
    match words.next() {
        Some("kB") => value.checked_mul(1024),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tcat\nVmPeak:\t    8000 kB\nVmHWM:\t    1234 kB\n\
                          VmRSS:\t     999 kB\nVmRSSX:\t 7 kB\nThreads:\t1\n";

    #[test]
    fn parses_kib_fields_of_proc_status() {
        assert_eq!(parse_status_field(STATUS, "VmHWM"), Some(1234 * 1024));
        assert_eq!(parse_status_field(STATUS, "VmRSS"), Some(999 * 1024));
        // A field name that is a prefix of another must not match the longer one.
        assert_eq!(parse_status_field("VmRSSX:\t 7 kB\n", "VmRSS"), None);
        assert_eq!(parse_status_field(STATUS, "VmSwap"), None);
        assert_eq!(parse_status_field("VmHWM:\t 12 MB\n", "VmHWM"), None);
        assert_eq!(parse_status_field("VmHWM:\t x kB\n", "VmHWM"), None);
        assert_eq!(parse_status_field("VmHWM:\n", "VmHWM"), None);
    }

    #[test]
    fn formats_mib() {
        assert_eq!(format_mib(Some(3 * 1024 * 1024 / 2)), "1.5 MiB");
        assert_eq!(format_mib(None), "n/a");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn peak_covers_a_touched_allocation_on_linux() {
        let block = vec![1u8; 64 << 20];
        std::hint::black_box(&block);
        let now = current_rss_bytes().expect("VmRSS on Linux");
        let peak = peak_rss_bytes().expect("VmHWM on Linux");
        // Other tests run in parallel threads, so only lower bounds are safe.
        assert!(now >= 64 << 20, "current {now} with 64 MiB touched");
        assert!(peak >= now, "peak {peak} below current {now}");
        drop(block);
    }

    #[test]
    #[cfg_attr(not(target_os = "linux"), ignore = "reads /proc/meminfo")]
    fn an_impossible_request_is_refused_and_named() {
        assert!(available_memory().is_some_and(|bytes| bytes > 0));
        let err =
            check_host_memory(|| "W0 (3703 x 1000000000 floats)".into(), u64::MAX).unwrap_err();
        let message = err.to_string();
        assert!(
            message.contains("W0 (3703 x 1000000000 floats)"),
            "{message}"
        );
        assert!(message.contains("available host memory"), "{message}");
        assert!(check_host_memory(|| "nothing".into(), 1).is_ok());
    }
}

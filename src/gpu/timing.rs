//! GPU timestamps per dispatch, for benchmarks and profiling.
//!
//! [`Gpu::run_timed`] records every dispatch of a [`Recording`] in a compute pass of its
//! own whose `timestamp_writes` bracket it (begin and end of pass), resolves the query
//! set into a buffer, reads it back and converts ticks to nanoseconds with the queue's
//! timestamp period. Splitting the recording into one pass per dispatch is what makes
//! per-dispatch figures possible with `TIMESTAMP_QUERY` alone (timestamps *inside* a
//! pass need `TIMESTAMP_QUERY_INSIDE_PASSES`, which fewer adapters offer); the extra
//! pass boundaries cost little, since wgpu already places barriers between dependent
//! dispatches.
//!
//! Where the device lacks `Features::TIMESTAMP_QUERY`, [`Gpu::run_timed`] returns
//! `Ok(None)` and callers fall back to wall-clock time around [`Gpu::run`].

use serde::Serialize;

use super::context::Gpu;
use super::recording::{Dispatch, Recording};
use crate::error::{Error, Result};

/// One dispatch's GPU time, from its pass's begin and end timestamps.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct KernelTiming {
    /// The dispatch's label, e.g. `gpu_vgae.spmm`.
    pub label: String,
    /// The kernel (shader file stem), e.g. `spmm`.
    pub kernel: &'static str,
    /// Nanoseconds between the pass's begin and end timestamps (0 if the device's
    /// counter went backwards, which the Vulkan spec allows across a wrap of a counter
    /// narrower than 64 bits).
    pub nanos: f64,
}

/// Dispatches timed per query set: two queries each, and a query set holds at most
/// `QUERY_SET_MAX_QUERIES`. Longer recordings are timed in several sets within one
/// submission.
const DISPATCHES_PER_SET: usize = (wgpu::QUERY_SET_MAX_QUERIES / 2) as usize;

/// Bytes per resolved query (a `u64` tick count).
const QUERY_BYTES: u64 = wgpu::QUERY_SIZE as u64;

impl Gpu {
    /// Whether the device was created with `Features::TIMESTAMP_QUERY`, i.e. whether
    /// [`Gpu::run_timed`] can measure (the same as `report().timestamp_queries`).
    pub fn timestamps_supported(&self) -> bool {
        self.device()
            .features()
            .contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    /// Runs `recording` with every dispatch in its own timestamped compute pass, waits for
    /// it, and returns one [`KernelTiming`] per dispatch in order. Returns `Ok(None)`
    /// (running nothing) when the device has no timestamp queries; time
    /// [`Gpu::run`] on the host instead.
    ///
    /// Allocates a query set and two small buffers per call, so it suits benchmarks and
    /// profiling rather than every training step.
    pub fn run_timed(&self, recording: &Recording) -> Result<Option<Vec<KernelTiming>>> {
        if !self.timestamps_supported() {
            return Ok(None);
        }
        let dispatches = recording.dispatches();
        if dispatches.is_empty() {
            return Ok(Some(Vec::new()));
        }
        let label = format!("gpu_vgae.{}.timed", recording.label());
        let sets: Vec<TimestampSet> = dispatches
            .chunks(DISPATCHES_PER_SET)
            .map(|chunk| self.timestamp_set(chunk.len()))
            .collect::<Result<_>>()?;
        self.scoped(&label, || {
            let mut encoder =
                self.device()
                    .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                        label: Some(&label),
                    });
            for (chunk, set) in dispatches.chunks(DISPATCHES_PER_SET).zip(&sets) {
                for (i, dispatch) in chunk.iter().enumerate() {
                    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some(dispatch.label()),
                        timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                            query_set: &set.queries,
                            beginning_of_pass_write_index: Some(2 * i as u32),
                            end_of_pass_write_index: Some(2 * i as u32 + 1),
                        }),
                    });
                    dispatch.encode(&mut pass);
                }
                encoder.resolve_query_set(&set.queries, 0..set.count, &set.resolve, 0);
                encoder.copy_buffer_to_buffer(
                    &set.resolve,
                    0,
                    &set.readback,
                    0,
                    u64::from(set.count) * QUERY_BYTES,
                );
            }
            self.queue().submit(Some(encoder.finish()));
        })?;
        let ticks = self.read_ticks(&sets)?;
        let period = f64::from(self.queue().get_timestamp_period());
        Ok(Some(
            dispatches
                .iter()
                .zip(ticks.chunks_exact(2))
                .map(|(dispatch, pair)| timing(dispatch, pair[0], pair[1], period))
                .collect(),
        ))
    }

    /// A query set for `dispatches` dispatches with its resolve and readback buffers.
    fn timestamp_set(&self, dispatches: usize) -> Result<TimestampSet> {
        // `dispatches` ≤ DISPATCHES_PER_SET, so the count fits a u32 and the set's limit.
        let count = 2 * dispatches as u32;
        let bytes = u64::from(count) * QUERY_BYTES;
        self.scoped("gpu_vgae.timestamps", || TimestampSet {
            queries: self.device().create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("gpu_vgae.timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count,
            }),
            resolve: self.device().create_buffer(&wgpu::BufferDescriptor {
                label: Some("gpu_vgae.timestamps.resolve"),
                size: bytes,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }),
            readback: self.device().create_buffer(&wgpu::BufferDescriptor {
                label: Some("gpu_vgae.timestamps.readback"),
                size: bytes,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            }),
            count,
        })
    }

    /// Maps every set's readback buffer and returns the ticks of all sets in order.
    fn read_ticks(&self, sets: &[TimestampSet]) -> Result<Vec<u64>> {
        let (sender, receiver) = std::sync::mpsc::channel();
        for (index, set) in sets.iter().enumerate() {
            let sender = sender.clone();
            set.readback
                .map_async(wgpu::MapMode::Read, .., move |result| {
                    let _ = sender.send((index, result));
                });
        }
        drop(sender);
        self.wait()?;
        for (index, result) in receiver.iter() {
            result.map_err(|e| Error::Readback(format!("timestamp set {index}: {e}")))?;
        }
        let mut ticks = Vec::new();
        for set in sets {
            {
                let view = set
                    .readback
                    .get_mapped_range(..)
                    .map_err(|e| Error::Readback(format!("timestamps: {e}")))?;
                ticks.extend(bytemuck::pod_collect_to_vec::<u8, u64>(&view));
            }
            set.readback.unmap();
        }
        Ok(ticks)
    }
}

/// A query set and the buffers its results pass through on the way to the host.
struct TimestampSet {
    queries: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    readback: wgpu::Buffer,
    count: u32,
}

fn timing(dispatch: &Dispatch, begin: u64, end: u64, period_ns: f64) -> KernelTiming {
    KernelTiming {
        label: dispatch.label().to_string(),
        kernel: dispatch.kernel(),
        nanos: end.saturating_sub(begin) as f64 * period_ns,
    }
}

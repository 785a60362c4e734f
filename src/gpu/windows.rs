//! Windows of tensors larger than one storage binding.
//!
//! Adapters cap a storage binding well below their largest buffer (lavapipe and wgpu's
//! default: 128 MiB; lavapipe's buffers reach 2 GiB). A kernel whose tensor exceeds
//! [`Gpu::binding_limit`] runs as several dispatches, each binding a window of whole
//! rows at an aligned offset. Where every operand fits, there is one window and the
//! kernel runs exactly as before. The kernels choose how windows combine
//! (kernels/*.rs); [`row_windows`] only plans them.

use std::ops::Range;

use super::buffers::bound_size;
use super::context::Gpu;
use crate::error::{Error, Result};

/// Whether `bytes` bytes fit one storage binding of `gpu`.
pub fn fits_binding(gpu: &Gpu, bytes: u64) -> bool {
    bound_size(bytes) <= gpu.binding_limit()
}

/// Consecutive row ranges covering `rows` rows such that, for every operand with
/// `row_bytes[i]` bytes a row, a window's rows fit one binding and start at a byte
/// offset the device accepts; every window but the last holds a multiple of
/// `granularity` rows (a kernel's own row blocks stay whole). One window `0..rows`
/// where every operand fits whole. `what` names the tensor in the error raised when not
/// even one aligned block of rows fits.
pub fn row_windows(
    gpu: &Gpu,
    what: &str,
    rows: usize,
    row_bytes: &[u64],
    granularity: usize,
) -> Result<Vec<Range<usize>>> {
    if row_bytes
        .iter()
        .all(|&b| fits_binding(gpu, b.saturating_mul(rows as u64)))
    {
        return Ok(std::iter::once(0..rows).collect());
    }
    let limit = gpu.binding_limit() / 16 * 16;
    let alignment = gpu.binding_alignment().max(1);
    let mut step = granularity.max(1) as u64;
    let mut max_rows = u64::MAX;
    for &bytes in row_bytes.iter().filter(|&&b| b > 0) {
        step = lcm(step, alignment / gcd(alignment, bytes));
        max_rows = max_rows.min(limit / bytes);
    }
    let window = max_rows / step * step;
    if window == 0 {
        let widest = row_bytes.iter().copied().max().unwrap_or(0);
        return Err(Error::BufferTooLarge {
            label: format!("{what} (one aligned window of {step} rows)"),
            bytes: step * widest,
            limit: gpu.binding_limit(),
            limit_kind: "storage binding",
        });
    }
    let window = window as usize;
    Ok((0..rows.div_ceil(window))
        .map(|w| w * window..((w + 1) * window).min(rows))
        .collect())
}

/// Flag of a windowed pass: it continues the raw sums an earlier window left in the
/// output (the shaders' `flags & 1`).
pub const CONTINUES: u32 = 1;
/// Flag of a windowed pass: it is the last one and finishes the sums (scale, epilogue;
/// the shaders' `flags & 2`).
pub const FINISHES: u32 = 2;

/// The flags of pass `pass` of `passes` over windows whose sums carry from one pass to
/// the next: [`CONTINUES`] after the first, [`FINISHES`] on the last (a lone pass gets
/// [`FINISHES`] only).
pub fn pass_flags(pass: usize, passes: usize) -> u32 {
    let continues = if pass > 0 { CONTINUES } else { 0 };
    let finishes = if pass + 1 == passes { FINISHES } else { 0 };
    continues | finishes
}

/// The fewest items of `item_bytes` bytes whose total is a multiple of the device's
/// storage offset alignment: windows over a second tensor indexed by the same items
/// (a kernel's output blocks) start aligned when they start at a multiple of this.
pub fn alignment_step(gpu: &Gpu, item_bytes: u64) -> usize {
    let alignment = gpu.binding_alignment().max(1);
    if item_bytes == 0 {
        return 1;
    }
    (alignment / gcd(alignment, item_bytes)) as usize
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

fn lcm(a: u64, b: u64) -> u64 {
    a / gcd(a, b) * b
}

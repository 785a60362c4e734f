// Rows min-max scaled, then scaled to unit length (MAGI's embedding,
// src/filters/magi.rs; torch: (a − min) / (max − min + 1e-20), then F.normalize):
//   lo_i = min_c a_ic,  range_i = max_c a_ic − lo_i + 1e-20,  u_ic = (a_ic − lo_i) / range_i
//   norm_i = max(‖u_i‖, 1e-12),  z_i = u_i / norm_i
// stats keeps (lo, range, norm) per row for the backward pass (minmax_rows_backward.wgsl).
//
// Bindings (group 0):
//   0 uniform    params {rows, cols, _, _}
//   1 storage r  a:     array<f32>, rows × cols
//   2 storage rw z:     array<f32>, rows × cols
//   3 storage rw stats: array<f32>, rows × 3
// Dispatch: one invocation per row (rows invocations), WG per workgroup, grid folded
//   to 2-D. The row is read three times (extremes, squares, scaling) rather than held,
//   so cols has no bound.

struct Params {
    rows: u32,
    cols: u32,
    _pad0: u32,
    _pad1: u32,
}

override WG: u32 = 64u;
const RANGE_EPS: f32 = 1e-20;
const NORM_EPS: f32 = 1e-12;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> z: array<f32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let row = (wid.x + wid.y * nwg.x) * WG + lid;
    if row >= params.rows {
        return;
    }
    let base = row * params.cols;
    var lo = a[base];
    var hi = a[base];
    for (var c = 1u; c < params.cols; c++) {
        lo = min(lo, a[base + c]);
        hi = max(hi, a[base + c]);
    }
    let range = hi - lo + RANGE_EPS;
    var squares = 0.0;
    for (var c = 0u; c < params.cols; c++) {
        let u = (a[base + c] - lo) / range;
        squares += u * u;
    }
    let length = max(sqrt(squares), NORM_EPS);
    for (var c = 0u; c < params.cols; c++) {
        z[base + c] = (a[base + c] - lo) / range / length;
    }
    stats[3u * row] = lo;
    stats[3u * row + 1u] = range;
    stats[3u * row + 2u] = length;
}

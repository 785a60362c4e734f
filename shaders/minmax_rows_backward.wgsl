// The gradient through minmax_rows.wgsl (z_i = u_i / norm_i, u_i = (a_i − lo_i) /
// range_i) of a loss whose gradient with respect to z is g:
//   du_i = (g_i − z_i (z_i·g_i)) / norm_i           (the Jacobian of u ↦ u/‖u‖)
//   du_i = g_i / 1e-12                               where the norm was clamped
//   da_ic = du_ic / range_i, then, with S = Σ_c du_ic u_ic / range_i and
//   T = Σ_c du_ic / range_i:  da at the row's maximum −= S,  at its minimum += S − T
// The maximum and minimum are the first column holding them (torch's max/min pass
// the gradient to the index they return); a constant row has both at column 0.
//
// Bindings (group 0):
//   0 uniform    params {rows, cols, _, _}
//   1 storage r  a:     array<f32>, rows × cols (minmax_rows' input)
//   2 storage r  z:     array<f32>, rows × cols (minmax_rows' output)
//   3 storage r  stats: array<f32>, rows × 3 (lo, range, norm: minmax_rows' output)
//   4 storage r  g:     array<f32>, rows × cols
//   5 storage rw da:    array<f32>, rows × cols
// Dispatch: one invocation per row (rows invocations), WG per workgroup, grid folded
//   to 2-D.

struct Params {
    rows: u32,
    cols: u32,
    _pad0: u32,
    _pad1: u32,
}

override WG: u32 = 64u;
const NORM_EPS: f32 = 1e-12;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> z: array<f32>;
@group(0) @binding(3) var<storage, read> stats: array<f32>;
@group(0) @binding(4) var<storage, read> g: array<f32>;
@group(0) @binding(5) var<storage, read_write> da: array<f32>;

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
    let lo = stats[3u * row];
    let range = stats[3u * row + 1u];
    let length = stats[3u * row + 2u];
    let clamped = length <= NORM_EPS;
    var along = 0.0;
    var lo_at = 0u;
    var hi_at = 0u;
    for (var c = 0u; c < params.cols; c++) {
        along += z[base + c] * g[base + c];
        if a[base + c] < a[base + lo_at] {
            lo_at = c;
        }
        if a[base + c] > a[base + hi_at] {
            hi_at = c;
        }
    }
    var s = 0.0;
    var t = 0.0;
    for (var c = 0u; c < params.cols; c++) {
        var du = g[base + c] / NORM_EPS;
        if !clamped {
            du = (g[base + c] - z[base + c] * along) / length;
        }
        let d = du / range;
        s += d * (a[base + c] - lo) / range;
        t += d;
        da[base + c] = d;
    }
    da[base + hi_at] -= s;
    da[base + lo_at] += s - t;
}

// Rows shifted by a bias and scaled to unit length, as torch.nn.functional.normalize:
//   s_i = h_i + b,  norm_i = max(‖s_i‖, EPS),  z_i = s_i / norm_i        (EPS = 1e-12)
// norm is kept for the backward pass (normalize_rows_backward.wgsl). The trained
// clustering method (src/filters/scgc.rs) embeds each view of the filtered features
// this way.
//
// Bindings (group 0):
//   0 uniform    params {rows, cols, _, _}
//   1 storage r  h:    array<f32>, rows × cols
//   2 storage r  bias: array<f32>, cols
//   3 storage rw z:    array<f32>, rows × cols
//   4 storage rw norm: array<f32>, rows
// Dispatch: one invocation per row (rows invocations), WG per workgroup, grid folded
//   to 2-D. The row is read twice (the sum of squares, then the scaling) rather than
//   held, so cols has no bound.

struct Params {
    rows: u32,
    cols: u32,
    _pad0: u32,
    _pad1: u32,
}

override WG: u32 = 64u;
const EPS: f32 = 1e-12;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> h: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> z: array<f32>;
@group(0) @binding(4) var<storage, read_write> norm: array<f32>;

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
    var squares = 0.0;
    for (var c = 0u; c < params.cols; c++) {
        let s = h[base + c] + bias[c];
        squares += s * s;
    }
    let length = max(sqrt(squares), EPS);
    for (var c = 0u; c < params.cols; c++) {
        z[base + c] = (h[base + c] + bias[c]) / length;
    }
    norm[row] = length;
}

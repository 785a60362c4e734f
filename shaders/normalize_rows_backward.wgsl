// The gradient through normalize_rows.wgsl of a loss whose gradient with respect to z
// is g = scale·(y − q) (the trained clustering method's: scale = 2/N², y = Z·G of the
// other view, q = T·Z of the other view; src/filters/scgc.rs):
//   dh_i = (g_i − z_i (z_i·g_i)) / norm_i      (the Jacobian of s ↦ s/‖s‖, symmetric)
//   dh_i = g_i / EPS                            where the norm was clamped (norm_i ≤ EPS:
//                                               z = s/EPS, linear)
// The bias's gradient is the column sum of dh (reduce_sum), the same for every row.
//
// Bindings (group 0):
//   0 uniform    params {rows, cols, scale, _}
//   1 storage r  z:    array<f32>, rows × cols (normalize_rows' output)
//   2 storage r  norm: array<f32>, rows (normalize_rows' output)
//   3 storage r  y:    array<f32>, rows × cols
//   4 storage r  q:    array<f32>, rows × cols
//   5 storage rw dh:   array<f32>, rows × cols
// Dispatch: one invocation per row (rows invocations), WG per workgroup, grid folded
//   to 2-D.

struct Params {
    rows: u32,
    cols: u32,
    scale: f32,
    _pad0: u32,
}

override WG: u32 = 64u;
const EPS: f32 = 1e-12;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> norm: array<f32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(4) var<storage, read> q: array<f32>;
@group(0) @binding(5) var<storage, read_write> dh: array<f32>;

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
    let length = norm[row];
    if length <= EPS {
        for (var c = 0u; c < params.cols; c++) {
            dh[base + c] = params.scale * (y[base + c] - q[base + c]) / EPS;
        }
        return;
    }
    var along = 0.0;
    for (var c = 0u; c < params.cols; c++) {
        along += z[base + c] * params.scale * (y[base + c] - q[base + c]);
    }
    for (var c = 0u; c < params.cols; c++) {
        let g = params.scale * (y[base + c] - q[base + c]);
        dh[base + c] = (g - z[base + c] * along) / length;
    }
}

// The mean squared error's gradient and per-row loss, for rows × cols matrices a
// (prediction) and b (target):
//   grad[i, c] = params.scale · w_i · (a[i, c] − b[i, c])   (+ grad[i, c] with ACCUMULATE)
//   loss_rows[i] = w_i · Σ_c (a[i, c] − b[i, c])²            (summed in column order)
// w_i = weights[i] with ROW_WEIGHTS, else 1. For MSE = mean over all entries, scale =
// 2 / (rows·cols) and the loss is Σ loss_rows / (rows·cols) (reduce_sum adds the rows).
// DFCN (DESIGN.md §10a): MSE(X̂, X) and MSE(Ẑ, ÂX); row weights serve the AE
// pretraining's mini-batches (a padded last batch: 0 for the padding rows).
//
// Pipeline constants, set by the host (kernels/mse_grad.rs):
//   ROW_WEIGHTS  whether weights are read.
//   ACCUMULATE   whether grad's previous value is added (another loss's gradient).
//
// Bindings (group 0):
//   0 uniform    params {rows, cols, scale, _}
//   1 storage r  a:         array<f32>, rows × cols
//   2 storage r  b:         array<f32>, rows × cols
//   3 storage r  weights:   array<f32>, rows
//   4 storage rw grad:      array<f32>, rows × cols
//   5 storage rw loss_rows: array<f32>, rows
// Dispatch: one invocation per row, WG per workgroup, grid folded to 2-D.

struct Params {
    rows: u32,
    cols: u32,
    scale: f32,
    _pad0: u32,
}

override WG: u32 = 64u;
override ROW_WEIGHTS: bool = false;
override ACCUMULATE: bool = false;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read_write> grad: array<f32>;
@group(0) @binding(5) var<storage, read_write> loss_rows: array<f32>;

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = (wid.x + wid.y * nwg.x) * WG + lid;
    if i >= params.rows {
        return;
    }
    var w = 1.0;
    if ROW_WEIGHTS {
        w = weights[i];
    }
    let g = params.scale * w;
    var loss = 0.0;
    for (var c = 0u; c < params.cols; c++) {
        let e = i * params.cols + c;
        let d = a[e] - b[e];
        loss += d * d;
        var v = g * d;
        if ACCUMULATE {
            v += grad[e];
        }
        grad[e] = v;
    }
    loss_rows[i] = w * loss;
}

// A sampled dense-dense product through a shifted sigmoid (SDDMM), over the entries of
// a CSR pattern: for entry e = (i, j) of row i with weight w_e,
//   u        = (x_i · y_j − shift) / temperature
//   value[e] = w_e · σ(u)
//   coef[e]  = gain · w_e · σ(u) (1 − σ(u)) / temperature     (= gain · ∂value[e]/∂(x_i·y_j))
// σ is computed stably: 1/(1 + exp(−u)) for u ≥ 0, exp(u)/(1 + exp(u)) otherwise, so
// exp never overflows. The sum of value is NS4GC's sampled sparsity term; coef, as the
// values of a CSR sharing this pattern, gives its gradient by spmm (src/filters/ns4gc.rs).
//
// Bindings (group 0):
//   0 uniform    params {rows, cols, shift, temperature, gain, _, _, _}
//   1 storage r  row_ptr: array<u32>, rows + 1 (entries of row i: row_ptr[i] .. row_ptr[i+1])
//   2 storage r  col_idx: array<u32>, nnz (j < y's rows)
//   3 storage r  weight:  array<f32>, nnz
//   4 storage r  x:       array<f32>, rows × cols
//   5 storage r  y:       array<f32>, (rows of y) × cols
//   6 storage rw value:   array<f32>, nnz
//   7 storage rw coef:    array<f32>, nnz
// Dispatch: one invocation per row (rows invocations), WG per workgroup, grid folded
//   to 2-D; an invocation loops over its row's entries (x_i is re-read per entry rather
//   than held, so cols has no bound).

struct Params {
    rows: u32,
    cols: u32,
    shift: f32,
    temperature: f32,
    gain: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(2) var<storage, read> col_idx: array<u32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read> x: array<f32>;
@group(0) @binding(5) var<storage, read> y: array<f32>;
@group(0) @binding(6) var<storage, read_write> value: array<f32>;
@group(0) @binding(7) var<storage, read_write> coef: array<f32>;

fn sigmoid(u: f32) -> f32 {
    if u >= 0.0 {
        return 1.0 / (1.0 + exp(-u));
    }
    let e = exp(u);
    return e / (1.0 + e);
}

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
    let xi = row * params.cols;
    for (var e = row_ptr[row]; e < row_ptr[row + 1u]; e++) {
        let yj = col_idx[e] * params.cols;
        var dot = 0.0;
        for (var c = 0u; c < params.cols; c++) {
            dot += x[xi + c] * y[yj + c];
        }
        let s = sigmoid((dot - params.shift) / params.temperature);
        let w = weight[e];
        value[e] = w * s;
        coef[e] = params.gain * w * s * (1.0 - s) / params.temperature;
    }
}

// A sampled dense-dense product through a row softmax (SDDMM), over the entries of a
// CSR pattern: for row i with entries e = (i, j),
//   s_e      = (x_i · y_j) / temperature
//   lse[i]   = log Σ_e exp(s_e)                        (0 for a row without entries)
//   coef[e]  = gain[i] · exp(s_e − lse[i])            (= gain[i] · ∂lse[i]/∂s_e)
//   coef_t[slot[e]] = coef[e]
// MAGI's contrastive denominator over the sampled negatives (src/filters/magi.rs): lse
// estimates the log-partition, coef as the values of a CSR sharing this pattern gives
// its gradient by spmm, coef_t (the same values in the transposed pattern's order,
// slot a permutation from the host) the gradient's other side.
// The row is walked twice: an online max and sum (each s_e kept in coef meanwhile),
// then the coefficients; so cols and the entries per row have no bound.
//
// Bindings (group 0):
//   0 uniform    params {rows, cols, inv_temperature, _}
//   1 storage r  row_ptr: array<u32>, rows + 1 (entries of row i: row_ptr[i] .. row_ptr[i+1])
//   2 storage r  col_idx: array<u32>, nnz (j < y's rows)
//   3 storage r  slot:    array<u32>, nnz (a permutation of 0 .. nnz)
//   4 storage r  gain:    array<f32>, rows
//   5 storage r  x:       array<f32>, rows × cols
//   6 storage r  y:       array<f32>, (rows of y) × cols
//   7 storage rw coef:    array<f32>, nnz
//   8 storage rw coef_t:  array<f32>, nnz
//   9 storage rw lse:     array<f32>, rows
// Dispatch: one invocation per row (rows invocations), WG per workgroup, grid folded
//   to 2-D.

struct Params {
    rows: u32,
    cols: u32,
    inv_temperature: f32,
    _pad0: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(2) var<storage, read> col_idx: array<u32>;
@group(0) @binding(3) var<storage, read> slot: array<u32>;
@group(0) @binding(4) var<storage, read> gain: array<f32>;
@group(0) @binding(5) var<storage, read> x: array<f32>;
@group(0) @binding(6) var<storage, read> y: array<f32>;
@group(0) @binding(7) var<storage, read_write> coef: array<f32>;
@group(0) @binding(8) var<storage, read_write> coef_t: array<f32>;
@group(0) @binding(9) var<storage, read_write> lse: array<f32>;

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
    let first = row_ptr[row];
    let end = row_ptr[row + 1u];
    if first == end {
        lse[row] = 0.0;
        return;
    }
    let xi = row * params.cols;
    var m = -3.4e38;
    var l = 0.0;
    for (var e = first; e < end; e++) {
        let yj = col_idx[e] * params.cols;
        var dot = 0.0;
        for (var c = 0u; c < params.cols; c++) {
            dot += x[xi + c] * y[yj + c];
        }
        let s = dot * params.inv_temperature;
        coef[e] = s;
        let m_new = max(m, s);
        l = l * exp(m - m_new) + exp(s - m_new);
        m = m_new;
    }
    let log_sum = m + log(l);
    lse[row] = log_sum;
    let g = gain[row];
    for (var e = first; e < end; e++) {
        let c = g * exp(coef[e] - log_sum);
        coef[e] = c;
        coef_t[slot[e]] = c;
    }
}

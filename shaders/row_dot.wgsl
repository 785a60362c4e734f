// Row-wise dot products: out[i] = Σ_c x[i, c] · y[i, c] (summed in column order) for
// rows × cols matrices. DFCN's attention backward (DESIGN.md §10a): d_i = dZ̃_i · zs_i,
// whose sum is ∂L/∂γ (reduce_sum) and which attention_backward reads per row.
//
// Bindings (group 0):
//   0 uniform    params {rows, cols, _, _}
//   1 storage r  x:   array<f32>, rows × cols
//   2 storage r  y:   array<f32>, rows × cols
//   3 storage rw out: array<f32>, rows
// Dispatch: one invocation per row, WG per workgroup, grid folded to 2-D.

struct Params {
    rows: u32,
    cols: u32,
    _pad0: u32,
    _pad1: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

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
    var acc = 0.0;
    for (var c = 0u; c < params.cols; c++) {
        acc += x[i * params.cols + c] * y[i * params.cols + c];
    }
    out[i] = acc;
}

// One level of a hierarchical column sum: out[g, c] = Σ_{r in group g} input[r, c],
//   group g = rows [g·group_rows, min(rows, (g+1)·group_rows)).
// The host repeats it (rows ← groups) until one row is left, so every loss sum is a
// tree of short sequential sums rather than one accumulator over N or N² terms. With
// cols = 1 it sums a vector; with cols = k·n it adds up matmul_tn_partial's chunks.
//
// Bindings (group 0):
//   0 uniform    params {rows, cols, group_rows, groups = ceil(rows / group_rows)}
//   1 storage r  input: array<f32>, rows × cols
//   2 storage rw out:   array<f32>, groups × cols
// Dispatch: one invocation per (group, column): groups × cols invocations, WG per
//   workgroup, grid folded to 2-D; adjacent invocations read adjacent columns.

struct Params {
    rows: u32,
    cols: u32,
    group_rows: u32,
    groups: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let t = (wid.x + wid.y * nwg.x) * WG + lid;
    if t >= params.groups * params.cols {
        return;
    }
    let g = t / params.cols;
    let c = t % params.cols;
    let r0 = g * params.group_rows;
    let r1 = min(params.rows, r0 + params.group_rows);
    var acc = 0.0;
    for (var r = r0; r < r1; r++) {
        acc += input[r * params.cols + c];
    }
    out[g * params.cols + c] = acc;
}

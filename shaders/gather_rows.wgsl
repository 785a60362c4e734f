// Gathers rows: out[r, c] = src[index[r] · src_stride + c] for r < rows, c < cols.
// The subgraph objective (DESIGN.md §2c) takes the sampled rows Z[S] of the embeddings
// this way, so that the dense decoder runs on n rows instead of N.
//
// Bindings (group 0):
//   0 uniform    params {rows, cols, src_stride, src_rows}
//   1 storage r  src:   array<f32>, src_rows × src_stride (the first cols columns used)
//   2 storage r  index: array<u32>, rows (each < src_rows; the host checks)
//   3 storage rw out:   array<f32>, rows × cols
// Dispatch: one invocation per output element: rows × cols invocations, WG per
//   workgroup, grid folded to 2-D.

struct Params {
    rows: u32,
    cols: u32,
    src_stride: u32,
    src_rows: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> index: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let t = (wid.x + wid.y * nwg.x) * WG + lid;
    if t >= params.rows * params.cols {
        return;
    }
    let r = t / params.cols;
    let c = t % params.cols;
    // Clamped so that a bad index cannot read outside src (the host validates).
    let row = min(index[r], params.src_rows - 1u);
    out[t] = src[row * params.src_stride + c];
}

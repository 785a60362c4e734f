// Gathers rows: out[r, c] = src[index[r] · src_stride + c] for r < rows, c < cols.
// The subgraph objective (DESIGN.md §2c) takes the sampled rows Z[S] of the embeddings
// this way, so that the dense decoder runs on n rows instead of N.
//
// Pipeline constant WINDOWED: src is larger than one storage binding (gpu/windows.rs);
// src holds only its rows src_lo .. src_lo + src_rows, outputs whose index falls
// outside are left as they are, and the host runs one dispatch per window of src, so
// each output row is copied exactly once.
//
// Bindings (group 0):
//   0 uniform    params {rows, cols, src_stride, src_rows, src_lo, _, _, _}
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
    src_lo: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

override WG: u32 = 64u;
override WINDOWED: bool = false;

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
    var row = index[r];
    if WINDOWED {
        row -= params.src_lo;
        if row >= params.src_rows {
            return;
        }
    }
    // Clamped so that a bad index cannot read outside src (the host validates).
    row = min(row, params.src_rows - 1u);
    out[t] = src[row * params.src_stride + c];
}

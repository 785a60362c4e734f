// CSR sparse × dense product: out = A · B.
//   A: rows × inner, CSR (row_ptr, col_idx, values); B: inner × cols, row-major;
//   out: rows × cols, row-major, every element written (empty rows give zeros).
// Used for Â·H (graph convolutions, forward and backward), X·W0 (sparse features) and
// Xᵀ·dP (first weight gradient, Xᵀ stored as its own CSR).
//
// Bindings (group 0):
//   0 uniform    params  {rows, cols, col_groups = ceil(cols / 4), _}
//   1 storage r  row_ptr: array<u32>, rows + 1
//   2 storage r  col_idx: array<u32>, nnz
//   3 storage r  values:  array<f32>, nnz
//   4 storage r  b:       array<f32>, inner × cols
//   5 storage rw out:     array<f32>, rows × cols
// Dispatch: one invocation per (row, group of 4 consecutive output columns):
//   rows × col_groups invocations, WG per workgroup, grid folded to 2-D
//   (linear id = (wid.x + wid.y · nwg.x) · WG + lid). Each invocation keeps its four
//   accumulators in registers and walks the row's nonzeros once.

struct Params {
    rows: u32,
    cols: u32,
    col_groups: u32,
    _pad: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(2) var<storage, read> col_idx: array<u32>;
@group(0) @binding(3) var<storage, read> values: array<f32>;
@group(0) @binding(4) var<storage, read> b: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let t = (wid.x + wid.y * nwg.x) * WG + lid;
    if t >= params.rows * params.col_groups {
        return;
    }
    let row = t / params.col_groups;
    let c0 = (t % params.col_groups) * 4u;
    let cols = params.cols;
    let start = row_ptr[row];
    let end = row_ptr[row + 1u];
    let dst = row * cols + c0;
    if c0 + 4u <= cols {
        var acc = vec4<f32>(0.0);
        for (var k = start; k < end; k++) {
            let src = col_idx[k] * cols + c0;
            acc += values[k] * vec4<f32>(b[src], b[src + 1u], b[src + 2u], b[src + 3u]);
        }
        out[dst] = acc.x;
        out[dst + 1u] = acc.y;
        out[dst + 2u] = acc.z;
        out[dst + 3u] = acc.w;
    } else {
        // The last, partial group of columns.
        let width = cols - c0;
        for (var c = 0u; c < width; c++) {
            var acc = 0.0;
            for (var k = start; k < end; k++) {
                acc += values[k] * b[col_idx[k] * cols + c0 + c];
            }
            out[dst + c] = acc;
        }
    }
}

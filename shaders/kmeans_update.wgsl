// k-means update step, first stage (DESIGN.md §8): per chunk of chunk_rows consecutive
// points, the sum of each cluster's coordinates and its number of points:
//   partial[b, c, j] = Σ_{i in chunk b, labels[i] = c} x_ij     j < dim
//   partial[b, c, dim] = #{i in chunk b : labels[i] = c}        (as f32, exact < 2^24)
// with cols = dim + 1 columns per cluster. Each (chunk, column) is one invocation that
// adds its chunk's points in point order into its own column of its chunk's partials:
// no two invocations write the same element, so there are no atomics and the sums are
// the same on every run. The host adds the chunks up with the reduce_sum chain (a tree
// of short sequential sums) into k × cols totals, then sets centroid = sum / count.
// The point slice [first, first + n) lets the host split points too large for one
// storage binding; first must be a multiple of chunk_rows, so the chunks of the slices
// are those of the whole array (chunk_base = first / chunk_rows) and the sums do not
// depend on the slicing.
//
// Bindings (group 0):
//   0 uniform    params  {n = points in this slice, first, k, dim, cols = dim + 1,
//                         chunk_rows, chunks = ceil(n / chunk_rows), chunk_base}
//   1 storage r  points:  array<f32>, n × dim, row-major (the slice)
//   2 storage r  labels:  array<u32>, ≥ first + n, each below k (clamped to k − 1)
//   3 storage rw partial: array<f32>, ≥ (chunk_base + chunks) × k × cols
// Dispatch: one invocation per (chunk, column): chunks × cols invocations, WG per
//   workgroup, grid folded to 2-D (linear id = (wid.x + wid.y · nwg.x) · WG + lid);
//   adjacent invocations own adjacent columns of a chunk, so their loads and stores are
//   adjacent.

struct Params {
    n: u32,
    first: u32,
    k: u32,
    dim: u32,
    cols: u32,
    chunk_rows: u32,
    chunks: u32,
    chunk_base: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> points: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let t = (wid.x + wid.y * nwg.x) * WG + lid;
    let cols = params.cols;
    if t >= params.chunks * cols {
        return;
    }
    let chunk = t / cols;
    let j = t % cols;
    let dim = params.dim;
    let k = params.k;
    let base = (params.chunk_base + chunk) * k * cols + j;
    for (var c = 0u; c < k; c++) {
        partial[base + c * cols] = 0.0;
    }
    // Column dim counts the points; it reads coordinate dim − 1 (in bounds) and adds 1.
    let is_count = j == dim;
    let jj = min(j, dim - 1u);
    let i0 = chunk * params.chunk_rows;
    let i1 = min(params.n, i0 + params.chunk_rows);
    for (var i = i0; i < i1; i++) {
        let c = min(labels[params.first + i], k - 1u);
        let v = select(points[i * dim + jj], 1.0, is_count);
        partial[base + c * cols] += v;
    }
}

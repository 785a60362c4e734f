// k-means update step, first stage (DESIGN.md §8): per chunk of chunk_rows consecutive
// points, the sum of each cluster's coordinates and its number of points:
//   partial[b, c, j] = Σ_{i in chunk b, labels[i] = c} x_ij     j < dim
//   partial[b, c, dim] = #{i in chunk b : labels[i] = c}        (as f32, exact < 2^24)
// with cols = dim + 1 columns per cluster. Each partial element is added to by one
// invocation only, in point order, so there are no atomics and the sums are the same on
// every run and in both layouts below. The host adds the chunks up with the reduce_sum
// chain (a tree of short sequential sums) into k × cols totals, then sets
// centroid = sum / count. The point slice [first, first + n) lets the host split points
// too large for one storage binding; first must be a multiple of chunk_rows, so the
// chunks of the slices are those of the whole array (chunk_base = first / chunk_rows)
// and the sums do not depend on the slicing.
//
// Pipeline constants, set by the host per call (kernels/kmeans_update.rs):
//   L     the dimension of the points, 1..=64 (= params.dim).
//   ROWS  the layout (the adapter profile's `kmeans_update_rows`):
//         false: one invocation per (chunk, column) adds its column of the chunk's
//                points: chunks × cols invocations, adjacent ones on adjacent columns
//                (GPUs: parallel, coalesced).
//         true:  one invocation per chunk adds whole rows, each point loaded once as
//                vec4s: chunks invocations (CPU adapters such as llvmpipe, where every
//                load and store is a per-lane sequence).
//   KREG  with ROWS, k when k ≤ 8 and L ≤ 16, else 0: the chunk's sums stay in
//         registers (every point added to every cluster, as itself or as +0.0) and
//         are stored once, instead of a load and a store per coordinate and point
//         (llvmpipe, 1M × 16, k = 6: 45 → 23 ms).
// Points are read as vec4s (the host binds them rounded up to 16 bytes): whole when L
// is a multiple of 4 (ALIGNED), else coordinate by coordinate.
//
// Bindings (group 0):
//   0 uniform    params  {n = points in this slice, first, k, dim, cols = dim + 1,
//                         chunk_rows, chunks = ceil(n / chunk_rows), chunk_base}
//   1 storage r  points:  array<vec4<f32>>, n × dim floats, row-major (the slice)
//   2 storage r  labels:  array<u32>, ≥ first + n, each below k (clamped to k − 1)
//   3 storage rw partial: array<f32>, ≥ (chunk_base + chunks) × k × cols
// Dispatch: chunks × cols invocations (ROWS false) or chunks (ROWS true), WG per
//   workgroup, grid folded to 2-D (linear id = (wid.x + wid.y · nwg.x) · WG + lid).

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
// The dimension this pipeline is built for, 1..=64.
override L: u32 = 16u;
override LQ: u32 = (L + 3u) / 4u;
override ALIGNED: bool = L % 4u == 0u;
override ROWS: bool = false;
// With ROWS: when nonzero (= k ≤ KREG_MAX, L ≤ 16), the sums stay in registers.
override KREG: u32 = 0u;
const KREG_MAX: u32 = 8u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> points: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> labels: array<u32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;

// Coordinate e of the slice, in row-major float order.
fn point_at(e: u32) -> f32 {
    return points[e >> 2u][e & 3u];
}

// Coordinates 4q..4q+3 of the point whose row starts at element `base`; coordinates
// ≥ L read as 0 (never loaded).
fn load_point(base: u32, q: u32) -> vec4<f32> {
    if ALIGNED {
        return points[base / 4u + q];
    }
    let c = base + 4u * q;
    var v = vec4<f32>(point_at(c), 0.0, 0.0, 0.0);
    if 4u * q + 1u < L { v.y = point_at(c + 1u); }
    if 4u * q + 2u < L { v.z = point_at(c + 2u); }
    if 4u * q + 3u < L { v.w = point_at(c + 3u); }
    return v;
}

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let t = (wid.x + wid.y * nwg.x) * WG + lid;
    let cols = params.cols;
    let k = params.k;
    if ROWS && KREG > 0u {
        if t >= params.chunks {
            return;
        }
        // Every point is added to every cluster's accumulators, as itself or as +0.0
        // (which leaves a sum unchanged: the sums start at +0.0 and never become −0.0),
        // so each sum sees its points in point order, as in the other layouts, without
        // a dynamically indexed load or store per coordinate.
        var acc: array<array<vec4<f32>, 4>, KREG_MAX>;
        var count: array<f32, KREG_MAX>;
        let i0 = t * params.chunk_rows;
        let i1 = min(params.n, i0 + params.chunk_rows);
        for (var i = i0; i < i1; i++) {
            let label = min(labels[params.first + i], k - 1u);
            var x: array<vec4<f32>, 4>;
            for (var q = 0u; q < LQ; q++) {
                x[q] = load_point(i * L, q);
            }
            for (var c = 0u; c < KREG; c++) {
                let hit = label == c;
                for (var q = 0u; q < LQ; q++) {
                    acc[c][q] += select(vec4<f32>(0.0), x[q], hit);
                }
                count[c] += select(0.0, 1.0, hit);
            }
        }
        let base = (params.chunk_base + t) * k * cols;
        for (var c = 0u; c < KREG; c++) {
            let dst = base + c * cols;
            for (var q = 0u; q < LQ; q++) {
                partial[dst + 4u * q] = acc[c][q].x;
                if 4u * q + 1u < L { partial[dst + 4u * q + 1u] = acc[c][q].y; }
                if 4u * q + 2u < L { partial[dst + 4u * q + 2u] = acc[c][q].z; }
                if 4u * q + 3u < L { partial[dst + 4u * q + 3u] = acc[c][q].w; }
            }
            partial[dst + L] = count[c];
        }
        return;
    }
    if ROWS {
        if t >= params.chunks {
            return;
        }
        let base = (params.chunk_base + t) * k * cols;
        for (var e = 0u; e < k * cols; e++) {
            partial[base + e] = 0.0;
        }
        let i0 = t * params.chunk_rows;
        let i1 = min(params.n, i0 + params.chunk_rows);
        for (var i = i0; i < i1; i++) {
            let dst = base + min(labels[params.first + i], k - 1u) * cols;
            for (var q = 0u; q < LQ; q++) {
                let v = load_point(i * L, q);
                partial[dst + 4u * q] += v.x;
                if 4u * q + 1u < L { partial[dst + 4u * q + 1u] += v.y; }
                if 4u * q + 2u < L { partial[dst + 4u * q + 2u] += v.z; }
                if 4u * q + 3u < L { partial[dst + 4u * q + 3u] += v.w; }
            }
            partial[dst + L] += 1.0;
        }
        return;
    }
    if t >= params.chunks * cols {
        return;
    }
    let chunk = t / cols;
    let j = t % cols;
    let base = (params.chunk_base + chunk) * k * cols + j;
    for (var c = 0u; c < k; c++) {
        partial[base + c * cols] = 0.0;
    }
    // Column L counts the points; it reads coordinate L − 1 (in bounds) and adds 1.
    let is_count = j == L;
    let jj = min(j, L - 1u);
    let i0 = chunk * params.chunk_rows;
    let i1 = min(params.n, i0 + params.chunk_rows);
    for (var i = i0; i < i1; i++) {
        let c = min(labels[params.first + i], k - 1u);
        let v = select(point_at(i * L + jj), 1.0, is_count);
        partial[base + c * cols] += v;
    }
}

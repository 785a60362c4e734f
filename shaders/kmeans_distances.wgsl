// Squared distances from every point of a slice to each of m centres (k-means++
// seeding, DESIGN.md §8: the candidates of one centre are measured in one pass over the
// points, each point loaded once for all of them):
//   out[c · stride + first + i] = Σ_j (x_ij − centre_cj)²   c < m, i < n
// in f32, j = 0, 1, …, L − 1 in order, as kmeans_assign and the CPU twin
// (src/cpu/kmeans_distances.rs) sum it, so a point's distance to a centre here equals
// its distance in the assignment step. The point slice [first, first + n) lets the host
// split points too large for one storage binding; stride is the number of all points.
//
// Pipeline constants, set by the host per call (kernels/kmeans_distances.rs), as in
// kmeans_assign:
//   L  the dimension of the points, 1..=64 (constant trip counts, points in registers).
//   R  points per invocation, 1..=4: every centre loaded serves R points.
// Points and centres are read as vec4s (the host binds them rounded up to 16 bytes),
// whole when L is a multiple of 4 (ALIGNED), else coordinate by coordinate.
//
// Bindings (group 0):
//   0 uniform    params  {n = points in this slice, first = global index of the slice's
//                         first point, m = centres, dim (= L), stride = all points,
//                         _, _, _}
//   1 storage r  points:  array<vec4<f32>>, n × L floats, row-major (the slice)
//   2 storage r  centres: array<vec4<f32>>, m × L floats, row-major
//   (bindings 1 and 2 and their loaders: shaders/shared/kmeans_rows.wgsl)
//   3 storage rw out:     array<f32>, m × stride, row c = distances to centre c
// Dispatch: ceil(n / (WG·R)) workgroups of WG invocations, grid folded to 2-D (linear
//   workgroup id w = wid.x + wid.y · nwg.x). Invocation lid of workgroup w owns points
//   w·WG·R + lid + r·WG, r < R (adjacent invocations store adjacent elements). Every
//   invocation walks the same centres, so each centre load is one broadcast.
//   Invocations past the last point compute on point n − 1 and store nothing.

struct Params {
    n: u32,
    first: u32,
    m: u32,
    dim: u32,
    stride: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

override WG: u32 = 64u;
// L (the dimension) and ALIGNED: shaders/shared/kmeans_rows.wgsl.
// Groups of four coordinates; the last one is partial when L is not a multiple of 4.
override LQ: u32 = (L + 3u) / 4u;
// Points per invocation, 1..=RMAX.
override R: u32 = 4u;
const RMAX: u32 = 4u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// load_point and load_centre: shaders/shared/kmeans_rows.wgsl.

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let w = wid.x + wid.y * nwg.x;
    let n = params.n;
    let start = w * WG * R;
    if start >= n {
        return; // uniform: the whole workgroup is past the last point
    }
    let first = start + lid;
    var x: array<array<vec4<f32>, 16>, RMAX>;
    for (var r = 0u; r < R; r++) {
        let i = min(first + r * WG, n - 1u);
        for (var q = 0u; q < LQ; q++) {
            x[r][q] = load_point(i * L, q);
        }
    }
    for (var c = 0u; c < params.m; c++) {
        var cen: array<vec4<f32>, 16>;
        for (var q = 0u; q < LQ; q++) {
            cen[q] = load_centre(c * L, q);
        }
        for (var r = 0u; r < R; r++) {
            // Summed coordinate by coordinate in order, as kmeans_assign does.
            var acc = 0.0;
            for (var q = 0u; q < LQ; q++) {
                let d = x[r][q] - cen[q];
                acc += d.x * d.x;
                if 4u * q + 1u < L { acc += d.y * d.y; }
                if 4u * q + 2u < L { acc += d.z * d.z; }
                if 4u * q + 3u < L { acc += d.w * d.w; }
            }
            let point = first + r * WG;
            if point < n {
                out[c * params.stride + params.first + point] = acc;
            }
        }
    }
}

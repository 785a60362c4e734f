// k-means assignment step (DESIGN.md §8): for every point x_i of a slice of points, its
// nearest of the k centroids and the squared distance to it, and a count of the points
// whose label changed:
//   d(i, c)    = Σ_j (x_ij − c_cj)²   in f32, j = 0, 1, …, L − 1 in order, as the CPU
//                                     twin (src/cpu/kmeans_assign.rs) sums it
//   labels[i]  = argmin_c d(i, c)     ties to the lowest c (strict < from c = 0)
//   min_sq[i]  = d(i, labels[i])
//   changed   += #{i : the old labels[i] ≠ the new one}
// Labels are read before they are overwritten, so the host learns whether an assignment
// repeated the previous one from one integer (u32 atomics add exactly, in any order:
// the count is deterministic). The point slice [first, first + n) lets the host split
// points too large for one storage binding; labels and min_sq are indexed globally.
// k-means++ seeding runs it with one centroid (a candidate centre): min_sq is then every
// point's squared distance to that centre.
//
// Pipeline constants, set by the host per call (kernels/kmeans_assign.rs):
//   L  the dimension of the points, 1..=64. The loops over it then have constant trip
//      counts, so compilers unroll them and keep the points in registers (as in
//      decoder_dense).
//   R  points per invocation, 1..=4 (register blocking): every centroid loaded serves R
//      points. The host picks 4 for L ≤ 16, 2 for L ≤ 32 and 1 above.
// Points and centroids are read as vec4s (the host binds them rounded up to 16 bytes):
// when L is a multiple of 4 (ALIGNED, derived from L) a row is L / 4 vector loads,
// which llvmpipe needs (one scalar gather per coordinate cost 3× there); otherwise
// each coordinate is picked from its vec4.
//
// Bindings (group 0):
//   0 uniform    params    {n = points in this slice, first = global index of the
//                           slice's first point, k, dim (= L)}
//   1 storage r  points:    array<vec4<f32>>, n × L floats, row-major (the slice)
//   2 storage r  centres:   array<vec4<f32>>, k × L floats, row-major: the centroids
//   (bindings 1 and 2 and their loaders: shaders/shared/kmeans_rows.wgsl)
//   3 storage rw labels:    array<u32>, ≥ first + n; read (previous), then written
//   4 storage rw min_sq:    array<f32>, ≥ first + n
//   5 storage rw changed:   atomic<u32>, added to (the host zeroes it)
// Dispatch: ceil(n / (WG·R)) workgroups of WG invocations, grid folded to 2-D (linear
//   workgroup id w = wid.x + wid.y · nwg.x). Invocation lid of workgroup w owns points
//   w·WG·R + lid + r·WG, r < R (adjacent invocations own adjacent points, so stores
//   coalesce). Every invocation walks the same centroids in the same order, so each
//   centroid load is one broadcast. Invocations past the last point compute on point
//   n − 1 and store nothing, keeping control flow uniform.

struct Params {
    n: u32,
    first: u32,
    k: u32,
    dim: u32,
}

override WG: u32 = 64u;
// L (the dimension) and ALIGNED: shaders/shared/kmeans_rows.wgsl.
// Groups of four coordinates; the last one is partial when L is not a multiple of 4.
override LQ: u32 = (L + 3u) / 4u;
// Points per invocation, 1..=RMAX.
override R: u32 = 4u;
const RMAX: u32 = 4u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(3) var<storage, read_write> labels: array<u32>;
@group(0) @binding(4) var<storage, read_write> min_sq: array<f32>;
@group(0) @binding(5) var<storage, read_write> changed: atomic<u32>;

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
    var best: array<u32, RMAX>;
    var best_d: array<f32, RMAX>;
    for (var r = 0u; r < R; r++) {
        let i = min(first + r * WG, n - 1u);
        for (var q = 0u; q < LQ; q++) {
            x[r][q] = load_point(i * L, q);
        }
    }
    for (var c = 0u; c < params.k; c++) {
        var cen: array<vec4<f32>, 16>;
        for (var q = 0u; q < LQ; q++) {
            cen[q] = load_centre(c * L, q);
        }
        for (var r = 0u; r < R; r++) {
            // Summed coordinate by coordinate in order, as the CPU twin does.
            var acc = 0.0;
            for (var q = 0u; q < LQ; q++) {
                let d = x[r][q] - cen[q];
                acc += d.x * d.x;
                if 4u * q + 1u < L { acc += d.y * d.y; }
                if 4u * q + 2u < L { acc += d.z * d.z; }
                if 4u * q + 3u < L { acc += d.w * d.w; }
            }
            // Centroid 0 starts the scan; later ones win only when strictly closer.
            let better = c == 0u || acc < best_d[r];
            best_d[r] = select(best_d[r], acc, better);
            best[r] = select(best[r], c, better);
        }
    }
    var moved = 0u;
    for (var r = 0u; r < R; r++) {
        let point = first + r * WG;
        if point < n {
            let g = params.first + point;
            moved += select(0u, 1u, labels[g] != best[r]);
            labels[g] = best[r];
            min_sq[g] = best_d[r];
        }
    }
    if moved > 0u {
        atomicAdd(&changed, moved);
    }
}

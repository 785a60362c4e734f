// Top-k link candidates row by row (DESIGN.md §7; the host side is src/predict.rs):
// for every active row i = rows[e] and every column j it scans, the logit
//   S_ij = z_i · z_j   (f32, summed column by column in order, as the CPU twin)
// and each row keeps its best `capacity` candidates, best meaning higher S first and,
// for equal S, smaller j first (the host applies σ; σ is monotone but saturates in f32,
// so ranks and ties are on the f32 logit). Never stores anything N×N: memory is z,
// the exclusion lists and rows × capacity list slots; work is O(rows · N · L).
//
// Candidates of row i: j > i (GLOBAL, unordered pairs i < j) or j ≠ i (per node),
// minus the row's excluded columns (excl_col[excl_ptr[i]..excl_ptr[i+1]], sorted
// ascending: the graph's edges and any extra pairs, both directions), minus, in a
// paging pass, every candidate ranked at or before the row's cursor (the worst entry
// an earlier pass returned), so a row yields its next `capacity` candidates. The host
// runs passes until its merge is exact (src/predict.rs explains when a row needs one).
//
// The list is a binary min-heap in the row's slots of out_logit/out_col (slot 0 = the
// worst entry kept). Columns are scanned in ascending order, so every entry already
// kept has a smaller j than the candidate and, once the list is full, a candidate
// enters exactly when S > the worst kept logit (an equal S loses on j). That test is
// batched over tiles of T = 32 columns: the hot loop only computes S and sets a bit
// per passing column against the threshold of the tile's start (thresholds only rise,
// so this passes a superset); a drain loop then walks the set bits in column order,
// recomputes S (same expression, same value), re-tests it against the current
// threshold, checks the exclusion list with a merge walk (both ascend) and inserts.
// Per-lane branches run under masks on CPU drivers such as llvmpipe, so the rare
// insertion path costs once per tile and row rather than once per column.
//
// Pipeline constants, set by the host per call (kernels/topk_rows.rs):
//   L       the latent size, 1..=64: constant trip counts keep z rows in registers.
//   R       rows per invocation, 1..=8 (register blocking): every z_j loaded serves R
//           rows (the adapter profile's `topk_rows`; 1 on GPUs).
//   GLOBAL  true: columns j > i; false: all j ≠ i.
//
// Bindings (group 0):
//   0 uniform    params    {n, rows (active rows), z_stride, capacity}
//   1 storage r  z:         array<f32>, row i at i·z_stride, the first L columns used
//   2 storage r  excl_ptr:  array<u32>, n + 1 offsets into excl_col
//   3 storage r  excl_col:  array<u32>, excluded columns per row, ascending
//   4 storage r  rows:      array<u32>, the active rows, ascending
//   5 storage r  cursors:   array<u32>, 2 per active row: bits of the cursor logit and
//                           its column; logit bits of +f32::MAX (0x7f7fffff) for none
//   6 storage rw out_logit: array<f32>, rows × capacity heap slots
//   7 storage rw out_col:   array<u32>, rows × capacity heap slots
// Only the first min(capacity, candidates left) slots of a row are written; the host
// knows that count from the exclusion lists and ignores the rest.
// Dispatch: ceil(rows / (WG·R)) workgroups of WG invocations, grid folded to 2-D
//   (linear workgroup id w = wid.x + wid.y · nwg.x). Invocation lid of workgroup w
//   owns active rows e = w·WG·R + lid + r·WG, r < R. The column range starts at the
//   workgroup's first (smallest) row + 1 under GLOBAL, else at 0, and is the same for
//   the whole workgroup, so every load of z_j is one broadcast; rows past the list
//   compute on its last row and keep nothing.

struct Params {
    n: u32,
    rows: u32,
    z_stride: u32,
    capacity: u32,
}

override WG: u32 = 64u;
override L: u32 = 16u;
// Groups of four latent columns; the last one is partial when L is not a multiple of 4.
override LQ: u32 = (L + 3u) / 4u;
override R: u32 = 4u;
override GLOBAL: bool = true;
const RMAX: u32 = 8u;
// Columns per tile: one bit each in a u32.
const T: u32 = 32u;
// Below every finite logit the host allows (it bounds |S| by 1e37).
const LOWEST: f32 = -3.40282347e+38;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> excl_ptr: array<u32>;
@group(0) @binding(3) var<storage, read> excl_col: array<u32>;
@group(0) @binding(4) var<storage, read> rows: array<u32>;
@group(0) @binding(5) var<storage, read> cursors: array<u32>;
@group(0) @binding(6) var<storage, read_write> out_logit: array<f32>;
@group(0) @binding(7) var<storage, read_write> out_col: array<u32>;

// Columns 4q..4q+3 of the row starting at `base`; columns ≥ L read as 0 (never loaded,
// so a row at the end of the buffer is not overrun).
fn load4(base: u32, q: u32) -> vec4<f32> {
    let c = 4u * q;
    if c + 4u <= L {
        return vec4<f32>(z[base + c], z[base + c + 1u], z[base + c + 2u], z[base + c + 3u]);
    }
    var v = vec4<f32>(z[base + c], 0.0, 0.0, 0.0);
    if c + 1u < L { v.y = z[base + c + 1u]; }
    if c + 2u < L { v.z = z[base + c + 2u]; }
    return v;
}

// Whether (sa, ja) ranks after (sb, jb) within one row.
fn worse(sa: f32, ja: u32, sb: f32, jb: u32) -> bool {
    return sa < sb || (sa == sb && ja > jb);
}

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let w = wid.x + wid.y * nwg.x;
    let first = w * WG * R;
    if first >= params.rows {
        return; // uniform: the whole workgroup is past the list
    }
    let n = params.n;
    let zs = params.z_stride;
    let cap = params.capacity;
    var zi: array<array<vec4<f32>, 16>, RMAX>;
    var row: array<u32, RMAX>;
    var live: array<bool, RMAX>;
    var base: array<u32, RMAX>;
    var fill: array<u32, RMAX>;
    var thr: array<f32, RMAX>;
    var walk: array<u32, RMAX>;
    var walk_end: array<u32, RMAX>;
    var cur_s: array<f32, RMAX>;
    var cur_j: array<u32, RMAX>;
    for (var r = 0u; r < R; r++) {
        let e = first + lid + r * WG;
        live[r] = e < params.rows;
        let ee = min(e, params.rows - 1u);
        let i = rows[ee];
        row[r] = i;
        for (var q = 0u; q < LQ; q++) {
            zi[r][q] = load4(i * zs, q);
        }
        base[r] = ee * cap;
        fill[r] = 0u;
        thr[r] = LOWEST;
        walk[r] = excl_ptr[i];
        walk_end[r] = excl_ptr[i + 1u];
        cur_s[r] = bitcast<f32>(cursors[2u * ee]);
        cur_j[r] = cursors[2u * ee + 1u];
    }
    var j0 = 0u;
    if GLOBAL {
        j0 = rows[first] + 1u;
    }
    for (var tile = j0; tile < n; tile += T) {
        let width = min(T, n - tile);
        var bits: array<u32, RMAX>;
        for (var t = 0u; t < width; t++) {
            let j = tile + t;
            var zj: array<vec4<f32>, 16>;
            for (var q = 0u; q < LQ; q++) {
                zj[q] = load4(j * zs, q);
            }
            for (var r = 0u; r < R; r++) {
                // Summed column by column in order, as the CPU twin does.
                var s = 0.0;
                for (var q = 0u; q < LQ; q++) {
                    s += zi[r][q].x * zj[q].x;
                    s += zi[r][q].y * zj[q].y;
                    s += zi[r][q].z * zj[q].z;
                    s += zi[r][q].w * zj[q].w;
                }
                var in_scan = j != row[r];
                if GLOBAL {
                    in_scan = j > row[r];
                }
                let after = s < cur_s[r] || (s == cur_s[r] && j > cur_j[r]);
                let keep = s > thr[r] && in_scan && after && live[r];
                bits[r] |= select(0u, 1u << t, keep);
            }
        }
        for (var r = 0u; r < R; r++) {
            var b = bits[r];
            while b != 0u {
                let t = firstTrailingBit(b);
                b &= b - 1u;
                let j = tile + t;
                var zj: array<vec4<f32>, 16>;
                for (var q = 0u; q < LQ; q++) {
                    zj[q] = load4(j * zs, q);
                }
                // The hot loop's expression, so the same value.
                var s = 0.0;
                for (var q = 0u; q < LQ; q++) {
                    s += zi[r][q].x * zj[q].x;
                    s += zi[r][q].y * zj[q].y;
                    s += zi[r][q].z * zj[q].z;
                    s += zi[r][q].w * zj[q].w;
                }
                if s <= thr[r] {
                    continue; // an earlier insertion of this tile raised the bar
                }
                // Exclusion: advance the row's walk to the first excluded column ≥ j.
                var p = walk[r];
                while p < walk_end[r] && excl_col[p] < j {
                    p++;
                }
                walk[r] = p;
                if p < walk_end[r] && excl_col[p] == j {
                    continue;
                }
                let at = base[r];
                if fill[r] < cap {
                    // Append and sift up: parents are never better than children.
                    var pos = fill[r];
                    while pos > 0u {
                        let parent = (pos - 1u) / 2u;
                        let ps = out_logit[at + parent];
                        let pj = out_col[at + parent];
                        if !worse(s, j, ps, pj) {
                            break;
                        }
                        out_logit[at + pos] = ps;
                        out_col[at + pos] = pj;
                        pos = parent;
                    }
                    out_logit[at + pos] = s;
                    out_col[at + pos] = j;
                    fill[r] += 1u;
                    if fill[r] == cap {
                        thr[r] = out_logit[at];
                    }
                } else {
                    // Replace the worst entry and sift down.
                    var pos = 0u;
                    loop {
                        let left = 2u * pos + 1u;
                        if left >= cap {
                            break;
                        }
                        var child = left;
                        var cs = out_logit[at + left];
                        var cj = out_col[at + left];
                        if left + 1u < cap {
                            let rs = out_logit[at + left + 1u];
                            let rj = out_col[at + left + 1u];
                            if worse(rs, rj, cs, cj) {
                                child = left + 1u;
                                cs = rs;
                                cj = rj;
                            }
                        }
                        if !worse(cs, cj, s, j) {
                            break;
                        }
                        out_logit[at + pos] = cs;
                        out_col[at + pos] = cj;
                        pos = child;
                    }
                    out_logit[at + pos] = s;
                    out_col[at + pos] = j;
                    thr[r] = out_logit[at];
                }
            }
        }
    }
}

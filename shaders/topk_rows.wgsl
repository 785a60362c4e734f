// Top-k link candidates row by row (DESIGN.md §7; the host side is src/predict.rs):
// for every active row i = rows[e] and every column j of its scan, the logit
//   S_ij = z_i · z_j   (f32, summed column by column in order, as the CPU twin)
// and each row keeps its best `capacity` candidates, best meaning higher S first and,
// for equal S, smaller j first (the host applies σ; σ is monotone but saturates in f32,
// so ranks and ties are on the f32 logit). Nothing N×N is ever stored: memory is z,
// the exclusion lists and rows × capacity list slots; work is O(rows · N · L).
//
// Candidates of row i: columns j > i (params.global: unordered pairs i < j) or j ≠ i
// (per node), minus the row's excluded columns (excl_col[excl_ptr[i]..excl_ptr[i+1]],
// ascending: the graph's edges and any extra pairs, both directions), so excluded
// pairs never take a slot, minus what the row's bounds rule out: S at or below the
// starting threshold (the host's floor) and, in a paging pass, every candidate ranked
// at or before the cursor (the worst entry an earlier pass returned). The host runs
// passes until its merge is exact; src/predict.rs explains when a row needs one.
//
// A row's list is a binary min-heap in its slots of out_heap (slot 0 = the worst entry
// kept). Columns are scanned in ascending order, so every entry already kept has a
// smaller j than the candidate, and once the list is full a candidate enters exactly
// when S > the worst kept logit (an equal S loses on j). That test is batched over
// tiles of T = 32 columns: the hot loop computes S, keeps it in ts and sets a bit per
// column that beats the row's threshold as it stood at the tile's start (thresholds
// only rise, so this is a superset); a drain loop then walks the set bits in column
// order, re-tests each against the current threshold and the cursor, checks the
// exclusion list with a merge walk (both ascend) and inserts. On CPU drivers such as
// llvmpipe, per-lane branches run under masks and every load whose address depends on
// a loop runs lane by lane, so the insertion path costs once per tile and row instead
// of once per column, and keeping S (rather than reloading z_j to recompute it) made
// the per-node search ≈ 25 % faster there (benches/RESULTS.md).
//
// Pipeline constants, set by the host per call (kernels/topk_rows.rs); the scan
// direction, floor and cursors are runtime values, so a latent size needs one pipeline
// (each takes 1-10 s to build on llvmpipe):
//   L       the latent size, 1..=64: constant trip counts keep z rows in registers.
//   R       rows per invocation, 1..=RMAX = 4 (register blocking): every z_j loaded
//           serves R rows (the adapter profile's `topk_rows`: 4 on CPU adapters, 1 on
//           GPUs). The private arrays are sized RMAX; 8 rows scanned ≈ 7 % faster on
//           llvmpipe but took twice as long to build (benches/RESULTS.md).
//   SG      0, or the subgroup size (4..=32, dividing T) when the source has
//           shared/subgroups.wgsl: every lane of a workgroup scans the same columns,
//           so for each SG columns of a tile lane t loads column t's z_j and every
//           lane reads the others' with shuffles, SG times fewer loads of z_j (on
//           llvmpipe a load is a sequence per lane, a shuffle a register move).
//           Same logits, bit for bit.
//
// Bindings (group 0):
//   0 uniform    params    {n, rows (active rows), z_stride (in vec4), capacity,
//                           global (1: j > i, 0: j ≠ i), _, _, _}
//   1 storage r  z:         array<ZVec4> (f32, or f16 under Precision::F16: see
//                           shared/store_f32.wgsl), row i at i·z_stride; columns ≥ L
//                           ignored
//   2 storage r  excl_ptr:  array<u32>, n + 1 offsets into excl_col
//   3 storage r  excl_col:  array<u32>, excluded columns per row, ascending
//   4 storage r  rows:      array<u32>, the active rows, ascending
//   5 storage r  bounds:    array<vec4<u32>>, per active row: the cursor's logit bits
//                           (+f32::MAX for none) and column, the bits of the starting
//                           threshold (the largest f32 below the floor; f32::MIN for
//                           none), unused
//   6 storage rw out_heap:  array<vec2<u32>>, rows × capacity slots (logit bits, column)
//   7 storage rw out_fill:  array<u32>, slots filled per active row
// Only a row's first out_fill[e] slots are written.
// Dispatch: ceil(rows / (WG·R)) workgroups of WG invocations, grid folded to 2-D
//   (linear workgroup id w = wid.x + wid.y · nwg.x). Invocation lid of workgroup w
//   owns active rows e = w·WG·R + lid + r·WG, r < R. The column range starts at the
//   workgroup's first (smallest) row + 1 when global, else at 0, and is the same for
//   the whole workgroup; columns outside a row's own range are masked out of its bits.
//   Rows past the list compute on its last row and keep nothing.

struct Params {
    n: u32,
    rows: u32,
    z_stride: u32,
    capacity: u32,
    global: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

override WG: u32 = 64u;
override L: u32 = 16u;
// Groups of four latent columns; the last one is partial when L is not a multiple of 4.
override LQ: u32 = (L + 3u) / 4u;
override R: u32 = 4u;
const RMAX: u32 = 4u;
override SG: u32 = 0u;
// Columns per tile: one bit each in a u32.
const T: u32 = 32u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z: array<ZVec4>;
@group(0) @binding(2) var<storage, read> excl_ptr: array<u32>;
@group(0) @binding(3) var<storage, read> excl_col: array<u32>;
@group(0) @binding(4) var<storage, read> rows: array<u32>;
@group(0) @binding(5) var<storage, read> bounds: array<vec4<u32>>;
@group(0) @binding(6) var<storage, read_write> out_heap: array<vec2<u32>>;
@group(0) @binding(7) var<storage, read_write> out_fill: array<u32>;

// Columns 4q..4q+3 of the row starting at vec4 `base`; columns ≥ L read as 0 (the
// matrix may hold other values there, as [μ | log σ] does).
fn load4(base: u32, q: u32) -> vec4<f32> {
    let v = vec4<f32>(z[base + q]);
    if 4u * q + 4u <= L {
        return v;
    }
    let c = vec4<u32>(0u, 1u, 2u, 3u) + 4u * q;
    return select(vec4<f32>(0.0), v, c < vec4<u32>(L));
}

// Whether entry a ranks after entry b within one row (x = logit bits, y = column).
fn worse(a: vec2<u32>, b: vec2<u32>) -> bool {
    let sa = bitcast<f32>(a.x);
    let sb = bitcast<f32>(b.x);
    return sa < sb || (sa == sb && a.y > b.y);
}

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    // First, while every lane is active (only read by the subgroup form).
    var lane = 0u;
    if SG > 0u {
        lane = subgroup_lane();
    }
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
        let b = bounds[ee];
        cur_s[r] = bitcast<f32>(b.x);
        cur_j[r] = b.y;
        // A row past the list keeps nothing: no logit exceeds f32::MAX.
        thr[r] = select(3.40282347e+38, bitcast<f32>(b.z), live[r]);
        walk[r] = excl_ptr[i];
        walk_end[r] = excl_ptr[i + 1u];
    }
    let global = params.global != 0u;
    var j0 = 0u;
    if global {
        j0 = rows[first] + 1u;
    }
    // The tile's logits per row, for the drain.
    var ts: array<array<f32, T>, RMAX>;
    for (var tile = j0; tile < n; tile += T) {
        var bits: array<u32, RMAX>;
        // Columns in runs of `run` (SG in the subgroup form, where this lane's column
        // of each run is loaded once and shared; else T).
        let run = select(T, SG, SG > 0u);
        for (var t0 = 0u; t0 < T; t0 += run) {
            var mine: array<vec4<f32>, 16>;
            if SG > 0u {
                // Past the last column: compute on column n − 1, masked out below.
                let own = min(tile + t0 + lane, n - 1u);
                for (var q = 0u; q < LQ; q++) {
                    mine[q] = load4(own * zs, q);
                }
            }
            for (var tt = 0u; tt < run; tt++) {
                let t = t0 + tt;
                let jj = min(tile + t, n - 1u);
                var zj: array<vec4<f32>, 16>;
                for (var q = 0u; q < LQ; q++) {
                    if SG > 0u {
                        zj[q] = lane_vec4(mine[q], tt);
                    } else {
                        zj[q] = load4(jj * zs, q);
                    }
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
                    ts[r][t] = s;
                    bits[r] |= select(0u, 1u << t, s > thr[r]);
                }
            }
        }
        // Columns past n, and the row's own column (and when global those before it),
        // are never candidates.
        var valid = 0xffffffffu;
        if n - tile < T {
            valid = (1u << (n - tile)) - 1u;
        }
        for (var r = 0u; r < R; r++) {
            var b = bits[r] & valid;
            let i = row[r];
            if i >= tile {
                let d = i - tile;
                if global {
                    b &= select(0u, ~((2u << d) - 1u), d < T - 1u);
                } else if d < T {
                    b &= ~(1u << d);
                }
            }
            while b != 0u {
                let t = firstTrailingBit(b);
                b &= b - 1u;
                let j = tile + t;
                let s = ts[r][t];
                // An earlier insertion of this tile may have raised the bar; a paging
                // pass wants only candidates ranked after the row's cursor.
                if s <= thr[r] || s > cur_s[r] || (s == cur_s[r] && j <= cur_j[r]) {
                    continue;
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
                let entry = vec2<u32>(bitcast<u32>(s), j);
                if fill[r] < cap {
                    // Append and sift up: parents are never better than children.
                    var pos = fill[r];
                    while pos > 0u {
                        let parent = (pos - 1u) / 2u;
                        let pe = out_heap[at + parent];
                        if !worse(entry, pe) {
                            break;
                        }
                        out_heap[at + pos] = pe;
                        pos = parent;
                    }
                    out_heap[at + pos] = entry;
                    fill[r] += 1u;
                    if fill[r] == cap {
                        thr[r] = bitcast<f32>(out_heap[at].x);
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
                        var ce = out_heap[at + left];
                        if left + 1u < cap {
                            let re = out_heap[at + left + 1u];
                            if worse(re, ce) {
                                child = left + 1u;
                                ce = re;
                            }
                        }
                        if !worse(ce, entry) {
                            break;
                        }
                        out_heap[at + pos] = ce;
                        pos = child;
                    }
                    out_heap[at + pos] = entry;
                    thr[r] = bitcast<f32>(out_heap[at].x);
                }
            }
        }
    }
    for (var r = 0u; r < R; r++) {
        if live[r] {
            out_fill[first + lid + r * WG] = fill[r];
        }
    }
}

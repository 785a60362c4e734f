// Inner-product decoder over listed node pairs, row by row, in one of two roles:
//  - the sparse correction of the dense objective (DESIGN.md §2a): pairs = the label's
//    nonzeros (train edges both ways + diagonal), w_pos = pos_weight, w_neg = −1, and the
//    dense partials from decoder_dense (its slots per node) are added in;
//  - the sampled objective (§2b): pairs = positive and negative pairs listed at both
//    endpoints, weights 1/P (positive) and 1/Q (negative), no dense partials.
// For node i and each listed pair (i, j) with weights (w_pos, w_neg) (those of the
// entry's weight class: every pair list has at most two):
//   S = z_i · z_j
//   loss_rows[i] += w_pos · softplus(−S) + w_neg · softplus(S)
//   g_i          += (w_pos · (σ(S) − 1) + w_neg · σ(S)) · z_j
// then dz[i] = grad_scale · (Σ_s grad_partial[s, i] + g_i),   s over the slots
//      loss_rows[i] += Σ_s loss_partial[s, i].
// Rows own their pairs (CSR by i), so no atomics: results are deterministic.
//
// Same operation order per row as the CPU twin: the dot product column by column, the
// pairs in list order, then the slots in order.
//
// Pipeline constants, set by the host per call (kernels/decoder_pairs.rs):
//   L        the latent size, 1..=64. The loops over the latent then have constant
//            trip counts, so z_i, z_j and the accumulators live in registers rather
//            than dynamically indexed private arrays, which CPU drivers such as
//            llvmpipe turn into per-lane memory accesses (benches/RESULTS.md).
//   ALIGNED  z_stride is a multiple of 4: rows of z are read as vec4s (16-byte loads;
//            the columns from L up to the next multiple of 4 are read and ignored).
//            Otherwise z is read element by element. A constant rather than a
//            run-time test: llvmpipe runs both sides of a branch under masks.
//   WINDOWED z exceeds one storage binding: z_cols holds a window of its rows (below).
//
// Tensors larger than one storage binding (gpu/windows.rs) are bound as windows, one
// dispatch per combination, in order:
//  - rows row_base .. row_base + n of dz, loss_rows and z_rows (z's rows of the
//    dispatch's own nodes);
//  - entries entry_lo .. entry_hi of pair_col;
//  - with WINDOWED, rows z_lo .. z_hi of z in z_cols: entries whose other node falls
//    outside are skipped (without it z_cols is the whole of z).
// For each window of rows, a dispatch that continues (flags & 1) starts from the raw
// sums the previous one left in dz and loss_rows, and only the one that finishes
// (flags & 2) adds the dense slots and scales. Rows list their entries by ascending
// column (PairRows sorts them), so the windows of entries and of z, taken in order,
// visit each row's entries in list order: the result is the single dispatch's to the
// bit.
//
// Each z_j is loaded once per pair and used for both the dot product and the
// gradient. Buffers are bound rounded up to 16 bytes, so vec4 reads of the last row
// stay in range.
//
// Bindings (group 0):
//   0 uniform    params       {n (rows of this dispatch), nodes (all rows), latent (= L),
//                              z_stride, slots, grad_scale, row_base, entry_lo,
//                              entry_hi, z_lo, z_hi, flags (1: continue, 2: finish)}
//   1 storage r  z_rows:       array<ZVec4> (f32, or f16 under Precision::F16: see
//                              shared/store_f32.wgsl), z's rows row_base .. row_base + n, row
//                              at element (i − row_base)·z_stride
//   2 storage r  z_cols:       array<ZVec4>, z's rows z_lo .. z_hi (WINDOWED) or all
//   3 storage r  pair_ptr:     array<u32>, nodes + 1
//   4 storage r  pair_col:     array<u32>, entries entry_lo .. entry_hi: the other node,
//                              bit 31 set for weight class 1
//   5 storage r  class_weights: array<vec2<f32>>, 2: (w_pos, w_neg) of classes 0 and 1
//   6 storage r  grad_partial: array<vec4<f32>>, slots × nodes × L floats (unused when
//                              slots = 0)
//   7 storage r  loss_partial: array<f32>, slots × nodes
//   8 storage rw dz:           array<f32>, n × L (rows row_base ..)
//   9 storage rw loss_rows:    array<f32>, n (rows row_base ..)
// Dispatch: one invocation per node of the window of rows, WG per workgroup, grid
//   folded to 2-D.

struct Params {
    n: u32,
    nodes: u32,
    latent: u32,
    z_stride: u32,
    slots: u32,
    grad_scale: f32,
    row_base: u32,
    entry_lo: u32,
    entry_hi: u32,
    z_lo: u32,
    z_hi: u32,
    flags: u32,
}

const CONTINUES: u32 = 1u;
const FINISHES: u32 = 2u;

override WG: u32 = 64u;
// The latent size this pipeline is built for, 1..=64 (MAX_LATENT on the host).
override L: u32 = 16u;
// Groups of four latent columns; the last one is partial when L is not a multiple of 4.
override LQ: u32 = (L + 3u) / 4u;
override ALIGNED: bool = true;
// z exceeds one binding: z_cols holds the rows z_lo .. z_hi only (see above).
override WINDOWED: bool = false;
const LQ_MAX: u32 = 16u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z_rows: array<ZVec4>;
@group(0) @binding(2) var<storage, read> z_cols: array<ZVec4>;
@group(0) @binding(3) var<storage, read> pair_ptr: array<u32>;
@group(0) @binding(4) var<storage, read> pair_col: array<u32>;
@group(0) @binding(5) var<storage, read> class_weights: array<vec2<f32>>;
@group(0) @binding(6) var<storage, read> grad_partial: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read> loss_partial: array<f32>;
@group(0) @binding(8) var<storage, read_write> dz: array<f32>;
@group(0) @binding(9) var<storage, read_write> loss_rows: array<f32>;

fn softplus(x: f32) -> f32 {
    return max(x, 0.0) + log(1.0 + exp(-abs(x)));
}

fn sigmoid(x: f32) -> f32 {
    let e = exp(-abs(x));
    return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
}

// Element e of z_rows (from_rows) or z_cols.
fn z_at(from_rows: bool, e: u32) -> f32 {
    if from_rows {
        return f32(z_rows[e >> 2u][e & 3u]);
    }
    return f32(z_cols[e >> 2u][e & 3u]);
}

fn z_vec4(from_rows: bool, i: u32) -> vec4<f32> {
    if from_rows {
        return vec4<f32>(z_rows[i]);
    }
    return vec4<f32>(z_cols[i]);
}

fn gp_at(e: u32) -> f32 {
    return grad_partial[e >> 2u][e & 3u];
}

// Columns 4q..4q+3 of row `row` of z_rows (from_rows) or z_cols; columns ≥ L read
// as 0.
fn z4(from_rows: bool, row: u32, q: u32) -> vec4<f32> {
    let c = 4u * q;
    if ALIGNED {
        let v = z_vec4(from_rows, row * (params.z_stride / 4u) + q);
        if c + 4u <= L {
            return v;
        }
        return vec4<f32>(
            v.x,
            select(0.0, v.y, c + 1u < L),
            select(0.0, v.z, c + 2u < L),
            0.0,
        );
    }
    let base = row * params.z_stride + c;
    let r = from_rows;
    if c + 4u <= L {
        return vec4<f32>(z_at(r, base), z_at(r, base + 1u), z_at(r, base + 2u), z_at(r, base + 3u));
    }
    var v = vec4<f32>(z_at(r, base), 0.0, 0.0, 0.0);
    if c + 1u < L { v.y = z_at(r, base + 1u); }
    if c + 2u < L { v.z = z_at(r, base + 2u); }
    return v;
}

// Columns 4q..4q+3 of row `row` of grad_partial (rows of L floats); columns ≥ L read
// as 0.
fn gp4(row: u32, q: u32) -> vec4<f32> {
    let c = 4u * q;
    if L % 4u == 0u {
        return grad_partial[row * (L / 4u) + q];
    }
    let base = row * L + c;
    if c + 4u <= L {
        return vec4<f32>(gp_at(base), gp_at(base + 1u), gp_at(base + 2u), gp_at(base + 3u));
    }
    var v = vec4<f32>(gp_at(base), 0.0, 0.0, 0.0);
    if c + 1u < L { v.y = gp_at(base + 1u); }
    if c + 2u < L { v.z = gp_at(base + 2u); }
    return v;
}

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    // i: the row within this dispatch's window; node: the graph's node.
    let i = (wid.x + wid.y * nwg.x) * WG + lid;
    if i >= params.n {
        return;
    }
    let node = params.row_base + i;
    var zi: array<vec4<f32>, LQ_MAX>;
    var acc: array<vec4<f32>, LQ_MAX>;
    var loss = 0.0;
    let continues = (params.flags & CONTINUES) != 0u;
    for (var q = 0u; q < LQ; q++) {
        zi[q] = z4(true, i, q);
        acc[q] = vec4<f32>(0.0);
        if continues {
            let c = 4u * q;
            acc[q].x = dz[i * L + c];
            if c + 1u < L { acc[q].y = dz[i * L + c + 1u]; }
            if c + 2u < L { acc[q].z = dz[i * L + c + 2u]; }
            if c + 3u < L { acc[q].w = dz[i * L + c + 3u]; }
        }
    }
    if continues {
        loss = loss_rows[i];
    }
    let lo = params.entry_lo;
    let p1 = min(pair_ptr[node + 1u], params.entry_hi);
    for (var p = max(pair_ptr[node], lo); p < p1; p++) {
        let word = pair_col[p - lo];
        var j = word & 0x7fffffffu;
        if WINDOWED {
            if j < params.z_lo || j >= params.z_hi {
                continue;
            }
            j -= params.z_lo;
        }
        let wt = class_weights[word >> 31u];
        var zj: array<vec4<f32>, LQ_MAX>;
        for (var q = 0u; q < LQ; q++) {
            zj[q] = z4(false, j, q);
        }
        // Summed column by column in order, as the CPU twin does.
        var dot = 0.0;
        for (var q = 0u; q < LQ; q++) {
            dot += zi[q].x * zj[q].x;
            dot += zi[q].y * zj[q].y;
            dot += zi[q].z * zj[q].z;
            dot += zi[q].w * zj[q].w;
        }
        loss += wt.x * softplus(-dot) + wt.y * softplus(dot);
        let sig = sigmoid(dot);
        let coef = wt.x * (sig - 1.0) + wt.y * sig;
        for (var q = 0u; q < LQ; q++) {
            acc[q] += coef * zj[q];
        }
    }
    var scale = 1.0;
    if (params.flags & FINISHES) != 0u {
        for (var s = 0u; s < params.slots; s++) {
            let row = s * params.nodes + node;
            for (var q = 0u; q < LQ; q++) {
                acc[q] += gp4(row, q);
            }
            loss += loss_partial[row];
        }
        scale = params.grad_scale;
    }
    for (var q = 0u; q < LQ; q++) {
        let c = 4u * q;
        let v = scale * acc[q];
        dz[i * L + c] = v.x;
        if c + 1u < L { dz[i * L + c + 1u] = v.y; }
        if c + 2u < L { dz[i * L + c + 2u] = v.z; }
        if c + 3u < L { dz[i * L + c + 3u] = v.w; }
    }
    loss_rows[i] = loss;
}

// Dense part of the inner-product decoder's objective (DESIGN.md §2a), one fused pass
// that never stores the N×N logits. With S_ij = z_i · z_j it produces partial sums
// ("slots") of
//   Σ_j softplus(S_ij)   (Kahan-compensated)      and      Σ_j σ(S_ij) · z_j
// whose sum over a node's slots is its full row over all N columns (the loss slots of
// all nodes add up to Σ over the N² ordered pairs, the diagonal counted once);
// decoder_pairs adds a node's slots in order, the sparse correction over the label's
// nonzeros and the scale. Two layouts, chosen per adapter by the constant SYMMETRIC:
//
// SYMMETRIC = false, rows (CPU adapters): every ordered pair once. Slot s of node i is
//   its sum over the columns of split s = [s·chunk, min(n, (s+1)·chunk)), summed in
//   column order. Invocations own R rows; the column range, and with it every z_j
//   load, is the same for the whole workgroup. The step per column is a function that
//   takes the accumulators by pointer (inlined by the driver): on llvmpipe that alone
//   made the loop about 1.8× faster than the same code written inline in it (≈ 2,400
//   instead of ≈ 3,800 instructions per column, far fewer spills).
//
// SYMMETRIC = true, tiles (GPUs): every unordered pair once, since S = Z Zᵀ is
//   symmetric and σ(S_ij) serves both row i and row j. The rows are cut into B blocks
//   of `block` rows (a multiple of the sub-tile edge T); workgroup (I, J), I ≤ J,
//   covers block I × block J in sub-tiles I' × J' of T × T (I' ≤ J' when I = J):
//     row pass    (invocations own rows i ∈ I'): for j ∈ J' in order,
//                   loss_i += w · softplus(S_ij), acc_i += σ(S_ij) z_j, tile[j, i] = σ(S_ij)
//     column pass (invocations own columns j ∈ J', skipped when I' = J'): for i ∈ I'
//                 in order, col_j += tile[j, i] · z_i
//   A diagonal sub-tile takes every ordered pair in its row pass (w = 1); any other
//   stands for (i, j) and (j, i) (w = 2). Slots (B + 1 per node, each written by one
//   workgroup, so no atomics):
//     row passes of (I, J) → slot J of the rows of I (summed over J in order)
//     column passes of (I, J), I < J → slot I of the rows of J (summed over the
//       sub-tiles of I in order: stored at the first, added to at the others; loss 0)
//     column passes of (K, K) → slot B of the rows of K (zero for K's first sub-tile)
//   The tile (T² floats of workgroup memory) is stored XOR-swizzled (column jl, row il
//   at jl·T + (il ^ jl)), so both passes touch T distinct banks. Not used on CPU
//   adapters: on llvmpipe a barrier inside these loops moves their loop variables into
//   the workgroup's coroutine frame (this layout ran 2.3–5× slower than the row
//   layout there), and every storage access is a per-lane loop, so even a barrier-free
//   exchange of σ through a scratch buffer cost about what the halved arithmetic saved
//   (benches/RESULTS.md).
// Memory O(slots·N·L), work O(N²·L).
//
// Pipeline constants, set by the host per call (kernels/decoder_dense.rs):
//   SYMMETRIC  the layout, as above.
//   L          the latent size, 1..=64. The loops over the latent then have constant
//              trip counts, so compilers unroll them and keep z_i, z_j and the
//              accumulators in registers (or plain spill slots) rather than dynamically
//              indexed private arrays, which CPU drivers such as llvmpipe turn into
//              per-lane gathers and scatters.
//   R          rows (and, in the column pass, columns) per invocation, 1, 2 or 4
//              (register blocking): every loaded z_j or z_i serves R rows or columns.
//              The host picks R = 4 for L ≤ 16, 2 for L ≤ 32 and 1 above in the row
//              layout, R = 1 in the tile layout.
//   WG         invocations per workgroup; T / R in the tile layout.
//   T          the sub-tile edge WG·R, a power of two (tile layout; the host uses 32).
//   TILE_LEN   length of the workgroup array: T² in the tile layout, 1 otherwise.
//   ALIGNED    z_stride is a multiple of 4: rows of z are read as vec4s (16-byte
//              loads; the columns from L up to the next multiple of 4 are read and
//              ignored). Otherwise z is read element by element.
// z_j (z_i) is loaded once per column (row) and used for all the dot products and
// accumulations of that step (loading it twice cost 2.6× on llvmpipe).
//
// Bindings (group 0):
//   0 uniform    params       {n, latent (= L), z_stride, block, parts, groups, _, _}:
//                             rows: block = column chunk, parts = splits,
//                             groups = ceil(n / (WG·R)) workgroups per split;
//                             tiles: block = rows per block, parts = B, groups unused
//   1 storage r  z:            array<ZVec4> (f32, or f16 under Precision::F16: see
//                             shared/store_f32.wgsl), row i at element i·z_stride, the
//                             first L columns used
//   2 storage rw grad_partial: array<f32>, slots × n × L (slots = splits, or B + 1)
//   3 storage rw loss_partial: array<f32>, slots × n
// Dispatch: rows: splits × groups workgroups; workgroup w serves split w / groups and
//   the WG·R nodes from (w % groups)·WG·R, invocation lid the nodes first + r·WG,
//   r < R (adjacent invocations, adjacent nodes: stores coalesce). Tiles: B·(B + 1)/2
//   workgroups; w < B·(B − 1)/2 are the pairs I < J in row-major order, the last B the
//   diagonal blocks (about half the work each, so they finish the dispatch);
//   invocation lid owns rows (columns) lid + r·WG of a sub-tile. Grid folded to 2-D
//   (w = wid.x + wid.y · nwg.x). Invocations past the last node compute on node n − 1
//   and store nothing, and loop bounds are uniform, keeping control flow (and the
//   barriers) uniform.

struct Params {
    n: u32,
    latent: u32,
    z_stride: u32,
    block: u32,
    parts: u32,
    groups: u32,
    _pad0: u32,
    _pad1: u32,
}

override WG: u32 = 64u;
override SYMMETRIC: bool = false;
// The latent size this pipeline is built for, 1..=64 (MAX_LATENT on the host).
override L: u32 = 16u;
// Groups of four latent columns; the last one is partial when L is not a multiple of 4.
override LQ: u32 = (L + 3u) / 4u;
// Rows (columns) per invocation, 1..=RMAX.
override R: u32 = 4u;
const RMAX: u32 = 4u;
const LQ_MAX: u32 = 16u;
override T: u32 = WG * R;
override TILE_LEN: u32 = 1u;
override ALIGNED: bool = true;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z: array<ZVec4>;
@group(0) @binding(2) var<storage, read_write> grad_partial: array<f32>;
@group(0) @binding(3) var<storage, read_write> loss_partial: array<f32>;

// σ(S_ij) of the current sub-tile (tile layout), swizzled by `tile_index`.
var<workgroup> tile: array<f32, TILE_LEN>;

fn tile_index(jl: u32, il: u32) -> u32 {
    return jl * T + (il ^ jl);
}

fn z_at(e: u32) -> f32 {
    return f32(z[e >> 2u][e & 3u]);
}

// Columns 4q..4q+3 of row `row` of z; columns ≥ L read as 0.
fn z4(row: u32, q: u32) -> vec4<f32> {
    let c = 4u * q;
    if ALIGNED {
        let v = vec4<f32>(z[row * (params.z_stride / 4u) + q]);
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
    if c + 4u <= L {
        return vec4<f32>(z_at(base), z_at(base + 1u), z_at(base + 2u), z_at(base + 3u));
    }
    var v = vec4<f32>(z_at(base), 0.0, 0.0, 0.0);
    if c + 1u < L { v.y = z_at(base + 1u); }
    if c + 2u < L { v.z = z_at(base + 2u); }
    return v;
}

// Columns 4q..4q+3 of row `row` of grad_partial (rows of L floats); columns ≥ L read
// as 0.
fn grad4(row: u32, q: u32) -> vec4<f32> {
    let base = row * L + 4u * q;
    var v = vec4<f32>(grad_partial[base], 0.0, 0.0, 0.0);
    if 4u * q + 1u < L { v.y = grad_partial[base + 1u]; }
    if 4u * q + 2u < L { v.z = grad_partial[base + 2u]; }
    if 4u * q + 3u < L { v.w = grad_partial[base + 3u]; }
    return v;
}

// Stores the first L columns of `v` as row `row` of grad_partial.
fn store_grad(row: u32, v: array<vec4<f32>, LQ_MAX>) {
    for (var q = 0u; q < LQ; q++) {
        let c = 4u * q;
        grad_partial[row * L + c] = v[q].x;
        if c + 1u < L { grad_partial[row * L + c + 1u] = v[q].y; }
        if c + 2u < L { grad_partial[row * L + c + 2u] = v[q].z; }
        if c + 3u < L { grad_partial[row * L + c + 3u] = v[q].w; }
    }
}

// The accumulators of an invocation's R rows: Σ σ(S_ij) z_j, and the Kahan-compensated
// sum of the weighted softplus (loss, comp).
struct Rows {
    acc: array<array<vec4<f32>, LQ_MAX>, RMAX>,
    loss: array<f32, RMAX>,
    comp: array<f32, RMAX>,
}

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let w = wid.x + wid.y * nwg.x;
    if SYMMETRIC {
        tile_layout(lid, w);
    } else {
        row_layout(lid, w);
    }
}

// The z of the R rows first + r·WG (clamped to the last node).
fn load_rows(first: u32) -> array<array<vec4<f32>, LQ_MAX>, RMAX> {
    var zi: array<array<vec4<f32>, LQ_MAX>, RMAX>;
    for (var r = 0u; r < R; r++) {
        let i = min(first + r * WG, params.n - 1u);
        for (var q = 0u; q < LQ; q++) {
            zi[r][q] = z4(i, q);
        }
    }
    return zi;
}

// Adds column j to the accumulators `s` of the rows in `zi` (softplus terms times
// `weight`); returns σ(S_ij) per row.
fn row_step(
    zi: ptr<function, array<array<vec4<f32>, LQ_MAX>, RMAX>>,
    s: ptr<function, Rows>,
    j: u32,
    weight: f32,
) -> array<f32, RMAX> {
    var zj: array<vec4<f32>, LQ_MAX>;
    for (var q = 0u; q < LQ; q++) {
        zj[q] = z4(j, q);
    }
    var out: array<f32, RMAX>;
    for (var r = 0u; r < R; r++) {
        // Summed column by column in order, as the CPU twin does.
        var dot = 0.0;
        for (var q = 0u; q < LQ; q++) {
            dot += (*zi)[r][q].x * zj[q].x;
            dot += (*zi)[r][q].y * zj[q].y;
            dot += (*zi)[r][q].z * zj[q].z;
            dot += (*zi)[r][q].w * zj[q].w;
        }
        // softplus and sigmoid share e = exp(−|S|).
        let e = exp(-abs(dot));
        let term = weight * (max(dot, 0.0) + log(1.0 + e)) - (*s).comp[r];
        let next = (*s).loss[r] + term;
        (*s).comp[r] = (next - (*s).loss[r]) - term;
        (*s).loss[r] = next;
        let g = select(e, 1.0, dot >= 0.0) / (1.0 + e);
        for (var q = 0u; q < LQ; q++) {
            (*s).acc[r][q] += g * zj[q];
        }
        out[r] = g;
    }
    return out;
}

fn row_layout(lid: u32, w: u32) {
    let n = params.n;
    if w >= params.parts * params.groups {
        return; // uniform: the whole workgroup is past the grid
    }
    let split = w / params.groups;
    let first = (w % params.groups) * WG * R + lid;
    var zi = load_rows(first);
    var s: Rows;
    let j0 = split * params.block;
    let j1 = min(n, j0 + params.block);
    for (var j = j0; j < j1; j++) {
        row_step(&zi, &s, j, 1.0);
    }
    for (var r = 0u; r < R; r++) {
        let node = first + r * WG;
        if node < n {
            let row = split * n + node;
            store_grad(row, s.acc[r]);
            loss_partial[row] = s.loss[r];
        }
    }
}

fn tile_layout(lid: u32, w: u32) {
    let nb = params.parts;
    let off_diagonal = nb * (nb - 1u) / 2u;
    if w >= off_diagonal + nb {
        return; // uniform: the whole workgroup is past the grid
    }
    var bi = w - off_diagonal;
    var bj = bi;
    if w < off_diagonal {
        // Row-major over I < J: row I holds the B − 1 − I pairs (I, I + 1..B).
        var rest = w;
        bi = 0u;
        loop {
            let in_row = nb - 1u - bi;
            if rest < in_row {
                break;
            }
            rest -= in_row;
            bi += 1u;
        }
        bj = bi + 1u + rest;
    }
    let diagonal = bi == bj;
    let n = params.n;
    let i_first = bi * params.block;
    let i_end = min(n, i_first + params.block);
    let j_first = bj * params.block;
    let j_end = min(n, j_first + params.block);
    let row_slot = bj;
    let col_slot = select(bi, nb, diagonal);
    if diagonal {
        // The first sub-tile of a diagonal block is nobody's column: zero its slot B.
        for (var c = 0u; c < R; c++) {
            let j = i_first + lid + c * WG;
            if j < min(i_end, i_first + T) {
                store_grad(nb * n + j, array<vec4<f32>, LQ_MAX>());
                loss_partial[nb * n + j] = 0.0;
            }
        }
    }
    for (var i0 = i_first; i0 < i_end; i0 += T) {
        var zi = load_rows(i0 + lid);
        var s: Rows;
        let row_count = min(T, i_end - i0);
        for (var j0 = select(j_first, i0, diagonal); j0 < j_end; j0 += T) {
            let own = diagonal && j0 == i0;
            let cols = min(T, j_end - j0);
            // Row pass.
            for (var jl = 0u; jl < cols; jl++) {
                let g = row_step(&zi, &s, j0 + jl, select(2.0, 1.0, own));
                for (var r = 0u; r < R; r++) {
                    tile[tile_index(jl, lid + r * WG)] = g[r];
                }
            }
            workgroupBarrier();
            // Column pass: the transposed contributions σ(S_ij) z_i to the rows j of J'.
            if !own {
                var col: array<array<vec4<f32>, LQ_MAX>, RMAX>;
                for (var il = 0u; il < row_count; il++) {
                    var zr: array<vec4<f32>, LQ_MAX>;
                    for (var q = 0u; q < LQ; q++) {
                        zr[q] = z4(i0 + il, q);
                    }
                    for (var c = 0u; c < R; c++) {
                        let g = tile[tile_index(lid + c * WG, il)];
                        for (var q = 0u; q < LQ; q++) {
                            col[c][q] += g * zr[q];
                        }
                    }
                }
                for (var c = 0u; c < R; c++) {
                    let j = j0 + lid + c * WG;
                    if j < j_end {
                        let row = col_slot * n + j;
                        if i0 == i_first {
                            loss_partial[row] = 0.0;
                        } else {
                            for (var q = 0u; q < LQ; q++) {
                                col[c][q] += grad4(row, q);
                            }
                        }
                        store_grad(row, col[c]);
                    }
                }
            }
            // The next sub-tile overwrites the tile.
            workgroupBarrier();
        }
        for (var r = 0u; r < R; r++) {
            let i = i0 + lid + r * WG;
            if i < i_end {
                let row = row_slot * n + i;
                store_grad(row, s.acc[r]);
                loss_partial[row] = s.loss[r];
            }
        }
    }
}

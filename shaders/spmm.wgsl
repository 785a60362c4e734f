// CSR sparse × dense product: out = A · B, or relu(A · B) (RELU).
//   A: rows × inner, CSR (row_ptr, col_idx, values); B: inner × cols, row-major;
//   out: rows × cols, row-major, every element written (empty rows give zeros).
// Used for Â·H (graph convolutions, forward and backward), X·W0 (sparse features) and
// Xᵀ·dP (first weight gradient, Xᵀ stored as its own CSR).
//
// B is read as vec4s. The host binds B rounded up to 16 bytes, so the last vec4 is
// always addressable.
//
// Pipeline constants, set by the host per call (kernels/spmm.rs):
//   ALIGNED  cols is a multiple of 4 (every shape the model uses): one 16-byte load of
//            B per nonzero and column group. Otherwise rows of B are not vec4-aligned
//            and B is read element by element. A constant rather than a runtime test,
//            because CPU drivers such as llvmpipe run both sides of a branch under
//            masks.
//   CPL      column groups (of 4) per invocation, 1..=8. Each invocation walks its
//            row's nonzeros once for all its CPL groups, so column ids and values are
//            loaded once per CPL groups. 1 on GPUs (most parallelism); 4 on CPU
//            adapters, where every storage load is a costly per-lane sequence
//            (llvmpipe: X·W0 at Citeseer's shape 2.7 → 1.8 ms, benches/RESULTS.md).
//   WINDOWED B is larger than one storage binding (gpu/windows.rs): b holds only B's
//            rows b_lo .. b_hi, entries whose column falls outside are skipped, and
//            the host runs one dispatch per window of B in ascending order, each after
//            the first adding to what out holds (flags & 1). Every output element then
//            sums its entries in the same order as one dispatch would (rows' columns
//            sorted), so the result is the same to the bit. A constant, so that the
//            usual single-binding case pays nothing.
//   RELU     out = max(A · B, 0) (the first layer's rectifier fused in: H1 directly,
//            no pre-activation tensor and no separate pass), applied by the dispatch
//            that finishes the sums (flags & 2).
//   SG       the subgroup layout (ALIGNED only): 0, or the subgroup size when the
//            source has shared/subgroups.wgsl and the host sized WG to one subgroup.
//            A workgroup then walks RPW consecutive rows one after the other, its
//            lanes across SG of the row's column groups (one each); the lanes load SG
//            consecutive entries' column ids and values at once and read each
//            entry's from its lane with a shuffle, so every lane runs the same number
//            of entries (no lane waits for a longer row) and an entry costs one load
//            of B per lane. llvmpipe: Xᵀ·dP at Citeseer's shape ≈ 1.2-1.4× faster,
//            the other products about the same (benches/RESULTS.md).
//   RPW      rows per workgroup in the subgroup layout.
//
// Bindings (group 0):
//   0 uniform    params  {rows, cols, col_groups = ceil(cols / 4),
//                         lanes = ceil(col_groups / CPL), row_base, b_lo, b_hi,
//                         flags, entry_base, _, _, _}
//                row_base: A's row of out's row 0 (out may be a window of rows);
//                entry_base: A's entry at col_idx[0] and values[0] (the window of
//                entries of those rows, when A has more than one binding holds);
//                b_lo, b_hi: WINDOWED only; flags: 1 add to out (WINDOWED only),
//                2 the last window of B (the one RELU applies in)
//   1 storage r  row_ptr: array<u32>, A's rows + 1 (all of them)
//   2 storage r  col_idx: array<u32>, nnz (from entry entry_base)
//   3 storage r  values:  array<f32>, nnz (from entry entry_base)
//   4 storage r  b:       array<vec4<f32>>, inner × cols floats (⌈· / 4⌉ vec4s); the
//                         window b_lo .. b_hi when WINDOWED
//   5 storage rw out:     array<vec4<f32>>, rows × cols floats (rows row_base ..
//                         row_base + rows); written as whole vec4s when ALIGNED (one
//                         16-byte store per group rather than four masked scalar
//                         ones on CPU drivers), else float by float
// Dispatch, grid folded to 2-D:
//   SG = 0: one invocation per (row, run of CPL consecutive column groups): rows × lanes
//     invocations, WG per workgroup (linear id = (wid.x + wid.y · nwg.x) · WG + lid).
//     Each invocation keeps its CPL vec4 accumulators in registers and walks the row's
//     nonzeros once.
//   SG > 0: ⌈rows / RPW⌉ × lanes workgroups of SG invocations, lanes = ⌈col_groups /
//     SG⌉ (params.lanes); workgroup w = block · lanes + lane block takes rows
//     block · RPW .. + RPW and groups lane block · SG .. + SG.

struct Params {
    rows: u32,
    cols: u32,
    col_groups: u32,
    lanes: u32,
    row_base: u32,
    b_lo: u32,
    b_hi: u32,
    flags: u32,
    entry_base: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

const CONTINUES: u32 = 1u;
const FINISHES: u32 = 2u;

override WG: u32 = 64u;
override ALIGNED: bool = true;
override CPL: u32 = 1u;
override WINDOWED: bool = false;
override RELU: bool = false;
const CPL_MAX: u32 = 8u;
override SG: u32 = 0u;
override RPW: u32 = 1u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(2) var<storage, read> col_idx: array<u32>;
@group(0) @binding(3) var<storage, read> values: array<f32>;
@group(0) @binding(4) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> out: array<vec4<f32>>;

// Element e of out in row-major float order.
fn out_at(e: u32) -> f32 {
    return out[e >> 2u][e & 3u];
}

// Element e of B in row-major float order.
fn b_at(e: u32) -> f32 {
    return b[e >> 2u][e & 3u];
}

// One row of the subgroup layout: out's row `row` (of this dispatch), column group
// `group` (ALIGNED: whole vec4s; groups past the last recompute it, unstored). One
// accumulator, not an array: llvmpipe kept an array of them in memory.
fn subgroup_row(row: u32, lane: u32, group: u32, start: u32, end: u32) {
    let groups = params.col_groups;
    let g = min(group, groups - 1u);
    var acc = vec4<f32>(0.0);
    if WINDOWED && (params.flags & CONTINUES) != 0u {
        acc = out[row * groups + g];
    }
    let b_lo = params.b_lo;
    let b_rows = params.b_hi - params.b_lo;
    for (var k0 = start; k0 < end; k0 += SG) {
        // Entry k0 + lane's column and value; the lanes past the row's end repeat its
        // last entry and are never read.
        let mine = min(k0 + lane, end - 1u) - params.entry_base;
        let col_of_lane = col_idx[mine];
        let value_of_lane = values[mine];
        let here = min(SG, end - k0);
        for (var j = 0u; j < here; j++) {
            var col = lane_u32(col_of_lane, j);
            let v = lane_f32(value_of_lane, j);
            if WINDOWED {
                col -= b_lo;
                if col >= b_rows { continue; }
            }
            acc += v * b[col * groups + g];
        }
    }
    if group < groups {
        if RELU && (params.flags & FINISHES) != 0u {
            acc = max(acc, vec4<f32>(0.0));
        }
        out[row * groups + group] = acc;
    }
}

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    if SG > 0u {
        // First, while every lane is active.
        let lane = subgroup_lane();
        let w = wid.x + wid.y * nwg.x;
        let block = w / params.lanes;
        let group = (w % params.lanes) * SG + lane;
        for (var r0 = block * RPW; r0 < (block + 1u) * RPW; r0 += SG) {
            // The row offsets of SG rows at once: lane t holds row r0 + t's.
            let own = params.row_base + min(r0 + lane, params.rows);
            let starts = row_ptr[own];
            let ends = row_ptr[min(own + 1u, params.row_base + params.rows)];
            for (var j = 0u; j < SG; j++) {
                let row = r0 + j;
                if row >= min(params.rows, (block + 1u) * RPW) {
                    break; // uniform: the same row for every lane
                }
                subgroup_row(row, lane, group, lane_u32(starts, j), lane_u32(ends, j));
            }
        }
        return;
    }
    let t = (wid.x + wid.y * nwg.x) * WG + lid;
    if t >= params.rows * params.lanes {
        return;
    }
    let row = t / params.lanes;
    let g0 = (t % params.lanes) * CPL;
    let cols = params.cols;
    let groups = params.col_groups;
    let start = row_ptr[params.row_base + row];
    let end = row_ptr[params.row_base + row + 1u];
    var acc: array<vec4<f32>, CPL_MAX>;
    for (var g = 0u; g < CPL; g++) {
        acc[g] = vec4<f32>(0.0);
        if WINDOWED && (params.flags & CONTINUES) != 0u {
            let c0 = min(g0 + g, groups - 1u) * 4u;
            let dst = row * cols + c0;
            if ALIGNED {
                acc[g] = out[dst >> 2u];
            } else {
                acc[g].x = out_at(dst);
                if c0 + 1u < cols { acc[g].y = out_at(dst + 1u); }
                if c0 + 2u < cols { acc[g].z = out_at(dst + 2u); }
                if c0 + 3u < cols { acc[g].w = out_at(dst + 3u); }
            }
        }
    }
    let b_lo = params.b_lo;
    let b_rows = params.b_hi - params.b_lo;
    // Groups past the last one (when CPL does not divide col_groups) recompute the last
    // group and are not stored.
    if ALIGNED {
        for (var k = start; k < end; k++) {
            var col = col_idx[k - params.entry_base];
            if WINDOWED {
                col -= b_lo;
                if col >= b_rows { continue; }
            }
            let v = values[k - params.entry_base];
            let src = col * groups;
            for (var g = 0u; g < CPL; g++) {
                acc[g] += v * b[src + min(g0 + g, groups - 1u)];
            }
        }
    } else {
        for (var k = start; k < end; k++) {
            var col = col_idx[k - params.entry_base];
            if WINDOWED {
                col -= b_lo;
                if col >= b_rows { continue; }
            }
            let v = values[k - params.entry_base];
            let src = col * cols;
            for (var g = 0u; g < CPL; g++) {
                let c0 = min(g0 + g, groups - 1u) * 4u;
                var bv = vec4<f32>(b_at(src + c0), 0.0, 0.0, 0.0);
                if c0 + 1u < cols { bv.y = b_at(src + c0 + 1u); }
                if c0 + 2u < cols { bv.z = b_at(src + c0 + 2u); }
                if c0 + 3u < cols { bv.w = b_at(src + c0 + 3u); }
                acc[g] += v * bv;
            }
        }
    }
    let rectify = RELU && (params.flags & FINISHES) != 0u;
    for (var g = 0u; g < CPL; g++) {
        let group = g0 + g;
        if group < groups {
            let c0 = group * 4u;
            let dst = row * cols + c0;
            var v = acc[g];
            if rectify {
                v = max(v, vec4<f32>(0.0));
            }
            if ALIGNED {
                out[dst >> 2u] = v;
            } else {
                out[dst >> 2u][dst & 3u] = v.x;
                if c0 + 1u < cols { out[(dst + 1u) >> 2u][(dst + 1u) & 3u] = v.y; }
                if c0 + 2u < cols { out[(dst + 2u) >> 2u][(dst + 2u) & 3u] = v.z; }
                if c0 + 3u < cols { out[(dst + 3u) >> 2u][(dst + 3u) & 3u] = v.w; }
            }
        }
    }
}

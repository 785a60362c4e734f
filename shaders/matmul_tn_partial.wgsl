// First stage of out = Aᵀ · B, a reduction over the long dimension m (the weight
// gradient d[Wμ|Wσ] = H1ᵀ·dY, reducing over the N nodes):
//   A: m × k, B: m × n, both row-major;
//   partial[c, i, j] = Σ_{r in chunk c} A[r, i] · B[r, j], chunk c = rows
//   [c·chunk_rows, min(m, (c+1)·chunk_rows)), summed over r in order (as the CPU twin).
// The chunks are then summed by reduce_sum (rows = chunks, cols = k·n), so no single
// accumulator ever sees more than chunk_rows terms.
//
// B is read as vec4s; the host binds every buffer rounded up to 16 bytes, so the last
// vec4 is always addressable.
//
// Pipeline constants, set by the host per call (kernels/matmul_tn.rs):
//   ALIGNED  n is a multiple of 4: one 16-byte load of B per row and column group;
//            otherwise B is read element by element (a constant, not a run-time test:
//            CPU drivers such as llvmpipe run both sides of a branch under masks).
//   CPL      column groups (of 4) per invocation, 1..=8: each value of A loaded
//            serves CPL groups.
//   BLOCKED  the layout. false (GPUs, CPL = 1): one invocation per (chunk, i, group),
//            the most parallelism. true (CPU adapters, k and n multiples of 4, CPL up
//            to 4): a workgroup owns one chunk and one run of CPL groups and each
//            invocation 4 consecutive i (one vec4 of A per row, 4 × CPL vec4
//            accumulators), so every load of B is the same for the whole workgroup (a
//            broadcast rather than a per-lane sequence on llvmpipe, benches/RESULTS.md)
//            and serves 4 outputs; the host then sizes WG to k / 4 rounded up to 8, at
//            most 64.
//   SG       BLOCKED only: 0, or the subgroup size when the source has
//            shared/subgroups.wgsl and the host sized WG to one subgroup (k / 4 ≤ SG).
//            The loads of B are the same for every lane: per SG rows, lane t loads
//            row t's CPL vec4s and every lane reads each row's from it with a
//            shuffle, so a row costs CPL / SG loads of B per lane instead of CPL.
//            Same sums in the same order.
//
// Bindings (group 0):
//   0 uniform    params {m, k, n, chunk_rows, chunks, col_groups = ceil(n / 4),
//                        lanes = ceil(col_groups / CPL),
//                        i_blocks = ceil(k / (4·WG)) (BLOCKED only)}
//   1 storage r  a:       array<vec4<f32>>, m × k floats
//   2 storage r  b:       array<vec4<f32>>, m × n floats
//   3 storage rw partial: array<f32>, chunks × k × n
// Dispatch, grid folded to 2-D (linear workgroup id w = wid.x + wid.y · nwg.x):
//   BLOCKED = false: one invocation per (chunk, i, lane): chunks × k × lanes
//     invocations, WG per workgroup, t = w · WG + lid;
//   BLOCKED = true: chunks × i_blocks × lanes workgroups of WG invocations; workgroup
//     w = (chunk · i_blocks + ib) · lanes + lane, invocation iq = ib · WG + lid owns
//     i = 4·iq .. 4·iq + 3; iq ≥ k / 4 computes on the last quad and stores nothing.
//   Invocation (chunk, i, lane) computes column groups lane·CPL .. lane·CPL + CPL − 1;
//   groups past the last (when CPL does not divide col_groups) recompute the last
//   group and are not stored.

struct Params {
    m: u32,
    k: u32,
    n: u32,
    chunk_rows: u32,
    chunks: u32,
    col_groups: u32,
    lanes: u32,
    i_blocks: u32,
}

override WG: u32 = 64u;
override ALIGNED: bool = true;
override CPL: u32 = 1u;
override BLOCKED: bool = false;
const CPL_MAX: u32 = 8u;
override SG: u32 = 0u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;

// Element e of A / B in row-major float order.
fn a_at(e: u32) -> f32 {
    return a[e >> 2u][e & 3u];
}

fn b_at(e: u32) -> f32 {
    return b[e >> 2u][e & 3u];
}

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    // First, while every lane is active (only read by the subgroup layout).
    var lane = 0u;
    if SG > 0u {
        lane = subgroup_lane();
    }
    let w = wid.x + wid.y * nwg.x;
    let k = params.k;
    let n = params.n;
    let lanes = params.lanes;
    let groups = params.col_groups;
    if BLOCKED {
        blocked(w, lid, lane);
        return;
    }
    let t = w * WG + lid;
    let per_chunk = k * lanes;
    if t >= params.chunks * per_chunk {
        return;
    }
    let chunk = t / per_chunk;
    let rem = t % per_chunk;
    let i = rem / lanes;
    let g0 = (rem % lanes) * CPL;
    let r0 = chunk * params.chunk_rows;
    let r1 = min(params.m, r0 + params.chunk_rows);
    var acc: array<vec4<f32>, CPL_MAX>;
    for (var g = 0u; g < CPL; g++) {
        acc[g] = vec4<f32>(0.0);
    }
    for (var r = r0; r < r1; r++) {
        let av = a_at(r * k + i);
        for (var g = 0u; g < CPL; g++) {
            let j0 = min(g0 + g, groups - 1u) * 4u;
            var bv: vec4<f32>;
            if ALIGNED {
                bv = b[r * groups + j0 / 4u];
            } else {
                let base = r * n;
                bv = vec4<f32>(b_at(base + j0), 0.0, 0.0, 0.0);
                if j0 + 1u < n { bv.y = b_at(base + j0 + 1u); }
                if j0 + 2u < n { bv.z = b_at(base + j0 + 2u); }
                if j0 + 3u < n { bv.w = b_at(base + j0 + 3u); }
            }
            acc[g] += av * bv;
        }
    }
    for (var g = 0u; g < CPL; g++) {
        let group = g0 + g;
        if group < groups {
            let j0 = group * 4u;
            let dst = (chunk * k + i) * n + j0;
            partial[dst] = acc[g].x;
            if j0 + 1u < n { partial[dst + 1u] = acc[g].y; }
            if j0 + 2u < n { partial[dst + 2u] = acc[g].z; }
            if j0 + 3u < n { partial[dst + 3u] = acc[g].w; }
        }
    }
}

// The BLOCKED layout (k and n multiples of 4): invocation (chunk, iq, lane) owns rows
// i = 4·iq .. 4·iq + 3 of the output and CPL column groups, 4 × CPL vec4 accumulators;
// every vec4 of A loaded serves CPL groups and every vec4 of B (a broadcast) 4 rows.
fn blocked(w: u32, lid: u32, lane: u32) {
    let k = params.k;
    let n = params.n;
    let lanes = params.lanes;
    let groups = params.col_groups;
    let kq = k / 4u;
    let per_chunk = params.i_blocks * lanes;
    if w >= params.chunks * per_chunk {
        return; // uniform: the whole workgroup is past the grid
    }
    let chunk = w / per_chunk;
    let rem = w % per_chunk;
    let iq = (rem / lanes) * WG + lid;
    let iqc = min(iq, kq - 1u);
    let g0 = (rem % lanes) * CPL;
    let r0 = chunk * params.chunk_rows;
    let r1 = min(params.m, r0 + params.chunk_rows);
    var acc: array<array<vec4<f32>, CPL_MAX>, 4>;
    for (var g = 0u; g < CPL; g++) {
        acc[0][g] = vec4<f32>(0.0);
        acc[1][g] = vec4<f32>(0.0);
        acc[2][g] = vec4<f32>(0.0);
        acc[3][g] = vec4<f32>(0.0);
    }
    if SG > 0u {
        for (var rs = r0; rs < r1; rs += SG) {
            // Row rs + lane's CPL vec4s of B (lanes past the chunk repeat its last row
            // and are never read).
            var mine: array<vec4<f32>, CPL_MAX>;
            let own = min(rs + lane, r1 - 1u) * groups;
            for (var g = 0u; g < CPL; g++) {
                mine[g] = b[own + min(g0 + g, groups - 1u)];
            }
            let here = min(SG, r1 - rs);
            for (var j = 0u; j < here; j++) {
                let av = a[(rs + j) * kq + iqc];
                for (var g = 0u; g < CPL; g++) {
                    let bv = lane_vec4(mine[g], j);
                    acc[0][g] += av.x * bv;
                    acc[1][g] += av.y * bv;
                    acc[2][g] += av.z * bv;
                    acc[3][g] += av.w * bv;
                }
            }
        }
    } else {
        for (var r = r0; r < r1; r++) {
            let av = a[r * kq + iqc];
            let base = r * groups;
            for (var g = 0u; g < CPL; g++) {
                let bv = b[base + min(g0 + g, groups - 1u)];
                acc[0][g] += av.x * bv;
                acc[1][g] += av.y * bv;
                acc[2][g] += av.z * bv;
                acc[3][g] += av.w * bv;
            }
        }
    }
    if iq < kq {
        for (var ii = 0u; ii < 4u; ii++) {
            let i = 4u * iq + ii;
            for (var g = 0u; g < CPL; g++) {
                let group = g0 + g;
                if group < groups {
                    let dst = (chunk * k + i) * n + group * 4u;
                    let v = acc[ii][g];
                    partial[dst] = v.x;
                    partial[dst + 1u] = v.y;
                    partial[dst + 2u] = v.z;
                    partial[dst + 3u] = v.w;
                }
            }
        }
    }
}

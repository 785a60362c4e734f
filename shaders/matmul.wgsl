// Dense product with a strided right operand: out = A · op(B), optionally masked by
// the sign of a third matrix (the ReLU's gradient fused in: dQ = (dY·Wᵀ) ∘ 1[H1 > 0]).
//   A: m × k, row-major; out: m × n, row-major.
//   op(B)[kk, j] = b[kk · stride_k + j · stride_n], so one kernel serves
//   B (k × n, stride_k = n, stride_n = 1) for Y = H1·W, and
//   Bᵀ with B stored n × k (stride_k = 1, stride_n = k) for dH1 = dY·Wᵀ.
// Every output element is summed over kk in order, as the CPU twin does.
//
// A and B are read as vec4s; the host binds every buffer rounded up to 16 bytes, so
// the last vec4 is always addressable.
//
// Pipeline constants, set by the host per call (kernels/matmul.rs):
//   ALIGNED    k and n are multiples of 4 (every shape the model uses): rows of A and
//              of B (either layout) are vec4-aligned and read with 16-byte loads.
//              Otherwise A and B are read element by element. A constant rather than
//              a run-time test, because CPU drivers such as llvmpipe run both sides of
//              a branch under masks.
//   TRANSPOSE  B is stored n × k (stride_k = 1, stride_n = k); selects the aligned
//              path's load pattern.
//   CPL        output column groups (of 4) per invocation, 1..=8, and
//   R          rows per invocation, 1..=4 (register blocking: R × CPL vec4
//              accumulators). Every vec4 of A loaded serves CPL groups, every vec4 of
//              B serves R rows. 1 and 1 on GPUs (most parallelism); on CPU adapters,
//              where every storage load is a costly per-lane sequence, R = 4, CPL = 4
//              for A·B and R = 2, CPL = 8 for A·Bᵀ (llvmpipe, benches/RESULTS.md).
//   SG         the subgroup layout (ALIGNED only): 0, or the subgroup size when the
//              source has shared/subgroups.wgsl and the host sized WG to one subgroup.
//              Every load of B is the same for the whole workgroup; instead of each
//              lane loading all 4·CPL vec4s of B per step of 4 along k, lane t loads
//              the t-th of them and the lanes read the others from it with a shuffle
//              (4·CPL ≤ SG). On llvmpipe a storage load is a sequence per lane and a
//              shuffle a register move: both products at Citeseer's shape 1.8-1.9×
//              faster (benches/RESULTS.md). Same sums in the same order as without.
//   MASK       out[i, j] = select(0, (A·op(B))[i, j], mask[i, j] > 0): the rectifier's
//              gradient, with mask = H1 = relu(Q) (H1 > 0 exactly where Q > 0). Saves
//              the separate pass and the unmasked m × n tensor.
//
// Bindings (group 0):
//   0 uniform    params {m, n, k, col_groups = ceil(n / 4), stride_k, stride_n,
//                        lanes = ceil(col_groups / CPL), row_blocks = ceil(m / (WG·R))}
//   1 storage r  a:   array<vec4<f32>>, m × k floats
//   2 storage r  b:   array<vec4<f32>>, k × n floats
//   3 storage rw out: array<vec4<f32>>, m × n floats, written as whole vec4s when
//                     ALIGNED (one 16-byte store per group rather than four masked
//                     scalar ones on CPU drivers), else float by float
//   4 storage r  mask: array<vec4<f32>>, m × n floats (read only when MASK)
// Dispatch: lanes × row_blocks workgroups of WG invocations, grid folded to 2-D
//   (linear workgroup id w = wid.x + wid.y · nwg.x). Workgroup w serves the CPL column
//   groups from (w % lanes) · CPL and the WG·R rows from (w / lanes) · WG · R;
//   invocation lid owns rows first + r·WG, r < R, where first = that start + lid
//   (adjacent invocations own adjacent rows). The column groups, and with them every
//   load of B, are the same for the whole workgroup: one broadcast load rather than one
//   per invocation. Invocations past the last row compute on row m − 1 and store
//   nothing, keeping control flow uniform.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    col_groups: u32,
    stride_k: u32,
    stride_n: u32,
    lanes: u32,
    row_blocks: u32,
}

override WG: u32 = 64u;
override ALIGNED: bool = true;
override TRANSPOSE: bool = false;
override CPL: u32 = 1u;
const CPL_MAX: u32 = 8u;
override R: u32 = 1u;
const RMAX: u32 = 4u;
override MASK: bool = false;
override SG: u32 = 0u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> mask: array<vec4<f32>>;

// Element e of A / B in row-major float order.
fn a_at(e: u32) -> f32 {
    return a[e >> 2u][e & 3u];
}

fn b_at(e: u32) -> f32 {
    return b[e >> 2u][e & 3u];
}

// Stores `value` at float e of out: with MASK, zero where mask[e] is not positive.
fn store(e: u32, value: f32) {
    var v = value;
    if MASK {
        v = select(0.0, value, mask[e >> 2u][e & 3u] > 0.0);
    }
    out[e >> 2u][e & 3u] = v;
}

// Stores the vec4 `value` at floats e .. e + 3 of out (e a multiple of 4), masked
// component by component as `store` does.
fn store4(e: u32, value: vec4<f32>) {
    var v = value;
    if MASK {
        v = select(vec4<f32>(0.0), value, mask[e >> 2u] > vec4<f32>(0.0));
    }
    out[e >> 2u] = v;
}

// Vec4 j (0..3) of step q along k of op(B)'s column group c (ALIGNED): op(B)[4q + j,
// 4c .. 4c + 3] for B, or column 4c + j's k-values 4q .. 4q + 3 for TRANSPOSE (row
// 4c + j of B stored n × k).
fn b_vec4(q: u32, kq: u32, c: u32, j: u32, groups: u32) -> vec4<f32> {
    if TRANSPOSE {
        return b[(4u * c + j) * kq + q];
    }
    return b[(4u * q + j) * groups + c];
}

// acc += (one row's 4 values x along k) · (the 4 vec4s of B they meet), each output
// element summed along k in order.
fn accumulate(
    acc: ptr<function, vec4<f32>>,
    x: vec4<f32>,
    b0: vec4<f32>,
    b1: vec4<f32>,
    b2: vec4<f32>,
    b3: vec4<f32>,
) {
    var s = *acc;
    if TRANSPOSE {
        // b0..b3 are 4 columns' k-values: output column j takes component-wise bj.
        s.x += x.x * b0.x;
        s.y += x.x * b1.x;
        s.z += x.x * b2.x;
        s.w += x.x * b3.x;
        s.x += x.y * b0.y;
        s.y += x.y * b1.y;
        s.z += x.y * b2.y;
        s.w += x.y * b3.y;
        s.x += x.z * b0.z;
        s.y += x.z * b1.z;
        s.z += x.z * b2.z;
        s.w += x.z * b3.z;
        s.x += x.w * b0.w;
        s.y += x.w * b1.w;
        s.z += x.w * b2.w;
        s.w += x.w * b3.w;
    } else {
        s += x.x * b0;
        s += x.y * b1;
        s += x.z * b2;
        s += x.w * b3;
    }
    *acc = s;
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
    if w >= params.lanes * params.row_blocks {
        return; // uniform: the whole workgroup is past the grid
    }
    let m = params.m;
    let n = params.n;
    let k = params.k;
    let groups = params.col_groups;
    let g0 = (w % params.lanes) * CPL;
    let first = (w / params.lanes) * WG * R + lid;
    var acc: array<array<vec4<f32>, CPL_MAX>, RMAX>;
    var rows: array<u32, RMAX>;
    for (var r = 0u; r < R; r++) {
        rows[r] = min(first + r * WG, m - 1u);
        for (var g = 0u; g < CPL; g++) {
            acc[r][g] = vec4<f32>(0.0);
        }
    }
    // Groups past the last one (when CPL does not divide col_groups) recompute the last
    // group and are not stored.
    if ALIGNED {
        let kq = k / 4u;
        // The subgroup layout: this lane's share of B's loads, vec4 `item` of the
        // 4·CPL a step needs (item 4g + j: row 4q + j of op(B)'s column group g0 + g).
        let item = min(lane, 4u * CPL - 1u);
        let item_group = min(g0 + item / 4u, groups - 1u);
        for (var q = 0u; q < kq; q++) {
            var av: array<vec4<f32>, RMAX>;
            for (var r = 0u; r < R; r++) {
                av[r] = a[rows[r] * kq + q];
            }
            var mine = vec4<f32>(0.0);
            if SG > 0u {
                mine = b_vec4(q, kq, item_group, item % 4u, groups);
            }
            for (var g = 0u; g < CPL; g++) {
                let c = min(g0 + g, groups - 1u);
                var bv: array<vec4<f32>, 4>;
                for (var j = 0u; j < 4u; j++) {
                    if SG > 0u {
                        bv[j] = lane_vec4(mine, 4u * g + j);
                    } else {
                        bv[j] = b_vec4(q, kq, c, j, groups);
                    }
                }
                for (var r = 0u; r < R; r++) {
                    // Through a local: naga 30's SPIR-V writer fails on a pointer to
                    // an element of `acc` passed to a function.
                    var s = acc[r][g];
                    accumulate(&s, av[r], bv[0], bv[1], bv[2], bv[3]);
                    acc[r][g] = s;
                }
            }
        }
    } else {
        let sk = params.stride_k;
        let sn = params.stride_n;
        for (var kk = 0u; kk < k; kk++) {
            var av: array<f32, RMAX>;
            for (var r = 0u; r < R; r++) {
                av[r] = a_at(rows[r] * k + kk);
            }
            for (var g = 0u; g < CPL; g++) {
                let c0 = min(g0 + g, groups - 1u) * 4u;
                let base = kk * sk + c0 * sn;
                var bv = vec4<f32>(b_at(base), 0.0, 0.0, 0.0);
                if c0 + 1u < n { bv.y = b_at(base + sn); }
                if c0 + 2u < n { bv.z = b_at(base + 2u * sn); }
                if c0 + 3u < n { bv.w = b_at(base + 3u * sn); }
                for (var r = 0u; r < R; r++) {
                    acc[r][g] += av[r] * bv;
                }
            }
        }
    }
    for (var r = 0u; r < R; r++) {
        let row = first + r * WG;
        if row < m {
            for (var g = 0u; g < CPL; g++) {
                let group = g0 + g;
                if group < groups {
                    let c0 = group * 4u;
                    let dst = row * n + c0;
                    if ALIGNED {
                        store4(dst, acc[r][g]);
                    } else {
                        store(dst, acc[r][g].x);
                        if c0 + 1u < n { store(dst + 1u, acc[r][g].y); }
                        if c0 + 2u < n { store(dst + 2u, acc[r][g].z); }
                        if c0 + 3u < n { store(dst + 3u, acc[r][g].w); }
                    }
                }
            }
        }
    }
}

// Dense part of a pair MSE against a sparse matrix, never storing N×N (DFCN's
// 0.1·MSE(σ(Z_G Z_Gᵀ) + σ(Ẑ Ẑᵀ), Â), DESIGN.md §10a). With a_ij = σ(za_i · za_j) and
// b_ij = σ(zb_i · zb_j) (both symmetric) it produces, per node i and column split,
//   loss   Σ_j (a_ij + b_ij)²                          (Kahan-compensated)
//   ga     Σ_j (a_ij + b_ij) · a_ij (1 − a_ij) · za_j
//   gb     Σ_j (a_ij + b_ij) · b_ij (1 − b_ij) · zb_j
// over the columns j of the split; pair_mse_sparse adds a node's splits in order, the
// correction over the matrix's nonzeros and the scale:
//   Σ_ij (a + b − A)² = Σ_ij (a + b)² + Σ_{A_ij ≠ 0} [A_ij² − 2 A_ij (a_ij + b_ij)].
// Every ordered pair once, in register-blocked rows (the dense decoder's row layout):
// invocations own R rows; the column range, and with it every za_j and zb_j load, is
// the same for the whole workgroup; each is loaded once per column and serves all R
// rows. Memory O(splits·N·(1 + LA + LB)), work O(N²·(LA + LB)).
//
// Pipeline constants, set by the host per call (kernels/pair_mse.rs):
//   LA, LB   the widths of za and zb, 1..=64 and 1..=128: constant trip counts, so the
//            loops unroll and rows stay in registers (or plain spill slots) rather than
//            dynamically indexed arrays.
//   R        rows per invocation, 1..=2.
//   ALIGNED  LA and LB are multiples of 4: rows are read as vec4s. Otherwise element
//            by element (columns past the width read as 0).
//
// Bindings (group 0):
//   0 uniform    params  {n, chunk (columns per split), splits, groups = ⌈n / (WG·R)⌉}
//   1 storage r  za:      array<vec4<f32>>, n × LA floats
//   2 storage r  zb:      array<vec4<f32>>, n × LB floats
//   3 storage rw partial: array<f32>, splits × n × (1 + LA + LB): per (split, node) the
//                         loss, then ga, then gb
// Dispatch: splits × groups workgroups of WG; workgroup w serves split w / groups and
//   the WG·R nodes from (w % groups)·WG·R, invocation lid the nodes first + r·WG, r < R.
//   Grid folded to 2-D (w = wid.x + wid.y · nwg.x). Invocations past the last node
//   compute on node n − 1 and store nothing, keeping control flow uniform.

struct Params {
    n: u32,
    chunk: u32,
    splits: u32,
    groups: u32,
}

override WG: u32 = 64u;
override LA: u32 = 20u;
override LB: u32 = 100u;
override QA: u32 = (LA + 3u) / 4u;
override QB: u32 = (LB + 3u) / 4u;
const QA_MAX: u32 = 16u;
const QB_MAX: u32 = 32u;
override R: u32 = 1u;
const RMAX: u32 = 2u;
override ALIGNED: bool = true;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> za: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> zb: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;

// Columns 4q..4q+3 of row `row` of za; columns ≥ LA read as 0.
fn za4(row: u32, q: u32) -> vec4<f32> {
    let c = 4u * q;
    if ALIGNED {
        return za[row * QA + q];
    }
    var v = vec4<f32>(0.0);
    let base = row * LA + c;
    for (var k = 0u; k < 4u; k++) {
        if c + k < LA {
            let e = base + k;
            v[k] = za[e >> 2u][e & 3u];
        }
    }
    return v;
}

// Columns 4q..4q+3 of row `row` of zb; columns ≥ LB read as 0.
fn zb4(row: u32, q: u32) -> vec4<f32> {
    let c = 4u * q;
    if ALIGNED {
        return zb[row * QB + q];
    }
    var v = vec4<f32>(0.0);
    let base = row * LB + c;
    for (var k = 0u; k < 4u; k++) {
        if c + k < LB {
            let e = base + k;
            v[k] = zb[e >> 2u][e & 3u];
        }
    }
    return v;
}

// σ(x) and σ(x)(1 − σ(x)), sharing e = exp(−|x|).
fn sigmoid_and_slope(x: f32) -> vec2<f32> {
    let e = exp(-abs(x));
    let inv = 1.0 / (1.0 + e);
    return vec2<f32>(select(e * inv, inv, x >= 0.0), e * inv * inv);
}

struct Rows {
    a: array<array<vec4<f32>, QA_MAX>, RMAX>,
    b: array<array<vec4<f32>, QB_MAX>, RMAX>,
    ga: array<array<vec4<f32>, QA_MAX>, RMAX>,
    gb: array<array<vec4<f32>, QB_MAX>, RMAX>,
    loss: array<f32, RMAX>,
    comp: array<f32, RMAX>,
}

// Adds column j to the accumulators of the rows in `s` (a function taking them by
// pointer, as the dense decoder's step: far fewer spills on llvmpipe).
fn column_step(s: ptr<function, Rows>, j: u32) {
    var aj: array<vec4<f32>, QA_MAX>;
    var bj: array<vec4<f32>, QB_MAX>;
    for (var q = 0u; q < QA; q++) {
        aj[q] = za4(j, q);
    }
    for (var q = 0u; q < QB; q++) {
        bj[q] = zb4(j, q);
    }
    for (var r = 0u; r < R; r++) {
        // Summed column by column in order, as the CPU twin does.
        var da = 0.0;
        for (var q = 0u; q < QA; q++) {
            da += (*s).a[r][q].x * aj[q].x;
            da += (*s).a[r][q].y * aj[q].y;
            da += (*s).a[r][q].z * aj[q].z;
            da += (*s).a[r][q].w * aj[q].w;
        }
        var db = 0.0;
        for (var q = 0u; q < QB; q++) {
            db += (*s).b[r][q].x * bj[q].x;
            db += (*s).b[r][q].y * bj[q].y;
            db += (*s).b[r][q].z * bj[q].z;
            db += (*s).b[r][q].w * bj[q].w;
        }
        let sa = sigmoid_and_slope(da);
        let sb = sigmoid_and_slope(db);
        let sum = sa.x + sb.x;
        let term = sum * sum - (*s).comp[r];
        let next = (*s).loss[r] + term;
        (*s).comp[r] = (next - (*s).loss[r]) - term;
        (*s).loss[r] = next;
        let ca = sum * sa.y;
        let cb = sum * sb.y;
        for (var q = 0u; q < QA; q++) {
            (*s).ga[r][q] += ca * aj[q];
        }
        for (var q = 0u; q < QB; q++) {
            (*s).gb[r][q] += cb * bj[q];
        }
    }
}

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let w = wid.x + wid.y * nwg.x;
    let n = params.n;
    if w >= params.splits * params.groups {
        return; // uniform: the whole workgroup is past the grid
    }
    let split = w / params.groups;
    let first = (w % params.groups) * WG * R + lid;
    var s: Rows;
    for (var r = 0u; r < R; r++) {
        let i = min(first + r * WG, n - 1u);
        for (var q = 0u; q < QA; q++) {
            s.a[r][q] = za4(i, q);
        }
        for (var q = 0u; q < QB; q++) {
            s.b[r][q] = zb4(i, q);
        }
    }
    let j0 = min(n, split * params.chunk);
    let j1 = min(n, j0 + params.chunk);
    for (var j = j0; j < j1; j++) {
        column_step(&s, j);
    }
    let width = 1u + LA + LB;
    for (var r = 0u; r < R; r++) {
        let i = first + r * WG;
        if i < n {
            let base = (split * n + i) * width;
            partial[base] = s.loss[r];
            for (var q = 0u; q < QA; q++) {
                for (var k = 0u; k < 4u; k++) {
                    if 4u * q + k < LA {
                        partial[base + 1u + 4u * q + k] = s.ga[r][q][k];
                    }
                }
            }
            for (var q = 0u; q < QB; q++) {
                for (var k = 0u; k < 4u; k++) {
                    if 4u * q + k < LB {
                        partial[base + 1u + LA + 4u * q + k] = s.gb[r][q][k];
                    }
                }
            }
        }
    }
}

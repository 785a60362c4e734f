// Row-softmax self-attention, forward, tile by tile with an online max and sum (no N×N
// buffer): for Y (n × L), T = Y Yᵀ, the partial softmax statistics of every row over
// the columns of one split,
//   m_i = max_j T_ij,   l_i = Σ_j exp(T_ij − m_i),   o_i = Σ_j exp(T_ij − m_i) · y_j
// (j in the split), which attention_combine merges into Z_S = softmax_row(T) · Y and
// the log-sum-exp ℓ_i = m_i + log l_i that the backward pass recomputes S from. DFCN's
// self-correlation fusion (DESIGN.md §10a): Z_S = softmax(Z_L Z_Lᵀ) Z_L.
// Per column j and row i: t = y_i · y_j, m' = max(m, t), l = l·e^{m − m'} + e^{t − m'},
// o = o·e^{m − m'} + e^{t − m'}·y_j (two exponentials and no branch, so SIMD lanes stay
// together). An empty split leaves m = −3.4e38, l = 0, o = 0.
// Register-blocked rows as pair_mse: invocations own R rows; every y_j load serves them.
//
// Pipeline constants, set by the host per call (kernels/attention_forward.rs):
//   L        the width of Y, 1..=64 (constant trip counts).
//   R        rows per invocation, 1..=4.
//   ALIGNED  L is a multiple of 4: rows are read as vec4s.
//
// Bindings (group 0):
//   0 uniform    params  {n, chunk (columns per split), splits, groups = ⌈n / (WG·R)⌉}
//   1 storage r  y:       array<vec4<f32>>, n × L floats
//   2 storage rw partial: array<f32>, splits × n × (2 + L): per (split, node) m, l, o
// Dispatch: splits × groups workgroups of WG; workgroup w serves split w / groups and
//   the WG·R nodes from (w % groups)·WG·R, invocation lid the nodes first + r·WG, r < R.
//   Grid folded to 2-D (w = wid.x + wid.y · nwg.x). Invocations past the last node
//   compute on node n − 1 and store nothing.

struct Params {
    n: u32,
    chunk: u32,
    splits: u32,
    groups: u32,
}

override WG: u32 = 64u;
override L: u32 = 20u;
override LQ: u32 = (L + 3u) / 4u;
const LQ_MAX: u32 = 16u;
override R: u32 = 1u;
const RMAX: u32 = 4u;
override ALIGNED: bool = true;
const LOWEST: f32 = -3.4e38;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> y: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;

// Columns 4q..4q+3 of row `row` of y; columns ≥ L read as 0.
fn y4(row: u32, q: u32) -> vec4<f32> {
    let c = 4u * q;
    if ALIGNED {
        return y[row * LQ + q];
    }
    var v = vec4<f32>(0.0);
    let base = row * L + c;
    for (var k = 0u; k < 4u; k++) {
        if c + k < L {
            let e = base + k;
            v[k] = y[e >> 2u][e & 3u];
        }
    }
    return v;
}

struct Rows {
    y: array<array<vec4<f32>, LQ_MAX>, RMAX>,
    o: array<array<vec4<f32>, LQ_MAX>, RMAX>,
    m: array<f32, RMAX>,
    l: array<f32, RMAX>,
}

fn column_step(s: ptr<function, Rows>, j: u32) {
    var yj: array<vec4<f32>, LQ_MAX>;
    for (var q = 0u; q < LQ; q++) {
        yj[q] = y4(j, q);
    }
    for (var r = 0u; r < R; r++) {
        var t = 0.0;
        for (var q = 0u; q < LQ; q++) {
            t += (*s).y[r][q].x * yj[q].x;
            t += (*s).y[r][q].y * yj[q].y;
            t += (*s).y[r][q].z * yj[q].z;
            t += (*s).y[r][q].w * yj[q].w;
        }
        let m = max((*s).m[r], t);
        let rescale = exp((*s).m[r] - m);
        let fresh = exp(t - m);
        (*s).l[r] = (*s).l[r] * rescale + fresh;
        for (var q = 0u; q < LQ; q++) {
            (*s).o[r][q] = (*s).o[r][q] * rescale + fresh * yj[q];
        }
        (*s).m[r] = m;
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
        for (var q = 0u; q < LQ; q++) {
            s.y[r][q] = y4(i, q);
        }
        s.m[r] = LOWEST;
    }
    let j0 = min(n, split * params.chunk);
    let j1 = min(n, j0 + params.chunk);
    for (var j = j0; j < j1; j++) {
        column_step(&s, j);
    }
    for (var r = 0u; r < R; r++) {
        let i = first + r * WG;
        if i < n {
            let base = (split * n + i) * (2u + L);
            partial[base] = s.m[r];
            partial[base + 1u] = s.l[r];
            for (var q = 0u; q < LQ; q++) {
                for (var k = 0u; k < 4u; k++) {
                    if 4u * q + k < L {
                        partial[base + 2u + 4u * q + k] = s.o[r][q][k];
                    }
                }
            }
        }
    }
}

// Row-softmax self-attention, backward, tile by tile with S recomputed (no N×N buffer).
// Forward: T = Y Yᵀ (symmetric), S = softmax_row(T), Z_S = S Y. Given g (n × L, the
// gradient with respect to Z_S up to a scalar: DFCN passes dZ̃ and multiplies the result
// by γ, since ∂L/∂Z_S = γ dZ̃), d_i = g_i · zs_i (row_dot) and lse from the forward pass,
// with S_ij = exp(y_i · y_j − lse_i):
//   dT_ij = S_ij (g_i · y_j − d_i)
//   ∂/∂y_i = Σ_j (dT_ij + dT_ji) y_j + Σ_j S_ji g_j
// Row-owned: invocation rows i, columns j of one split; per pair t = y_i · y_j (both
// S_ij and S_ji = exp(t − lse_j) come from it), g_i · y_j and y_i · g_j, then
//   acc_i += (S_ij (g_i·y_j − d_i) + S_ji (y_i·g_j − d_j)) y_j + S_ji g_j.
// The split's sums go to partial; reduce_sum adds the splits and lincomb scales by γ
// and adds dZ̃ (DESIGN.md §10a: dZ_L = dZ̃ + attention's backward).
//
// Pipeline constants, set by the host per call (kernels/attention_backward.rs):
//   L, R, ALIGNED  as attention_forward (width, rows per invocation, vec4 rows).
//
// Bindings (group 0):
//   0 uniform    params  {n, chunk (columns per split), splits, groups = ⌈n / (WG·R)⌉}
//   1 storage r  y:       array<vec4<f32>>, n × L floats
//   2 storage r  g:       array<vec4<f32>>, n × L floats
//   3 storage r  lse:     array<f32>, n
//   4 storage r  d:       array<f32>, n
//   5 storage rw partial: array<f32>, splits × n × L
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

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> y: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> g: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> lse: array<f32>;
@group(0) @binding(4) var<storage, read> d: array<f32>;
@group(0) @binding(5) var<storage, read_write> partial: array<f32>;

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

fn g4(row: u32, q: u32) -> vec4<f32> {
    let c = 4u * q;
    if ALIGNED {
        return g[row * LQ + q];
    }
    var v = vec4<f32>(0.0);
    let base = row * L + c;
    for (var k = 0u; k < 4u; k++) {
        if c + k < L {
            let e = base + k;
            v[k] = g[e >> 2u][e & 3u];
        }
    }
    return v;
}

struct Rows {
    y: array<array<vec4<f32>, LQ_MAX>, RMAX>,
    g: array<array<vec4<f32>, LQ_MAX>, RMAX>,
    acc: array<array<vec4<f32>, LQ_MAX>, RMAX>,
    lse: array<f32, RMAX>,
    d: array<f32, RMAX>,
}

fn column_step(s: ptr<function, Rows>, j: u32) {
    var yj: array<vec4<f32>, LQ_MAX>;
    var gj: array<vec4<f32>, LQ_MAX>;
    for (var q = 0u; q < LQ; q++) {
        yj[q] = y4(j, q);
        gj[q] = g4(j, q);
    }
    let lse_j = lse[j];
    let d_j = d[j];
    for (var r = 0u; r < R; r++) {
        // Summed column by column in order, as the CPU twin does.
        var t = 0.0;
        var gy = 0.0;
        var yg = 0.0;
        for (var q = 0u; q < LQ; q++) {
            t += (*s).y[r][q].x * yj[q].x;
            t += (*s).y[r][q].y * yj[q].y;
            t += (*s).y[r][q].z * yj[q].z;
            t += (*s).y[r][q].w * yj[q].w;
            gy += (*s).g[r][q].x * yj[q].x;
            gy += (*s).g[r][q].y * yj[q].y;
            gy += (*s).g[r][q].z * yj[q].z;
            gy += (*s).g[r][q].w * yj[q].w;
            yg += (*s).y[r][q].x * gj[q].x;
            yg += (*s).y[r][q].y * gj[q].y;
            yg += (*s).y[r][q].z * gj[q].z;
            yg += (*s).y[r][q].w * gj[q].w;
        }
        let s_ij = exp(t - (*s).lse[r]);
        let s_ji = exp(t - lse_j);
        let c = s_ij * (gy - (*s).d[r]) + s_ji * (yg - d_j);
        for (var q = 0u; q < LQ; q++) {
            (*s).acc[r][q] += c * yj[q] + s_ji * gj[q];
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
        for (var q = 0u; q < LQ; q++) {
            s.y[r][q] = y4(i, q);
            s.g[r][q] = g4(i, q);
        }
        s.lse[r] = lse[i];
        s.d[r] = d[i];
    }
    let j0 = min(n, split * params.chunk);
    let j1 = min(n, j0 + params.chunk);
    for (var j = j0; j < j1; j++) {
        column_step(&s, j);
    }
    for (var r = 0u; r < R; r++) {
        let i = first + r * WG;
        if i < n {
            let base = (split * n + i) * L;
            for (var q = 0u; q < LQ; q++) {
                for (var k = 0u; k < 4u; k++) {
                    if 4u * q + k < L {
                        partial[base + 4u * q + k] = s.acc[r][q][k];
                    }
                }
            }
        }
    }
}

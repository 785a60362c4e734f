// Finishes the pair MSE of pair_mse, pair_mse_gradient and pair_mse_mirror (DFCN's
// 0.1·MSE(σ(Z_G Z_Gᵀ) + σ(Ẑ Ẑᵀ), Â), DESIGN.md §10a): per node i, its loss splits summed
// in order, the correction over the nonzeros of the matrix and the scale. With a_ij =
// σ(za_i · za_j), b_ij = σ(zb_i · zb_j) and S = A + Aᵀ (given as a CSR; its pattern is
// the union of A's row i and column i):
//   loss_rows[i] = D_i − Σ_j S_ij (a_ij + b_ij)
//   dza_i = κ · [2 Σ_j (a + b) a (1 − a) za_j − Σ_j S_ij a_ij (1 − a_ij) za_j]
//   dzb_i = κ · [2 Σ_j (a + b) b (1 − b) zb_j − Σ_j S_ij b_ij (1 − b_ij) zb_j]
// (added to dza, dzb with ACCUMULATE); the dense sums over j come in `dense`, where the
// D_i are pair_mse's per-row shares of Σ_ij (a + b)² (each unordered pair counted on
// the row of its block: Σ_i D_i = Σ_ij (a + b)², not D_i = Σ_j (a_ij + b_ij)²). Since a
// and b are symmetric, Σ_ij A_ij (a + b) = ½ Σ_ij S_ij (a + b), so Σ_i loss_rows[i] +
// Σ_ij A_ij² = Σ_ij (a + b − A)²; the gradient of w·mean((a + b − A)²) is the above with
// κ = 2w / N².

// Pipeline constants, set by the host per call (kernels/pair_mse_sparse.rs):
//   LA, LB, ALIGNED  as pair_mse (widths of za and zb, vec4 rows).
//   ACCUMULATE       whether dza and dzb keep their previous values and add.
//
// Bindings (group 0):
//   0 uniform    params    {n, splits, kappa, _}
//   1 storage r  za:        array<vec4<f32>>, n × LA floats
//   2 storage r  zb:        array<vec4<f32>>, n × LB floats
//   3 storage r  dense:     array<f32>, splits × n loss sums (loss[s, i] at s·n + i),
//                           then ga (n × LA), then gb (n × LB)
//   4 storage r  row_ptr:   array<u32>, n + 1 (S's rows)
//   5 storage r  col_idx:   array<u32>, S's entries
//   6 storage r  values:    array<f32>, S's entries
//   7 storage rw dza:       array<f32>, n × LA
//   8 storage rw dzb:       array<f32>, n × LB
//   9 storage rw loss_rows: array<f32>, n
// Dispatch: one invocation per node, WG per workgroup, grid folded to 2-D.

struct Params {
    n: u32,
    splits: u32,
    kappa: f32,
    _pad0: u32,
}

override WG: u32 = 64u;
override LA: u32 = 20u;
override LB: u32 = 100u;
override QA: u32 = (LA + 3u) / 4u;
override QB: u32 = (LB + 3u) / 4u;
const QA_MAX: u32 = 16u;
const QB_MAX: u32 = 32u;
override ALIGNED: bool = true;
override ACCUMULATE: bool = false;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> za: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> zb: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> dense: array<f32>;
@group(0) @binding(4) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(5) var<storage, read> col_idx: array<u32>;
@group(0) @binding(6) var<storage, read> values: array<f32>;
@group(0) @binding(7) var<storage, read_write> dza: array<f32>;
@group(0) @binding(8) var<storage, read_write> dzb: array<f32>;
@group(0) @binding(9) var<storage, read_write> loss_rows: array<f32>;

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

fn sigmoid_and_slope(x: f32) -> vec2<f32> {
    let e = exp(-abs(x));
    let inv = 1.0 / (1.0 + e);
    return vec2<f32>(select(e * inv, inv, x >= 0.0), e * inv * inv);
}

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = (wid.x + wid.y * nwg.x) * WG + lid;
    let n = params.n;
    if i >= n {
        return;
    }
    var ga: array<vec4<f32>, QA_MAX>;
    var gb: array<vec4<f32>, QB_MAX>;
    var loss = 0.0;
    for (var s = 0u; s < params.splits; s++) {
        loss += dense[s * n + i];
    }
    let ga_row = params.splits * n + i * LA;
    let gb_row = params.splits * n + n * LA + i * LB;
    for (var q = 0u; q < QA; q++) {
        for (var k = 0u; k < 4u; k++) {
            if 4u * q + k < LA {
                ga[q][k] = dense[ga_row + 4u * q + k];
            }
        }
    }
    for (var q = 0u; q < QB; q++) {
        for (var k = 0u; k < 4u; k++) {
            if 4u * q + k < LB {
                gb[q][k] = dense[gb_row + 4u * q + k];
            }
        }
    }
    for (var q = 0u; q < QA; q++) {
        ga[q] *= 2.0;
    }
    for (var q = 0u; q < QB; q++) {
        gb[q] *= 2.0;
    }
    var ai: array<vec4<f32>, QA_MAX>;
    var bi: array<vec4<f32>, QB_MAX>;
    for (var q = 0u; q < QA; q++) {
        ai[q] = za4(i, q);
    }
    for (var q = 0u; q < QB; q++) {
        bi[q] = zb4(i, q);
    }
    for (var e = row_ptr[i]; e < row_ptr[i + 1u]; e++) {
        let j = col_idx[e];
        let v = values[e];
        var aj: array<vec4<f32>, QA_MAX>;
        var bj: array<vec4<f32>, QB_MAX>;
        var da = 0.0;
        for (var q = 0u; q < QA; q++) {
            aj[q] = za4(j, q);
            da += ai[q].x * aj[q].x;
            da += ai[q].y * aj[q].y;
            da += ai[q].z * aj[q].z;
            da += ai[q].w * aj[q].w;
        }
        var db = 0.0;
        for (var q = 0u; q < QB; q++) {
            bj[q] = zb4(j, q);
            db += bi[q].x * bj[q].x;
            db += bi[q].y * bj[q].y;
            db += bi[q].z * bj[q].z;
            db += bi[q].w * bj[q].w;
        }
        let sa = sigmoid_and_slope(da);
        let sb = sigmoid_and_slope(db);
        loss -= v * (sa.x + sb.x);
        for (var q = 0u; q < QA; q++) {
            ga[q] -= (v * sa.y) * aj[q];
        }
        for (var q = 0u; q < QB; q++) {
            gb[q] -= (v * sb.y) * bj[q];
        }
    }
    for (var q = 0u; q < QA; q++) {
        for (var k = 0u; k < 4u; k++) {
            let c = 4u * q + k;
            if c < LA {
                var g = params.kappa * ga[q][k];
                if ACCUMULATE {
                    g += dza[i * LA + c];
                }
                dza[i * LA + c] = g;
            }
        }
    }
    for (var q = 0u; q < QB; q++) {
        for (var k = 0u; k < 4u; k++) {
            let c = 4u * q + k;
            if c < LB {
                var g = params.kappa * gb[q][k];
                if ACCUMULATE {
                    g += dzb[i * LB + c];
                }
                dzb[i * LB + c] = g;
            }
        }
    }
    loss_rows[i] = loss;
}

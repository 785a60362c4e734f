// The gradient of one Student's t term of DFCN's KL loss (DESIGN.md §10a) with respect
// to the points and the centres, and its per-row loss. For points z (n × L), centres c
// (k × L), soft assignments q (n × k, student_t's) and the target p (n × k):
//   num_ij = 1 / (1 + ‖z_i − c_j‖²),   g_ij = scale · (p_ij − q_ij Σ_j' p_ij') · num_ij
//   dz_i = 2 Σ_j g_ij (z_i − c_j)                        (+ dz with ACCUMULATE)
//   dc_rows[i, j, :] = −2 g_ij (z_i − c_j)               (+ dc_rows with ACCUMULATE)
//   loss_rows[i] = Σ_{j: p_ij > 0} p_ij (log p_ij − log q_ij)   (+ loss_rows likewise)
// This is ∂/∂z of −scale·Σ_ij p_ij log q_ij (q's normalisation included); DFCN's
// 10·KL(P ‖ (log q + log q1 + log q2)/3) 'batchmean' is three such terms with scale =
// 10 / (3n), the centres' gradient the column sums of dc_rows (reduce_sum).
//
// Pipeline constant ACCUMULATE (kernels/student_t_grad.rs): add to the outputs' previous
// values (the second and third terms), rather than overwrite them.
//
// Bindings (group 0):
//   0 uniform    params    {n, latent (= L), k (≤ 64), scale}
//   1 storage r  z:         array<f32>, n × L
//   2 storage r  centers:   array<f32>, k × L
//   3 storage r  q:         array<f32>, n × k
//   4 storage r  p:         array<f32>, n × k
//   5 storage rw dz:        array<f32>, n × L
//   6 storage rw dc_rows:   array<f32>, n × k × L
//   7 storage rw loss_rows: array<f32>, n
// Dispatch: one invocation per point, WG per workgroup, grid folded to 2-D.

struct Params {
    n: u32,
    latent: u32,
    k: u32,
    scale: f32,
}

override WG: u32 = 64u;
override ACCUMULATE: bool = false;
const K_MAX: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read> centers: array<f32>;
@group(0) @binding(3) var<storage, read> q: array<f32>;
@group(0) @binding(4) var<storage, read> p: array<f32>;
@group(0) @binding(5) var<storage, read_write> dz: array<f32>;
@group(0) @binding(6) var<storage, read_write> dc_rows: array<f32>;
@group(0) @binding(7) var<storage, read_write> loss_rows: array<f32>;

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = (wid.x + wid.y * nwg.x) * WG + lid;
    if i >= params.n {
        return;
    }
    let l = params.latent;
    let k = params.k;
    var p_sum = 0.0;
    for (var j = 0u; j < k; j++) {
        p_sum += p[i * k + j];
    }
    var g: array<f32, K_MAX>;
    var loss = 0.0;
    for (var j = 0u; j < k; j++) {
        var dist = 0.0;
        for (var c = 0u; c < l; c++) {
            let diff = z[i * l + c] - centers[j * l + c];
            dist += diff * diff;
        }
        let num = 1.0 / (1.0 + dist);
        let pij = p[i * k + j];
        let qij = q[i * k + j];
        g[j] = params.scale * (pij - qij * p_sum) * num;
        if pij > 0.0 {
            loss += pij * (log(pij) - log(qij));
        }
    }
    for (var c = 0u; c < l; c++) {
        let zc = z[i * l + c];
        var acc = 0.0;
        for (var j = 0u; j < k; j++) {
            let diff = zc - centers[j * l + c];
            acc += 2.0 * g[j] * diff;
            let e = (i * k + j) * l + c;
            var dc = -2.0 * g[j] * diff;
            if ACCUMULATE {
                dc += dc_rows[e];
            }
            dc_rows[e] = dc;
        }
        if ACCUMULATE {
            acc += dz[i * l + c];
        }
        dz[i * l + c] = acc;
    }
    if ACCUMULATE {
        loss += loss_rows[i];
    }
    loss_rows[i] = loss;
}

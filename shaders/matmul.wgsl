// Dense product with a strided right operand: out = A · op(B).
//   A: m × k, row-major; out: m × n, row-major.
//   op(B)[kk, j] = b[kk · stride_k + j · stride_n], so one kernel serves
//   B (k × n, stride_k = n, stride_n = 1) for Y = H1·W, and
//   Bᵀ with B stored n × k (stride_k = 1, stride_n = k) for dH1 = dY·Wᵀ.
//
// Bindings (group 0):
//   0 uniform    params {m, n, k, col_groups = ceil(n / 4), stride_k, stride_n, _, _}
//   1 storage r  a:   array<f32>, m × k
//   2 storage r  b:   array<f32>
//   3 storage rw out: array<f32>, m × n
// Dispatch: one invocation per (row, group of 4 output columns): m × col_groups
//   invocations, WG per workgroup, grid folded to 2-D.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    col_groups: u32,
    stride_k: u32,
    stride_n: u32,
    _pad0: u32,
    _pad1: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let t = (wid.x + wid.y * nwg.x) * WG + lid;
    if t >= params.m * params.col_groups {
        return;
    }
    let row = t / params.col_groups;
    let c0 = (t % params.col_groups) * 4u;
    let width = min(4u, params.n - c0);
    let sk = params.stride_k;
    let sn = params.stride_n;
    var acc = vec4<f32>(0.0);
    for (var kk = 0u; kk < params.k; kk++) {
        let av = a[row * params.k + kk];
        let base = kk * sk + c0 * sn;
        var bv = vec4<f32>(0.0);
        bv.x = b[base];
        if width > 1u { bv.y = b[base + sn]; }
        if width > 2u { bv.z = b[base + 2u * sn]; }
        if width > 3u { bv.w = b[base + 3u * sn]; }
        acc += av * bv;
    }
    let dst = row * params.n + c0;
    out[dst] = acc.x;
    if width > 1u { out[dst + 1u] = acc.y; }
    if width > 2u { out[dst + 2u] = acc.z; }
    if width > 3u { out[dst + 3u] = acc.w; }
}

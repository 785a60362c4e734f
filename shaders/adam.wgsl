// Fused Adam update of one weight tensor (PyTorch's Adam, no weight decay):
//   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//   p ← p − lr · (m / (1−β1^t)) / (sqrt(v / (1−β2^t)) + eps),   t = step.adam_step ≥ 1
// The step count comes from the per-epoch uniform, so the recorded dispatch serves
// every epoch. Every element is updated by the same expressions, whichever invocation
// takes it.
//
// The arrays are read and written as vec4s (the host binds every buffer rounded up to
// 16 bytes, so the last vec4 is addressable); elements past the last whole vec4 (len not
// a multiple of 4) are updated one by one by invocation 0.
//
// Pipeline constant, set by the host (kernels/adam.rs):
//   VPI  vec4s per invocation, consecutive (AdapterProfile::elementwise_vec4s): 1 on
//        GPUs; 32 on CPU adapters, where llvmpipe pays a fixed cost for every 8
//        invocations that dwarfs one element's update (W0 at Citeseer's shape,
//        118,496 values: ≈ 1.2 → 0.3 ms, benches/RESULTS.md).
//
// Bindings (group 0):
//   0 uniform    params {len, lr, beta1, beta2, eps, _, _, _}
//   1 storage rw param: array<vec4<f32>>, len floats
//   2 storage r  grad:  array<vec4<f32>>, len floats
//   3 storage rw m:     array<vec4<f32>>, len floats (first moment, zero at start)
//   4 storage rw v:     array<vec4<f32>>, len floats (second moment, zero at start)
//   5 uniform    step  (shared/step.wgsl)  {epoch, adam_step, _, _}
// Dispatch: one invocation per VPI vec4s, ⌈⌈len / 4⌉ / VPI⌉ invocations (at least one),
//   WG per workgroup, grid folded to 2-D.

struct Params {
    len: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

override WG: u32 = 64u;
override VPI: u32 = 1u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> param: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> grad: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> m: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> v: array<vec4<f32>>;
@group(0) @binding(5) var<uniform> step: Step;

// The new (param, m, v) of four elements; `bias1`, `bias2` are 1 − β1^t and 1 − β2^t.
struct Update {
    p: vec4<f32>,
    m: vec4<f32>,
    v: vec4<f32>,
}

fn update(p: vec4<f32>, g: vec4<f32>, m_old: vec4<f32>, v_old: vec4<f32>, bias1: f32, bias2: f32) -> Update {
    let m_new = params.beta1 * m_old + (1.0 - params.beta1) * g;
    let v_new = params.beta2 * v_old + (1.0 - params.beta2) * g * g;
    let m_hat = m_new / bias1;
    let v_hat = v_new / bias2;
    return Update(p - params.lr * m_hat / (sqrt(v_hat) + params.eps), m_new, v_new);
}

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let t = (wid.x + wid.y * nwg.x) * WG + lid;
    let steps = f32(max(step.adam_step, 1u));
    let bias1 = 1.0 - pow(params.beta1, steps);
    let bias2 = 1.0 - pow(params.beta2, steps);
    let quads = params.len / 4u;
    for (var j = 0u; j < VPI; j++) {
        let i = t * VPI + j;
        if i >= quads {
            break;
        }
        let u = update(param[i], grad[i], m[i], v[i], bias1, bias2);
        m[i] = u.m;
        v[i] = u.v;
        param[i] = u.p;
    }
    if t == 0u {
        for (var e = 4u * quads; e < params.len; e++) {
            let q = e / 4u;
            let c = e % 4u;
            let u = update(
                vec4<f32>(param[q][c]),
                vec4<f32>(grad[q][c]),
                vec4<f32>(m[q][c]),
                vec4<f32>(v[q][c]),
                bias1,
                bias2,
            );
            m[q][c] = u.m.x;
            v[q][c] = u.v.x;
            param[q][c] = u.p.x;
        }
    }
}

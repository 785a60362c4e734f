// Fused Adam update of one weight tensor (PyTorch's Adam, no weight decay):
//   m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//   p ← p − lr · (m / (1−β1^t)) / (sqrt(v / (1−β2^t)) + eps),   t = step.adam_step ≥ 1
// The step count comes from the per-epoch uniform, so the recorded dispatch serves
// every epoch.
//
// Bindings (group 0):
//   0 uniform    params {len, lr, beta1, beta2, eps, _, _, _}
//   1 storage rw param: array<f32>, len
//   2 storage r  grad:  array<f32>, len
//   3 storage rw m:     array<f32>, len (first moment, zero at start)
//   4 storage rw v:     array<f32>, len (second moment, zero at start)
//   5 uniform    step  (shared/step.wgsl)  {epoch, adam_step, _, _}
// Dispatch: one invocation per element, WG per workgroup, grid folded to 2-D.

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

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<uniform> step: Step;

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = (wid.x + wid.y * nwg.x) * WG + lid;
    if i >= params.len {
        return;
    }
    let t = f32(max(step.adam_step, 1u));
    let g = grad[i];
    let m_new = params.beta1 * m[i] + (1.0 - params.beta1) * g;
    let v_new = params.beta2 * v[i] + (1.0 - params.beta2) * g * g;
    m[i] = m_new;
    v[i] = v_new;
    let m_hat = m_new / (1.0 - pow(params.beta1, t));
    let v_hat = v_new / (1.0 - pow(params.beta2, t));
    param[i] = param[i] - params.lr * m_hat / (sqrt(v_hat) + params.eps);
}

// Gradient through the rectifier: grad_in[i] = grad_out[i] · 1[pre[i] > 0]
// (dQ = dH1 ∘ 1[Q > 0]; the mask is taken from the pre-activation Q, so Q = 0 passes
// no gradient, as in PyTorch).
//
// Bindings (group 0):
//   0 uniform    params {len, _, _, _}
//   1 storage r  pre:      array<f32>, len   (Q)
//   2 storage r  grad_out: array<f32>, len   (dH1)
//   3 storage rw grad_in:  array<f32>, len   (dQ)
// Dispatch: one invocation per element, WG per workgroup, grid folded to 2-D.

struct Params {
    len: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> pre: array<f32>;
@group(0) @binding(2) var<storage, read> grad_out: array<f32>;
@group(0) @binding(3) var<storage, read_write> grad_in: array<f32>;

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
    grad_in[i] = select(0.0, grad_out[i], pre[i] > 0.0);
}

// The gradient through an activation, elementwise, from its output y (no pre-activation
// kept): dx[e] = dy[e] · act'(y[e]) with
//   LeakyReLU (ACT = 1): 1 where y > 0, else params.slope (y has the sign of its input
//                        for a positive slope; at 0 the slope, as torch's leaky_relu)
//   tanh      (ACT = 2): 1 − y²
//   SELU      (ACT = 3): λ where y > 0, else y + λα (λα·exp(v) = y + λα for v ≤ 0; y has
//                        the sign of its input)
//   identity  (ACT = 0): 1
// The backward of bias_act (DESIGN.md §10a, DFCN's AE and IGAE layers; §10b, NS4GC's
// GCN layers).
//
// Pipeline constants, set by the host (kernels/act_backward.rs):
//   ACT  the activation, as above.
//   EPI  consecutive elements per invocation (as bias_act).
//
// Bindings (group 0):
//   0 uniform    params {len, slope, _, _}
//   1 storage r  dy: array<f32>, len
//   2 storage r  y:  array<f32>, len (the activation's output)
//   3 storage rw dx: array<f32>, len
// Dispatch: ⌈len / EPI⌉ invocations, WG per workgroup, grid folded to 2-D; invocation t
//   takes elements t·EPI .. t·EPI + EPI − 1.

struct Params {
    len: u32,
    slope: f32,
    _pad0: u32,
    _pad1: u32,
}

override WG: u32 = 64u;
override ACT: u32 = 0u;
override EPI: u32 = 4u;

const SELU_SCALE: f32 = 1.0507009873554805;
const SELU_ALPHA: f32 = 1.6732632423543772;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let t = (wid.x + wid.y * nwg.x) * WG + lid;
    let first = t * EPI;
    for (var k = 0u; k < EPI; k++) {
        let e = first + k;
        if e >= params.len {
            break;
        }
        let v = y[e];
        var d = 1.0;
        if ACT == 1u {
            d = select(params.slope, 1.0, v > 0.0);
        } else if ACT == 2u {
            d = 1.0 - v * v;
        } else if ACT == 3u {
            d = select(v + SELU_SCALE * SELU_ALPHA, SELU_SCALE, v > 0.0);
        }
        dx[e] = dy[e] * d;
    }
}

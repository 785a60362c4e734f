// Bias and activation, elementwise over a rows × cols matrix (row-major):
//   out[i, c] = act(x[i, c] + bias[c])     (bias only with HAS_BIAS)
// act: the identity (ACT = 0), LeakyReLU with negative slope params.slope (ACT = 1),
// tanh (ACT = 2), tanh(v) = sign(v)·(1 − e)/(1 + e) with e = exp(−2|v|), which cannot
// overflow, or SELU (ACT = 3): λv for v > 0, λα(exp(v) − 1) otherwise (exp of a
// non-positive argument only), λ = 1.0507009873554805, α = 1.6732632423543772.
// DFCN's layers (DESIGN.md §10a): Linear + LeakyReLU(0.2) in the AE (after matmul),
// tanh(h·W) before Â in the IGAE; NS4GC's GCN layers (§10b): SELU between them.
//
// Pipeline constants, set by the host (kernels/bias_act.rs):
//   ACT       the activation, as above.
//   HAS_BIAS  whether bias is added (otherwise the binding is not read).
//   EPI       consecutive elements per invocation (4·AdapterProfile::elementwise_vec4s:
//             few fat invocations on CPU adapters, one vec4's worth on GPUs).
//
// Bindings (group 0):
//   0 uniform    params {len = rows·cols of this window, cols, slope, _}
//   1 storage r  x:    array<f32>, len (a window of whole rows)
//   2 storage r  bias: array<f32>, cols
//   3 storage rw out:  array<f32>, len
// Dispatch: ⌈len / EPI⌉ invocations, WG per workgroup, grid folded to 2-D; invocation t
//   takes elements t·EPI .. t·EPI + EPI − 1.

struct Params {
    len: u32,
    cols: u32,
    slope: f32,
    _pad0: u32,
}

override WG: u32 = 64u;
override ACT: u32 = 0u;
override HAS_BIAS: bool = false;
override EPI: u32 = 4u;

const SELU_SCALE: f32 = 1.0507009873554805;
const SELU_ALPHA: f32 = 1.6732632423543772;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn activate(v: f32) -> f32 {
    if ACT == 1u {
        return select(params.slope * v, v, v > 0.0);
    }
    if ACT == 2u {
        let e = exp(-2.0 * abs(v));
        let t = (1.0 - e) / (1.0 + e);
        return select(-t, t, v >= 0.0);
    }
    if ACT == 3u {
        return select(SELU_SCALE * SELU_ALPHA * (exp(min(v, 0.0)) - 1.0), SELU_SCALE * v, v > 0.0);
    }
    return v;
}

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
        var v = x[e];
        if HAS_BIAS {
            v += bias[e % params.cols];
        }
        out[e] = activate(v);
    }
}

// A linear combination, elementwise over arrays of one length:
//   out[e] = α·x[e] + β·y[e]  (+ out[e] with ACCUMULATE)
// α = params.alpha, times scale[0] with SCALED (a trained scalar such as DFCN's γ); the
// y term only with HAS_Y. DFCN (DESIGN.md §10a): Z_I = a·Z_AE + (1 − a)·Z_G,
// Z̃ = γ·Z_S + Z_L's backward (dZ_L = dZ̃ + γ·attention's gradient), and gradients that
// several paths add into one tensor.
//
// Pipeline constants, set by the host (kernels/lincomb.rs):
//   HAS_Y       whether the y term is added (otherwise y is not read).
//   SCALED      whether α is multiplied by scale[0] (otherwise scale is not read).
//   ACCUMULATE  whether out's previous value is added (out is read, then written).
//   EPI         consecutive elements per invocation (as bias_act).
//
// Bindings (group 0):
//   0 uniform    params {len, alpha, beta, _}
//   1 storage r  x:     array<f32>, len
//   2 storage r  y:     array<f32>, len
//   3 storage r  scale: array<f32>, at least 1
//   4 storage rw out:   array<f32>, len
// Dispatch: ⌈len / EPI⌉ invocations, WG per workgroup, grid folded to 2-D; invocation t
//   takes elements t·EPI .. t·EPI + EPI − 1.

struct Params {
    len: u32,
    alpha: f32,
    beta: f32,
    _pad0: u32,
}

override WG: u32 = 64u;
override HAS_Y: bool = false;
override SCALED: bool = false;
override ACCUMULATE: bool = false;
override EPI: u32 = 4u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read> scale: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let t = (wid.x + wid.y * nwg.x) * WG + lid;
    var alpha = params.alpha;
    if SCALED {
        alpha *= scale[0];
    }
    let first = t * EPI;
    for (var k = 0u; k < EPI; k++) {
        let e = first + k;
        if e >= params.len {
            break;
        }
        var v = alpha * x[e];
        if HAS_Y {
            v += params.beta * y[e];
        }
        if ACCUMULATE {
            v += out[e];
        }
        out[e] = v;
    }
}

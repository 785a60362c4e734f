// Scatters rows back, scaled, with zeros elsewhere:
//   out[i, c] = step.decoder_scale · src[position[i], c]   if position[i] < src_rows,
//   out[i, c] = 0                                          otherwise,
// for i < rows, c < cols. The subgraph objective (DESIGN.md §2c) turns the decoder's
// gradient over the sampled rows into dZ this way: only sampled nodes receive a decoder
// gradient, scaled by the epoch's 2·norm_S/n² (a per-epoch value, hence the step
// uniform). Written as a gather through the inverse map `position` (node → row of the
// sample, or 0xFFFFFFFF), so every output element is written once: no atomics.
//
// Bindings (group 0):
//   0 uniform    params {rows, cols, src_rows, _}
//   1 storage r  src:      array<f32>, src_rows × cols
//   2 storage r  position: array<u32>, rows
//   3 storage rw out:      array<f32>, rows × cols
//   4 uniform    step  (shared/step.wgsl)  {epoch, adam_step, decoder_scale, _}
// Dispatch: one invocation per output element: rows × cols invocations, WG per
//   workgroup, grid folded to 2-D.

struct Params {
    rows: u32,
    cols: u32,
    src_rows: u32,
    _pad0: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> position: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> step: Step;

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let t = (wid.x + wid.y * nwg.x) * WG + lid;
    if t >= params.rows * params.cols {
        return;
    }
    let i = t / params.cols;
    let c = t % params.cols;
    let r = position[i];
    var value = 0.0;
    if r < params.src_rows {
        value = step.decoder_scale * src[r * params.cols + c];
    }
    out[t] = value;
}

// Elementwise rectifier: out[i] = max(input[i], 0) (H1 = relu(Q)).
//
// Bindings (group 0):
//   0 uniform    params {len, _, _, _}
//   1 storage r  input: array<f32>, len
//   2 storage rw out:   array<f32>, len
// Dispatch: one invocation per element, WG per workgroup, grid folded to 2-D.

struct Params {
    len: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

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
    out[i] = max(input[i], 0.0);
}

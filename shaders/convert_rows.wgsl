// The first `cols` columns of an f32 matrix's rows, written in the embeddings' storage
// type (shared/store_f32.wgsl or store_f16.wgsl, prepended by the host):
//   out[i, k] = to_zelem(src[i · src_stride + k]),   k < cols
// With f32 storage a copy; with f16 every value rounded to the nearest f16, ties to even
// (to_zelem fixes that direction on every device). This gives the decoders, the pair
// scores and the top-k search their f16 copy of Z or μ where no kernel writes one:
// the GAE's Z = μ, the subgraph objective's sampled rows, μ for scoring. Where the
// tensors exceed one storage binding the host binds windows of whole rows, one
// dispatch each.
//
// Bindings (group 0):
//   0 uniform    params  {rows (of this dispatch), cols, src_stride, per_invocation}
//   1 storage r  src:    array<f32>, rows × src_stride
//   2 storage rw out:    array<ZElem>, rows × cols
// Dispatch: ceil(rows·cols / per_invocation) invocations, WG per workgroup, grid
//   folded to 2-D; invocation t writes the elements t·per_invocation .. of out in
//   row-major order (CPU adapters: many per invocation, since llvmpipe pays a fixed
//   cost per 8 invocations; GPUs: few).

struct Params {
    rows: u32,
    cols: u32,
    src_stride: u32,
    per_invocation: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<ZElem>;

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let t = (wid.x + wid.y * nwg.x) * WG + lid;
    let total = params.rows * params.cols;
    let first = t * params.per_invocation;
    if first >= total {
        return;
    }
    let last = min(total, first + params.per_invocation);
    var row = first / params.cols;
    var k = first % params.cols;
    for (var e = first; e < last; e++) {
        out[e] = to_zelem(src[row * params.src_stride + k]);
        k += 1u;
        if k == params.cols {
            k = 0u;
            row += 1u;
        }
    }
}

// First stage of out = Aᵀ · B, a reduction over the long dimension m (the weight
// gradient d[Wμ|Wσ] = H1ᵀ·dY, reducing over the N nodes):
//   A: m × k, B: m × n, both row-major;
//   partial[c, i, j] = Σ_{r in chunk c} A[r, i] · B[r, j], chunk c = rows
//   [c·chunk_rows, min(m, (c+1)·chunk_rows)).
// The chunks are then summed by reduce_sum (rows = chunks, cols = k·n), so no single
// accumulator ever sees more than chunk_rows terms.
//
// Bindings (group 0):
//   0 uniform    params {m, k, n, chunk_rows, chunks, col_groups = ceil(n / 4), _, _}
//   1 storage r  a:       array<f32>, m × k
//   2 storage r  b:       array<f32>, m × n
//   3 storage rw partial: array<f32>, chunks × k × n
// Dispatch: one invocation per (chunk, i, group of 4 columns j): chunks × k × col_groups
//   invocations, WG per workgroup, grid folded to 2-D.

struct Params {
    m: u32,
    k: u32,
    n: u32,
    chunk_rows: u32,
    chunks: u32,
    col_groups: u32,
    _pad0: u32,
    _pad1: u32,
}

override WG: u32 = 64u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;

@compute @workgroup_size(WG)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let t = (wid.x + wid.y * nwg.x) * WG + lid;
    let per_chunk = params.k * params.col_groups;
    if t >= params.chunks * per_chunk {
        return;
    }
    let chunk = t / per_chunk;
    let rem = t % per_chunk;
    let i = rem / params.col_groups;
    let j0 = (rem % params.col_groups) * 4u;
    let width = min(4u, params.n - j0);
    let r0 = chunk * params.chunk_rows;
    let r1 = min(params.m, r0 + params.chunk_rows);
    var acc = vec4<f32>(0.0);
    for (var r = r0; r < r1; r++) {
        let av = a[r * params.k + i];
        let base = r * params.n + j0;
        var bv = vec4<f32>(0.0);
        bv.x = b[base];
        if width > 1u { bv.y = b[base + 1u]; }
        if width > 2u { bv.z = b[base + 2u]; }
        if width > 3u { bv.w = b[base + 3u]; }
        acc += av * bv;
    }
    let dst = (chunk * params.k + i) * params.n + j0;
    partial[dst] = acc.x;
    if width > 1u { partial[dst + 1u] = acc.y; }
    if width > 2u { partial[dst + 2u] = acc.z; }
    if width > 3u { partial[dst + 3u] = acc.w; }
}

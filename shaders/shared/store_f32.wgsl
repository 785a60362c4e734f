// Shared snippet (not a kernel): how the embeddings a kernel reads (or writes) are
// stored, here in f32; shared/store_f16.wgsl stores them in f16 for models of
// `Precision::F16` (kernels/mod.rs, `store_source!`). A kernel declares its embedding
// bindings as array<ZElem> or array<ZVec4>, converts every value it reads to f32
// (`f32(...)`, `vec4<f32>(...)`: the identity here) and every value it writes with
// `to_zelem`, so that its arithmetic and its sums are f32 in both sources.

alias ZElem = f32;
alias ZVec4 = vec4<f32>;

fn to_zelem(x: f32) -> ZElem {
    return x;
}

// Shared snippet (not a kernel): subgroup operations for the kernels' subgroup layouts,
// prepended to a kernel's source only where the device has SUBGROUP (kernels/mod.rs,
// `subgroup_source!`); shared/subgroups_off.wgsl gives the same functions for devices
// without, where the host never selects those layouts (the kernels' `SG` is then 0).
// A subgroup layout's workgroup is one subgroup of a fixed size (AdapterProfile::
// subgroup_size), so every lane of the subgroup is active wherever these are called.

// This invocation's lane in its subgroup (subgroup_invocation_id, derived without the
// builtin so that entry points stay the same in both sources): call where every lane is
// active.
fn subgroup_lane() -> u32 {
    return subgroupExclusiveAdd(1u);
}

// The value `v` of lane `lane`.
fn lane_f32(v: f32, lane: u32) -> f32 {
    return subgroupShuffle(v, lane);
}

fn lane_u32(v: u32, lane: u32) -> u32 {
    return subgroupShuffle(v, lane);
}

fn lane_vec4(v: vec4<f32>, lane: u32) -> vec4<f32> {
    return subgroupShuffle(v, lane);
}

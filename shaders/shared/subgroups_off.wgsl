// Shared snippet (not a kernel): stand-ins for shared/subgroups.wgsl on devices without
// subgroup operations. The host never selects a subgroup layout there (the kernels'
// `SG` is 0), so these are never called; they only let the same kernel source compile.

fn subgroup_lane() -> u32 {
    return 0u;
}

fn lane_f32(v: f32, lane: u32) -> f32 {
    return v;
}

fn lane_u32(v: u32, lane: u32) -> u32 {
    return v;
}

fn lane_vec4(v: vec4<f32>, lane: u32) -> vec4<f32> {
    return v;
}

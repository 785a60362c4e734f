// Shared snippet (prepended to kernels that read the per-epoch uniform; not a kernel).
// Mirrors `gpu_vgae::gpu::StepParams`: written once per epoch so recorded dispatches
// serve every epoch.

struct Step {
    epoch: u32,
    adam_step: u32,
    // The subgraph objective's per-epoch gradient scale 2·norm_S/n² (1 otherwise).
    decoder_scale: f32,
    _pad0: u32,
}

//! Sets `cfg(skip_gpu_tests)` when GPU_VGAE_SKIP_GPU_TESTS is set (and not `0`): the
//! tests that need a GPU adapter are then reported as ignored instead of failing on a
//! machine without one (README, "Tests").

fn main() {
    println!("cargo::rustc-check-cfg=cfg(skip_gpu_tests)");
    println!("cargo::rerun-if-env-changed=GPU_VGAE_SKIP_GPU_TESTS");
    println!("cargo::rerun-if-changed=build.rs");
    let skip = std::env::var("GPU_VGAE_SKIP_GPU_TESTS").is_ok_and(|v| !v.is_empty() && v != "0");
    if skip {
        println!("cargo::rustc-cfg=skip_gpu_tests");
    }
}

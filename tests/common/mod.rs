//! Shared test support: one device for the whole test binary, the GPU-test attribute,
//! the tolerance rule, and seeded random inputs.
#![allow(dead_code)] // each test binary uses a different subset

use std::sync::OnceLock;

use gpu_vgae::internal::gpu::{AdapterProfile, Gpu};
use gpu_vgae::Csr;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A test that needs a GPU adapter. Without one it fails, saying how to get lavapipe;
/// built with GPU_VGAE_SKIP_GPU_TESTS=1 it is reported as ignored, never as passed.
#[macro_export]
macro_rules! gpu_test {
    ($(#[$meta:meta])* fn $name:ident() $body:block) => {
        #[test]
        #[cfg_attr(
            skip_gpu_tests,
            ignore = "GPU_VGAE_SKIP_GPU_TESTS is set: tests that need a GPU adapter are skipped"
        )]
        $(#[$meta])*
        fn $name() $body
    };
}

/// Asserts that `result` is [`gpu_vgae::Error::InvalidArgument`] naming `argument`.
#[track_caller]
pub fn assert_invalid_argument<T: std::fmt::Debug>(result: gpu_vgae::Result<T>, argument: &str) {
    match result {
        Err(gpu_vgae::Error::InvalidArgument { argument: got, .. }) if got == argument => {}
        other => panic!("expected an invalid `{argument}`, got {other:?}"),
    }
}

/// The shared device. Panics (fails the test) when there is no adapter, with what to
/// install: a GPU test must never pass without having run.
pub fn gpu() -> Gpu {
    static GPU: OnceLock<Result<Gpu, String>> = OnceLock::new();
    match GPU.get_or_init(|| Gpu::from_env().map_err(|e| e.to_string())) {
        Ok(gpu) => gpu.clone(),
        Err(message) => panic!(
            "this test needs a GPU adapter and found none: {message}\n\
             Install Mesa's lavapipe (software Vulkan): `bash .ci/install-vulkan` or \
             `apt-get install mesa-vulkan-drivers`; or build the tests with \
             GPU_VGAE_SKIP_GPU_TESTS=1 to report them as ignored."
        ),
    }
}

/// The shared device under both tuning profiles (CPU-adapter and GPU layouts), so that
/// every kernel layout runs wherever the tests run.
pub fn gpu_profiles() -> [Gpu; 2] {
    let gpu = gpu();
    [
        gpu.with_profile(AdapterProfile::cpu()),
        gpu.with_profile(AdapterProfile::gpu()),
    ]
}

/// [`gpu_profiles`] and the CPU profile without its subgroup layouts, for the kernels
/// that have them: the subgroup layouts (where the device has subgroup operations, as
/// lavapipe does), the CPU layouts without, and the GPU layouts.
pub fn every_layout() -> [Gpu; 3] {
    let gpu = gpu();
    [
        gpu.with_profile(AdapterProfile::cpu()),
        gpu.with_profile(without_subgroups(AdapterProfile::cpu())),
        gpu.with_profile(AdapterProfile::gpu()),
    ]
}

/// `profile` with its subgroup layouts turned off.
pub fn without_subgroups(mut profile: AdapterProfile) -> AdapterProfile {
    profile.use_subgroups = false;
    profile
}

/// A label for a profile in failure messages: its class and whether its subgroup
/// layouts run.
pub fn profile_name(gpu: &Gpu) -> String {
    let profile = gpu.profile();
    match profile.subgroup_size() {
        Some(size) => format!("{:?}, subgroups of {size}", profile.class),
        None => format!("{:?}", profile.class),
    }
}

/// The directory of the Planetoid pickles in this repository.
pub fn planetoid_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/planetoid")
}

/// Passes when |a − e| ≤ atol + rtol·|e| for every element; NaN or ±Inf on either side
/// must match exactly (same class and sign) to pass.
pub fn assert_close(actual: &[f32], expected: &[f32], atol: f32, rtol: f32, what: &str) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "{what}: length {} vs expected {}",
        actual.len(),
        expected.len()
    );
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        if e.is_nan() || a.is_nan() {
            assert!(
                a.is_nan() && e.is_nan(),
                "{what}[{i}]: got {a}, expected {e}"
            );
            continue;
        }
        if e.is_infinite() || a.is_infinite() {
            assert_eq!(a, e, "{what}[{i}]: got {a}, expected {e}");
            continue;
        }
        let bound = atol + rtol * e.abs();
        assert!(
            (a - e).abs() <= bound,
            "{what}[{i}]: got {a}, expected {e} (|diff| {} > {bound})",
            (a - e).abs()
        );
    }
}

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Uniform values in [-scale, scale).
pub fn random_vec(rng: &mut StdRng, len: usize, scale: f32) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(-scale..scale)).collect()
}

/// A random `rows × cols` CSR with about `nnz` entries; every `empty_every`-th row is
/// left empty (0 = none forced empty).
pub fn random_csr(
    rng: &mut StdRng,
    rows: usize,
    cols: usize,
    nnz: usize,
    empty_every: usize,
) -> Csr {
    let mut triplets = Vec::with_capacity(nnz);
    if cols > 0 {
        for _ in 0..nnz {
            let r = rng.random_range(0..rows) as u32;
            if empty_every > 0 && (r as usize).is_multiple_of(empty_every) {
                continue;
            }
            let c = rng.random_range(0..cols) as u32;
            triplets.push((r, c, rng.random_range(-1.0f32..1.0)));
        }
    }
    Csr::from_triplets(rows, cols, &triplets).unwrap()
}

/// A synthetic graph of `communities` planted communities (mean degree 4, 3 of
/// `features` feature columns a node), labelled by community: the clustering tests'
/// input.
pub fn planted_graph(
    nodes: usize,
    communities: usize,
    features: usize,
    seed: u64,
) -> gpu_vgae::Graph {
    let mut spec = gpu_vgae::SyntheticSpec::default();
    spec.nodes = nodes;
    spec.communities = communities;
    spec.mean_degree = 4.0;
    spec.features = features;
    spec.features_per_node = 3;
    spec.seed = seed;
    let g = gpu_vgae::synthetic_graph(&spec).unwrap();
    gpu_vgae::Graph::from_edges(nodes, &g.edges, g.feature_matrix().cloned())
        .unwrap()
        .with_labels(g.labels)
        .unwrap()
}

//! Shared test support: one device for the whole test binary, the tolerance rule, and
//! seeded random inputs.
#![allow(dead_code)] // each test binary uses a different subset

use std::sync::OnceLock;

use gpu_vgae::gpu::Gpu;
use gpu_vgae::Csr;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The shared device, or `None` (test skipped with a note) when no adapter exists
/// outside CI. With `CI=true` a missing adapter fails the test: CI must never pass
/// GPU tests it did not run.
pub fn gpu() -> Option<Gpu> {
    static GPU: OnceLock<Result<Gpu, String>> = OnceLock::new();
    match GPU.get_or_init(|| Gpu::from_env().map_err(|e| e.to_string())) {
        Ok(gpu) => Some(gpu.clone()),
        Err(message) => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true but no GPU adapter is available: {message}");
            }
            eprintln!("skipping GPU test: {message}");
            None
        }
    }
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

//! DFCN on the engine: the whole model's gradient against finite differences on the
//! CPU twins, and the GPU schedule against the twins.
#[macro_use]
mod common;

use gpu_vgae::internal::dfcn::{DfcnConfig, DfcnInputs, DfcnModel, DfcnWeights};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A small graph (two loose communities, an isolated node), random features and a
/// narrow model.
fn fixture() -> (DfcnConfig, DfcnInputs, DfcnWeights) {
    let n = 14;
    let d = 6;
    let mut rng = StdRng::seed_from_u64(3);
    let mut edges = Vec::new();
    for i in 0..n as u32 - 1 {
        for j in i + 1..n as u32 - 1 {
            if (i < 6) == (j < 6) && rng.random::<f32>() < 0.4 || rng.random::<f32>() < 0.05 {
                edges.push((i, j));
            }
        }
    }
    let x: Vec<f32> = (0..n * d).map(|_| rng.random_range(-1.0..1.0)).collect();
    let inputs = DfcnInputs::new(n, &edges, x).unwrap();
    let config = DfcnConfig {
        latent: 3,
        ae_hidden: [5, 4, 7],
        igae_hidden: [4, 5],
        kl_weight: 10.0,
        adjacency_weight: 0.1,
        ..DfcnConfig::new(3)
    };
    let mut weights = DfcnWeights::init(&config, d, 7);
    // Larger weights than the initialisation's, so that every activation bends, and a γ
    // that lets the self-correlation path count.
    for (spec, values) in weights.specs.iter().zip(&mut weights.values) {
        if spec.name == "gamma" {
            values[0] = 0.7;
        } else {
            values.iter_mut().for_each(|v| *v *= 1.8);
        }
    }
    (config, inputs, weights)
}

/// Every trained tensor's gradient on the twins equals central differences of the
/// loss (P held fixed: it carries no gradient), for a sample of entries of every
/// tensor and column splits that cut the N² terms' rows.
#[test]
fn the_whole_model_gradient_matches_finite_differences() {
    let (config, inputs, weights) = fixture();
    for splits in [1, 3] {
        let mut model = DfcnModel::on_host(&config, &inputs, &weights, splits).unwrap();
        model.forward().unwrap();
        let p = model.target().unwrap();
        model.forward_backward_with_target(&p).unwrap();
        let grads = model.gradients().unwrap();
        let mut rng = StdRng::seed_from_u64(11);
        let mut checked = 0;
        for t in 0..weights.specs.len() {
            let len = weights.values[t].len();
            let picks: Vec<usize> = if len <= 4 {
                (0..len).collect()
            } else {
                (0..4).map(|_| rng.random_range(0..len)).collect()
            };
            for e in picks {
                let h = 2e-3f32;
                let mut loss_at = |delta: f32| {
                    let mut w = weights.clone();
                    w.values[t][e] += delta;
                    model.set_weights(&w).unwrap();
                    model.forward_backward_with_target(&p).unwrap();
                    model.loss().unwrap().total
                };
                let numeric = (loss_at(h) - loss_at(-h)) / (2.0 * f64::from(h));
                let analytic = f64::from(grads.values[t][e]);
                let name = &weights.specs[t].name;
                assert!(
                    (numeric - analytic).abs() <= 1e-2 * numeric.abs().max(analytic.abs()) + 1e-4,
                    "splits {splits}: d loss / d {name}[{e}] = {analytic}, finite differences {numeric}"
                );
                checked += 1;
            }
        }
        assert!(checked > 60);
    }
}

gpu_test! {
    /// The schedule on the device (both tuning profiles) gives the twins' losses and
    /// gradients, and three epochs of training keep them together.
    fn the_device_schedule_matches_the_twins() {
        let (config, inputs, weights) = fixture();
        for gpu in common::gpu_profiles() {
            let mut device = DfcnModel::new(&gpu, &config, &inputs, &weights).unwrap();
            let splits = device.handles().layout.splits;
            let mut host = DfcnModel::on_host(&config, &inputs, &weights, splits).unwrap();
            for epoch in 0..3 {
                device.forward_backward().unwrap();
                host.forward_backward().unwrap();
                let (ld, lh) = (device.loss().unwrap(), host.loss().unwrap());
                for (a, b, what) in [
                    (ld.features, lh.features, "features"),
                    (ld.propagated, lh.propagated, "propagated"),
                    (ld.adjacency, lh.adjacency, "adjacency"),
                    (ld.kl, lh.kl, "kl"),
                ] {
                    assert!((a - b).abs() <= 1e-5 * b.abs().max(1e-3), "epoch {epoch}: {what} loss {a} vs {b}");
                }
                let (gd, gh) = (device.gradients().unwrap(), host.gradients().unwrap());
                for ((spec, d), h) in gd.specs.iter().zip(&gd.values).zip(&gh.values) {
                    let scale = h.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
                    for (e, (a, b)) in d.iter().zip(h).enumerate() {
                        assert!(
                            (a - b).abs() <= 1e-4 * scale,
                            "epoch {epoch}: d {}[{e}] = {a} on the device, {b} on the twins",
                            spec.name
                        );
                    }
                }
                device.train_epoch().unwrap();
                host.train_epoch().unwrap();
            }
            let (wd, wh) = (device.weights().unwrap(), host.weights().unwrap());
            assert_ne!(wh, weights);
            for ((spec, d), h) in wd.specs.iter().zip(&wd.values).zip(&wh.values) {
                for (a, b) in d.iter().zip(h) {
                    assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "{}: {a} vs {b}", spec.name);
                }
            }
        }
    }
}

//! NS4GC (src/filters/ns4gc.rs): its host gradients against finite differences of its
//! loss, the device's gradients and loss against the host's, the sampled sparsity term
//! against the exact mean over the non-edges, and training that finds planted
//! communities.

#[macro_use]
mod common;

use gpu_vgae::internal::cluster::cluster_metrics;
use gpu_vgae::internal::filters::ns4gc::{
    dense_buffer_bytes, initial_params, loss_and_gradients, ns4gc_embed, sparsity_estimate,
    sparsity_exact, DeviceNs4gc, EpochDraw, LayerParams, Ns4gcGraph, Ns4gcOptions, Sampler,
};
use gpu_vgae::Graph;
use rand::{Rng, SeedableRng};

fn options(hidden: &[usize], samples: usize) -> Ns4gcOptions {
    let mut o = Ns4gcOptions::default();
    o.hidden = hidden.to_vec();
    o.samples = samples;
    o
}

/// The initial parameters with the biases made non-zero (b starts at 0).
fn params_with_biases(features: usize, hidden: &[usize], seed: u64) -> Vec<LayerParams> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut params = initial_params(features, hidden, seed);
    for p in &mut params {
        p.b.iter_mut()
            .for_each(|b| *b = rng.random_range(-0.3..0.3));
    }
    params
}

/// (wd/2)·‖θ‖²: the weight decay's part of the host loss (the device's loss leaves it
/// out).
fn decay(params: &[LayerParams], wd: f32) -> f64 {
    0.5 * f64::from(wd)
        * params
            .iter()
            .flat_map(|p| p.w.iter().chain(&p.b))
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>()
}

#[test]
fn host_gradients_match_finite_differences() {
    let graph = common::planted_graph(12, 2, 6, 3);
    for hidden in [&[3][..], &[4, 3][..]] {
        let mut o = options(hidden, 5);
        o.weight_decay = 0.01;
        o.lambda = 0.7;
        o.gamma = 1.3;
        let host = Ns4gcGraph::new(&graph, o.lambda, o.row_normalize).unwrap();
        let mut draw = Sampler::new(4).draw(&host, &o).unwrap();
        // One loss: Z₂'s samples are Z₁'s transposed.
        draw.samples[1] = draw.samples[0].transpose();
        assert!(draw.views[0].smooth.contains(&0.0), "some edge dropped");
        let params = params_with_biases(host.x.cols(), hidden, 5);
        let (_, grads) = loss_and_gradients(&host, &o, &draw, &params);
        // Small steps: SELU's second derivative jumps at 0, and a step of 1e-3 moves some
        // pre-activation across it (that element's difference is then 3 % off, while
        // 3e-4 and 1e-4 agree with the analytic gradient to 1e-8).
        let eps = 1e-4f32;
        let mut checked = 0;
        for layer in 0..hidden.len() {
            for which in ["w", "b"] {
                let len = if which == "w" {
                    params[layer].w.len()
                } else {
                    params[layer].b.len()
                };
                for index in 0..len {
                    let nudged = |delta: f32| {
                        let mut p = params.clone();
                        let values = if which == "w" {
                            &mut p[layer].w
                        } else {
                            &mut p[layer].b
                        };
                        values[index] += delta;
                        let moved = f64::from(values[index]);
                        (loss_and_gradients(&host, &o, &draw, &p).0, moved)
                    };
                    let ((plus, at_plus), (minus, at_minus)) = (nudged(eps), nudged(-eps));
                    let numeric = (plus - minus) / (at_plus - at_minus);
                    let analytic = if which == "w" {
                        grads[layer].0[index]
                    } else {
                        grads[layer].1[index]
                    };
                    assert!(
                        (numeric - analytic).abs() <= 1e-6 + 1e-3 * analytic.abs(),
                        "{hidden:?} layer {layer} {which}[{index}]: numeric {numeric} vs analytic {analytic}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 20);
    }
}

#[test]
fn the_sampled_sparsity_term_is_unbiased() {
    // 9 nodes: the exact mean over M (pairs i ≠ j, not edges) against the mean of many
    // draws' estimates, within 4 standard errors of that mean.
    let graph = common::planted_graph(9, 2, 5, 21);
    let host = Ns4gcGraph::new(&graph, 1.0, true).unwrap();
    assert!(host.non_edges() > 0 && !host.edges.is_empty());
    let (n, d) = (9, 4);
    let mut rng = rand::rngs::StdRng::seed_from_u64(22);
    let mut unit = |_| {
        let mut z: Vec<f64> = (0..n * d).map(|_| rng.random_range(-1.0..1.0)).collect();
        for row in z.chunks_exact_mut(d) {
            let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
            row.iter_mut().for_each(|v| *v /= norm);
        }
        z
    };
    let z1 = unit(0);
    // Z₂ = Z₁ (the diagonal's σ is then high): the diagonal and the edges must weigh 0.
    let z2 = z1.clone();
    let (shift, tau) = (0.6, 0.1);
    let exact = sparsity_exact(&host, &z1, &z2, d, shift, tau);
    let mut draws_rng = rand::rngs::StdRng::seed_from_u64(23);
    let draws = 4000;
    let m = 3;
    let (mut estimates, mut naive) = (Vec::new(), Vec::new());
    for _ in 0..draws {
        let samples = host.draw_samples(&mut draws_rng, m).unwrap();
        estimates.push(sparsity_estimate(&z1, &z2, d, &samples, shift, tau));
        // Every sample weighted alike: the mean over all N² pairs, biased by the diagonal.
        let all = samples
            .with_values(vec![1.0 / (n * m) as f32; n * m])
            .unwrap();
        naive.push(sparsity_estimate(&z1, &z2, d, &all, shift, tau));
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (mu, naive_mu) = (mean(&estimates), mean(&naive));
    let sd = (estimates.iter().map(|e| (e - mu).powi(2)).sum::<f64>() / (draws - 1) as f64).sqrt();
    let stderr = sd / (draws as f64).sqrt();
    assert!(
        stderr < 0.01 * exact.max(0.01) + 0.005,
        "too noisy to tell: stderr {stderr}, exact {exact}"
    );
    assert!(
        (mu - exact).abs() <= 4.0 * stderr,
        "mean of estimates {mu} vs exact {exact} (stderr {stderr})"
    );
    // The test can fail: the unweighted mean is far off.
    assert!(
        (naive_mu - exact).abs() > 8.0 * stderr,
        "naive {naive_mu} vs exact {exact}"
    );
}

gpu_test! {
    fn device_gradients_and_loss_match_the_host() {
        let gpu = common::gpu();
        // 70 nodes: more rows than a workgroup; widths not multiples of 4; one, two and
        // three layers; 300 nodes: past one dW chunk (256 rows).
        for (nodes, hidden, samples) in [
            (70, &[5][..], 7),
            (70, &[6, 3][..], 4),
            (300, &[9, 8, 5][..], 3),
        ] {
            let graph = common::planted_graph(nodes, 3, 11, 7);
            let mut o = options(hidden, samples);
            o.weight_decay = 0.01;
            o.edge_drop = [0.3, 0.5];
            o.feature_mask = [0.2, 0.4];
            let host = Ns4gcGraph::new(&graph, o.lambda, o.row_normalize).unwrap();
            let params = params_with_biases(host.x.cols(), hidden, 9);
            // Independent draws for the two gradients (what training uses).
            let draw: EpochDraw = Sampler::new(11).draw(&host, &o).unwrap();
            let (loss, want) = loss_and_gradients(&host, &o, &draw, &params);
            let device = DeviceNs4gc::new(&gpu, &host, &o, &params).unwrap();
            device.write_draw(&host, &draw).unwrap();
            let got = device.gradients().unwrap();
            assert_eq!(got.len(), hidden.len());
            for layer in 0..hidden.len() {
                for (name, g, w) in [
                    ("dW", &got[layer].0, &want[layer].0),
                    ("db", &got[layer].1, &want[layer].1),
                ] {
                    assert_eq!(g.len(), w.len());
                    let largest = w.iter().fold(0f64, |m, v| m.max(v.abs()));
                    assert!(largest > 0.0);
                    for (i, (&a, &e)) in g.iter().zip(w.iter()).enumerate() {
                        assert!(
                            (f64::from(a) - e).abs() <= 1e-4 * largest + 1e-3 * e.abs(),
                            "{hidden:?} layer {layer} {name}[{i}]: device {a} vs host {e}"
                        );
                    }
                }
            }
            let want_loss = loss - decay(&params, o.weight_decay);
            let device_loss = device.loss().unwrap();
            assert!(
                (device_loss - want_loss).abs() <= 1e-5 * want_loss.abs().max(1.0),
                "loss: device {device_loss} vs host {want_loss}"
            );
        }
    }
}

gpu_test! {
    fn training_finds_the_planted_communities() {
        let gpu = common::gpu();
        let graph = common::planted_graph(300, 3, 30, 13);
        let labels = graph.labels.clone().unwrap();
        let mut o = options(&[32, 16], 20);
        o.epochs = 100;
        o.lr = 1e-2;
        let mut losses = Vec::new();
        let out = ns4gc_embed(&gpu, &graph, 1, &o, &mut |e| {
            if let Some(l) = e.loss {
                losses.push(l);
            }
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
        assert!(losses.len() >= 3, "{losses:?}");
        assert!(out.final_loss < losses[0] - 0.1, "{} vs {losses:?}", out.final_loss);
        assert_eq!(out.dim, 16);
        for row in out.embeddings.chunks_exact(out.dim) {
            let norm: f32 = row.iter().map(|v| v * v).sum();
            assert!((norm - 1.0).abs() < 1e-4, "unit rows: {norm}");
        }
        let km = gpu_vgae::internal::cluster::kmeans_gpu(
            &gpu,
            &out.embeddings,
            graph.num_nodes,
            out.dim,
            &gpu_vgae::internal::cluster::KMeansConfig::new(3).with_seed(0),
        )
        .unwrap();
        let m = cluster_metrics(&labels, &km.labels).unwrap();
        assert!(m.acc > 0.8, "planted communities: {m:?}");
        // The same seed gives the same embedding.
        let again = ns4gc_embed(&gpu, &graph, 1, &o, &mut |_| std::ops::ControlFlow::Continue(())).unwrap();
        assert_eq!(again.embeddings, out.embeddings);
        // Stopping from the callback.
        let stopped = ns4gc_embed(&gpu, &graph, 1, &o, &mut |e| {
            if e.epoch == 3 {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        });
        assert!(matches!(stopped, Err(gpu_vgae::Error::Interrupted { .. })), "{stopped:?}");
    }
}

gpu_test! {
    /// Two nodes and their edge: M is empty (the sparsity term weighs nothing), a node
    /// without features has an empty row; training runs and gives unit rows.
    fn two_nodes_train() {
        let gpu = common::gpu();
        let features = gpu_vgae::internal::sparse::Csr::from_triplets(2, 3, &[(0, 1, 2.0)]).unwrap();
        let graph = Graph::from_edges(2, &[(0, 1)], Some(features)).unwrap();
        let host = Ns4gcGraph::new(&graph, 1.0, true).unwrap();
        assert_eq!(host.non_edges(), 0);
        let mut o = options(&[4, 3], 2);
        o.epochs = 5;
        let out = ns4gc_embed(&gpu, &graph, 0, &o, &mut |_| std::ops::ControlFlow::Continue(())).unwrap();
        assert_eq!(out.embeddings.len(), 6);
        for row in out.embeddings.chunks_exact(3) {
            let norm: f32 = row.iter().map(|v| v * v).sum();
            assert!((norm - 1.0).abs() < 1e-4, "{:?}", out.embeddings);
        }
        assert!(out.final_loss.is_finite());
    }
}

gpu_test! {
    /// The memory estimate checked before training is the dense buffers as allocated.
    fn the_dense_buffer_estimate_is_what_is_allocated() {
        let gpu = common::gpu();
        for (nodes, features, hidden) in [(70, 11, &[5][..]), (300, 40, &[8, 6][..]), (70, 11, &[7, 5, 3][..])] {
            let graph = common::planted_graph(nodes, 3, features, 7);
            let o = options(hidden, 6);
            let host = Ns4gcGraph::new(&graph, o.lambda, o.row_normalize).unwrap();
            let params = initial_params(features, hidden, 9);
            let device = DeviceNs4gc::new(&gpu, &host, &o, &params).unwrap();
            assert_eq!(device.dense_bytes(), dense_buffer_bytes(nodes, features, &o), "{nodes} x {features}, {hidden:?}");
        }
    }
}

#[test]
fn settings_are_refused_before_any_device() {
    let graph = common::planted_graph(20, 2, 5, 1);
    for (edit, setting) in [
        (
            (|o: &mut Ns4gcOptions| o.hidden.clear()) as fn(&mut Ns4gcOptions),
            "hidden",
        ),
        (|o| o.hidden = vec![64, 0], "hidden"),
        (|o| o.hidden = vec![5000], "hidden"),
        (|o| o.epochs = 0, "epochs"),
        (|o| o.lr = 0.0, "lr"),
        (|o| o.weight_decay = -1.0, "weight_decay"),
        (|o| o.lambda = f32::NAN, "lambda"),
        (|o| o.gamma = f32::INFINITY, "gamma"),
        (|o| o.shift = f32::NAN, "shift"),
        (|o| o.temperature = 0.0, "temperature"),
        (|o| o.edge_drop = [0.3, 1.0], "edge_drop"),
        (|o| o.feature_mask = [-0.1, 0.2], "feature_mask"),
        (|o| o.samples = 0, "samples"),
    ] {
        let mut o = Ns4gcOptions::default();
        edit(&mut o);
        match o.validate() {
            Err(gpu_vgae::Error::InvalidConfig { setting: s, .. }) => assert_eq!(s, setting),
            other => panic!("{setting}: {other:?}"),
        }
        let mut fit = gpu_vgae::ClusterFitOptions::default();
        fit.method = Some("ns4gc".into());
        fit.ns4gc = vec![o];
        assert!(matches!(
            fit.check(&graph),
            Err(gpu_vgae::Error::InvalidConfig { .. })
        ));
    }
    let mut featureless = graph.clone();
    featureless.features = None;
    let mut fit = gpu_vgae::ClusterFitOptions::default();
    fit.method = Some("ns4gc".into());
    let err = fit.check(&featureless).unwrap_err().to_string();
    assert!(err.contains("ns4gc filters node features"), "{err}");
    let plan = fit.check(&graph).unwrap();
    assert_eq!((plan.method.name, plan.normalize), ("ns4gc", true));
}

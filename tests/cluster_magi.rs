//! MAGI (src/filters/magi.rs): its host gradients against finite differences of its
//! loss, the device's gradients and loss against the host's, the random-walk positives
//! and the sampled negatives against their definitions, and training that finds
//! planted communities.

#[macro_use]
mod common;

use gpu_vgae::internal::cluster::cluster_metrics;
use gpu_vgae::internal::filters::magi::{
    dense_buffer_bytes, draw_negatives, loss_and_gradients, magi_embed, transpose_with_slots,
    walk_positives, DeviceMagi, MagiGraph, MagiOptions, Sampler,
};
use gpu_vgae::internal::filters::ns4gc::{initial_params, LayerParams};
use gpu_vgae::Graph;
use rand::{Rng, SeedableRng};

fn options(hidden: &[usize], negatives: usize) -> MagiOptions {
    let mut o = MagiOptions::default();
    o.hidden = hidden.to_vec();
    o.negatives = negatives;
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
    for (hidden, tau) in [(&[3][..], 0.3f32), (&[4, 3][..], 0.9)] {
        let mut o = options(hidden, 5);
        o.weight_decay = 0.01;
        o.temperature = tau;
        let host = MagiGraph::new(&graph, &o, 4).unwrap();
        assert!(host.anchors() > 6, "anchors {}", host.anchors());
        // Epoch 2's draw: dropout at p = 0.3 on the features and the hidden layer.
        o.dropout = 0.3;
        let draw = Sampler::new(6).draw(&host, &o, 2).unwrap();
        assert!(draw.x_kept.contains(&false) && draw.x_kept.contains(&true));
        let params = params_with_biases(host.x.cols(), hidden, 5);
        let (_, grads) = loss_and_gradients(&host, &o, &draw, &params);
        // Small steps: LeakyReLU's slope and the rows' extremes change at kinks; 1e-4
        // moves no element across one here.
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
fn positives_are_the_walks_most_visited_nodes() {
    // A path 0-1-2-3-4 and an isolated node 5. One-step walks from node 2 visit 1, 2
    // (stays: not counted) and 3 equally often in expectation: the one counted more is
    // the positive (both on a tie). Two-step walks reach two hops and no further; node
    // 5 never leaves itself and has no positives.
    let graph = Graph::from_edges(6, &[(0, 1), (1, 2), (2, 3), (3, 4)], None).unwrap();
    let one = walk_positives(&graph, 400, 1, 7).unwrap();
    let row = |p: &gpu_vgae::internal::sparse::Csr, i: usize| p.col_idx()[p.row_range(i)].to_vec();
    let middle = row(&one, 2);
    assert!(
        !middle.is_empty() && middle.iter().all(|j| [1, 3].contains(j)),
        "{middle:?}"
    );
    assert_eq!(row(&one, 0), vec![1]);
    assert!(row(&one, 5).is_empty());
    let two = walk_positives(&graph, 400, 2, 7).unwrap();
    for i in 0..5usize {
        let cols = row(&two, i);
        assert!(!cols.is_empty(), "node {i}");
        assert!(
            !cols.contains(&(i as u32)),
            "node {i} is not its own positive"
        );
        assert!(
            cols.iter().all(|&j| (j as i64 - i as i64).abs() <= 2),
            "node {i}: {cols:?}"
        );
    }
    // The mean rule: from node 0, two steps on A + I visit node 1 11/12 times a walk in
    // expectation (1/2 at the first step, 5/12 at the second) and node 2 1/6 times; the
    // mean over the two is 13/24, so node 1 alone is kept.
    assert_eq!(row(&two, 0), vec![1]);
    assert!(row(&two, 5).is_empty());
    // The same seed gives the same positives; another, others.
    assert_eq!(walk_positives(&graph, 400, 2, 7).unwrap(), two);
}

#[test]
fn negatives_exclude_the_node_and_transpose_exactly() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    for (n, m) in [(2, 1), (2, 5), (9, 4), (50, 30)] {
        let draw = draw_negatives(&mut rng, n, m).unwrap();
        let s = &draw.samples;
        assert_eq!(s.nnz(), n * m);
        for i in 0..n {
            let cols = &s.col_idx()[s.row_range(i)];
            assert_eq!(cols.len(), m);
            assert!(cols.windows(2).all(|w| w[0] <= w[1]), "sorted");
            assert!(
                !cols.contains(&(i as u32)),
                "node {i} is not its own negative"
            );
        }
        assert_eq!(draw.transposed, s.transpose());
        let t = &draw.transposed;
        for i in 0..n {
            for e in s.row_range(i) {
                let slot = draw.slot[e] as usize;
                let j = s.col_idx()[e] as usize;
                assert!(t.row_range(j).contains(&slot), "entry {e} lands in row {j}");
                assert_eq!(t.col_idx()[slot] as usize, i);
            }
        }
        let mut slots = draw.slot.clone();
        slots.sort_unstable();
        assert_eq!(
            slots,
            (0..(n * m) as u32).collect::<Vec<_>>(),
            "a permutation"
        );
    }
    // Uniform over j ≠ i: 3 nodes, node 0 draws 1 and 2 about equally.
    let draw = draw_negatives(&mut rng, 3, 6000).unwrap();
    let ones = draw.samples.col_idx()[..6000]
        .iter()
        .filter(|&&j| j == 1)
        .count();
    assert!((2700..3300).contains(&ones), "{ones}");
}

#[test]
fn the_transpose_slots_map_each_entry_to_its_place() {
    let features = common::planted_graph(30, 3, 17, 2)
        .features
        .clone()
        .unwrap();
    let (t, slot) = transpose_with_slots(&features).unwrap();
    assert_eq!(t, features.transpose());
    for i in 0..features.rows() {
        for e in features.row_range(i) {
            let at = slot[e] as usize;
            assert_eq!(t.col_idx()[at] as usize, i);
            assert_eq!(t.values()[at], features.values()[e]);
        }
    }
}

gpu_test! {
    fn device_gradients_and_loss_match_the_host() {
        let gpu = common::gpu();
        // 70 nodes: more rows than a workgroup; widths not multiples of 4; one, two and
        // three layers; 300 nodes: past one dW chunk (256 rows).
        for (nodes, hidden, negatives, tau) in [
            (70, &[5][..], 7, 0.3f32),
            (70, &[6, 3][..], 4, 0.9),
            (300, &[9, 8, 5][..], 3, 0.5),
        ] {
            let graph = common::planted_graph(nodes, 3, 11, 7);
            let mut o = options(hidden, negatives);
            o.weight_decay = 0.01;
            o.temperature = tau;
            let host = MagiGraph::new(&graph, &o, 8).unwrap();
            let params = params_with_biases(host.x.cols(), hidden, 9);
            // Epoch 5 of seed 11: the device's dropout kernel must draw the host's masks.
            o.dropout = 0.2;
            let draw = Sampler::new(11).draw(&host, &o, 5).unwrap();
            let (loss, want) = loss_and_gradients(&host, &o, &draw, &params);
            let device = DeviceMagi::new(&gpu, &host, &o, &params, 11).unwrap();
            device.write_draw(&host, &draw).unwrap();
            let got = device.gradients().unwrap();
            assert_eq!(got.len(), hidden.len());
            for layer in 0..hidden.len() {
                for (name, g, w) in [("dW", &got[layer].0, &want[layer].0), ("db", &got[layer].1, &want[layer].1)] {
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
        let out = magi_embed(&gpu, &graph, 1, &o, &mut |e| {
            if let Some(l) = e.loss {
                losses.push(l);
            }
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
        assert!(losses.len() >= 3, "{losses:?}");
        assert!(out.final_loss < losses[0] - 0.01, "{} vs {losses:?}", out.final_loss);
        assert_eq!(out.dim, 16);
        assert!(out.anchors > 250 && out.positives >= out.anchors, "{} anchors", out.anchors);
        for row in out.embeddings.chunks_exact(out.dim) {
            let norm: f32 = row.iter().map(|v| v * v).sum();
            assert!((norm - 1.0).abs() < 1e-4, "unit rows: {norm}");
            assert!(row.iter().all(|&v| v >= 0.0), "min-max scaled rows are not negative");
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
        let again = magi_embed(&gpu, &graph, 1, &o, &mut |_| std::ops::ControlFlow::Continue(())).unwrap();
        assert_eq!(again.embeddings, out.embeddings);
        // Stopping from the callback.
        let stopped = magi_embed(&gpu, &graph, 1, &o, &mut |e| {
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
    /// The memory estimate checked before training is the dense buffers as allocated.
    fn the_dense_buffer_estimate_is_what_is_allocated() {
        let gpu = common::gpu();
        for (nodes, features, hidden) in [(70, 11, &[5][..]), (300, 40, &[8, 6][..]), (70, 11, &[7, 5, 3][..])] {
            let graph = common::planted_graph(nodes, 3, features, 7);
            let o = options(hidden, 6);
            let host = MagiGraph::new(&graph, &o, 1).unwrap();
            let params = initial_params(features, hidden, 9);
            let device = DeviceMagi::new(&gpu, &host, &o, &params, 1).unwrap();
            assert_eq!(device.dense_bytes(), dense_buffer_bytes(nodes, features, &o), "{nodes} x {features}, {hidden:?}");
        }
    }
}

#[test]
fn settings_and_graphs_are_refused_before_any_device() {
    let graph = common::planted_graph(20, 2, 5, 1);
    for (edit, setting) in [
        (
            (|o: &mut MagiOptions| o.hidden.clear()) as fn(&mut MagiOptions),
            "hidden",
        ),
        (|o| o.hidden = vec![64, 0], "hidden"),
        (|o| o.hidden = vec![5000], "hidden"),
        (|o| o.epochs = 0, "epochs"),
        (|o| o.lr = f32::NAN, "lr"),
        (|o| o.weight_decay = -1.0, "weight_decay"),
        (|o| o.temperature = 0.0, "temperature"),
        (|o| o.negative_slope = -0.5, "negative_slope"),
        (|o| o.walks = 0, "walks"),
        (|o| o.walk_length = 20_000, "walk_length"),
        (|o| o.negatives = 0, "negatives"),
        (|o| o.dropout = 1.0, "dropout"),
    ] {
        let mut o = MagiOptions::default();
        edit(&mut o);
        match o.validate() {
            Err(gpu_vgae::Error::InvalidConfig { setting: s, .. }) => assert_eq!(s, setting),
            other => panic!("{setting}: {other:?}"),
        }
        let mut fit = gpu_vgae::ClusterFitOptions::default();
        fit.method = Some("magi".into());
        fit.magi = vec![o];
        assert!(matches!(
            fit.check(&graph),
            Err(gpu_vgae::Error::InvalidConfig { .. })
        ));
    }
    let mut fit = gpu_vgae::ClusterFitOptions::default();
    fit.method = Some("magi".into());
    fit.magi.clear();
    assert!(matches!(
        fit.check(&graph),
        Err(gpu_vgae::Error::InvalidConfig {
            setting: "magi",
            ..
        })
    ));
    let mut featureless = graph.clone();
    featureless.features = None;
    let mut fit = gpu_vgae::ClusterFitOptions::default();
    fit.method = Some("magi".into());
    let err = fit.check(&featureless).unwrap_err().to_string();
    assert!(err.contains("magi filters node features"), "{err}");
    let plan = fit.check(&graph).unwrap();
    assert_eq!((plan.method.name, plan.normalize), ("magi", true));
}

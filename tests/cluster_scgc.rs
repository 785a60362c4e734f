//! The trained clustering method (src/filters/scgc.rs): its host gradients against
//! finite differences of its loss, the device's gradients and loss against the host's,
//! and training that lowers the loss and finds planted communities.

#[macro_use]
mod common;

use gpu_vgae::internal::cluster::cluster_metrics;
use gpu_vgae::internal::filters::scgc::{
    check_dense_buffers, dense_buffer_bytes, initial_params, loss_and_gradients, scgc_embed,
    DeviceScgc, ScgcGraph, ScgcOptions, ViewParams,
};
use gpu_vgae::internal::memory::available_memory;

fn options(order: usize, dim: usize) -> ScgcOptions {
    let mut o = ScgcOptions::default();
    o.order = order;
    o.dim = dim;
    o
}

#[test]
fn host_gradients_match_finite_differences() {
    let graph = common::planted_graph(12, 2, 6, 3);
    let host = ScgcGraph::new(&graph).unwrap();
    for order in [1, 2] {
        let params = initial_params(host.x.cols(), 3, 5);
        let (_, grads) = loss_and_gradients(&host, order, &params);
        let eps = 1e-3f32;
        for view in 0..2 {
            for (which, len) in [("w", params[view].w.len()), ("b", params[view].b.len())] {
                for index in 0..len {
                    let nudged = |delta: f32| {
                        let mut p = params.clone();
                        let target: &mut ViewParams = &mut p[view];
                        let values = if which == "w" {
                            &mut target.w
                        } else {
                            &mut target.b
                        };
                        values[index] += delta;
                        let moved = f64::from(values[index]);
                        (loss_and_gradients(&host, order, &p).0, moved)
                    };
                    let ((plus, at_plus), (minus, at_minus)) = (nudged(eps), nudged(-eps));
                    let numeric = (plus - minus) / (at_plus - at_minus);
                    let analytic = if which == "w" {
                        grads[view].0[index]
                    } else {
                        grads[view].1[index]
                    };
                    assert!(
                        (numeric - analytic).abs() <= 1e-6 + 1e-3 * analytic.abs(),
                        "order {order} view {view} {which}[{index}]: numeric {numeric} vs \
                         analytic {analytic}"
                    );
                }
            }
        }
    }
}

gpu_test! {
    fn device_gradients_and_loss_match_the_host() {
        let gpu = common::gpu();
        // 70 nodes: more rows than a workgroup; d = 5 (not a multiple of 4) and 8.
        let graph = common::planted_graph(70, 3, 11, 7);
        let host = ScgcGraph::new(&graph).unwrap();
        for (order, dim) in [(1, 5), (3, 8)] {
            let params = initial_params(host.x.cols(), dim, 9);
            let (loss, want) = loss_and_gradients(&host, order, &params);
            let device = DeviceScgc::new(&gpu, &host, &options(order, dim), &params).unwrap();
            let got = device.gradients().unwrap();
            for view in 0..2 {
                for (name, g, w) in [
                    ("dW", &got[view].0, &want[view].0),
                    ("db", &got[view].1, &want[view].1),
                ] {
                    let largest = w.iter().fold(0f64, |m, v| m.max(v.abs()));
                    for (i, (&a, &e)) in g.iter().zip(w.iter()).enumerate() {
                        assert!(
                            (f64::from(a) - e).abs() <= 1e-4 * largest + 1e-3 * e.abs(),
                            "order {order} view {view} {name}[{i}]: device {a} vs host {e}"
                        );
                    }
                }
            }
            let device_loss = device.loss().unwrap();
            assert!(
                (device_loss - loss).abs() <= 1e-5 * loss.abs(),
                "loss: device {device_loss} vs host {loss}"
            );
        }
    }
}

gpu_test! {
    fn training_lowers_the_loss_and_finds_the_communities() {
        let gpu = common::gpu();
        let graph = common::planted_graph(300, 3, 30, 13);
        let labels = graph.labels.clone().unwrap();
        assert!(graph.features.is_some());
        let mut o = options(2, 16);
        o.epochs = 150;
        o.lr = 1e-2;
        let mut losses = Vec::new();
        let out = scgc_embed(&gpu, &graph, 1, &o, &mut |e| {
            if let Some(l) = e.loss {
                losses.push(l);
            }
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
        assert!(losses.len() >= 3, "{losses:?}");
        assert!(out.final_loss < 0.8 * losses[0], "{} vs {losses:?}", out.final_loss);
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
        // Stopping from the callback.
        let stopped = scgc_embed(&gpu, &graph, 1, &o, &mut |e| {
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
    fn neighbours_are_the_nearest_rows_of_the_filtered_features() {
        use gpu_vgae::internal::filters::scgc::filtered_neighbours;
        let gpu = common::gpu();
        // 11 features: 11 components are X̄'s full rank, so U·S has X̄'s inner products.
        let graph = common::planted_graph(60, 3, 11, 17);
        let host = ScgcGraph::new(&graph).unwrap();
        let (n, f, m, order) = (60, 11, 4, 2);
        let pairs = filtered_neighbours(&gpu, &host, order, m, f, 3).unwrap();
        assert_eq!(pairs.len(), n * m);
        // X̄ = Ã² X on the host, rows normalised.
        let x = host.x.to_dense();
        let s = host.smooth.to_dense();
        let mut xbar: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        for _ in 0..order {
            let mut next = vec![0f64; n * f];
            for i in 0..n {
                for j in 0..n {
                    let w = f64::from(s[i * n + j]);
                    if w != 0.0 {
                        for c in 0..f {
                            next[i * f + c] += w * xbar[j * f + c];
                        }
                    }
                }
            }
            xbar = next;
        }
        for row in xbar.chunks_exact_mut(f) {
            let norm = row.iter().map(|v| v * v).sum::<f64>().sqrt();
            if norm > 0.0 {
                row.iter_mut().for_each(|v| *v /= norm);
            }
        }
        let mut checked = 0;
        for i in 0..n {
            let mut sims: Vec<(f64, usize)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| ((0..f).map(|c| xbar[i * f + c] * xbar[j * f + c]).sum(), j))
                .collect();
            sims.sort_by(|a, b| b.0.total_cmp(&a.0));
            // Only rows whose m-th and (m+1)-th similarities are clearly apart.
            if sims[m - 1].0 - sims[m].0 < 1e-4 {
                continue;
            }
            let mut want: Vec<usize> = sims[..m].iter().map(|p| p.1).collect();
            let mut got: Vec<usize> = pairs
                .iter()
                .filter(|p| p.0 as usize == i)
                .map(|p| p.1 as usize)
                .collect();
            want.sort_unstable();
            got.sort_unstable();
            assert_eq!(got, want, "node {i}");
            checked += 1;
        }
        assert!(checked > n / 2, "only {checked} nodes without ties");
        // The target: 0/1, symmetric, the diagonal, every edge and every pair.
        let t = host.with_neighbours(&pairs).unwrap().target.to_dense();
        for i in 0..n {
            assert_eq!(t[i * n + i], 1.0);
            for j in 0..n {
                assert!(t[i * n + j] == 0.0 || t[i * n + j] == 1.0);
                assert_eq!(t[i * n + j], t[j * n + i]);
            }
        }
        for &(a, b) in graph.edges.iter().chain(&pairs) {
            assert_eq!(t[a as usize * n + b as usize], 1.0);
        }
    }
}

gpu_test! {
    /// The memory estimate checked before training is the views' dense buffers as
    /// allocated, for features narrower and wider than N (identity-like) and N past one
    /// Gram chunk (256 rows).
    fn the_dense_buffer_estimate_is_what_is_allocated() {
        let gpu = common::gpu();
        for (nodes, features, dim) in [(70, 11, 5), (300, 400, 8)] {
            let graph = common::planted_graph(nodes, 3, features, 7);
            let host = ScgcGraph::new(&graph).unwrap();
            let params = initial_params(features, dim, 9);
            let device = DeviceScgc::new(&gpu, &host, &options(2, dim), &params).unwrap();
            assert_eq!(device.dense_bytes(), dense_buffer_bytes(nodes, features, dim), "{nodes} x {features}, d = {dim}");
        }
    }
}

/// A shape whose buffers exceed the available memory is refused on a CPU adapter (whose
/// device memory is host memory), with the figures; a GPU is left to report its own
/// failures; Pubmed with identity features (0.45 GB) passes where that much is free.
#[test]
#[cfg_attr(
    not(target_os = "linux"),
    ignore = "the available memory is read from /proc/meminfo"
)]
fn buffers_beyond_the_available_memory_are_refused() {
    let available = available_memory().expect("MemAvailable in /proc/meminfo");
    // Identity features: 2 views × 10·N·d floats > available.
    let nodes = (available / (2 * 10 * 256 * 4) + 1) as usize;
    assert!(dense_buffer_bytes(nodes, nodes, 256) > available);
    let err = check_dense_buffers(true, nodes, nodes, 256).unwrap_err();
    assert!(
        matches!(err, gpu_vgae::Error::InsufficientMemory { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("scgc"), "{err}");
    check_dense_buffers(false, nodes, nodes, 256).unwrap();
    let pubmed = dense_buffer_bytes(19_717, 19_717, 256);
    assert!((440_000_000..460_000_000).contains(&pubmed), "{pubmed}");
    if available > pubmed {
        check_dense_buffers(true, 19_717, 19_717, 256).unwrap();
    }
}

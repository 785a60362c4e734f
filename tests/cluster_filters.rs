//! The low-pass filter pipeline (src/filters): the GPU's filtered singular vectors
//! against a dense f64 computation straight from the formulas (X̄ formed, which the GPU
//! path never does), the order rule's invariants, and `cluster_fit`'s report against a
//! recomputation.

#[macro_use]
mod common;

use gpu_vgae::internal::cluster::{cluster_metrics, inertia};
use gpu_vgae::internal::filters::svd::{top_left_singular_vectors, HostDense, SvdSettings};
use gpu_vgae::internal::filters::{
    filter_cluster, filtered_singular_vectors, intra_cluster_distance, l2_rows, sym_normalized,
    FilterKind, FilterOptions,
};
use gpu_vgae::{cluster_fit, synthetic_graph, ClusterFitOptions, Graph, SyntheticSpec};

/// A community graph with one isolated node (the last) and a node without features.
fn community_graph(nodes: usize, communities: usize) -> Graph {
    let mut spec = SyntheticSpec::default();
    spec.nodes = nodes;
    spec.communities = communities;
    spec.mean_degree = 5.0;
    spec.features = 40;
    spec.seed = 11;
    let g = synthetic_graph(&spec).unwrap();
    // One more node, isolated, with no features.
    let x = g.feature_matrix().unwrap();
    let mut triplets = Vec::new();
    for r in 0..x.rows() {
        if r == 3 {
            continue; // a zero feature row
        }
        for e in x.row_range(r) {
            triplets.push((r as u32, x.col_idx()[e], x.values()[e]));
        }
    }
    let x = gpu_vgae::Csr::from_triplets(nodes + 1, x.cols(), &triplets).unwrap();
    let mut labels = g.labels.clone();
    labels.push(-1);
    Graph::from_edges(nodes + 1, &g.edges, Some(x))
        .unwrap()
        .with_labels(labels)
        .unwrap()
}

/// X̄ of the module docs in f64, dense.
fn filtered_reference(
    graph: &Graph,
    kind: FilterKind,
    order: usize,
    alpha: f64,
    loops: bool,
) -> Vec<f64> {
    let n = graph.num_nodes;
    let x = graph.features.as_ref().unwrap().to_dense();
    let f = x.len() / n;
    let x: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    let t = sym_normalized(graph, kind == FilterKind::Agc || loops)
        .unwrap()
        .to_dense();
    let mut op: Vec<f64> = t.iter().map(|&v| f64::from(v)).collect();
    if kind == FilterKind::Agc {
        for i in 0..n {
            for j in 0..n {
                op[i * n + j] = 0.5 * op[i * n + j] + if i == j { 0.5 } else { 0.0 };
            }
        }
    }
    let mul = |p: &[f64]| -> Vec<f64> {
        let mut out = vec![0f64; n * f];
        for i in 0..n {
            for j in 0..n {
                let a = op[i * n + j];
                if a != 0.0 {
                    for c in 0..f {
                        out[i * f + c] += a * p[j * f + c];
                    }
                }
            }
        }
        out
    };
    let mut p = x.clone();
    let mut sum = vec![0f64; n * f];
    for _ in 0..order {
        p = mul(&p);
        sum.iter_mut().zip(&p).for_each(|(s, v)| *s += v);
    }
    match kind {
        FilterKind::Agc => p,
        _ => x
            .iter()
            .zip(&sum)
            .map(|(xv, s)| alpha * xv + (1.0 - alpha) * s / order as f64)
            .collect(),
    }
}

/// |u_a · u_b| per column: 1 where both found the same singular vector (up to sign).
/// ‖Aᵀ B‖²_F for two n × r matrices with orthonormal columns: r when they span the
/// same subspace, whatever the basis.
fn subspace_agreement(a: &[f32], b: &[f32], n: usize, r: usize) -> f64 {
    let mut total = 0f64;
    for p in 0..r {
        for q in 0..r {
            let dot: f64 = (0..n)
                .map(|i| f64::from(a[i * r + p]) * f64::from(b[i * r + q]))
                .sum();
            total += dot * dot;
        }
    }
    total
}

fn column_agreement(a: &[f32], b: &[f32], n: usize, r: usize) -> Vec<f64> {
    (0..r)
        .map(|c| {
            (0..n)
                .map(|i| f64::from(a[i * r + c]) * f64::from(b[i * r + c]))
                .sum::<f64>()
                .abs()
        })
        .collect()
}

/// Asserts that the GPU's top-4 singular vectors of X̄ at a fixed order are the
/// randomised SVD of the dense f64 X̄ (same test matrix): the same subspace, and the
/// same columns where their singular values stand apart. Also, without oversamples or
/// power iterations, that they span X̄Ω for the same Gaussian Ω: a direct check of the
/// filter's products, which a slightly different X̄ (another α's weight, a power left
/// out) fails, where the top singular subspace may hardly move.
fn assert_matches_dense_reference(
    gpu: &gpu_vgae::Gpu,
    graph: &Graph,
    kind: FilterKind,
    order: usize,
    alpha: f64,
    loops: bool,
) {
    let n = graph.num_nodes;
    let svd = SvdSettings {
        components: 4,
        ..SvdSettings::default()
    };
    let mut options = FilterOptions::default();
    options.kind = kind;
    options.alpha = alpha;
    options.self_loops = loops;
    options.svd = svd;
    let (gpu_u, r) = filtered_singular_vectors(gpu, graph, order, &options, 5).unwrap();
    assert_eq!(r, 4);
    let reference = filtered_reference(graph, kind, order, alpha, loops);
    let f = reference.len() / n;
    let mut host = HostDense {
        rows: n,
        cols: f,
        values: reference.iter().map(|&v| v as f32).collect(),
    };
    let wide = SvdSettings {
        components: 6,
        ..svd
    };
    let (_, singular, _) = top_left_singular_vectors(&mut host, &wide, 5).unwrap();
    // The top-4 subspace is determined when the 4th singular value stands apart
    // from the 5th; single columns only where their own values stand apart
    // (near-equal values, e.g. 9.26 and 9.15 at K = 5, mix their columns).
    assert!(
        singular[3] > 1.02 * singular[4],
        "{kind:?} K={order}: {singular:?}"
    );
    let (host_u, _, _) = top_left_singular_vectors(&mut host, &svd, 5).unwrap();
    let span = subspace_agreement(&gpu_u, &host_u, n, 4);
    assert!(
        span > 4.0 - 4e-3,
        "{kind:?} K={order}: subspace agreement {span} of 4"
    );
    let sketch = SvdSettings {
        components: 4,
        oversamples: 0,
        power_iterations: 0,
    };
    options.svd = sketch;
    let (gpu_range, _) = filtered_singular_vectors(gpu, graph, order, &options, 5).unwrap();
    let (host_range, _, _) = top_left_singular_vectors(&mut host, &sketch, 5).unwrap();
    let span = subspace_agreement(&gpu_range, &host_range, n, 4);
    assert!(
        span > 4.0 - 1e-4,
        "{kind:?} K={order}: X̄Ω's range agreement {span} of 4"
    );
    let agreement = column_agreement(&gpu_u, &host_u, n, 4);
    for c in 0..4 {
        let apart = |a: f64, b: f64| a > 1.02 * b;
        if (c == 0 || apart(singular[c - 1], singular[c])) && apart(singular[c], singular[c + 1]) {
            assert!(
                agreement[c] > 1.0 - 1e-3,
                "{kind:?} K={order} column {c}: {agreement:?}"
            );
        }
    }
}

gpu_test! {
    /// The GPU's vectors at a fixed order equal the randomised SVD of the dense f64 X̄
    /// (same test matrix), for S²GC with and without self loops, α = 0 and 0.05, and AGC.
    fn filtered_vectors_match_the_dense_reference() {
        let gpu = common::gpu();
        let graph = community_graph(150, 4);
        for (kind, order, alpha, loops) in [
            (FilterKind::S2gc, 1, 0.05, true),
            (FilterKind::S2gc, 5, 0.05, true),
            (FilterKind::S2gc, 4, 0.0, false),
            (FilterKind::Agc, 6, 0.0, true),
        ] {
            assert_matches_dense_reference(&gpu, &graph, kind, order, alpha, loops);
        }
    }
}

gpu_test! {
    /// Identity features (Pubmed here: F = N, X̄ = F(T̃) itself), as the benches give
    /// a graph without features: the same agreement with the dense reference, the
    /// products' width (N) no longer the features'.
    fn identity_features_match_the_dense_reference() {
        let gpu = common::gpu();
        let g = community_graph(120, 4);
        let n = g.num_nodes;
        let identity: Vec<(u32, u32, f32)> = (0..n as u32).map(|i| (i, i, 1.0)).collect();
        let x = gpu_vgae::Csr::from_triplets(n, n, &identity).unwrap();
        let graph = Graph::from_edges(n, &g.edges, Some(x)).unwrap();
        for (kind, order) in [(FilterKind::S2gc, 3), (FilterKind::Agc, 4)] {
            assert_matches_dense_reference(&gpu, &graph, kind, order, 0.05, true);
        }
    }
}

gpu_test! {
    /// The order rule: the intra-cluster distance falls strictly up to the chosen order,
    /// and the next one tried (if any) is not lower; the clustering returned is the
    /// chosen order's, its intra distance the recorded one; fixed orders try one order.
    fn the_order_is_the_last_before_the_intra_distance_stops_falling() {
        let gpu = common::gpu();
        let graph = community_graph(300, 3);
        let options = FilterOptions::default();
        let out = filter_cluster(&gpu, &graph, 3, 0, &options, &mut |_| std::ops::ControlFlow::Continue(())).unwrap();
        let h = &out.history;
        let chosen = h.iter().position(|s| s.order == out.order).unwrap();
        for w in h[..=chosen].windows(2) {
            assert!(w[1].intra < w[0].intra, "{h:?}");
        }
        match h.get(chosen + 1) {
            Some(next) => assert!(next.intra >= h[chosen].intra, "{h:?}"),
            None => assert_eq!(out.order, options.max_order),
        }
        assert!(h.len() <= chosen + 2, "nothing is tried after the stop: {h:?}");
        let n = graph.num_nodes;
        // The clustering returned is the chosen order's, whose intra distance (a mean
        // over the restarts) is near its best restart's.
        assert_eq!(out.kmeans.inertia, h[chosen].inertia);
        let best = intra_cluster_distance(&out.embeddings, out.dim, &out.kmeans.labels, 3);
        assert!((best - h[chosen].intra).abs() < 0.5 * h[chosen].intra, "{best} vs {h:?}");
        // Unit rows, but for the last node's (isolated and without features: its
        // filtered row is zero, and stays zero).
        for (i, row) in out.embeddings.chunks_exact(out.dim).enumerate() {
            let norm: f64 = row.iter().map(|&v| f64::from(v) * f64::from(v)).sum();
            if i + 1 == n {
                assert_eq!(norm, 0.0, "the isolated featureless node");
            } else {
                assert!((norm - 1.0).abs() < 1e-5, "row {i}: {norm}");
            }
        }
        assert_eq!(out.embeddings, l2_rows(out.embeddings.clone(), out.dim));
        let m = cluster_metrics(graph.labels.as_ref().unwrap(), &out.kmeans.labels).unwrap();
        assert!(m.acc > 0.8, "an easy community graph: ACC {}", m.acc);
        assert_eq!(out.kmeans.labels.len(), n);
        let mut fixed = FilterOptions::default();
        fixed.order = Some(2);
        let one = filter_cluster(&gpu, &graph, 3, 0, &fixed, &mut |_| std::ops::ControlFlow::Continue(())).unwrap();
        assert_eq!((one.order, one.history.len()), (2, 1));
    }
}

gpu_test! {
    /// cluster_fit's report is what its clusters and embeddings give: the metrics of the
    /// assignment against the labels, the inertia over the embeddings, a silhouette.
    fn the_fit_report_is_reproducible_from_its_outputs() {
        let gpu = common::gpu();
        let graph = community_graph(200, 4);
        for method in ["s2gc", "agc"] {
            let mut options = ClusterFitOptions::default();
            options.method = Some(method.into());
            let out = cluster_fit(&gpu, &graph, &options, |_| std::ops::ControlFlow::<()>::Continue(())).unwrap();
            let c = &out.clustering;
            let labels = graph.labels.as_ref().unwrap();
            let m = cluster_metrics(labels, &c.assignment).unwrap();
            assert_eq!(c.all_labelled.as_ref().unwrap(), &m);
            assert!(c.silhouette.is_some());
            let e = &out.embeddings;
            let k = c.k;
            let mut sums = vec![0f64; k * e.cols];
            let mut counts = vec![0usize; k];
            for (row, &a) in e.values.chunks_exact(e.cols).zip(&c.assignment) {
                counts[a as usize] += 1;
                for (d, &v) in row.iter().enumerate() {
                    sums[a as usize * e.cols + d] += f64::from(v);
                }
            }
            let centroids: Vec<f32> = sums
                .iter()
                .enumerate()
                .map(|(j, s)| (s / counts[j / e.cols].max(1) as f64) as f32)
                .collect();
            let recomputed = inertia(&e.values, e.rows, e.cols, &centroids, k, &c.assignment).unwrap();
            assert!((recomputed - c.inertia).abs() <= 1e-4 * c.inertia, "{recomputed} vs {}", c.inertia);
            assert_eq!(out.hyperparameters["method"], method);
            assert!(out.details["order"].as_u64().unwrap() >= 1);
        }
    }
}

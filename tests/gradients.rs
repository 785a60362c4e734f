//! The manual backward pass against finite differences, for both models, every
//! objective and the class-conditional prior, on a small graph with an isolated node and
//! an all-zero feature row:
//! - GPU gradients vs central differences of an f64 CPU forward pass written directly
//!   from DESIGN.md §1-§2 (full N×N, independent of the kernels' dense/sparse split);
//! - central differences of the GPU's own loss vs those of the f64 loss over the same
//!   step (so the GPU's forward is checked as a function, not only at one point);
//! - the GPU loss vs the f64 loss.
//!
//! Tolerances: f64 differences are exact to ~1e-9, so GPU (f32) gradients must agree
//! within 2e-5 + 2e-3·|g|. Differences of the f32 GPU loss carry ~1e-7 of rounding per
//! evaluation divided by 2h (h = 1e-2), so those use 5e-4 + 2e-2·|g|.

#[macro_use]
mod common;

use common::gpu;
use gpu_vgae::internal::cpu::standard_normal;
use gpu_vgae::internal::data::GraphView;
use gpu_vgae::internal::model::subgraph::SubgraphSampler;
use gpu_vgae::internal::model::{GaeModel, ModelConfig, ModelKind, Objective, Weights};
use gpu_vgae::internal::split::{sample_training_negatives, EdgeSet};
use gpu_vgae::Csr;

const N: usize = 11;
/// The subgraph objective's sample size and degree exponent in these checks.
const SAMPLE: usize = 6;
const ALPHA: f64 = 1.0;
const EDGES: &[(u32, u32)] = &[
    (0, 1),
    (0, 2),
    (1, 2),
    (2, 3),
    (3, 4),
    (4, 5),
    (5, 6),
    (6, 7),
    (7, 8),
    (8, 9),
    (1, 8),
    (0, 5),
]; // node 10 is isolated

fn features() -> Csr {
    // 11 × 5, node 4 has an all-zero row.
    let mut t = Vec::new();
    for i in 0..N as u32 {
        if i == 4 {
            continue;
        }
        t.push((i, i % 5, 1.0));
        t.push((i, (i * 3 + 1) % 5, 0.5));
    }
    Csr::from_triplets(N, 5, &t).unwrap()
}

/// Training labels of the conditional checks (DESIGN.md §9): three classes over six
/// nodes, the isolated node 10 among them; −1 = no training label.
const TRAIN_LABELS: [i32; N] = [0, 1, -1, 0, -1, 2, -1, 1, -1, -1, 2];

/// The loss of DESIGN.md §2 in f64 with dense matrices.
struct Reference {
    kind: ModelKind,
    objective: Objective,
    conditional: bool,
    seed: u64,
    epoch: u32,
    x: Vec<f64>,
    f: usize,
    hidden: usize,
    latent: usize,
}

impl Reference {
    fn loss(&self, w0: &[f64], w1: &[f64], means: &[f64]) -> f64 {
        let (n, f, h, l) = (N, self.f, self.hidden, self.latent);
        let c = w1.len() / h;
        // Â = D^-1/2 (A + I) D^-1/2
        let mut a = vec![0f64; n * n];
        for i in 0..n {
            a[i * n + i] = 1.0;
        }
        for &(i, j) in EDGES {
            a[i as usize * n + j as usize] = 1.0;
            a[j as usize * n + i as usize] = 1.0;
        }
        let deg: Vec<f64> = (0..n).map(|i| (0..n).map(|j| a[i * n + j]).sum()).collect();
        let a_hat: Vec<f64> = (0..n * n)
            .map(|ij| a[ij] / (deg[ij / n] * deg[ij % n]).sqrt())
            .collect();
        let mm = |x: &[f64], y: &[f64], r: usize, k: usize, cc: usize| -> Vec<f64> {
            let mut o = vec![0f64; r * cc];
            for i in 0..r {
                for kk in 0..k {
                    for j in 0..cc {
                        o[i * cc + j] += x[i * k + kk] * y[kk * cc + j];
                    }
                }
            }
            o
        };
        let p = mm(&self.x, w0, n, f, h);
        let q = mm(&a_hat, &p, n, n, h);
        let h1: Vec<f64> = q.iter().map(|v| v.max(0.0)).collect();
        let y = mm(&h1, w1, n, h, c);
        let ms = mm(&a_hat, &y, n, n, c);
        let mut z = vec![0f64; n * l];
        let mut kl = 0f64;
        for i in 0..n {
            for k in 0..l {
                let mu = ms[i * c + k];
                z[i * l + k] = match self.kind {
                    ModelKind::Gae => mu,
                    ModelKind::Vgae => {
                        let s = ms[i * c + l + k];
                        let prior = match TRAIN_LABELS[i] {
                            class if self.conditional && class >= 0 => {
                                means[class as usize * l + k]
                            }
                            _ => 0.0,
                        };
                        kl += 1.0 + 2.0 * s - (mu - prior).powi(2) - (2.0 * s).exp();
                        mu + standard_normal(i as u32, k as u32, self.epoch, self.seed) as f64
                            * s.exp()
                    }
                };
            }
        }
        let n2 = (n * n) as f64;
        let kl_term = if self.kind == ModelKind::Vgae {
            -0.5 / n2 * kl
        } else {
            0.0
        };
        let logit = |i: usize, j: usize| (0..l).map(|k| z[i * l + k] * z[j * l + k]).sum::<f64>();
        let softplus = |x: f64| x.max(0.0) + (-x.abs()).exp().ln_1p();
        let rec = match self.objective {
            Objective::Dense => {
                let e = 2.0 * EDGES.len() as f64;
                let (pw, norm) = ((n2 - e) / e, n2 / (2.0 * (n2 - e)));
                let mut total = 0f64;
                for i in 0..n {
                    for j in 0..n {
                        let label = if i == j { 1.0 } else { a[i * n + j] };
                        let s = logit(i, j);
                        total += pw * label * softplus(-s) + (1.0 - label) * softplus(s);
                    }
                }
                norm / n2 * total
            }
            Objective::Sampled => {
                let positives: Vec<(u32, u32)> =
                    EDGES.iter().flat_map(|&(i, j)| [(i, j), (j, i)]).collect();
                let set = EdgeSet::from_edges(n, EDGES).unwrap();
                let negatives =
                    sample_training_negatives(&set, positives.len(), self.seed, self.epoch)
                        .unwrap();
                let mean = |pairs: &[(u32, u32)], sign: f64| {
                    pairs
                        .iter()
                        .map(|&(i, j)| softplus(sign * logit(i as usize, j as usize)))
                        .sum::<f64>()
                        / pairs.len() as f64
                };
                mean(&positives, -1.0) + mean(&negatives, 1.0)
            }
            Objective::Subgraph => {
                // DESIGN.md §2c: the dense loss over the epoch's sample S with its own
                // pos_weight and norm (E_S = induced entries, both directions).
                let graph = GraphView::new(n, EDGES, None).unwrap();
                let draw = SubgraphSampler::new(&graph, SAMPLE, ALPHA, self.seed)
                    .unwrap()
                    .draw(self.epoch)
                    .unwrap();
                let s_nodes: Vec<usize> = draw.nodes.iter().map(|&i| i as usize).collect();
                let m = s_nodes.len() as f64;
                let e: f64 = s_nodes
                    .iter()
                    .flat_map(|&i| s_nodes.iter().map(move |&j| (i, j)))
                    .filter(|&(i, j)| i != j && a[i * n + j] == 1.0)
                    .count() as f64;
                let (pw, norm) = ((m * m - e) / e, m * m / (2.0 * (m * m - e)));
                let mut total = 0f64;
                for &i in &s_nodes {
                    for &j in &s_nodes {
                        let label = if i == j { 1.0 } else { a[i * n + j] };
                        let s = logit(i, j);
                        total += pw * label * softplus(-s) + (1.0 - label) * softplus(s);
                    }
                }
                norm / (m * m) * total
            }
        };
        rec + kl_term
    }
}

/// The trained tensors in order: W0, W1 and (with the conditional prior) the class
/// means.
fn tensors(w: &Weights) -> Vec<&[f32]> {
    let mut out = vec![w.w0.as_slice(), w.w1.as_slice()];
    out.extend(w.class_means.as_deref());
    out
}

fn tensor_mut(w: &mut Weights, tensor: usize) -> &mut Vec<f32> {
    match tensor {
        0 => &mut w.w0,
        1 => &mut w.w1,
        _ => w.class_means.as_mut().expect("class means"),
    }
}

/// The f64 loss with weight `index` of `tensor` moved by `delta` (in f64).
fn reference_loss_at(
    reference: &Reference,
    w: &Weights,
    tensor: usize,
    index: usize,
    delta: f64,
) -> f64 {
    let mut all: Vec<Vec<f64>> = tensors(w)
        .iter()
        .map(|t| t.iter().map(|&v| v as f64).collect())
        .collect();
    all[tensor][index] += delta;
    let means = all.get(2).cloned().unwrap_or_default();
    reference.loss(&all[0], &all[1], &means)
}

fn perturbed(w: &Weights, tensor: usize, index: usize, delta: f32) -> Weights {
    let mut w = w.clone();
    tensor_mut(&mut w, tensor)[index] += delta;
    w
}

fn check(kind: ModelKind, objective: Objective, featureless: bool) {
    check_with(kind, objective, featureless, false);
}

fn check_with(kind: ModelKind, objective: Objective, featureless: bool, conditional: bool) {
    let gpu = gpu();
    let x = features();
    let features = (!featureless).then_some(&x);
    let mut config = ModelConfig::default();
    config.kind = kind;
    config.objective = objective;
    config.hidden = 4;
    config.latent = 3;
    config.seed = 77;
    config.sample_nodes = SAMPLE;
    config.alpha = ALPHA;
    config.conditional = conditional;
    let mut graph = GraphView::new(N, EDGES, features).unwrap();
    if conditional {
        graph = graph.with_train_labels(&TRAIN_LABELS).unwrap();
    }
    let mut model = GaeModel::new(&gpu, &config, graph).unwrap();
    // Scale W0 up so that most hidden units are active (relu) and the signal is not tiny.
    let mut w = model.weights().unwrap();
    w.w0.iter_mut().for_each(|v| *v *= 3.0);
    w.w1.iter_mut().for_each(|v| *v *= 2.0);
    if let Some(means) = w.class_means.as_mut() {
        // Class means away from 0, so that the prior differs from N(0, I).
        for (k, m) in means.iter_mut().enumerate() {
            *m = 0.3 * ((k % 5) as f32 - 2.0);
        }
    }
    model.set_weights(&w).unwrap();
    let epoch = 5;
    let f = features.map_or(N, Csr::cols);
    let dense_x = features.map_or_else(|| Csr::identity(N).to_dense(), Csr::to_dense);
    let reference = Reference {
        kind,
        objective,
        conditional,
        seed: config.seed,
        epoch,
        x: dense_x.iter().map(|&v| v as f64).collect(),
        f,
        hidden: 4,
        latent: 3,
    };
    let case = format!("{kind} {objective} featureless={featureless} conditional={conditional}");

    model.forward_backward(epoch).unwrap();
    let gpu_loss = model.loss().unwrap().total;
    let ref_loss = reference_loss_at(&reference, &w, 0, 0, 0.0);
    assert!(
        (gpu_loss - ref_loss).abs() < 1e-5 * ref_loss.abs().max(1.0),
        "{case}: GPU loss {gpu_loss} vs f64 {ref_loss}"
    );
    let gradients = model.gradients().unwrap();
    assert_eq!(gradients.class_means.is_some(), conditional, "{case}");

    let mut worst_gpu_fd = 0f64;
    for (tensor, grads) in tensors(&gradients).into_iter().enumerate() {
        for (index, &g) in grads.iter().enumerate() {
            let g = g as f64;
            // f64 central difference with a step small enough not to cross a relu kink.
            let h = 1e-6;
            let fd = (reference_loss_at(&reference, &w, tensor, index, h)
                - reference_loss_at(&reference, &w, tensor, index, -h))
                / (2.0 * h);
            assert!(
                (g - fd).abs() <= 2e-5 + 2e-3 * fd.abs(),
                "{case}: dW{tensor}[{index}] GPU {g} vs f64 finite difference {fd}"
            );
            // GPU central difference, f32, with a step large enough to rise above
            // rounding; compared with the f64 difference over the same step (which
            // crosses the same relu kinks, if any).
            let h = 1e-2f32;
            let at = tensors(&w)[tensor][index];
            let step = ((at + h) as f64) - ((at - h) as f64);
            let lo = (at - h) as f64 - at as f64;
            let hi = (at + h) as f64 - at as f64;
            let fd_same_step = (reference_loss_at(&reference, &w, tensor, index, hi)
                - reference_loss_at(&reference, &w, tensor, index, lo))
                / step;
            model.set_weights(&perturbed(&w, tensor, index, h)).unwrap();
            model.forward_backward(epoch).unwrap();
            let up = model.loss().unwrap().total;
            model
                .set_weights(&perturbed(&w, tensor, index, -h))
                .unwrap();
            model.forward_backward(epoch).unwrap();
            let down = model.loss().unwrap().total;
            let fd_gpu = (up - down) / step;
            worst_gpu_fd = worst_gpu_fd.max((fd_same_step - fd_gpu).abs());
            assert!(
                (fd_same_step - fd_gpu).abs() <= 5e-4 + 2e-2 * fd_same_step.abs(),
                "{case}: dW{tensor}[{index}] GPU finite difference {fd_gpu} vs f64 {fd_same_step}"
            );
        }
    }
    let norm: f64 = tensors(&gradients)
        .concat()
        .iter()
        .map(|&g| (g as f64).powi(2))
        .sum::<f64>()
        .sqrt();
    assert!(
        norm > 1e-3,
        "{case}: gradient norm {norm} is too small for the check to mean anything"
    );
    eprintln!("{case}: loss {gpu_loss:.6} (f64 {ref_loss:.6}), |grad| {norm:.4}, worst GPU-FD gap {worst_gpu_fd:.2e}");
}

gpu_test! {
    fn vgae_dense_gradients() {
        check(ModelKind::Vgae, Objective::Dense, false);
    }
}

gpu_test! {
    fn vgae_sampled_gradients() {
        check(ModelKind::Vgae, Objective::Sampled, false);
    }
}

gpu_test! {
    fn gae_dense_gradients() {
        check(ModelKind::Gae, Objective::Dense, false);
    }
}

gpu_test! {
    fn gae_sampled_gradients() {
        check(ModelKind::Gae, Objective::Sampled, false);
    }
}

gpu_test! {
    fn vgae_subgraph_gradients() {
        check(ModelKind::Vgae, Objective::Subgraph, false);
    }
}

gpu_test! {
    fn gae_subgraph_gradients() {
        check(ModelKind::Gae, Objective::Subgraph, false);
    }
}

gpu_test! {
    fn conditional_vgae_dense_gradients() {
        check_with(ModelKind::Vgae, Objective::Dense, false, true);
    }
}

gpu_test! {
    fn conditional_vgae_sampled_gradients() {
        check_with(ModelKind::Vgae, Objective::Sampled, false, true);
    }
}

gpu_test! {
    fn featureless_vgae_dense_gradients() {
        check(ModelKind::Vgae, Objective::Dense, true);
    }
}

//! End-to-end training on the embedded synthetic graph: every model and objective learns
//! (test AUC well above chance), a seed reproduces a run exactly, and weights survive a
//! save/load round trip.

mod common;

use common::gpu;
use gpu_vgae::model::{GaeModel, ModelConfig, ModelKind, Objective, Weights};
use gpu_vgae::synthetic::{generate, SyntheticSpec};
use gpu_vgae::train::{train, TrainOptions};

fn small_graph() -> gpu_vgae::synthetic::SyntheticGraph {
    let mut spec = SyntheticSpec::default();
    spec.nodes = 400;
    spec.mean_degree = 5.0;
    spec.features = 120;
    spec.features_per_node = 8;
    // Mostly within-community links: the best AUC a community-level score can reach is
    // about 0.95·(5/6) + 0.5·(0.95/6 + 0.05·5/6) ≈ 0.89.
    spec.within_fraction = 0.95;
    generate(&spec).unwrap()
}

fn options(kind: ModelKind, objective: Objective, seed: u64) -> TrainOptions {
    let mut options = TrainOptions::default();
    options.model.kind = kind;
    options.model.objective = objective;
    options.model.seed = seed;
    options.epochs = 100;
    options
}

#[test]
fn every_model_and_objective_learns_the_synthetic_graph() {
    let Some(gpu) = gpu() else { return };
    let g = small_graph();
    for kind in [ModelKind::Vgae, ModelKind::Gae] {
        for objective in [Objective::Dense, Objective::Sampled] {
            for featureless in [false, true] {
                let features = (!featureless).then_some(&g.features);
                let trained = train(
                    &gpu,
                    g.num_nodes,
                    &g.edges,
                    features,
                    &options(kind, objective, 1),
                    |_| {},
                )
                .unwrap();
                let test = trained.report.test.unwrap();
                eprintln!(
                    "{kind} {objective} featureless={featureless}: test AUC {:.3} AP {:.3}",
                    test.auc, test.ap
                );
                // Chance is 0.5; every variant reaches 0.86+ AUC and 0.84+ AP here.
                assert!(
                    test.auc > 0.82 && test.ap > 0.8,
                    "{kind} {objective} featureless={featureless}: {test:?}"
                );
            }
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_numbers() {
    let Some(gpu) = gpu() else { return };
    let g = small_graph();
    for objective in [Objective::Dense, Objective::Sampled] {
        let mut o = options(ModelKind::Vgae, objective, 3);
        o.epochs = 20;
        let a = train(&gpu, g.num_nodes, &g.edges, Some(&g.features), &o, |_| {}).unwrap();
        let b = train(&gpu, g.num_nodes, &g.edges, Some(&g.features), &o, |_| {}).unwrap();
        assert_eq!(a.model.weights().unwrap(), b.model.weights().unwrap());
        assert_eq!(a.report.final_loss, b.report.final_loss);
        o.model.seed = 4;
        let c = train(&gpu, g.num_nodes, &g.edges, Some(&g.features), &o, |_| {}).unwrap();
        assert_ne!(a.model.weights().unwrap(), c.model.weights().unwrap());
    }
}

#[test]
fn weights_round_trip_through_json_and_embed_the_graph_again() {
    let Some(gpu) = gpu() else { return };
    let g = small_graph();
    let mut o = options(ModelKind::Vgae, Objective::Dense, 5);
    o.epochs = 10;
    let trained = train(&gpu, g.num_nodes, &g.edges, Some(&g.features), &o, |_| {}).unwrap();
    let weights = trained.model.weights().unwrap();
    let json = serde_json::to_string(&weights).unwrap();
    let loaded: Weights = serde_json::from_str(&json).unwrap();
    assert_eq!(loaded, weights);
    let again = GaeModel::with_weights(
        &gpu,
        &o.model,
        g.num_nodes,
        &trained.split.train,
        Some(&g.features),
        &loaded,
    )
    .unwrap();
    assert_eq!(
        again.embeddings().unwrap(),
        trained.model.embeddings().unwrap()
    );
    let pairs = [(0, 1), (5, 9), (399, 0)];
    assert_eq!(
        again.score_pairs(&pairs).unwrap(),
        trained.model.score_pairs(&pairs).unwrap()
    );
    // Mismatched weights are refused with a message, not a panic.
    let mut other = ModelConfig::default();
    other.latent = 8;
    assert!(GaeModel::with_weights(
        &gpu,
        &other,
        g.num_nodes,
        &trained.split.train,
        Some(&g.features),
        &loaded
    )
    .is_err());
}

#[test]
fn single_node_and_edge_cases_are_errors_not_panics() {
    let Some(gpu) = gpu() else { return };
    let config = ModelConfig::default();
    assert!(GaeModel::new(&gpu, &config, 0, &[], None).is_err());
    assert!(GaeModel::new(&gpu, &config, 3, &[(0, 5)], None).is_err());
    // One node, no edges: the sampled objective refuses, training refuses to split.
    let mut sampled = ModelConfig::default();
    sampled.objective = Objective::Sampled;
    assert!(GaeModel::new(&gpu, &sampled, 1, &[], None).is_err());
    assert!(train(&gpu, 1, &[], None, &TrainOptions::default(), |_| {}).is_err());
}

/// The GPU schedule against the same epochs composed from the CPU twins. Adam's eps is
/// set to 1 so that an update is about lr·gradient: with the default 1e-8 the first step
/// is lr·sign(gradient), and a gradient that is zero up to rounding could flip sign.
#[test]
fn gpu_epochs_match_the_cpu_twins_epochs() {
    let Some(gpu) = gpu() else { return };
    let mut spec = SyntheticSpec::default();
    spec.nodes = 150;
    spec.features = 40;
    spec.features_per_node = 5;
    let g = generate(&spec).unwrap();
    for kind in [ModelKind::Vgae, ModelKind::Gae] {
        for objective in [Objective::Dense, Objective::Sampled] {
            let mut config = ModelConfig::default();
            config.kind = kind;
            config.objective = objective;
            config.seed = 9;
            config.adam.eps = 1.0;
            let mut model =
                GaeModel::new(&gpu, &config, g.num_nodes, &g.edges, Some(&g.features)).unwrap();
            let start = model.weights().unwrap();
            let mut twin = gpu_vgae::cpu::CpuModel::new(
                &config,
                g.num_nodes,
                &g.edges,
                Some(&g.features),
                &start,
            )
            .unwrap();
            for _ in 0..3 {
                model.train_epoch().unwrap();
                twin.train_epoch().unwrap();
            }
            let (gpu_w, cpu_w) = (model.weights().unwrap(), twin.weights().clone());
            assert_ne!(gpu_w, start, "{kind} {objective}: weights did not move");
            for (name, a, e) in [("W0", &gpu_w.w0, &cpu_w.w0), ("W1", &gpu_w.w1, &cpu_w.w1)] {
                for (i, (&a, &e)) in a.iter().zip(e).enumerate() {
                    assert!(
                        (a - e).abs() <= 1e-6 + 1e-4 * e.abs(),
                        "{kind} {objective} {name}[{i}]: GPU {a} vs CPU {e}"
                    );
                }
            }
        }
    }
}

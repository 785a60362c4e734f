//! End-to-end training on the embedded synthetic graph: every model and objective learns
//! (test AUC well above chance), a seed reproduces a run exactly, weights survive a
//! save/load round trip, the scores and the report are what they claim to be (recomputed
//! on the host), the model sees only the training edges, the GPU engine equals the CPU
//! reference epoch for epoch, memory sharing does not change a bit, and a schedule of
//! another model runs on both runners.

#[macro_use]
mod common;

use common::gpu;
use gpu_vgae::internal::cpu::sigmoid;
use gpu_vgae::internal::data::GraphView;
use gpu_vgae::internal::metrics::link_metrics;
use gpu_vgae::internal::model::{
    CpuModel, GaeModel, ModelConfig, ModelKind, ModelSetup, Objective, Weights,
};
use gpu_vgae::internal::synthetic::{generate, SyntheticGraph, SyntheticSpec};
use gpu_vgae::internal::train::{train, TrainOptions};
use gpu_vgae::Error;

fn small_graph() -> SyntheticGraph {
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

fn view(g: &SyntheticGraph) -> GraphView<'_> {
    GraphView::new(g.num_nodes, &g.edges, Some(&g.features)).unwrap()
}

fn options(kind: ModelKind, objective: Objective, seed: u64) -> TrainOptions {
    let mut options = TrainOptions::default();
    options.model.kind = kind;
    options.model.objective = objective;
    options.model.seed = seed;
    options.epochs = 100;
    options
}

gpu_test! {
    fn every_model_and_objective_learns_the_synthetic_graph() {
        let gpu = gpu();
        let g = small_graph();
        let mut results = Vec::new();
        for kind in [ModelKind::Vgae, ModelKind::Gae] {
            for objective in [Objective::Dense, Objective::Sampled, Objective::Subgraph] {
                for featureless in [false, true] {
                    let graph = if featureless { view(&g).without_features() } else { view(&g) };
                    let mut o = options(kind, objective, 1);
                    o.model.sample_nodes = 150;
                    let trained = train(&gpu, graph, &o, |_| {}).unwrap();
                    let test = trained.report.test.unwrap();
                    let name = format!("{kind} {objective} featureless={featureless}");
                    eprintln!("{name}: test AUC {:.3} AP {:.3}", test.auc, test.ap);
                    results.push((name, test));
                }
            }
        }
        // Every variant is reported above before any is judged. Chance is 0.5; every
        // variant reaches 0.86+ AUC and 0.84+ AP here.
        let failed: Vec<_> = results
            .iter()
            .filter(|(_, t)| !(t.auc > 0.82 && t.ap > 0.8))
            .collect();
        assert!(failed.is_empty(), "below the floor: {failed:?}");
    }
}

gpu_test! {
    fn the_same_seed_gives_the_same_numbers() {
        let gpu = gpu();
        let g = small_graph();
        for objective in [Objective::Dense, Objective::Sampled, Objective::Subgraph] {
            let mut o = options(ModelKind::Vgae, objective, 3);
            o.model.sample_nodes = 100;
            o.epochs = 20;
            let a = train(&gpu, view(&g), &o, |_| {}).unwrap();
            let b = train(&gpu, view(&g), &o, |_| {}).unwrap();
            assert_eq!(a.model.weights().unwrap(), b.model.weights().unwrap());
            assert_eq!(a.report.final_loss, b.report.final_loss);
            o.model.seed = 4;
            let c = train(&gpu, view(&g), &o, |_| {}).unwrap();
            assert_ne!(a.model.weights().unwrap(), c.model.weights().unwrap());
        }
    }
}

gpu_test! {
    /// The report's metrics are the metrics of σ(μ_i·μ_j) on the split's own held-out
    /// pairs, μ being the model's embeddings: recomputed here on the host from the
    /// embeddings and the split.
    fn scores_and_reported_metrics_are_recomputed_from_the_embeddings_and_the_split() {
        let gpu = gpu();
        let g = small_graph();
        for kind in [ModelKind::Vgae, ModelKind::Gae] {
            let mut o = options(kind, Objective::Dense, 6);
            o.epochs = 30;
            let trained = train(&gpu, view(&g), &o, |_| {}).unwrap();
            let mu = trained.model.embeddings().unwrap();
            let l = o.model.latent;
            let host_score = |&(i, j): &(u32, u32)| {
                let dot: f32 = (0..l)
                    .map(|k| mu[i as usize * l + k] * mu[j as usize * l + k])
                    .sum();
                sigmoid(dot)
            };
            let split = &trained.split;
            for (name, pos, neg, reported) in [
                ("val", &split.val_pos, &split.val_neg, trained.report.val.unwrap()),
                ("test", &split.test_pos, &split.test_neg, trained.report.test.unwrap()),
            ] {
                let pairs: Vec<(u32, u32)> = pos.iter().chain(neg.iter()).copied().collect();
                let gpu_scores = trained.model.score_pairs(&pairs).unwrap();
                let host: Vec<f32> = pairs.iter().map(host_score).collect();
                common::assert_close(&gpu_scores, &host, 1e-6, 1e-5, "scores vs σ(μ_i·μ_j)");
                assert!(gpu_scores.iter().all(|s| (0.0..=1.0).contains(s)));
                let (p, n) = host.split_at(pos.len());
                let recomputed = link_metrics(p, n).unwrap();
                assert!(
                    (recomputed.auc - reported.auc).abs() < 1e-4
                        && (recomputed.ap - reported.ap).abs() < 1e-4,
                    "{kind} {name}: reported {reported:?}, recomputed {recomputed:?}"
                );
            }
            assert_ne!(trained.report.val, trained.report.test);
        }
    }
}

gpu_test! {
    /// The encoder's Â is built from the training edges only: the trained model's μ equals
    /// the CPU reference's μ on the training graph, and differs from μ on all edges.
    fn the_model_sees_only_the_training_edges() {
        let gpu = gpu();
        let g = small_graph();
        let mut o = options(ModelKind::Vgae, Objective::Dense, 8);
        o.epochs = 5;
        let trained = train(&gpu, view(&g), &o, |_| {}).unwrap();
        let weights = trained.model.weights().unwrap();
        let mu = trained.model.embeddings().unwrap();
        let reference = |edges: &[(u32, u32)]| {
            let graph = GraphView::new(g.num_nodes, edges, Some(&g.features)).unwrap();
            let setup = ModelSetup::new(&o.model, graph, gpu.profile()).unwrap();
            CpuModel::from_setup(setup, &weights).unwrap().embeddings().unwrap()
        };
        common::assert_close(&mu, &reference(&trained.split.train), 1e-5, 1e-4, "μ on train edges");
        let all = reference(&g.edges);
        let differs = mu.iter().zip(&all).filter(|(a, b)| (*a - *b).abs() > 1e-4).count();
        assert!(differs > mu.len() / 10, "μ does not depend on the held-out edges? {differs}");
    }
}

gpu_test! {
    fn weights_round_trip_through_json_and_embed_the_graph_again() {
        let gpu = gpu();
        let g = small_graph();
        let mut o = options(ModelKind::Vgae, Objective::Dense, 5);
        o.epochs = 10;
        let trained = train(&gpu, view(&g), &o, |_| {}).unwrap();
        let weights = trained.model.weights().unwrap();
        let json = serde_json::to_string(&weights).unwrap();
        let loaded: Weights = serde_json::from_str(&json).unwrap();
        assert_eq!(loaded, weights);
        let train_graph = GraphView::new(g.num_nodes, &trained.split.train, Some(&g.features)).unwrap();
        let again = GaeModel::with_weights(&gpu, &o.model, train_graph, &loaded).unwrap();
        assert_eq!(again.embeddings().unwrap(), trained.model.embeddings().unwrap());
        let pairs = [(0, 1), (5, 9), (399, 0)];
        assert_eq!(
            again.score_pairs(&pairs).unwrap(),
            trained.model.score_pairs(&pairs).unwrap()
        );
        // Mismatched weights are refused with a message, not a panic.
        let mut other = ModelConfig::default();
        other.latent = 8;
        assert!(GaeModel::with_weights(&gpu, &other, train_graph, &loaded).is_err());
    }
}

gpu_test! {
    fn degenerate_graphs_are_errors_not_panics() {
        let gpu = gpu();
        let config = ModelConfig::default();
        // One node, no edges: the dense objective has no positive pair, the sampled one
        // no training edge, and training cannot split.
        let one = GraphView::new(1, &[], None).unwrap();
        assert!(GaeModel::new(&gpu, &config, one).is_err());
        let mut sampled = ModelConfig::default();
        sampled.objective = Objective::Sampled;
        assert!(GaeModel::new(&gpu, &sampled, one).is_err());
        assert!(train(&gpu, one, &TrainOptions::default(), |_| {}).is_err());
    }
}

#[test]
fn config_errors_need_no_device() {
    let mut o = TrainOptions::default();
    o.model.latent = 65;
    assert!(matches!(
        o.validate(),
        Err(Error::InvalidConfig {
            setting: "latent",
            ..
        })
    ));
    o.model.latent = 16;
    o.model.adam.lr = f32::NAN;
    assert!(matches!(
        o.validate(),
        Err(Error::InvalidConfig { setting: "lr", .. })
    ));
    o.model.adam.lr = 0.01;
    o.epochs = 0;
    assert!(matches!(
        o.validate(),
        Err(Error::InvalidConfig {
            setting: "epochs",
            ..
        })
    ));
    o.epochs = 1;
    o.model.hidden = 0;
    assert!(matches!(
        o.validate(),
        Err(Error::InvalidConfig {
            setting: "hidden",
            ..
        })
    ));
}

/// DESIGN.md §1: hidden 32, latent 16, Adam lr 0.01, β1 0.9, β2 0.999, ε 1e-8, 200
/// epochs, Glorot uniform ±sqrt(6 / (fan_in + fan_out)) with Wμ and Wσ drawn
/// separately, VGAE with the dense objective.
#[test]
fn defaults_are_the_papers() {
    let o = TrainOptions::default();
    let m = &o.model;
    assert_eq!((m.hidden, m.latent, o.epochs), (32, 16, 200));
    assert_eq!((m.kind, m.objective), (ModelKind::Vgae, Objective::Dense));
    assert_eq!(
        (m.adam.lr, m.adam.beta1, m.adam.beta2, m.adam.eps),
        (0.01, 0.9, 0.999, 1e-8)
    );
    assert_eq!((o.val_fraction, o.test_fraction), (0.05, 0.10));
    // Glorot: every weight within the bound, and the largest close to it (a √(3/…)
    // bound would stay below 71 % of it).
    let w = Weights::glorot(m, 3703);
    for (name, values, fan_in, fan_out) in
        [("W0", &w.w0, 3703usize, 32usize), ("W1", &w.w1, 32, 16)]
    {
        let bound = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
        let max = values.iter().fold(0f32, |a, v| a.max(v.abs()));
        assert!(max <= bound, "{name}: {max} beyond ±{bound}");
        assert!(
            max > 0.95 * bound,
            "{name}: largest |w| {max} far below ±{bound}"
        );
        let mean = values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64;
        assert!(mean.abs() < 0.05 * bound as f64, "{name}: mean {mean}");
    }
    // Wμ and Wσ are separate draws: the two halves of every row of W1 differ.
    assert_ne!(&w.w1[..16], &w.w1[16..32]);
}

gpu_test! {
    /// The GPU engine against the CPU reference running the same schedule, epoch after
    /// epoch. Adam's eps is 1 so that an update is about lr·gradient: with the default
    /// 1e-8 the first step is lr·sign(gradient), and a gradient that is zero up to
    /// rounding could flip sign.
    fn gpu_epochs_match_the_cpu_reference_epochs() {
        let gpu = gpu();
        let mut spec = SyntheticSpec::default();
        spec.nodes = 150;
        spec.features = 40;
        spec.features_per_node = 5;
        let g = generate(&spec).unwrap();
        for kind in [ModelKind::Vgae, ModelKind::Gae] {
            for objective in [Objective::Dense, Objective::Sampled, Objective::Subgraph] {
                let mut config = ModelConfig::default();
                config.kind = kind;
                config.objective = objective;
                config.seed = 9;
                config.sample_nodes = 60;
                config.adam.eps = 1.0;
                let start = Weights::glorot(&config, spec.features);
                let setup = ModelSetup::new(&config, view(&g), gpu.profile()).unwrap();
                let mut model = GaeModel::from_setup(&gpu, setup, &start, true).unwrap();
                let setup = ModelSetup::new(&config, view(&g), gpu.profile()).unwrap();
                let mut twin = CpuModel::from_setup(setup, &start).unwrap();
                for _ in 0..3 {
                    model.train_epoch().unwrap();
                    twin.train_epoch().unwrap();
                }
                let (gpu_w, cpu_w) = (model.weights().unwrap(), twin.weights());
                assert_ne!(gpu_w, start, "{kind} {objective}: weights did not move");
                for (name, a, e) in [("W0", &gpu_w.w0, &cpu_w.w0), ("W1", &gpu_w.w1, &cpu_w.w1)] {
                    common::assert_close(a, e, 1e-6, 1e-4, &format!("{kind} {objective} {name}"));
                }
            }
        }
        // The class-conditional prior, with the labels of 30 nodes as training labels.
        let mut labels = vec![-1; g.num_nodes];
        labels[..30].copy_from_slice(&g.labels[..30]);
        let graph = view(&g).with_train_labels(&labels).unwrap();
        let mut config = ModelConfig::default();
        config.conditional = true;
        config.adam.eps = 1.0;
        let start = Weights::glorot(&config, spec.features);
        let setup = ModelSetup::new(&config, graph, gpu.profile()).unwrap();
        let mut model = GaeModel::from_setup(&gpu, setup, &start, true).unwrap();
        let setup = ModelSetup::new(&config, graph, gpu.profile()).unwrap();
        let mut twin = CpuModel::from_setup(setup, &start).unwrap();
        for _ in 0..3 {
            model.train_epoch().unwrap();
            twin.train_epoch().unwrap();
        }
        let (gpu_w, cpu_w) = (model.weights().unwrap(), twin.weights());
        let (gpu_m, cpu_m) = (gpu_w.class_means.unwrap(), cpu_w.class_means.unwrap());
        assert!(gpu_m.iter().any(|&m| m != 0.0), "class means did not move");
        common::assert_close(&gpu_m, &cpu_m, 1e-6, 1e-4, "conditional class means");
        common::assert_close(&gpu_w.w1, &cpu_w.w1, 1e-6, 1e-4, "conditional W1");
    }
}

gpu_test! {
    fn the_conditional_prior_needs_training_labels_and_the_vgae() {
        let gpu = gpu();
        let g = small_graph();
        let mut config = ModelConfig::default();
        config.conditional = true;
        let err = GaeModel::new(&gpu, &config, view(&g)).err().unwrap();
        assert!(err.to_string().contains("training labels"), "{err}");
        let none = vec![-1; g.num_nodes];
        let graph = view(&g).with_train_labels(&none).unwrap();
        let err = GaeModel::new(&gpu, &config, graph).err().unwrap();
        assert!(err.to_string().contains("no node has"), "{err}");
        config.kind = ModelKind::Gae;
        assert!(matches!(
            config.validate(),
            Err(Error::InvalidConfig { setting: "conditional", .. })
        ));
    }
}

gpu_test! {
    /// Buffers shared by tensors with disjoint lifetimes (the memory plan) change no
    /// bit of the result, and save memory.
    fn memory_sharing_changes_no_bit() {
        let gpu = gpu();
        let g = small_graph();
        for kind in [ModelKind::Vgae, ModelKind::Gae] {
            for objective in [Objective::Dense, Objective::Sampled, Objective::Subgraph] {
                let mut config = ModelConfig::default();
                config.kind = kind;
                config.objective = objective;
                config.sample_nodes = 100;
                let start = Weights::glorot(&config, 120);
                let mut runs = Vec::new();
                for share in [true, false] {
                    let setup = ModelSetup::new(&config, view(&g), gpu.profile()).unwrap();
                    let mut model = GaeModel::from_setup(&gpu, setup, &start, share).unwrap();
                    for _ in 0..4 {
                        model.train_epoch().unwrap();
                    }
                    let bytes = model.memory_plan().total_bytes();
                    runs.push((model.weights().unwrap(), model.loss().unwrap(), bytes));
                }
                assert_eq!(runs[0].0, runs[1].0, "{kind} {objective}: weights differ");
                assert_eq!(runs[0].1, runs[1].1, "{kind} {objective}: losses differ");
                assert!(runs[0].2 < runs[1].2, "{kind} {objective}: sharing saved nothing");
            }
        }
    }
}

gpu_test! {
    /// Embeddings::cluster: k from the labels or given, refused when 0, above N or
    /// above the distinct embeddings; metrics against the labels and over the nodes
    /// whose labels training did not see, and the silhouette without labels.
    fn clustering_takes_its_k_and_reports_what_the_labels_allow() {
        use gpu_vgae::{ClusterOptions, Embeddings};
        let gpu = gpu();
        let points = Embeddings {
            rows: 4,
            cols: 2,
            values: vec![0.0, 0.0, 0.1, 0.0, 5.0, 5.0, 5.1, 5.0],
        };
        let k = |k: usize| ClusterOptions::default().with_k(k);
        assert!(matches!(
            points.cluster(&gpu, None, None, &ClusterOptions::default()),
            Err(Error::InvalidConfig { setting: "clusters", .. })
        ));
        assert!(points.cluster(&gpu, None, None, &k(0)).is_err());
        assert!(points.cluster(&gpu, None, None, &k(5)).is_err());
        let twice = Embeddings {
            rows: 4,
            cols: 1,
            values: vec![1.0, 1.0, 2.0, -0.0],
        };
        let err = twice.cluster(&gpu, None, None, &k(4)).unwrap_err().to_string();
        assert!(err.contains("only 3 distinct embeddings"), "{err}");
        let report = points.cluster(&gpu, None, None, &k(2)).unwrap();
        assert_eq!(report.assignment[0], report.assignment[1]);
        assert_ne!(report.assignment[0], report.assignment[2]);
        assert!(report.silhouette.is_some_and(|s| s > 0.9));
        let labels = [0, 0, 1, 1];
        let train = [0, -1, -1, -1];
        let report = points
            .cluster(&gpu, Some(&labels), Some(&train), &ClusterOptions::default())
            .unwrap();
        assert_eq!(report.k, 2);
        assert_eq!(report.all_labelled.unwrap().acc, 1.0);
        assert_eq!(report.unseen_labels.unwrap().labelled, 3);
        assert!(report.silhouette.is_none());
    }
}

gpu_test! {
    /// Tensors past one storage binding (gpu/windows.rs): with the binding limit forced
    /// down to 32 KiB, every whole-graph tensor of the subgraph and sampled objectives
    /// (features, hidden and latent layers, W0 and its moments when featureless) is
    /// split into windows, and training gives the same bits as with whole buffers.
    fn windowed_tensors_train_to_the_same_bits() {
        let gpu = gpu();
        let small = gpu.with_binding_limit(32 * 1024);
        let g = small_graph();
        // 1,500 nodes without features at mean degree 6: the sampled objective's z
        // (96 KB) and Â's entries (about 9,000: 36 KB) exceed the binding too.
        let mut spec = SyntheticSpec::default();
        spec.nodes = 1_500;
        spec.mean_degree = 6.0;
        spec.features = 0;
        let large = generate(&spec).unwrap();
        for (g, kind, featureless, objective, conditional) in [
            (&g, ModelKind::Vgae, true, Objective::Subgraph, false),
            (&g, ModelKind::Gae, false, Objective::Subgraph, false),
            (&g, ModelKind::Vgae, false, Objective::Subgraph, false),
            (&g, ModelKind::Vgae, true, Objective::Sampled, false),
            (&large, ModelKind::Vgae, true, Objective::Sampled, false),
            (&large, ModelKind::Vgae, true, Objective::Subgraph, true),
        ] {
            let graph = if featureless { view(g).without_features() } else { view(g) };
            // The class-conditional prior with every fifth node's label.
            let train_labels: Vec<i32> = g
                .labels
                .iter()
                .enumerate()
                .map(|(i, &y)| if i % 5 == 0 { y } else { -1 })
                .collect();
            let graph = if conditional { graph.with_train_labels(&train_labels).unwrap() } else { graph };
            let mut config = ModelConfig::default();
            config.kind = kind;
            config.objective = objective;
            config.conditional = conditional;
            // The decoder's own tensors (n rows) stay within one binding.
            config.sample_nodes = 10;
            config.seed = 5;
            let width = if featureless { g.num_nodes } else { g.features.cols() };
            let start = Weights::glorot(&config, width);
            let n = g.num_nodes as u32;
            let pairs: Vec<(u32, u32)> = (0..300u32).map(|p| (p % n, (p * 17 + 3) % n)).collect();
            let mut outcomes = Vec::new();
            for device in [&gpu, &small] {
                let setup = ModelSetup::new(&config, graph, device.profile()).unwrap();
                let steps = setup.schedule.steps().len();
                let mut model = GaeModel::from_setup(device, setup, &start, true).unwrap();
                for _ in 0..3 {
                    model.train_epoch().unwrap();
                }
                outcomes.push((
                    model.dispatches_per_epoch() - steps,
                    model.weights().unwrap(),
                    model.embeddings().unwrap(),
                    model.score_pairs(&pairs).unwrap(),
                ));
            }
            let name = format!(
                "N={} {kind} {objective} featureless={featureless} conditional={conditional}",
                g.num_nodes
            );
            let (whole, windowed) = (&outcomes[0], &outcomes[1]);
            assert_eq!(whole.0, 0, "{name}: whole buffers need no extra dispatches");
            assert!(windowed.0 > 0, "{name}: nothing was windowed under 32 KiB");
            assert!(whole.1 == windowed.1, "{name}: weights differ");
            assert!(whole.2 == windowed.2, "{name}: embeddings differ");
            assert!(whole.3 == windowed.3, "{name}: scores differ");
        }
    }
}

gpu_test! {
    /// A schedule that is no VGAE, built from the op set on the generic Builder (relu(X·W)·V,
    /// 150 of its rows picked by a u32 index, their column sums in two reduce_sum levels),
    /// runs on the device runner as on the host one, with no code of its own.
    fn a_schedule_of_another_model_runs_on_both_runners() {
        use gpu_vgae::internal::kernels::gather_rows::GatherRowsStep;
        use gpu_vgae::internal::kernels::matmul::MatmulStep;
        use gpu_vgae::internal::kernels::spmm::SpmmStep;
        use gpu_vgae::internal::model::schedule::{Builder, Elem, Phase, Role};
        use gpu_vgae::internal::model::{DeviceTensors, HostTensors};
        let gpu = gpu();
        let g = small_graph();
        let (n, f, picks) = (g.num_nodes, g.features.cols(), 150);
        let mut b = Builder::default();
        let x = b.sparse("x", n, f, g.features.nnz());
        let w = b.f32("w", f, 8, Role::Parameter);
        let h = b.scratch("h", n, 8);
        b.push(SpmmStep { a: x, b: w, relu: true, out: h });
        let v = b.f32("v", 8, 3, Role::Parameter);
        let y = b.scratch("y", n, 3);
        b.push(MatmulStep { a: h, b: v, transpose_b: false, mask: None, out: y });
        let rows = b.tensor("rows", Elem::U32, 1, picks, Role::Input);
        let picked = b.scratch("picked", picks, 3);
        b.push(GatherRowsStep { src: y, index: rows, out: picked });
        b.set_phase(Phase::LossAndGrads);
        let sum = b.f32("sum", 1, 3, Role::Output);
        b.column_sums(picked, sum);
        let schedule = b.finish();
        assert_eq!(schedule.steps().len(), 5, "two reduce_sum levels for 150 rows");
        let mut rng = common::rng(3);
        let (w_values, v_values) = (common::random_vec(&mut rng, f * 8, 1.0), common::random_vec(&mut rng, 24, 1.0));
        let picks: Vec<u32> = (0..picks as u32).map(|i| i * 7 % n as u32).collect();

        let device = DeviceTensors::new(&gpu, schedule.clone(), &[&g.features], true).unwrap();
        device.array::<f32>(w).unwrap().write(&gpu, &w_values).unwrap();
        device.array::<f32>(v).unwrap().write(&gpu, &v_values).unwrap();
        device.array::<u32>(rows).unwrap().write(&gpu, &picks).unwrap();
        let recordings: Vec<_> = Phase::ALL.iter().map(|&p| device.record_phase(p).unwrap()).collect();
        gpu.submit_all(&recordings.iter().collect::<Vec<_>>()).unwrap();
        let on_device = gpu.read(&device.array::<f32>(sum).unwrap()).unwrap();

        let mut host = HostTensors::new(schedule, vec![g.features.clone()]).unwrap();
        host.write_f32(w, w_values).unwrap();
        host.write_f32(v, v_values).unwrap();
        host.write_u32(rows, picks).unwrap();
        host.run_phases(&Phase::ALL).unwrap();
        let on_host = host.f32(sum).unwrap();
        assert!(on_host.iter().any(|&s| s.abs() > 1.0), "trivial sums {on_host:?}");
        common::assert_close(&on_device, on_host, 1e-4, 1e-5, "column sums");
    }
}

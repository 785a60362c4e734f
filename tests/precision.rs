//! Models of `Precision::F16` (Z and μ for scoring stored in f16 for the decoders, the
//! pair scores and the top-k search; everything else f32): the GPU engine equals the CPU
//! reference running the same schedule, an f16 epoch is the f32 epoch within the
//! rounding of Z (stated below), f16 training learns as f32 training does, windows of
//! f16 tensors change no bit, and a device without `SHADER_F16` refuses to train an
//! f16 model, saying so, before training (and ranks and scores as the model does).

#[macro_use]
mod common;

use common::gpu;
use gpu_vgae::internal::data::GraphView;
use gpu_vgae::internal::gpu::Gpu;
use gpu_vgae::internal::model::{
    CpuModel, GaeModel, ModelConfig, ModelKind, ModelSetup, Objective, Precision, Weights,
};
use gpu_vgae::internal::synthetic::{generate, SyntheticGraph, SyntheticSpec};
use gpu_vgae::internal::train::{train, TrainOptions};
use gpu_vgae::Error;

const KINDS: [ModelKind; 2] = [ModelKind::Vgae, ModelKind::Gae];
const OBJECTIVES: [Objective; 3] = [Objective::Dense, Objective::Sampled, Objective::Subgraph];

fn graph(nodes: usize) -> SyntheticGraph {
    let mut spec = SyntheticSpec::default();
    spec.nodes = nodes;
    spec.mean_degree = 5.0;
    spec.features = 60;
    spec.features_per_node = 6;
    spec.within_fraction = 0.95;
    generate(&spec).unwrap()
}

fn view(g: &SyntheticGraph) -> GraphView<'_> {
    GraphView::new(g.num_nodes, &g.edges, Some(&g.features)).unwrap()
}

fn config(kind: ModelKind, objective: Objective, precision: Precision) -> ModelConfig {
    let mut config = ModelConfig::default();
    config.kind = kind;
    config.objective = objective;
    config.precision = precision;
    config.seed = 9;
    config.sample_nodes = 60;
    config
}

gpu_test! {
    /// As tests/training.rs checks f32: three epochs on the GPU and on the CPU twins
    /// (which round Z with `half` as the shaders do), Adam's eps 1 so that updates are
    /// about lr·gradient.
    fn f16_gpu_epochs_match_the_cpu_reference_epochs() {
        let gpu = gpu();
        let g = graph(150);
        for kind in KINDS {
            for objective in OBJECTIVES {
                let mut config = config(kind, objective, Precision::F16);
                config.adam.eps = 1.0;
                let start = Weights::glorot(&config, g.features.cols());
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
                    common::assert_close(a, e, 1e-6, 1e-4, &format!("f16 {kind} {objective} {name}"));
                }
            }
        }
    }
}

/// ‖a − b‖ / ‖b‖ over all values.
fn relative_distance(a: &[f32], b: &[f32]) -> f64 {
    let diff: f64 = a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum();
    let norm: f64 = b.iter().map(|y| f64::from(*y).powi(2)).sum();
    (diff / norm).sqrt()
}

gpu_test! {
    /// One forward and backward pass at the same weights and noise, f16 against f32:
    /// storing Z in f16 moves each value by at most 2^-11 of itself, so the loss moves
    /// by about that relative amount and the gradients a little more (each is a sum of
    /// σ(z_i·z_j)·z_j terms, both factors rounded). Stated tolerance: the loss within
    /// 2e-4 relative, dW0 and dW1 within 2e-3 relative (L2); measured on lavapipe: loss
    /// ≤ 3.4e-5, gradients ≤ 2.3e-4 (the subgraph objective's, whose sample is
    /// smallest).
    fn an_f16_epoch_is_the_f32_epoch_within_the_rounding_of_z() {
        let gpu = gpu();
        let g = graph(400);
        for kind in KINDS {
            for objective in OBJECTIVES {
                let mut passes = Vec::new();
                for precision in [Precision::F32, Precision::F16] {
                    let config = config(kind, objective, precision);
                    let start = Weights::glorot(&config, g.features.cols());
                    let mut model = GaeModel::with_weights(&gpu, &config, view(&g), &start).unwrap();
                    model.forward_backward(0).unwrap();
                    passes.push((model.loss().unwrap(), model.gradients().unwrap()));
                }
                let ((loss32, grad32), (loss16, grad16)) = (&passes[0], &passes[1]);
                let name = format!("{kind} {objective}");
                let loss_error = ((loss16.total - loss32.total) / loss32.total).abs();
                let (dw0, dw1) = (
                    relative_distance(&grad16.w0, &grad32.w0),
                    relative_distance(&grad16.w1, &grad32.w1),
                );
                eprintln!("{name}: loss {loss_error:.2e}, dW0 {dw0:.2e}, dW1 {dw1:.2e} relative");
                assert!(loss_error <= 2e-4, "{name}: loss {} vs {}", loss16.total, loss32.total);
                assert!(dw0 <= 2e-3 && dw1 <= 2e-3, "{name}: gradients {dw0:e} {dw1:e} apart");
                assert!(loss16.total != loss32.total || dw0 > 0.0, "{name}: f16 changed nothing");
            }
        }
    }
}

gpu_test! {
    /// Training in f16 reaches what f32 training reaches: test AUC and AP within 0.005
    /// of f32's for every objective (the same seed, split and noise; measured on
    /// lavapipe: within 1e-4).
    fn f16_training_learns_as_f32_training_does() {
        let gpu = gpu();
        let g = graph(400);
        for objective in OBJECTIVES {
            let mut metrics = Vec::new();
            for precision in [Precision::F32, Precision::F16] {
                let mut options = TrainOptions::default();
                options.model = config(ModelKind::Vgae, objective, precision);
                options.model.sample_nodes = 150;
                options.epochs = 100;
                let trained = train(&gpu, view(&g), &options, |_| {}).unwrap();
                metrics.push(trained.report.test.unwrap());
            }
            let (f32m, f16m) = (metrics[0], metrics[1]);
            eprintln!(
                "{objective}: f32 AUC {:.4} AP {:.4}, f16 AUC {:.4} AP {:.4}",
                f32m.auc, f32m.ap, f16m.auc, f16m.ap
            );
            assert!(f32m.auc > 0.8, "{objective}: f32 did not learn");
            assert!((f16m.auc - f32m.auc).abs() <= 0.005, "{objective}: AUC {f16m:?} vs {f32m:?}");
            assert!((f16m.ap - f32m.ap).abs() <= 0.005, "{objective}: AP {f16m:?} vs {f32m:?}");
        }
    }
}

gpu_test! {
    /// With the binding limit at 32 KiB, f16 Z (1,500 × 16 values: 48 KB) and the
    /// whole-graph tensors are windowed, and training gives the same bits.
    fn windowed_f16_tensors_train_to_the_same_bits() {
        let gpu = gpu();
        let small = gpu.with_binding_limit(32 * 1024);
        let mut spec = SyntheticSpec::default();
        spec.nodes = 1_500;
        spec.mean_degree = 6.0;
        spec.features = 0;
        let g = generate(&spec).unwrap();
        let graph = GraphView::new(g.num_nodes, &g.edges, None).unwrap();
        for (kind, objective) in [
            (ModelKind::Vgae, Objective::Sampled),
            (ModelKind::Gae, Objective::Sampled),
            (ModelKind::Vgae, Objective::Subgraph),
        ] {
            let mut config = config(kind, objective, Precision::F16);
            config.sample_nodes = 10;
            let start = Weights::glorot(&config, g.num_nodes);
            let pairs: Vec<(u32, u32)> = (0..300u32).map(|p| (p % 1500, (p * 17 + 3) % 1500)).collect();
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
                    model.score_pairs(&pairs).unwrap(),
                ));
            }
            let name = format!("{kind} {objective}");
            assert!(outcomes[1].0 > outcomes[0].0, "{name}: nothing was windowed");
            assert!(outcomes[0].1 == outcomes[1].1, "{name}: weights differ");
            assert!(outcomes[0].2 == outcomes[1].2, "{name}: scores differ");
        }
    }
}

/// A device on the shared device's adapter created without any optional feature: no
/// `SHADER_F16`.
fn device_without_f16() -> Gpu {
    let shared = gpu();
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
    let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
    let adapter = adapters
        .into_iter()
        .find(|a| a.get_info().name == shared.report().name)
        .expect("the shared device's adapter is listed");
    let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("test.device_without_f16"),
        required_limits: wgpu::Limits {
            max_storage_buffers_per_shader_stage: 9,
            ..wgpu::Limits::downlevel_defaults()
        },
        ..Default::default()
    }))
    .unwrap();
    Gpu::from_device(device, queue, &adapter.get_info()).unwrap()
}

gpu_test! {
    fn a_device_without_shader_f16_refuses_an_f16_model_before_training() {
        let gpu = device_without_f16();
        assert!(!gpu.profile().features.shader_f16);
        let g = graph(100);
        let adapter = gpu.report().name.clone();
        let refused = |result: Result<(), Error>, what: &str| match result {
            Err(Error::InvalidConfig { setting: "precision", message }) => {
                assert!(message.contains(&adapter) && message.contains("SHADER_F16"), "{what}: {message}");
            }
            other => panic!("{what}: expected the precision refused, got {other:?}"),
        };
        let f16 = config(ModelKind::Vgae, Objective::Dense, Precision::F16);
        refused(GaeModel::new(&gpu, &f16, view(&g)).map(|_| ()), "GaeModel::new");
        let mut options = TrainOptions::default();
        options.model = f16.clone();
        options.epochs = 1;
        let mut epochs = 0;
        refused(train(&gpu, view(&g), &options, |_| epochs += 1).map(|_| ()), "train");
        assert_eq!(epochs, 0, "an epoch ran");
        // The same model in f32 trains there, and an f16 model's encoder embeds (in f32).
        options.model.precision = Precision::F32;
        let trained = train(&gpu, view(&g), &options, |_| {}).unwrap();
        let weights = trained.model.weights().unwrap();
        let embed = |config: &ModelConfig| {
            GaeModel::encoder(&gpu, config, view(&g), &weights).unwrap().embeddings().unwrap()
        };
        assert!(embed(&f16) == embed(&options.model), "the f16 model's encoder embeds otherwise");
        // Ranking and scoring as an f16 model does run there too (the f32 kernels on
        // μ rounded to f16), with the f16 kernels' answer.
        use gpu_vgae::internal::predict::{score_links_as, top_k_links_with, Exclusion, TopKMode, TopKOptions};
        let mu = embed(&f16);
        let (n, l) = (g.num_nodes, f16.latent);
        let exclude = Exclusion::new(n, &g.edges).unwrap();
        let pairs: Vec<(u32, u32)> = (0..50).map(|p| (p, (p * 7 + 1) % n as u32)).collect();
        let shared = common::gpu();
        for mode in [TopKMode::Global, TopKMode::PerNode] {
            let search = TopKOptions::new(20, mode).with_precision(Precision::F16);
            let here = top_k_links_with(&gpu, &mu, n, l, &exclude, &search).unwrap();
            let there = top_k_links_with(&shared, &mu, n, l, &exclude, &search).unwrap();
            assert_eq!(here.links, there.links, "{mode:?}");
        }
        assert_eq!(
            score_links_as(&gpu, &mu, n, l, &pairs, Precision::F16).unwrap(),
            score_links_as(&shared, &mu, n, l, &pairs, Precision::F16).unwrap()
        );
    }
}

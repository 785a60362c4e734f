//! DFCN on the engine: the whole model's gradient against finite differences on the
//! CPU twins, and the GPU schedule against the twins.
#[macro_use]
mod common;

use gpu_vgae::internal::cluster::{kmeans, KMeansConfig};
use gpu_vgae::internal::dfcn::{
    pretrain, train, train_from, DfcnConfig, DfcnInputs, DfcnModel, DfcnWeights, PretrainConfig,
    Stage,
};
use gpu_vgae::Error;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::ops::ControlFlow;

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
/// loss, in every stage (the AE's on a mini-batch of rows; DFCN's with P held fixed: it
/// carries no gradient), for a sample of entries of every tensor and column splits that
/// cut the N² terms' rows.
#[test]
fn the_whole_model_gradient_matches_finite_differences() {
    let (config, inputs, weights) = fixture();
    let batch: Vec<usize> = vec![0, 3, 4, 8, 11, 12];
    for (stage, splits) in [
        (Stage::Ae, 1),
        (Stage::Igae, 3),
        (Stage::Joint, 2),
        (Stage::Dfcn, 1),
        (Stage::Dfcn, 3),
    ] {
        let mut model = DfcnModel::on_host(&config, stage, &inputs, &weights, splits).unwrap();
        if stage == Stage::Ae {
            model.set_batch(&batch).unwrap();
        }
        let p = if stage == Stage::Dfcn {
            model.forward().unwrap();
            Some(model.target().unwrap())
        } else {
            None
        };
        let pass = |model: &mut DfcnModel| match &p {
            Some(p) => model.forward_backward_with_target(p).unwrap(),
            None => model.forward_backward().unwrap(),
        };
        pass(&mut model);
        let grads = model.gradients().unwrap();
        let mut rng = StdRng::seed_from_u64(11);
        let (mut nonzero, mut kinks, mut checked) = (0, 0, 0);
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
                    pass(&mut model);
                    model.loss().unwrap().total
                };
                let (up, here, down) = (loss_at(h), loss_at(0.0), loss_at(-h));
                let numeric = (up - down) / (2.0 * f64::from(h));
                let analytic = f64::from(grads.values[t][e]);
                let name = &weights.specs[t].name;
                checked += 1;
                let smooth =
                    (numeric - analytic).abs() <= 1e-2 * numeric.abs().max(analytic.abs()) + 1e-4;
                if !smooth {
                    // A LeakyReLU input within h of 0 bends the loss between the two
                    // sides: the gradient is then near one of the one-sided slopes (which
                    // differ from it by the curvature's h·f''/2). Counted, and rare.
                    let forward = (up - here) / f64::from(h);
                    let backward = (here - down) / f64::from(h);
                    let resolution = 1e-2 * analytic.abs() + 1e-4;
                    assert!(
                        analytic >= forward.min(backward) - resolution
                            && analytic <= forward.max(backward) + resolution,
                        "{stage:?}, splits {splits}: d loss / d {name}[{e}] = {analytic}, \
                         finite differences {numeric} (one-sided {forward}, {backward})"
                    );
                    kinks += 1;
                }
                if analytic.abs() > 1e-3 {
                    nonzero += 1;
                }
            }
        }
        // What each stage trains moves its loss: the AE's 16 tensors, the IGAE's 6, the
        // fused network's all but the centres.
        let least = match stage {
            Stage::Ae => 30,
            Stage::Igae => 10,
            Stage::Joint | Stage::Dfcn => 60,
        };
        assert!(
            nonzero >= least,
            "{stage:?}: {nonzero} gradients away from 0"
        );
        assert!(
            kinks * 10 <= checked,
            "{stage:?}: {kinks} kinks in {checked} entries"
        );
    }
}

/// The pretraining recipe runs its three stages and lowers each stage's loss.
/// Training from given centres equal to k-means' on the starting Z̃ is the default run,
/// record for record; other centres change the run; centres of the wrong shape are
/// refused.
#[test]
fn training_from_the_k_means_centres_is_the_default_run() {
    let (mut config, inputs, weights) = fixture();
    config.epochs = 3;
    let labels: Vec<i32> = (0..inputs.nodes)
        .map(|i| (i * 3 / inputs.nodes) as i32)
        .collect();
    let model = || DfcnModel::on_host(&config, Stage::Dfcn, &inputs, &weights, 1).unwrap();
    let default = train(
        &mut model(),
        Some(&labels),
        1,
        |_| ControlFlow::Continue(()),
    )
    .unwrap();

    let mut probe = model();
    probe.forward().unwrap();
    let mut kmeans_config = KMeansConfig::new(config.clusters).with_seed(config.seed);
    kmeans_config.n_init = config.kmeans_init;
    let z = probe.z_tilde().unwrap();
    let centres = kmeans(&z, inputs.nodes, config.latent, &kmeans_config)
        .unwrap()
        .centroids;
    let given = train_from(&mut model(), Some(&centres), Some(&labels), 1, |_| {
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(given.epochs, default.epochs);
    assert_eq!(given.embeddings, default.embeddings);
    assert!(given.epochs.iter().all(|r| r.metrics.is_some()));
    // Other centres give another target P, hence another KL from the first epoch.
    let moved: Vec<f32> = centres.iter().map(|c| c + 0.5).collect();
    let other = train_from(&mut model(), Some(&moved), Some(&labels), 1, |_| {
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_ne!(other.epochs[0].loss.kl, default.epochs[0].loss.kl);

    let short = &centres[..centres.len() - 1];
    let refused = train_from(&mut model(), Some(short), Some(&labels), 1, |_| {
        ControlFlow::Continue(())
    });
    assert!(matches!(
        refused,
        Err(Error::InvalidArgument {
            argument: "centers",
            ..
        })
    ));
}

/// The AE stage's gathered mini-batch (the schedule holds the batch's rows alone) gives
/// the losses, gradients and Adam steps of the full pass over every row with the rows
/// outside the batch weighted 0, for a full batch and for a short one (padding rows);
/// a batch larger than the schedule or with a repeated row is refused.
#[test]
fn a_gathered_ae_batch_equals_the_weighted_full_pass() {
    let (config, inputs, weights) = fixture();
    for batch in [vec![12usize, 3, 0, 8, 11, 4], vec![7, 13, 2, 5]] {
        let mut full = DfcnModel::on_host(&config, Stage::Ae, &inputs, &weights, 1).unwrap();
        let mut gathered = DfcnModel::ae_batches(None, &config, &inputs, &weights, 6).unwrap();
        for model in [&mut full, &mut gathered] {
            model.set_batch(&batch).unwrap();
        }
        for step in 0..3 {
            full.forward_backward().unwrap();
            gathered.forward_backward().unwrap();
            let (lf, lg) = (full.loss().unwrap(), gathered.loss().unwrap());
            assert!(
                (lf.features - lg.features).abs() <= 1e-6 * lf.features,
                "{batch:?} step {step}: loss {} full, {} gathered",
                lf.features,
                lg.features
            );
            let (gf, gg) = (full.gradients().unwrap(), gathered.gradients().unwrap());
            for ((spec, f), g) in gf.specs.iter().zip(&gf.values).zip(&gg.values) {
                let scale = f.iter().fold(0f32, |m, v| m.max(v.abs()));
                for (e, (a, b)) in f.iter().zip(g).enumerate() {
                    assert!(
                        (a - b).abs() <= 1e-5 * scale,
                        "{batch:?} step {step}: d {}[{e}] = {a} full, {b} gathered",
                        spec.name
                    );
                }
            }
            full.train_epoch().unwrap();
            gathered.train_epoch().unwrap();
        }
        let (wf, wg) = (full.weights().unwrap(), gathered.weights().unwrap());
        assert_ne!(wf, weights);
        for ((spec, f), g) in wf.specs.iter().zip(&wf.values).zip(&wg.values) {
            for (a, b) in f.iter().zip(g) {
                assert!(
                    (a - b).abs() <= 1e-6 * a.abs().max(1.0),
                    "{}: {a} vs {b}",
                    spec.name
                );
            }
        }
    }
    let mut gathered = DfcnModel::ae_batches(None, &config, &inputs, &weights, 4).unwrap();
    for bad in [vec![0usize, 1, 2, 3, 4], vec![1, 2, 1], vec![14]] {
        assert!(
            matches!(
                gathered.set_batch(&bad),
                Err(Error::InvalidArgument {
                    argument: "rows",
                    ..
                })
            ),
            "{bad:?}"
        );
    }
}

#[test]
fn pretraining_lowers_every_stage_loss() {
    // DFCN's own rate (1e-4) stays in `config`: the recipe's 1e-2 must be the one used
    // for the losses to fall this far in 8 epochs.
    let (config, inputs, _) = fixture();
    let recipe = PretrainConfig {
        ae_epochs: 8,
        ae_batch: 5,
        igae_epochs: 8,
        joint_epochs: 8,
        lr: 1e-2,
    };
    let mut seen: Vec<(Stage, usize, f64)> = Vec::new();
    let weights = pretrain(None, &config, &recipe, &inputs, 5, |stage, epoch, loss| {
        seen.push((stage, epoch, loss.total));
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(seen.len(), 24);
    for stage in [Stage::Igae, Stage::Joint] {
        let losses: Vec<f64> = seen.iter().filter(|s| s.0 == stage).map(|s| s.2).collect();
        assert!(losses[7] < losses[0], "{stage:?}: {losses:?}");
    }
    // The AE's losses are of single batches: compare the full-data loss before and after.
    let fresh = DfcnWeights::init(&config, inputs.features, 5);
    let full = |w: &DfcnWeights| {
        let mut m = DfcnModel::on_host(&config, Stage::Ae, &inputs, w, 1).unwrap();
        m.set_batch(&(0..inputs.nodes).collect::<Vec<_>>()).unwrap();
        m.forward_backward().unwrap();
        m.loss().unwrap().features
    };
    assert!(full(&weights) < 0.8 * full(&fresh));
    assert_eq!(weights.get("cluster_centers"), fresh.get("cluster_centers"));
}

gpu_test! {
    /// The schedule of every stage on the device (both tuning profiles) gives the twins'
    /// losses and gradients, and three epochs of training keep them together.
    fn the_device_schedule_matches_the_twins() {
        let (config, inputs, weights) = fixture();
        let stages = [Stage::Ae, Stage::Igae, Stage::Joint, Stage::Dfcn];
        let runs = common::gpu_profiles()
            .into_iter()
            .flat_map(|gpu| stages.map(|stage| (gpu.clone(), stage)));
        for (gpu, stage) in runs {
            let mut device = DfcnModel::new(&gpu, &config, stage, &inputs, &weights).unwrap();
            let splits = device.handles().layout.splits;
            let mut host = DfcnModel::on_host(&config, stage, &inputs, &weights, splits).unwrap();
            if stage == Stage::Ae {
                device.set_batch(&[1, 2, 5, 9, 13]).unwrap();
                host.set_batch(&[1, 2, 5, 9, 13]).unwrap();
            }
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
                    assert!((a - b).abs() <= 1e-5 * b.abs().max(1e-3), "{stage:?} epoch {epoch}: {what} loss {a} vs {b}");
                }
                let (gd, gh) = (device.gradients().unwrap(), host.gradients().unwrap());
                for ((spec, d), h) in gd.specs.iter().zip(&gd.values).zip(&gh.values) {
                    let scale = h.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
                    for (e, (a, b)) in d.iter().zip(h).enumerate() {
                        assert!(
                            (a - b).abs() <= 1e-4 * scale,
                            "{stage:?} epoch {epoch}: d {}[{e}] = {a} on the device, {b} on the twins",
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
                    assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "{stage:?} {}: {a} vs {b}", spec.name);
                }
            }
        }
    }
}

gpu_test! {
    /// The AE stage's gathered mini-batches on the device give the twins' losses and
    /// gradients, a short last batch included.
    fn gathered_ae_batches_on_the_device_match_the_twins() {
        let (config, inputs, weights) = fixture();
        for gpu in common::gpu_profiles() {
            let mut device = DfcnModel::ae_batches(Some(&gpu), &config, &inputs, &weights, 5).unwrap();
            let mut host = DfcnModel::ae_batches(None, &config, &inputs, &weights, 5).unwrap();
            for batch in [vec![9usize, 1, 13, 4, 0], vec![6, 2, 11]] {
                device.set_batch(&batch).unwrap();
                host.set_batch(&batch).unwrap();
                device.forward_backward().unwrap();
                host.forward_backward().unwrap();
                let (ld, lh) = (device.loss().unwrap().features, host.loss().unwrap().features);
                assert!((ld - lh).abs() <= 1e-5 * lh, "{batch:?}: loss {ld} vs {lh}");
                let (gd, gh) = (device.gradients().unwrap(), host.gradients().unwrap());
                for ((spec, d), h) in gd.specs.iter().zip(&gd.values).zip(&gh.values) {
                    let scale = h.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
                    for (e, (a, b)) in d.iter().zip(h).enumerate() {
                        assert!((a - b).abs() <= 1e-4 * scale, "{batch:?}: d {}[{e}] = {a} vs {b}", spec.name);
                    }
                }
                device.train_epoch().unwrap();
                host.train_epoch().unwrap();
            }
        }
    }
}

gpu_test! {
    /// `cluster_fit` with the `dfcn` method: PCA, pretraining, DFCN's epochs, k-means on
    /// Z̃, the outputs every method writes; the communities of a synthetic graph are
    /// found well above chance.
    fn the_dfcn_method_pretrains_trains_and_clusters() {
        let mut spec = gpu_vgae::SyntheticSpec::default();
        spec.nodes = 120;
        spec.communities = 3;
        spec.features = 60;
        let g = gpu_vgae::synthetic_graph(&spec).unwrap();
        let graph = gpu_vgae::Graph::from_edges(g.num_nodes, &g.edges, g.feature_matrix().cloned())
            .unwrap()
            .with_labels(g.labels.clone())
            .unwrap();
        let mut options = gpu_vgae::ClusterFitOptions::default();
        options.method = Some("dfcn".into());
        options.train.epochs = 5;
        let mut phases = Vec::new();
        let out = gpu_vgae::cluster_fit(&common::gpu(), &graph, &options, |e| {
            if let gpu_vgae::FitEvent::Phase { name, .. } = e {
                phases.push(name);
            }
        })
        .unwrap();
        assert_eq!(out.method, "dfcn");
        assert_eq!((out.embeddings.rows, out.embeddings.cols), (120, 20));
        assert!(out.embeddings.values.iter().all(|v| v.is_finite()));
        assert_eq!(phases[..3], ["pca", "pretrain", "train"]);
        assert_eq!(out.hyperparameters["dfcn"]["pca_components"], 60);
        let metrics = out.clustering.all_labelled.expect("the graph has labels");
        assert!(metrics.acc > 0.6, "ACC {}", metrics.acc);
    }
}

/// Every stage's schedule: each step writes something, no step writes an input, and
/// every scratch tensor is written before a step reads it (what the memory plan's
/// sharing of buffers relies on).
#[test]
fn every_stage_schedule_writes_its_scratch_before_reading_it() {
    use gpu_vgae::internal::model::schedule::{Role, ScheduleOp};
    let (config, inputs, weights) = fixture();
    for stage in [Stage::Ae, Stage::Igae, Stage::Joint, Stage::Dfcn] {
        let model = DfcnModel::on_host(&config, stage, &inputs, &weights, 2).unwrap();
        let schedule = model.schedule();
        let mut written = vec![false; schedule.tensors().len()];
        for (index, step) in schedule.steps().iter().enumerate() {
            let accesses = step.op.accesses(schedule);
            assert!(
                !accesses.writes.is_empty(),
                "{stage:?}: step {index} writes nothing"
            );
            for id in &accesses.reads {
                let t = schedule.tensor(*id);
                assert!(
                    t.role != Role::Scratch || written[id.index()],
                    "{stage:?}: step {index} ({}) reads {} before any step writes it",
                    step.op.kernel().name,
                    t.name
                );
            }
            for id in &accesses.writes {
                let t = schedule.tensor(*id);
                assert!(
                    !matches!(t.role, Role::Input | Role::EpochInput),
                    "{stage:?}: step {index} writes the input {}",
                    t.name
                );
                written[id.index()] = true;
            }
        }
    }
}

/// A progress callback's `Break` stops training and each pretraining stage with
/// `Error::Interrupted` after the epoch that asked (how `gpu-vgae cluster --method dfcn`
/// hears Ctrl-C).
#[test]
fn a_break_from_the_callback_stops_training_and_pretraining() {
    let (mut config, inputs, weights) = fixture();
    config.epochs = 5;
    let mut model = DfcnModel::on_host(&config, Stage::Dfcn, &inputs, &weights, 1).unwrap();
    let mut heard = 0;
    let result = train(&mut model, None, 0, |record| {
        heard += 1;
        if record.epoch == 2 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    assert!(
        matches!(result, Err(Error::Interrupted { .. })),
        "{result:?}"
    );
    assert_eq!(heard, 2, "no epoch runs after the break");

    for stop_stage in [Stage::Ae, Stage::Igae, Stage::Joint] {
        let recipe = PretrainConfig {
            ae_epochs: 2,
            ae_batch: 64,
            igae_epochs: 2,
            joint_epochs: 2,
            lr: config.adam.lr,
        };
        let mut last = None;
        let result = pretrain(None, &config, &recipe, &inputs, 5, |stage, epoch, _| {
            last = Some((stage, epoch));
            if stage == stop_stage {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert!(
            matches!(result, Err(Error::Interrupted { .. })),
            "{stop_stage:?}: {result:?}"
        );
        assert_eq!(last, Some((stop_stage, 1)));
    }
}

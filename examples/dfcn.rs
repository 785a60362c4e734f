//! DFCN (DESIGN.md §10a) on a Planetoid dataset, as the reference trains it: features
//! reduced by PCA to 100 columns, weights from a pretrained `.npz` (README.md, "DFCN":
//! how to convert the reference's shipped .pkl) or pretrained here (`--pretrain`: AE 30
//! epochs on mini-batches of 256, IGAE 30, joint 100), centres from k-means on Z̃, then
//! Adam epochs; prints every evaluated epoch's losses and k-means scores, and the last
//! epoch's.
//!
//!     cargo run --release --example dfcn -- (--weights cite_pretrain.npz | --pretrain) \
//!         [--dataset citeseer] [--seed 0] [--epochs 200] [--eval-every 1] [--json FILE]
//!
//! `--input FILE.npy` replaces our PCA by the given N × d float array (e.g. the
//! reference's scikit-learn PCA output), to tell the input's part in a gap from the
//! training's. `--centres FILE.npy` starts from the given K × L float centres (e.g. the
//! reference's scikit-learn k-means on its starting Z̃) instead of our k-means, to tell
//! the starting centres' part in a gap from the training's.
//!
//! `--pretrain-lr R` pretrains every stage at Adam's rate R instead of the recipe's
//! 1e-3 (`PretrainConfig::lr`; 1e-4 is DFCN's training rate, the default until
//! 2026-12-07).
//!
//! `--save-z DIR` writes the input (x.npy) and Z̃ before and after training
//! (z_start.npy, z_end.npy), float32, to compare starts from different pretrainings.
//!
//! `--profile E` times E DFCN epochs (after one untimed) dispatch by dispatch with GPU timestamps (no
//! centres' k-means, no clustering), prints each dispatch's mean time and exits.
//!
//! A scale run on a dataset without features (Pubmed as we have it): `--random 100`
//! draws 100 Gaussian feature columns and starts from a fresh initialisation (the
//! scores mean nothing; the time and memory do).
//!
//! Unlabelled nodes (Citeseer's 15 padded ones) count as class 0, as the reference's
//! label file writes them.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use gpu_vgae::internal::dfcn::pca::pca_scores;
use gpu_vgae::internal::dfcn::{
    pretrain, train_from, DfcnConfig, DfcnInputs, DfcnModel, DfcnWeights, PretrainConfig, Stage,
};
use gpu_vgae::{Error, Gpu, GraphSource};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

fn main() -> Result<(), Error> {
    let mut dataset = "citeseer".to_string();
    let mut weights_path: Option<PathBuf> = None;
    let mut seed = 0u64;
    let mut epochs = 200usize;
    let mut eval_every = 1usize;
    let mut json: Option<PathBuf> = None;
    let mut from_scratch = false;
    let mut random_features = 0usize;
    let mut input: Option<PathBuf> = None;
    let mut centres_path: Option<PathBuf> = None;
    let mut profile_epochs = 0usize;
    let mut save_z: Option<PathBuf> = None;
    let mut pretrain_lr: Option<f32> = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next().ok_or_else(|| Error::InvalidArgument {
                argument: "args",
                message: format!("{flag} needs a value"),
            })
        };
        let number = |v: String| {
            v.parse::<u64>().map_err(|_| Error::InvalidArgument {
                argument: "args",
                message: format!("{v} is not a count"),
            })
        };
        match flag.as_str() {
            "--dataset" => dataset = value()?,
            "--weights" => weights_path = Some(value()?.into()),
            "--seed" => seed = number(value()?)?,
            "--epochs" => epochs = number(value()?)? as usize,
            "--eval-every" => eval_every = number(value()?)? as usize,
            "--json" => json = Some(value()?.into()),
            "--save-z" => save_z = Some(value()?.into()),
            "--pretrain-lr" => {
                let v = value()?;
                pretrain_lr = Some(v.parse().map_err(|_| Error::InvalidArgument {
                    argument: "--pretrain-lr",
                    message: format!("{v} is not a number"),
                })?)
            }
            "--pretrain" => from_scratch = true,
            "--random" => random_features = number(value()?)? as usize,
            "--input" => input = Some(value()?.into()),
            "--centres" => centres_path = Some(value()?.into()),
            "--profile" => profile_epochs = number(value()?)? as usize,
            other => {
                return Err(Error::InvalidArgument {
                    argument: "args",
                    message: format!("unknown flag {other}"),
                })
            }
        }
    }
    if [weights_path.is_some(), from_scratch, random_features > 0]
        .iter()
        .filter(|&&b| b)
        .count()
        != 1
    {
        return Err(Error::InvalidArgument {
            argument: "--weights",
            message: "give one of --weights FILE.npz, --pretrain, --random D".into(),
        });
    }
    let start = Instant::now();
    let graph = GraphSource::dataset(&dataset).load()?;
    let features = graph.features.as_ref();
    let labels: Vec<i32> = graph
        .labels
        .clone()
        .unwrap_or_default()
        .into_iter()
        .map(|y| y.max(0))
        .collect();
    let clusters = labels.iter().copied().max().unwrap_or(0) as usize + 1;
    let x = match (features, random_features) {
        _ if input.is_some() => {
            let path = input.clone().unwrap_or_default();
            let array = gpu_vgae::internal::data::arrays::npy::read_npy(&path)?;
            match (array.matrix_shape(), array.to_f32()) {
                (Some((rows, _)), Some(values)) if rows == graph.num_nodes => values,
                _ => {
                    return Err(Error::Format {
                        path,
                        line: None,
                        message: format!("not a {}-row float matrix", graph.num_nodes),
                    })
                }
            }
        }
        (_, d) if d > 0 => {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..graph.num_nodes * d)
                .map(|_| StandardNormal.sample(&mut rng))
                .collect()
        }
        (Some(features), _) => pca_scores(features, 100, seed)?,
        (None, _) => {
            return Err(Error::InvalidArgument {
                argument: "--dataset",
                message: format!("{dataset} has no features (a scale run: --random 100)"),
            })
        }
    };
    let pca_s = start.elapsed().as_secs_f64();
    let mut config = DfcnConfig::new(clusters);
    config.epochs = epochs;
    config.seed = seed;
    let inputs = DfcnInputs::new(graph.num_nodes, &graph.edges, x)?;
    let centres = match &centres_path {
        Some(path) => {
            let array = gpu_vgae::internal::data::arrays::npy::read_npy(path)?;
            match (array.matrix_shape(), array.to_f32()) {
                (Some(shape), Some(values)) if shape == (clusters, config.latent) => Some(values),
                _ => {
                    return Err(Error::Format {
                        path: path.clone(),
                        line: None,
                        message: format!("not a {clusters} × {} float matrix", config.latent),
                    })
                }
            }
        }
        None => None,
    };
    let gpu = Gpu::from_env()?;
    let weights = match &weights_path {
        Some(path) => DfcnWeights::from_npz(path, &config, inputs.features)?,
        None if random_features > 0 => DfcnWeights::init(&config, inputs.features, seed),
        None => pretrain(
            Some(&gpu),
            &config,
            &PretrainConfig {
                lr: pretrain_lr.unwrap_or(PretrainConfig::default().lr),
                ..PretrainConfig::default()
            },
            &inputs,
            seed,
            |stage, epoch, loss| {
                if epoch % 10 == 0 {
                    println!(
                        "pretrain {stage:?} epoch {epoch:>3}: loss {:.5}",
                        loss.total
                    );
                }
                ControlFlow::Continue(())
            },
        )?,
    };
    let pretrain_s = start.elapsed().as_secs_f64() - pca_s;
    let mut model = DfcnModel::new(&gpu, &config, Stage::Dfcn, &inputs, &weights)?;
    let largest = model
        .schedule()
        .largest_tensor()
        .map(|(name, bytes)| format!("{name}, {:.1} MB", bytes as f64 / 1e6))
        .unwrap_or_default();
    println!(
        "N = {}, device buffers {:.1} MB (largest tensor: {largest}; N×N f32 would be {:.1} MB)",
        inputs.nodes,
        model.device_bytes().unwrap_or(0) as f64 / 1e6,
        (inputs.nodes as f64).powi(2) * 4.0 / 1e6
    );
    if profile_epochs > 0 {
        return profile(&mut model, profile_epochs);
    }
    if let Some(dir) = &save_z {
        save_rows(dir, "x.npy", &inputs.x, inputs.features)?;
        model.forward()?;
        save_rows(dir, "z_start.npy", &model.z_tilde()?, config.latent)?;
    }
    let run = train_from(
        &mut model,
        centres.as_deref(),
        Some(&labels),
        eval_every,
        |r| {
            if let Some(m) = r.metrics {
                println!(
                "epoch {:>3}: loss {:.5} (x {:.5} ax {:.5} adj {:.5} kl {:.5})  ACC {:.2} NMI {:.2} ARI {:.2} F1 {:.2}",
                r.epoch,
                r.loss.total,
                r.loss.features,
                r.loss.propagated,
                r.loss.adjacency,
                r.loss.kl,
                100.0 * m.acc,
                100.0 * m.nmi,
                100.0 * m.ari,
                100.0 * m.f1
            );
            }
            ControlFlow::Continue(())
        },
    )?;
    if let Some(dir) = &save_z {
        save_rows(dir, "z_end.npy", &model.z_tilde()?, config.latent)?;
    }
    let wall = start.elapsed().as_secs_f64();
    let train_s = wall - pca_s - pretrain_s;
    if let Some(m) = run.initial {
        let start = if centres.is_some() {
            "the given centres"
        } else {
            "k-means"
        };
        println!(
            "{start} on the starting Z~: ACC {:.2} NMI {:.2} ARI {:.2} F1 {:.2}",
            100.0 * m.acc,
            100.0 * m.nmi,
            100.0 * m.ari,
            100.0 * m.f1
        );
    }
    let last = run.epochs.last().and_then(|r| r.metrics);
    if let Some(m) = last {
        println!(
            "last epoch ({epochs}): ACC {:.2} NMI {:.2} ARI {:.2} F1 {:.2}; PCA {pca_s:.1} s, whole run {wall:.1} s",
            100.0 * m.acc,
            100.0 * m.nmi,
            100.0 * m.ari,
            100.0 * m.f1
        );
    }
    if let Some(path) = json {
        let text = serde_json::json!({
            "dataset": dataset,
            "input": input,
            "centres": centres_path,
            "seed": seed,
            "epochs": epochs,
            "wall_s": wall,
            "pca_s": pca_s,
            "train_s": train_s,
            "pretrain_s": if from_scratch { Some(pretrain_s) } else { None },
            "initial": run.initial,
            "history": run.epochs,
        });
        std::fs::write(&path, text.to_string()).map_err(|source| Error::Io { path, source })?;
    }
    Ok(())
}

/// Times `epochs` epochs dispatch by dispatch and prints each dispatch's mean time,
/// slowest first, with its share of the epoch.
fn profile(model: &mut DfcnModel, epochs: usize) -> Result<(), Error> {
    // A first epoch untimed: llvmpipe compiles each shader at its first dispatch.
    model.train_epoch()?;
    let mut totals: Vec<(String, f64)> = Vec::new();
    let wall = Instant::now();
    for _ in 0..epochs {
        let Some(timings) = model.train_epoch_timed()? else {
            println!("this adapter has no timestamp queries");
            return Ok(());
        };
        if totals.is_empty() {
            totals = timings.iter().map(|t| (t.label.clone(), 0.0)).collect();
        }
        for (total, t) in totals.iter_mut().zip(&timings) {
            total.1 += t.nanos / 1e6 / epochs as f64;
        }
    }
    let epoch_ms: f64 = totals.iter().map(|t| t.1).sum();
    println!(
        "{} dispatches, {epoch_ms:.1} ms of GPU time an epoch ({:.1} ms wall an epoch, timed passes included)",
        totals.len(),
        wall.elapsed().as_secs_f64() * 1e3 / epochs as f64
    );
    totals.sort_by(|a, b| b.1.total_cmp(&a.1));
    for (label, ms) in &totals {
        println!("{ms:>9.2} ms {:>5.1} %  {label}", 100.0 * ms / epoch_ms);
    }
    Ok(())
}

/// Writes `values` (rows of `cols`) as `dir/name`, a float32 .npy.
fn save_rows(dir: &std::path::Path, name: &str, values: &[f32], cols: usize) -> Result<(), Error> {
    use gpu_vgae::internal::data::arrays::{npy::write_npy, ArrayData, NdArray};
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let array = NdArray::new(
        vec![values.len() / cols, cols],
        ArrayData::F32(values.to_vec()),
    )
    .map_err(|message| Error::InvalidArgument {
        argument: "--save-z",
        message,
    })?;
    write_npy(&dir.join(name), &array)
}

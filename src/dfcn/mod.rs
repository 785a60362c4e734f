//! DFCN (deep fusion clustering network; DESIGN.md §10a) on the engine: an autoencoder
//! (AE) and an improved graph autoencoder (IGAE) fused through a self-correlation
//! softmax, trained with two reconstruction losses, an adjacency reconstruction and a
//! KL term between Student's t assignments and their sharpened target, as the reference
//! code computes it.
//!
//! - [`schedule`]: the epoch as a [`Schedule`](crate::model::schedule::Schedule) of
//!   registry kernels (forward, manual backward, Adam); the N² terms run tile by tile
//!   (no N×N buffer).
//! - [`DfcnInputs`]: Â = D⁻¹(A + I), Âᵀ and Â + Âᵀ from an edge list, and the dense
//!   features.
//! - [`DfcnWeights`]: the 24 trained tensors, named as in an `.npz` of the reference's
//!   pretrained weights (every matrix `in × out`, layer = `x·W + b`).
//! - [`DfcnModel`]: the schedule on a GPU or on the CPU twins; [`train`]: the reference's
//!   epoch loop (centres from k-means on the pretrained Z̃, then Adam epochs, k-means on
//!   each epoch's Z̃).
//!
//! One departure from the reference, stated: the fusion weight `a` is the constant 0.5,
//! as the reference computes it on CUDA (the authors' runs); on a CPU the reference
//! registers `a` as an N × L parameter by accident and lets Adam move it by at most
//! ~0.02 over 200 epochs (research notes §4.1).

pub mod pca;
pub mod schedule;

mod model;

use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::data::arrays::npz::read_npz;
use crate::error::{Error, Result};
use crate::kernels::adam::AdamConfig;
use crate::sparse::Csr;

pub use model::{
    pretrain, train, train_from, DfcnLoss, DfcnModel, DfcnRun, EpochRecord, PretrainConfig,
};
pub use schedule::Stage;

/// DFCN's settings; the defaults are the reference's Citeseer settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DfcnConfig {
    /// Clusters K.
    pub clusters: usize,
    /// Latent dimension L of Z_AE, Z_G and Z̃.
    pub latent: usize,
    /// The AE encoder's hidden widths (its decoder runs them backwards).
    pub ae_hidden: [usize; 3],
    /// The IGAE encoder's hidden widths (its decoder runs them backwards).
    pub igae_hidden: [usize; 2],
    /// LeakyReLU's negative slope.
    pub slope: f32,
    /// The fusion weight a of Z_I = a·Z_AE + (1 − a)·Z_G.
    pub fusion: f32,
    /// Weight of MSE(Â_enc + Â_dec, Â).
    pub adjacency_weight: f32,
    /// Weight λ of the KL term.
    pub kl_weight: f32,
    /// Adam's settings.
    pub adam: AdamConfig,
    /// Training epochs.
    pub epochs: usize,
    /// k-means restarts (the centres' initialisation and every evaluation).
    pub kmeans_init: usize,
    /// Seed of k-means.
    pub seed: u64,
}

impl DfcnConfig {
    /// The reference's Citeseer settings with `clusters` clusters.
    pub fn new(clusters: usize) -> Self {
        DfcnConfig {
            clusters,
            latent: 20,
            ae_hidden: [128, 256, 512],
            igae_hidden: [128, 256],
            slope: 0.2,
            fusion: 0.5,
            adjacency_weight: 0.1,
            kl_weight: 10.0,
            adam: AdamConfig {
                lr: 1e-4,
                ..AdamConfig::default()
            },
            epochs: 200,
            kmeans_init: 20,
            seed: 0,
        }
    }
}

/// A trained tensor: its name (as in the reference's `.npz`), rows and columns.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ParamSpec {
    /// e.g. `ae_enc1_w`.
    pub name: String,
    /// Rows (1 for a bias).
    pub rows: usize,
    /// Columns.
    pub cols: usize,
}

/// The 24 trained tensors for `features` input columns, in schedule order: the AE
/// encoder's and decoder's (weight, bias) pairs, the IGAE encoder's and decoder's
/// weights, the cluster centres (K × L) and γ (1 × 1).
pub fn param_specs(config: &DfcnConfig, features: usize) -> Vec<ParamSpec> {
    let [a1, a2, a3] = config.ae_hidden;
    let [g1, g2] = config.igae_hidden;
    let l = config.latent;
    let spec = |name: String, rows, cols| ParamSpec { name, rows, cols };
    let mut specs = Vec::new();
    for (part, dims) in [
        ("ae_enc", [features, a1, a2, a3, l]),
        ("ae_dec", [l, a3, a2, a1, features]),
    ] {
        for layer in 0..4 {
            specs.push(spec(
                format!("{part}{}_w", layer + 1),
                dims[layer],
                dims[layer + 1],
            ));
            specs.push(spec(format!("{part}{}_b", layer + 1), 1, dims[layer + 1]));
        }
    }
    for (part, dims) in [
        ("igae_enc", [features, g1, g2, l]),
        ("igae_dec", [l, g2, g1, features]),
    ] {
        for layer in 0..3 {
            specs.push(spec(
                format!("{part}{}_w", layer + 1),
                dims[layer],
                dims[layer + 1],
            ));
        }
    }
    specs.push(spec("cluster_centers".into(), config.clusters, l));
    specs.push(spec("gamma".into(), 1, 1));
    specs
}

/// Values of every trained tensor, in [`param_specs`] order.
#[derive(Clone, Debug, PartialEq)]
pub struct DfcnWeights {
    /// The tensors' specs.
    pub specs: Vec<ParamSpec>,
    /// Their values, row-major.
    pub values: Vec<Vec<f32>>,
}

impl DfcnWeights {
    /// A fresh initialisation as the reference's modules draw it: uniform ±1/√in for
    /// the AE's weights and biases (torch's Linear), Xavier-uniform for the IGAE's
    /// weights, Xavier-normal centres (replaced by k-means before training), γ = 0.
    pub fn init(config: &DfcnConfig, features: usize, seed: u64) -> Self {
        let specs = param_specs(config, features);
        let mut rng = StdRng::seed_from_u64(seed);
        let mut values = Vec::new();
        let mut fan_in = 1;
        for s in &specs {
            let len = s.rows * s.cols;
            let v: Vec<f32> = if s.name.starts_with("ae_") {
                if s.name.ends_with("_w") {
                    fan_in = s.rows;
                }
                let bound = 1.0 / (fan_in as f32).sqrt();
                (0..len).map(|_| rng.random_range(-bound..bound)).collect()
            } else if s.name.starts_with("igae_") {
                let bound = (6.0 / (s.rows + s.cols) as f32).sqrt();
                (0..len).map(|_| rng.random_range(-bound..bound)).collect()
            } else if s.name == "cluster_centers" {
                let std = (2.0 / (s.rows + s.cols) as f32).sqrt();
                (0..len).map(|_| std * standard_normal(&mut rng)).collect()
            } else {
                vec![0.0; len]
            };
            values.push(v);
        }
        DfcnWeights { specs, values }
    }

    /// Reads an `.npz` holding every tensor of [`param_specs`] under its name (matrices
    /// `in × out`, biases and γ one-dimensional), e.g. the reference's shipped weights
    /// converted as README.md describes. Other arrays in the file are ignored.
    pub fn from_npz(path: &Path, config: &DfcnConfig, features: usize) -> Result<Self> {
        let arrays = read_npz(path)?;
        let format = |message: String| Error::Format {
            path: path.to_path_buf(),
            line: None,
            message,
        };
        let specs = param_specs(config, features);
        let mut values = Vec::new();
        for s in &specs {
            let (_, array) = arrays
                .iter()
                .find(|(name, _)| *name == s.name)
                .ok_or_else(|| format(format!("no array named {}", s.name)))?;
            let expected: Vec<usize> = if s.rows == 1 {
                vec![s.cols]
            } else {
                vec![s.rows, s.cols]
            };
            if array.shape != expected || array.fortran_order {
                return Err(format(format!(
                    "{} has shape {:?}{}, this model needs {expected:?} (C order)",
                    s.name,
                    array.shape,
                    if array.fortran_order {
                        " (Fortran order)"
                    } else {
                        ""
                    }
                )));
            }
            let v = array
                .to_f32()
                .ok_or_else(|| format(format!("{} is not a float array", s.name)))?;
            if v.iter().any(|x| !x.is_finite()) {
                return Err(format(format!(
                    "{} holds a value that is not finite",
                    s.name
                )));
            }
            values.push(v);
        }
        Ok(DfcnWeights { specs, values })
    }

    /// The values of the tensor named `name`.
    pub fn get(&self, name: &str) -> Option<&[f32]> {
        let i = self.specs.iter().position(|s| s.name == name)?;
        Some(&self.values[i])
    }
}

fn standard_normal(rng: &mut StdRng) -> f32 {
    // Box–Muller; the centres' draw only seeds k-means' replacement.
    let u1: f32 = rng.random_range(f32::MIN_POSITIVE..1.0);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// DFCN's graph inputs: Â = D⁻¹(A + I) (rows sum to 1), Âᵀ, Â + Âᵀ, and the dense
/// features X (N × d, row-major).
#[derive(Clone, Debug)]
pub struct DfcnInputs {
    /// Nodes N.
    pub nodes: usize,
    /// Feature columns d.
    pub features: usize,
    /// Â.
    pub a_hat: Csr,
    /// Âᵀ.
    pub a_hat_t: Csr,
    /// Â + Âᵀ, on Â's pattern.
    pub a_sym: Csr,
    /// X.
    pub x: Vec<f32>,
    /// Σ Â², the adjacency MSE's constant.
    pub a_hat_sq_sum: f64,
}

impl DfcnInputs {
    /// The inputs of a graph of `nodes` nodes with undirected `edges` (each pair once or
    /// both ways; self-loops and duplicates are merged) and features `x` (nodes × d).
    pub fn new(nodes: usize, edges: &[(u32, u32)], x: Vec<f32>) -> Result<Self> {
        if nodes == 0 || x.is_empty() || !x.len().is_multiple_of(nodes) {
            return Err(Error::InvalidArgument {
                argument: "x",
                message: format!(
                    "{} feature values do not make a {nodes}-row matrix with columns",
                    x.len()
                ),
            });
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidArgument {
                argument: "x",
                message: "a feature value is not finite".into(),
            });
        }
        let mut neighbours: Vec<Vec<u32>> = (0..nodes as u32).map(|i| vec![i]).collect();
        for &(i, j) in edges {
            if i as usize >= nodes || j as usize >= nodes {
                return Err(Error::InvalidGraph {
                    message: format!("edge ({i}, {j}) names a node ≥ {nodes}"),
                });
            }
            neighbours[i as usize].push(j);
            neighbours[j as usize].push(i);
        }
        for list in &mut neighbours {
            list.sort_unstable();
            list.dedup();
        }
        let inv_degree: Vec<f32> = neighbours.iter().map(|l| 1.0 / l.len() as f32).collect();
        let mut hat = Vec::new();
        let mut sym = Vec::new();
        for (i, list) in neighbours.iter().enumerate() {
            for &j in list {
                hat.push((i as u32, j, inv_degree[i]));
                sym.push((i as u32, j, inv_degree[i] + inv_degree[j as usize]));
            }
        }
        let a_hat = Csr::from_triplets(nodes, nodes, &hat)?;
        let a_sym = Csr::from_triplets(nodes, nodes, &sym)?;
        let a_hat_sq_sum = a_hat.values().iter().map(|&v| f64::from(v).powi(2)).sum();
        Ok(DfcnInputs {
            nodes,
            features: x.len() / nodes,
            a_hat_t: a_hat.transpose(),
            a_hat,
            a_sym,
            x,
            a_hat_sq_sum,
        })
    }
}

//! A whole training epoch on the CPU, composed from the kernels' twins in the GPU
//! schedule's order: the CPU baseline of the end-to-end benchmark, and a check of the
//! schedule itself (the same seed gives the same weights as the GPU up to rounding).

use crate::error::Result;
use crate::kernels::adam::AdamConfig;
use crate::kernels::decoder_dense::splits_for;
use crate::kernels::decoder_pairs::PairRows;
use crate::model::inputs::{dense_label_rows, normalized_adjacency, DenseWeights};
use crate::model::{ModelConfig, ModelKind, Objective, Weights};
use crate::sparse::Csr;
use crate::split::{sample_training_negatives, EdgeSet};

enum CpuDecoder {
    Dense(PairRows, DenseWeights),
    Sampled {
        positives: Vec<(u32, u32)>,
        train_set: EdgeSet,
    },
}

/// A VGAE/GAE trained on the CPU by the kernel twins (single-threaded, f32).
pub struct CpuModel {
    config: ModelConfig,
    n: usize,
    a_hat: Csr,
    x: Csr,
    x_t: Csr,
    decoder: CpuDecoder,
    weights: Weights,
    moments: [Vec<f32>; 4],
    epoch: u32,
}

impl CpuModel {
    /// The model of [`crate::model::GaeModel::with_weights`], on the CPU.
    pub fn new(
        config: &ModelConfig,
        num_nodes: usize,
        train_edges: &[(u32, u32)],
        features: Option<&Csr>,
        weights: &Weights,
    ) -> Result<CpuModel> {
        let x = features
            .cloned()
            .unwrap_or_else(|| Csr::identity(num_nodes));
        let decoder = match config.objective {
            Objective::Dense => {
                let w = DenseWeights::new(num_nodes, train_edges.len())?;
                CpuDecoder::Dense(dense_label_rows(num_nodes, train_edges, w)?, w)
            }
            Objective::Sampled => CpuDecoder::Sampled {
                positives: train_edges
                    .iter()
                    .flat_map(|&(i, j)| [(i, j), (j, i)])
                    .collect(),
                train_set: EdgeSet::from_edges(num_nodes, train_edges)?,
            },
        };
        let moments = [
            vec![0.0; weights.w0.len()],
            vec![0.0; weights.w0.len()],
            vec![0.0; weights.w1.len()],
            vec![0.0; weights.w1.len()],
        ];
        Ok(CpuModel {
            config: config.clone(),
            n: num_nodes,
            a_hat: normalized_adjacency(num_nodes, train_edges)?,
            x_t: x.transpose(),
            x,
            decoder,
            weights: weights.clone(),
            moments,
            epoch: 0,
        })
    }

    /// The current weights.
    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    /// One epoch: forward, backward and Adam, as the GPU schedule runs them.
    pub fn train_epoch(&mut self) -> Result<()> {
        let (n, h, l) = (self.n, self.config.hidden, self.config.latent);
        let c = self.weights.head_cols();
        let (seed, epoch) = (self.config.seed, self.epoch);
        let p = super::spmm(&self.x, &self.weights.w0, h);
        let q = super::spmm(&self.a_hat, &p, h);
        let h1 = super::relu(&q);
        let y = super::matmul(&h1, &self.weights.w1, n, h, c, false);
        let ms = super::spmm(&self.a_hat, &y, c);
        let z = match self.config.kind {
            ModelKind::Vgae => super::reparam_kl(&ms, n, l, seed, epoch).0,
            ModelKind::Gae => ms.clone(),
        };
        let dz = match &self.decoder {
            CpuDecoder::Dense(rows, w) => {
                let splits = self
                    .config
                    .dense_splits
                    .unwrap_or_else(|| splits_for(n, 16_384));
                let (grad, loss) = super::decoder_dense(&z, n, l, l, splits);
                let scale = (2.0 * w.norm / (n as f64 * n as f64)) as f32;
                let splits = grad.len() / (n * l);
                super::decoder_pairs(&z, l, l, rows, Some((&grad, &loss, splits)), scale).0
            }
            CpuDecoder::Sampled {
                positives,
                train_set,
            } => {
                let negatives = sample_training_negatives(train_set, positives.len(), seed, epoch)?;
                let rows = crate::model::sampled_rows(n, positives, &negatives)?;
                super::decoder_pairs(&z, l, l, &rows, None, 1.0).0
            }
        };
        let dms = match self.config.kind {
            ModelKind::Vgae => {
                let kl_scale = 1.0 / (n as f64 * n as f64) as f32;
                super::reparam_backward(&ms, &dz, n, l, seed, epoch, kl_scale)
            }
            ModelKind::Gae => dz,
        };
        let dy = super::spmm(&self.a_hat, &dms, c);
        let dw1 = super::matmul_tn(&h1, &dy, n, h, c);
        let dh1 = super::matmul(&dy, &self.weights.w1, n, c, h, true);
        let dq = super::relu_backward(&q, &dh1);
        let dp = super::spmm(&self.a_hat, &dq, h);
        let dw0 = super::spmm(&self.x_t, &dp, h);
        let adam: &AdamConfig = &self.config.adam;
        let [m0, v0, m1, v1] = &mut self.moments;
        super::adam(adam, epoch + 1, &mut self.weights.w0, &dw0, m0, v0);
        super::adam(adam, epoch + 1, &mut self.weights.w1, &dw1, m1, v1);
        self.epoch += 1;
        Ok(())
    }
}

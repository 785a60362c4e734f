//! The GPU engine of one model on one graph: owns every buffer and three recordings,
//! built once — `encode` (the encoder forward up to [μ | s]), `loss_and_grads` (decoder,
//! losses, the manual backward pass of DESIGN.md §3) and `optimize` (Adam). An epoch is
//! one submission of all three; nothing is read back unless asked for.

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::inputs::{dense_label_rows, glorot_uniform, normalized_adjacency, DenseWeights};
use super::{head_cols, ModelConfig, ModelKind, Objective, Weights};
use crate::error::{Error, Result};
use crate::gpu::{Gpu, GpuArray, GpuMatrix, KernelTiming, Recording, StepBuffer, StepParams};
use crate::kernels::adam::adam;
use crate::kernels::decoder_dense::{decoder_dense, splits_for};
use crate::kernels::decoder_pairs::{decoder_pairs, GpuPairRows, PairRows, WeightedPair};
use crate::kernels::edge_score::{edge_score, flatten_pairs};
use crate::kernels::matmul::matmul;
use crate::kernels::matmul_tn::matmul_tn;
use crate::kernels::reduce_sum::reduce_sum;
use crate::kernels::relu::{relu, relu_backward};
use crate::kernels::reparam::{reparam_backward, reparam_kl};
use crate::kernels::spmm::spmm;
use crate::kernels::MAX_LATENT;
use crate::sparse::Csr;
use crate::split::{sample_training_negatives, EdgeSet};

/// Invocations the dense decoder aims for when choosing its column splits.
const DENSE_TARGET_INVOCATIONS: usize = 16_384;

/// The loss of the last forward pass, split into its terms.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct LossParts {
    /// Reconstruction term L_rec.
    pub reconstruction: f64,
    /// −KL as added to the loss (0 for GAE).
    pub kl: f64,
    /// reconstruction + kl.
    pub total: f64,
}

enum Decoder {
    Dense {
        weights: DenseWeights,
    },
    Sampled {
        rows: GpuPairRows,
        positives: Vec<(u32, u32)>,
        train_set: EdgeSet,
    },
}

/// Pairs to score repeatedly (validation and test sets), with their recording.
pub struct PairScorer {
    scores: GpuArray<f32>,
    recording: Recording,
}

/// A VGAE or GAE on one graph, resident on the GPU.
pub struct GaeModel {
    gpu: Gpu,
    config: ModelConfig,
    num_nodes: usize,
    num_features: usize,
    w0: GpuMatrix,
    w1: GpuMatrix,
    adam_moments: [GpuArray<f32>; 4],
    ms: GpuMatrix,
    dw0: GpuMatrix,
    dw1: GpuMatrix,
    loss_sum: GpuArray<f32>,
    kl_sum: GpuArray<f32>,
    step: StepBuffer,
    decoder: Decoder,
    encode: Recording,
    loss_and_grads: Recording,
    optimize: Recording,
    epoch: u32,
}

impl GaeModel {
    /// Builds the model on a graph of `num_nodes` nodes with training edges `train_edges`
    /// (undirected, each once, no self loops) and node `features` (`None`: identity,
    /// the featureless model), with Glorot-initialised weights from `config.seed`.
    pub fn new(
        gpu: &Gpu,
        config: &ModelConfig,
        num_nodes: usize,
        train_edges: &[(u32, u32)],
        features: Option<&Csr>,
    ) -> Result<GaeModel> {
        let num_features = features.map_or(num_nodes, Csr::cols);
        let weights = initial_weights(config, num_features);
        Self::with_weights(gpu, config, num_nodes, train_edges, features, &weights)
    }

    /// Like [`GaeModel::new`] with given weights (e.g. loaded from a file).
    pub fn with_weights(
        gpu: &Gpu,
        config: &ModelConfig,
        num_nodes: usize,
        train_edges: &[(u32, u32)],
        features: Option<&Csr>,
        weights: &Weights,
    ) -> Result<GaeModel> {
        validate_config(config)?;
        if num_nodes == 0 {
            return Err(Error::InvalidInput("the graph has no nodes".into()));
        }
        weights.validate()?;
        let identity;
        let x = match features {
            Some(x) => x,
            None => {
                identity = Csr::identity(num_nodes);
                &identity
            }
        };
        if x.rows() != num_nodes {
            return Err(Error::InvalidInput(format!(
                "features have {} rows for {num_nodes} nodes",
                x.rows()
            )));
        }
        if weights.kind != config.kind
            || weights.num_features != x.cols()
            || weights.hidden != config.hidden
            || weights.latent != config.latent
        {
            return Err(Error::InvalidInput(format!(
                "weights are for a {} with {} features, hidden {}, latent {}; the model is a \
                 {} with {} features, hidden {}, latent {}",
                weights.kind,
                weights.num_features,
                weights.hidden,
                weights.latent,
                config.kind,
                x.cols(),
                config.hidden,
                config.latent
            )));
        }
        let (n, f, h, l) = (num_nodes, x.cols(), config.hidden, config.latent);
        let c = head_cols(config.kind, l);
        let a_hat = gpu.upload_csr("gpu_vgae.a_hat", &normalized_adjacency(n, train_edges)?)?;
        let gx = gpu.upload_csr("gpu_vgae.x", x)?;
        let gxt = gpu.upload_csr("gpu_vgae.x_t", &x.transpose())?;
        let w0 = gpu.upload_matrix("gpu_vgae.w0", f, h, &weights.w0)?;
        let w1 = gpu.upload_matrix("gpu_vgae.w1", h, c, &weights.w1)?;
        let mat = |label: &str, rows, cols| gpu.alloc_matrix(label, rows, cols);
        let (p, q, h1) = (
            mat("gpu_vgae.p", n, h)?,
            mat("gpu_vgae.q", n, h)?,
            mat("gpu_vgae.h1", n, h)?,
        );
        let (y, ms) = (mat("gpu_vgae.y", n, c)?, mat("gpu_vgae.ms", n, c)?);
        let step = gpu.step_buffer(StepParams::default());

        let mut encode = Recording::new("encode");
        encode.push(spmm(gpu, &gx, &w0, &p)?);
        encode.push(spmm(gpu, &a_hat, &p, &q)?);
        encode.push(relu(gpu, q.data(), h1.data())?);
        encode.push(matmul(gpu, &h1, &w1, false, &y)?);
        encode.push(spmm(gpu, &a_hat, &y, &ms)?);

        let mut loss_and_grads = Recording::new("loss_and_grads");
        let kl_sum = gpu.zeros::<f32>("gpu_vgae.kl_sum", 1)?;
        let z = match config.kind {
            ModelKind::Vgae => {
                let z = mat("gpu_vgae.z", n, l)?;
                let kl_rows = gpu.alloc::<f32>("gpu_vgae.kl_rows", n)?;
                loss_and_grads.push(reparam_kl(gpu, &ms, config.seed, &step, &z, &kl_rows)?);
                loss_and_grads.extend(reduce_sum(gpu, &kl_rows, n, 1, &kl_sum)?);
                z
            }
            ModelKind::Gae => ms.clone(),
        };
        let dz = mat("gpu_vgae.dz", n, l)?;
        let loss_rows = gpu.alloc::<f32>("gpu_vgae.loss_rows", n)?;
        let decoder = match config.objective {
            Objective::Dense => {
                let weights = DenseWeights::new(n, train_edges.len())?;
                let labels = dense_label_rows(n, train_edges, weights)?
                    .upload(gpu, "gpu_vgae.label_rows")?;
                let splits = config
                    .dense_splits
                    .unwrap_or_else(|| splits_for(n, DENSE_TARGET_INVOCATIONS));
                let (dense, partials) = decoder_dense(gpu, &z, l, splits)?;
                let grad_scale = (2.0 * weights.norm / (n as f64 * n as f64)) as f32;
                loss_and_grads.push(dense);
                loss_and_grads.push(decoder_pairs(
                    gpu,
                    &z,
                    l,
                    &labels,
                    Some(&partials),
                    grad_scale,
                    &dz,
                    &loss_rows,
                )?);
                Decoder::Dense { weights }
            }
            Objective::Sampled => {
                if train_edges.is_empty() {
                    return Err(Error::InvalidInput(
                        "the sampled objective needs at least one training edge".into(),
                    ));
                }
                let positives: Vec<(u32, u32)> = train_edges
                    .iter()
                    .flat_map(|&(i, j)| [(i, j), (j, i)])
                    .collect();
                let train_set = EdgeSet::from_edges(n, train_edges)?;
                // Shapes are fixed; the content is rewritten every epoch.
                let placeholder = sampled_rows(n, &positives, &positives)?;
                let rows = placeholder.upload(gpu, "gpu_vgae.sampled_rows")?;
                loss_and_grads.push(decoder_pairs(
                    gpu, &z, l, &rows, None, 1.0, &dz, &loss_rows,
                )?);
                Decoder::Sampled {
                    rows,
                    positives,
                    train_set,
                }
            }
        };
        let loss_sum = gpu.zeros::<f32>("gpu_vgae.loss_sum", 1)?;
        loss_and_grads.extend(reduce_sum(gpu, &loss_rows, n, 1, &loss_sum)?);

        // Backward (DESIGN.md §3).
        let dms = match config.kind {
            ModelKind::Vgae => {
                let dms = mat("gpu_vgae.d_ms", n, c)?;
                let kl_scale = 1.0 / (n as f64 * n as f64) as f32;
                loss_and_grads.push(reparam_backward(
                    gpu,
                    &ms,
                    &dz,
                    config.seed,
                    kl_scale,
                    &step,
                    &dms,
                )?);
                dms
            }
            ModelKind::Gae => dz.clone(),
        };
        // Buffers whose forward value is dead by the time the backward pass needs memory
        // of the same shape are reused: Y (consumed by Â·Y) holds dY; P (consumed by Â·P)
        // holds dH1 and then dP (dH1 is consumed by the relu mask before dP is written);
        // H1 (last read by H1ᵀ·dY) holds dQ.
        let dy = y.clone();
        let dh1 = p.clone();
        let dq = h1.clone();
        let dp = p.clone();
        let dw0 = mat("gpu_vgae.dw0", f, h)?;
        let dw1 = mat("gpu_vgae.dw1", h, c)?;
        loss_and_grads.push(spmm(gpu, &a_hat, &dms, &dy)?);
        loss_and_grads.extend(matmul_tn(gpu, &h1, &dy, &dw1)?);
        loss_and_grads.push(matmul(gpu, &dy, &w1, true, &dh1)?);
        loss_and_grads.push(relu_backward(gpu, q.data(), dh1.data(), dq.data())?);
        loss_and_grads.push(spmm(gpu, &a_hat, &dq, &dp)?);
        loss_and_grads.push(spmm(gpu, &gxt, &dp, &dw0)?);

        let adam_moments = [
            gpu.zeros::<f32>("gpu_vgae.adam.m0", f * h)?,
            gpu.zeros::<f32>("gpu_vgae.adam.v0", f * h)?,
            gpu.zeros::<f32>("gpu_vgae.adam.m1", h * c)?,
            gpu.zeros::<f32>("gpu_vgae.adam.v1", h * c)?,
        ];
        let mut optimize = Recording::new("adam");
        let [m0, v0, m1, v1] = &adam_moments;
        optimize.push(adam(
            gpu,
            &config.adam,
            w0.data(),
            dw0.data(),
            m0,
            v0,
            &step,
        )?);
        optimize.push(adam(
            gpu,
            &config.adam,
            w1.data(),
            dw1.data(),
            m1,
            v1,
            &step,
        )?);

        Ok(GaeModel {
            gpu: gpu.clone(),
            config: config.clone(),
            num_nodes: n,
            num_features: f,
            w0,
            w1,
            adam_moments,
            ms,
            dw0,
            dw1,
            loss_sum,
            kl_sum,
            step,
            decoder,
            encode,
            loss_and_grads,
            optimize,
            epoch: 0,
        })
    }

    /// The configuration the model was built with.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Number of nodes.
    pub fn num_nodes(&self) -> usize {
        self.num_nodes
    }

    /// Epochs trained so far.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The device.
    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    /// Dispatches in one training epoch (forward, backward, optimizer).
    pub fn dispatches_per_epoch(&self) -> usize {
        self.encode.dispatches().len()
            + self.loss_and_grads.dispatches().len()
            + self.optimize.dispatches().len()
    }

    /// One epoch: forward, backward and Adam in one submission (fresh ε and, for the
    /// sampled objective, fresh negatives). Does not wait for the GPU.
    pub fn train_epoch(&mut self) -> Result<()> {
        self.prepare_step(self.epoch)?;
        self.gpu
            .submit_all(&[&self.encode, &self.loss_and_grads, &self.optimize])?;
        self.epoch += 1;
        Ok(())
    }

    /// Runs one training epoch with every dispatch timed by GPU timestamps (see
    /// [`Gpu::run_timed`]); `Ok(None)` where the device has no timestamp queries.
    pub fn train_epoch_timed(&mut self) -> Result<Option<Vec<KernelTiming>>> {
        self.prepare_step(self.epoch)?;
        let mut timings = Vec::new();
        for recording in [&self.encode, &self.loss_and_grads, &self.optimize] {
            match self.gpu.run_timed(recording)? {
                Some(t) => timings.extend(t),
                None => return Ok(None),
            }
        }
        self.epoch += 1;
        Ok(Some(timings))
    }

    /// Forward and backward at the current weights with the noise and negatives of
    /// `epoch`, without updating the weights; waits. Read the results with
    /// [`GaeModel::loss`] and [`GaeModel::gradients`].
    pub fn forward_backward(&mut self, epoch: u32) -> Result<()> {
        self.prepare_step(epoch)?;
        self.gpu.submit_all(&[&self.encode, &self.loss_and_grads])?;
        self.gpu.wait()
    }

    fn prepare_step(&mut self, epoch: u32) -> Result<()> {
        self.step.write(
            &self.gpu,
            StepParams {
                epoch,
                adam_step: epoch + 1,
                ..Default::default()
            },
        );
        if let Decoder::Sampled {
            rows,
            positives,
            train_set,
        } = &self.decoder
        {
            let negatives =
                sample_training_negatives(train_set, positives.len(), self.config.seed, epoch)?;
            let fresh = sampled_rows(self.num_nodes, positives, &negatives)?;
            rows.ptr.write(&self.gpu, &fresh.ptr)?;
            rows.col.write(&self.gpu, &fresh.col)?;
            rows.weight.write(&self.gpu, &fresh.weight)?;
        }
        Ok(())
    }

    /// The loss of the most recent forward pass (reads two scalars back; waits).
    pub fn loss(&self) -> Result<LossParts> {
        let sums = self.gpu.read_many(&[&self.loss_sum, &self.kl_sum])?;
        let (rows_sum, kl_sum) = (sums[0][0] as f64, sums[1][0] as f64);
        let n2 = (self.num_nodes as f64).powi(2);
        let reconstruction = match &self.decoder {
            Decoder::Dense { weights } => weights.norm / n2 * rows_sum,
            // Every pair is listed at both of its nodes, so the row sums count it twice.
            Decoder::Sampled { .. } => 0.5 * rows_sum,
        };
        let kl = match self.config.kind {
            ModelKind::Vgae => -0.5 / n2 * kl_sum,
            ModelKind::Gae => 0.0,
        };
        if !reconstruction.is_finite() || !kl.is_finite() {
            return Err(Error::InvalidInput(format!(
                "the loss is not finite (reconstruction {reconstruction}, KL {kl}); \
                 lower the learning rate or check the features for extreme values"
            )));
        }
        Ok(LossParts {
            reconstruction,
            kl,
            total: reconstruction + kl,
        })
    }

    /// Gradients of the loss with respect to W0 and W1 from the most recent backward
    /// pass (row-major, shapes as in [`Weights`]).
    pub fn gradients(&self) -> Result<(Vec<f32>, Vec<f32>)> {
        let mut out = self.gpu.read_many(&[self.dw0.data(), self.dw1.data()])?;
        let dw1 = out.pop().unwrap_or_default();
        let dw0 = out.pop().unwrap_or_default();
        Ok((dw0, dw1))
    }

    /// The current weights, read back from the device.
    pub fn weights(&self) -> Result<Weights> {
        let mut out = self.gpu.read_many(&[self.w0.data(), self.w1.data()])?;
        let w1 = out.pop().unwrap_or_default();
        let w0 = out.pop().unwrap_or_default();
        Ok(Weights {
            kind: self.config.kind,
            num_features: self.num_features,
            hidden: self.config.hidden,
            latent: self.config.latent,
            w0,
            w1,
        })
    }

    /// Overwrites the weights and restarts Adam's moments.
    pub fn set_weights(&mut self, weights: &Weights) -> Result<()> {
        weights.validate()?;
        if weights.w0.len() != self.w0.data().len() || weights.w1.len() != self.w1.data().len() {
            return Err(Error::InvalidInput(
                "weights do not match the model's shapes".into(),
            ));
        }
        self.w0.data().write(&self.gpu, &weights.w0)?;
        self.w1.data().write(&self.gpu, &weights.w1)?;
        for moment in &self.adam_moments {
            moment.write(&self.gpu, &vec![0.0; moment.len()])?;
        }
        Ok(())
    }

    /// The node embeddings μ (N × L, row-major) at the current weights.
    pub fn embeddings(&self) -> Result<Vec<f32>> {
        self.gpu.run(&self.encode)?;
        let ms = self.gpu.read(self.ms.data())?;
        let (l, c) = (self.config.latent, self.ms.cols());
        Ok(ms
            .chunks_exact(c)
            .flat_map(|row| row[..l].iter().copied())
            .collect())
    }

    /// Prepares repeated scoring of `pairs` (see [`GaeModel::score`]).
    pub fn pair_scorer(&self, pairs: &[(u32, u32)]) -> Result<PairScorer> {
        let flat = flatten_pairs(pairs, self.num_nodes)?;
        let ids = self.gpu.upload("gpu_vgae.score_pairs", &flat)?;
        let scores = self.gpu.alloc::<f32>("gpu_vgae.scores", pairs.len())?;
        let mut recording = Recording::new("edge_score");
        if !pairs.is_empty() {
            recording.push(edge_score(
                &self.gpu,
                &self.ms,
                self.config.latent,
                &ids,
                &scores,
            )?);
        }
        Ok(PairScorer { scores, recording })
    }

    /// sigmoid(μ_a · μ_b) for the scorer's pairs at the current weights.
    pub fn score(&self, scorer: &PairScorer) -> Result<Vec<f32>> {
        self.gpu.submit_all(&[&self.encode, &scorer.recording])?;
        self.gpu.read(&scorer.scores)
    }

    /// sigmoid(μ_a · μ_b) for arbitrary pairs at the current weights.
    pub fn score_pairs(&self, pairs: &[(u32, u32)]) -> Result<Vec<f32>> {
        self.score(&self.pair_scorer(pairs)?)
    }
}

/// Sampled objective rows: `positives` and `negatives` (ordered pairs, PyG's convention
/// of both directions of every train edge) weighted by 1/count each.
pub(crate) fn sampled_rows(
    num_nodes: usize,
    positives: &[(u32, u32)],
    negatives: &[(u32, u32)],
) -> Result<PairRows> {
    let w_pos = 1.0 / positives.len().max(1) as f32;
    let w_neg = 1.0 / negatives.len().max(1) as f32;
    let pairs: Vec<WeightedPair> = positives
        .iter()
        .map(|&(i, j)| (i, j, w_pos, 0.0))
        .chain(negatives.iter().map(|&(i, j)| (i, j, 0.0, w_neg)))
        .collect();
    PairRows::from_pairs(num_nodes, &pairs)
}

fn validate_config(config: &ModelConfig) -> Result<()> {
    if config.hidden == 0 {
        return Err(Error::InvalidInput(
            "hidden width must be at least 1".into(),
        ));
    }
    if config.latent == 0 || config.latent > MAX_LATENT {
        return Err(Error::InvalidInput(format!(
            "latent width must be between 1 and {MAX_LATENT}, got {}",
            config.latent
        )));
    }
    let adam = &config.adam;
    if !(adam.lr.is_finite() && adam.lr > 0.0) {
        return Err(Error::InvalidInput(format!(
            "learning rate must be a positive number, got {}",
            adam.lr
        )));
    }
    Ok(())
}

/// Glorot-uniform weights from `config.seed`: W0 (F × H), then Wμ and Wσ (H × L each,
/// initialised separately as in tkipf/gae) side by side in W1.
pub(crate) fn initial_weights(config: &ModelConfig, num_features: usize) -> Weights {
    let mut rng = StdRng::seed_from_u64(config.seed);
    let (h, l) = (config.hidden, config.latent);
    let w0 = glorot_uniform(&mut rng, num_features, h);
    let w_mu = glorot_uniform(&mut rng, h, l);
    let w1 = match config.kind {
        ModelKind::Gae => w_mu,
        ModelKind::Vgae => {
            let w_sigma = glorot_uniform(&mut rng, h, l);
            let mut w1 = Vec::with_capacity(h * 2 * l);
            for r in 0..h {
                w1.extend_from_slice(&w_mu[r * l..(r + 1) * l]);
                w1.extend_from_slice(&w_sigma[r * l..(r + 1) * l]);
            }
            w1
        }
    };
    Weights {
        kind: config.kind,
        num_features,
        hidden: h,
        latent: l,
        w0,
        w1,
    }
}

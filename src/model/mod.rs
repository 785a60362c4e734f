//! The VGAE and GAE models (DESIGN.md §1-§3): configuration and weights; the epoch's
//! [`schedule`] written once as data (its op set and builder are the model's own only
//! in [`vgae`], which builds the VGAE's); its two runners, the GPU engine
//! ([`DeviceTensors`], and [`GaeModel`] on it) and the CPU reference ([`HostTensors`],
//! and [`CpuModel`] on it); and the host-side [`inputs`].

mod engine;
pub mod inputs;
mod reference;
pub mod schedule;
pub mod subgraph;
pub mod vgae;

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

pub use engine::{DeviceTensors, GaeModel, GpuStepContext, LossParts, PairScorer};
pub use inputs::ModelSetup;
pub use reference::{CpuModel, CpuStepContext, HostTensors};

use crate::error::{Error, Result};
use crate::kernels::adam::AdamConfig;
use crate::kernels::MAX_LATENT;

/// Which auto-encoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Variational: a log-σ head, reparameterization and the KL term.
    Vgae,
    /// Plain: Z = μ, no KL term.
    Gae,
}

/// Which reconstruction objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// The paper's weighted BCE over all N² pairs (DESIGN.md §2a), O(N²·L) work.
    Dense,
    /// Positive edges against as many fresh uniform negatives (§2b), O(E·L) work.
    Sampled,
    /// The dense objective on a degree-sampled subgraph drawn every epoch (§2c,
    /// FastGAE), O(n²·L) work for n sampled nodes.
    Subgraph,
}

/// How the decoders store the embeddings they read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Single precision everywhere.
    #[default]
    F32,
    /// Z (and μ for scoring) stored in half precision for the decoders, the pair scores
    /// and the top-k search, which read it widened to f32 and accumulate in f32:
    /// half the bytes those kernels stream. Gradients, weights, the encoder and the
    /// loss stay f32. Needs a device with 16-bit floats in shaders (`SHADER_F16`).
    F16,
}

text_enum!(ModelKind, "model", ModelKind::Vgae => "vgae", ModelKind::Gae => "gae");
text_enum!(Precision, "precision", Precision::F32 => "f32", Precision::F16 => "f16");
text_enum!(
    Objective,
    "objective",
    Objective::Dense => "dense",
    Objective::Sampled => "sampled",
    Objective::Subgraph => "subgraph"
);

/// Architecture and optimisation settings. Defaults are the paper's (DESIGN.md §1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ModelConfig {
    /// VGAE or GAE.
    pub kind: ModelKind,
    /// Dense (default) or sampled objective.
    pub objective: Objective,
    /// Hidden width H (32).
    pub hidden: usize,
    /// Latent width L (16, at most 64).
    pub latent: usize,
    /// Adam settings (lr 0.01).
    pub adam: AdamConfig,
    /// Seeds the initialisation, every ε and the sampled negatives.
    pub seed: u64,
    /// Parts of the dense decoder pass: column splits in the row layout of CPU
    /// adapters, blocks of nodes in the symmetric tile layout of GPUs (see
    /// [`DenseLayout`](crate::kernels::decoder_dense::DenseLayout)); `None` picks a count
    /// for the adapter and the graph size.
    pub dense_splits: Option<usize>,
    /// Subgraph objective: nodes drawn per epoch (5000; all drawable nodes if fewer).
    pub sample_nodes: usize,
    /// Subgraph objective: draw probability ∝ degree^alpha (2; 0 is uniform).
    pub alpha: f64,
    /// VGAE only: the class-conditional prior N(m_y, I) for nodes with a training label,
    /// with learnable class means m_c (DESIGN.md §9); the graph must carry training
    /// labels ([`GraphView::with_train_labels`](crate::data::GraphView::with_train_labels)).
    pub conditional: bool,
    /// How the decoders store the embeddings (f32; f16 needs `SHADER_F16`). Model files
    /// written before this setting existed read as f32.
    #[serde(default)]
    pub precision: Precision,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            kind: ModelKind::Vgae,
            objective: Objective::Dense,
            hidden: 32,
            latent: 16,
            adam: AdamConfig::default(),
            seed: 0,
            dense_splits: None,
            sample_nodes: 5000,
            alpha: 2.0,
            conditional: false,
            precision: Precision::F32,
        }
    }
}

impl ModelConfig {
    /// Checks every setting's range; needs no device and no graph.
    pub fn validate(&self) -> Result<()> {
        let bad = |setting, message: String| Err(Error::InvalidConfig { setting, message });
        if self.hidden == 0 {
            return bad("hidden", "the hidden width must be at least 1".into());
        }
        if !(1..=MAX_LATENT).contains(&self.latent) {
            return bad(
                "latent",
                format!(
                    "the latent width must be between 1 and {MAX_LATENT}, got {}",
                    self.latent
                ),
            );
        }
        let adam = &self.adam;
        if !(adam.lr.is_finite() && adam.lr > 0.0) {
            return bad(
                "lr",
                format!(
                    "the learning rate must be a positive number, got {}",
                    adam.lr
                ),
            );
        }
        for (setting, beta) in [("beta1", adam.beta1), ("beta2", adam.beta2)] {
            if !(0.0..1.0).contains(&beta) {
                return bad(setting, format!("must be in [0, 1), got {beta}"));
            }
        }
        if !(adam.eps.is_finite() && adam.eps > 0.0) {
            return bad(
                "eps",
                format!("must be a positive number, got {}", adam.eps),
            );
        }
        if self.dense_splits == Some(0) {
            return bad("dense_splits", "must be at least 1".into());
        }
        if self.sample_nodes == 0 {
            return bad(
                "sample_nodes",
                "the subgraph objective needs at least one sampled node".into(),
            );
        }
        if self.conditional && self.kind == ModelKind::Gae {
            return bad(
                "conditional",
                "the class-conditional prior belongs to the VGAE's KL term; GAE has none".into(),
            );
        }
        if !(self.alpha.is_finite() && self.alpha >= 0.0) {
            return bad(
                "alpha",
                format!(
                    "the degree exponent must be a number >= 0, got {}",
                    self.alpha
                ),
            );
        }
        Ok(())
    }
}

/// Trained (or initial) weights, host side: W0 (features × hidden) and
/// W1 = [Wμ | Wσ] (hidden × 2·latent) for VGAE or Wμ (hidden × latent) for GAE,
/// row-major. Serializable, to save a trained model and load it again.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// The model the weights belong to.
    pub kind: ModelKind,
    /// Input feature width F.
    pub num_features: usize,
    /// Hidden width H.
    pub hidden: usize,
    /// Latent width L.
    pub latent: usize,
    /// F × H.
    pub w0: Vec<f32>,
    /// H × (2L or L).
    pub w1: Vec<f32>,
    /// The class-conditional prior's class means (classes × L), when the model has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_means: Option<Vec<f32>>,
}

impl Weights {
    /// Glorot-uniform weights from `config.seed` for `num_features` inputs: W0 (F × H),
    /// then Wμ and Wσ (H × L each, initialised separately as in tkipf/gae) side by side
    /// in W1.
    pub fn glorot(config: &ModelConfig, num_features: usize) -> Weights {
        let mut rng = StdRng::seed_from_u64(config.seed);
        let (h, l) = (config.hidden, config.latent);
        let w0 = inputs::glorot_uniform(&mut rng, num_features, h);
        let w_mu = inputs::glorot_uniform(&mut rng, h, l);
        let w1 = match config.kind {
            ModelKind::Gae => w_mu,
            ModelKind::Vgae => {
                let w_sigma = inputs::glorot_uniform(&mut rng, h, l);
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
            class_means: None,
        }
    }

    /// Columns of W1: 2L for VGAE ([Wμ | Wσ]), L for GAE.
    pub fn head_cols(&self) -> usize {
        head_cols(self.kind, self.latent)
    }

    /// Checks that the shapes are consistent and every value finite.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| {
            Err(Error::InvalidArgument {
                argument: "weights",
                message: format!("weights: {m}"),
            })
        };
        if Some(self.w0.len()) != self.num_features.checked_mul(self.hidden) {
            return bad(format!(
                "W0 has {} values, expected {} x {}",
                self.w0.len(),
                self.num_features,
                self.hidden
            ));
        }
        if Some(self.w1.len()) != self.hidden.checked_mul(self.head_cols()) {
            return bad(format!(
                "W1 has {} values, expected {} x {}",
                self.w1.len(),
                self.hidden,
                self.head_cols()
            ));
        }
        let means = self.class_means.as_deref().unwrap_or_default();
        if !means.len().is_multiple_of(self.latent.max(1)) {
            return bad(format!(
                "{} class-mean values are not whole rows of latent {}",
                means.len(),
                self.latent
            ));
        }
        if let Some(i) = self
            .w0
            .iter()
            .chain(&self.w1)
            .chain(means)
            .position(|v| !v.is_finite())
        {
            return bad(format!("value {i} is not finite"));
        }
        Ok(())
    }

    /// Checks that the weights fit `config` on a graph with `num_features` inputs.
    pub fn check_fits(&self, config: &ModelConfig, num_features: usize) -> Result<()> {
        self.validate()?;
        if self.kind != config.kind
            || self.num_features != num_features
            || self.hidden != config.hidden
            || self.latent != config.latent
        {
            return Err(Error::InvalidArgument {
                argument: "weights",
                message: format!(
                    "weights are for a {} with {} features, hidden {}, latent {}; the model is \
                     a {} with {} features, hidden {}, latent {}",
                    self.kind,
                    self.num_features,
                    self.hidden,
                    self.latent,
                    config.kind,
                    num_features,
                    config.hidden,
                    config.latent
                ),
            });
        }
        Ok(())
    }
}

pub(crate) fn head_cols(kind: ModelKind, latent: usize) -> usize {
    match kind {
        ModelKind::Vgae => 2 * latent,
        ModelKind::Gae => latent,
    }
}

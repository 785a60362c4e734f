//! The VGAE and GAE models (DESIGN.md §1-§3): configuration, trained weights, and the
//! GPU engine that runs the forward pass, the manual backward pass and Adam.

mod engine;
pub mod inputs;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub(crate) use engine::sampled_rows;
pub use engine::{GaeModel, LossParts, PairScorer};

use crate::error::{Error, Result};
use crate::kernels::adam::AdamConfig;

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
}

macro_rules! text_enum {
    ($ty:ty, $($variant:path => $text:literal),+) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(match self { $($variant => $text),+ })
            }
        }

        impl FromStr for $ty {
            type Err = Error;

            fn from_str(s: &str) -> Result<Self> {
                match s.to_ascii_lowercase().as_str() {
                    $($text => Ok($variant),)+
                    other => Err(Error::InvalidInput(format!(
                        "unknown {} `{other}`; expected one of: {}",
                        stringify!($ty),
                        [$($text),+].join(", ")
                    ))),
                }
            }
        }
    };
}

text_enum!(ModelKind, ModelKind::Vgae => "vgae", ModelKind::Gae => "gae");
text_enum!(Objective, Objective::Dense => "dense", Objective::Sampled => "sampled");

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
    /// Column splits of the dense decoder pass; `None` picks one for the graph size.
    pub dense_splits: Option<usize>,
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
        }
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
}

impl Weights {
    /// Columns of W1: 2L for VGAE ([Wμ | Wσ]), L for GAE.
    pub fn head_cols(&self) -> usize {
        head_cols(self.kind, self.latent)
    }

    /// Checks that the shapes are consistent and every value finite.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidInput(format!("weights: {m}")));
        if self.w0.len() != self.num_features * self.hidden {
            return bad(format!(
                "W0 has {} values, expected {} x {}",
                self.w0.len(),
                self.num_features,
                self.hidden
            ));
        }
        if self.w1.len() != self.hidden * self.head_cols() {
            return bad(format!(
                "W1 has {} values, expected {} x {}",
                self.w1.len(),
                self.hidden,
                self.head_cols()
            ));
        }
        if let Some(i) = self.w0.iter().chain(&self.w1).position(|v| !v.is_finite()) {
            return bad(format!("value {i} is not finite"));
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

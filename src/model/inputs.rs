//! Host-side preparation of the model's fixed inputs: the normalized adjacency Â, the
//! decoder's label pattern with its weights, and Glorot initialisation.

use rand::rngs::StdRng;
use rand::Rng;

use crate::error::{Error, Result};
use crate::kernels::decoder_pairs::{PairRows, WeightedPair};
use crate::sparse::Csr;
use crate::split::check_edge;

/// Â = D^-1/2 (A + I) D^-1/2 over the undirected `edges` (each listed once, either
/// orientation), D the degree matrix of A + I. Isolated nodes get Â_ii = 1.
pub fn normalized_adjacency(num_nodes: usize, edges: &[(u32, u32)]) -> Result<Csr> {
    let mut degree = vec![1f64; num_nodes];
    for &(i, j) in edges {
        check_edge(num_nodes, i, j)?;
        degree[i as usize] += 1.0;
        degree[j as usize] += 1.0;
    }
    let inv_sqrt: Vec<f64> = degree.iter().map(|d| 1.0 / d.sqrt()).collect();
    let mut triplets = Vec::with_capacity(2 * edges.len() + num_nodes);
    for (i, d) in inv_sqrt.iter().enumerate() {
        triplets.push((i as u32, i as u32, (d * d) as f32));
    }
    for &(i, j) in edges {
        let w = (inv_sqrt[i as usize] * inv_sqrt[j as usize]) as f32;
        triplets.push((i, j, w));
        triplets.push((j, i, w));
    }
    Csr::from_triplets(num_nodes, num_nodes, &triplets)
}

/// The dense objective's constants (DESIGN.md §2a) for N nodes and E directed train
/// edges (each undirected edge counted twice, no diagonal).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DenseWeights {
    /// (N² − E) / E.
    pub pos_weight: f64,
    /// N² / (2 (N² − E)).
    pub norm: f64,
}

impl DenseWeights {
    /// The constants for `num_nodes` and `undirected_edges` (E = 2 · undirected_edges).
    pub fn new(num_nodes: usize, undirected_edges: usize) -> Result<Self> {
        let n2 = (num_nodes as f64).powi(2);
        let e = 2.0 * undirected_edges as f64;
        if e == 0.0 {
            return Err(Error::InvalidInput(
                "the dense objective needs at least one training edge".into(),
            ));
        }
        if n2 - e <= 0.0 {
            return Err(Error::InvalidInput(format!(
                "the graph has {num_nodes} nodes and {undirected_edges} edges: it is complete, \
                 so there are no negative pairs"
            )));
        }
        Ok(DenseWeights {
            pos_weight: (n2 - e) / e,
            norm: n2 / (2.0 * (n2 - e)),
        })
    }
}

/// The label's nonzeros (every train edge in both directions plus the diagonal) with
/// weights (pos_weight, −1): the sparse correction of the dense objective.
pub fn dense_label_rows(
    num_nodes: usize,
    edges: &[(u32, u32)],
    weights: DenseWeights,
) -> Result<PairRows> {
    let pw = weights.pos_weight as f32;
    let mut entries: Vec<WeightedPair> = Vec::with_capacity(2 * edges.len() + num_nodes);
    for i in 0..num_nodes as u32 {
        entries.push((i, i, pw, -1.0));
    }
    for &(i, j) in edges {
        check_edge(num_nodes, i, j)?;
        entries.push((i, j, pw, -1.0));
        entries.push((j, i, pw, -1.0));
    }
    PairRows::from_directed(num_nodes, &entries)
}

/// Glorot (Xavier) uniform: ±sqrt(6 / (fan_in + fan_out)), row-major fan_in × fan_out.
pub fn glorot_uniform(rng: &mut StdRng, fan_in: usize, fan_out: usize) -> Vec<f32> {
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
    (0..fan_in * fan_out)
        .map(|_| rng.random_range(-limit..limit))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalized_adjacency_of_a_path() {
        // 0 - 1 - 2: degrees with self loops 2, 3, 2.
        let a = normalized_adjacency(3, &[(0, 1), (1, 2)]).unwrap();
        let d = a.to_dense();
        let close = |x: f32, y: f64| (x as f64 - y).abs() < 1e-7;
        assert!(close(d[0], 0.5));
        assert!(close(d[1], 1.0 / 6f64.sqrt()));
        assert!(close(d[4], 1.0 / 3.0));
        assert!(close(d[3], 1.0 / 6f64.sqrt()));
        assert!(close(d[2], 0.0));
    }

    #[test]
    fn isolated_nodes_keep_their_self_loop() {
        let a = normalized_adjacency(3, &[(0, 1)]).unwrap();
        assert_eq!(a.to_dense()[8], 1.0);
    }

    #[test]
    fn dense_weights_match_the_formulas() {
        let w = DenseWeights::new(10, 5).unwrap();
        assert!((w.pos_weight - 90.0 / 10.0).abs() < 1e-12);
        assert!((w.norm - 100.0 / 180.0).abs() < 1e-12);
        assert!(DenseWeights::new(10, 0).is_err());
        assert!(DenseWeights::new(2, 2).is_err());
    }

    #[test]
    fn bad_edges_are_rejected() {
        assert!(normalized_adjacency(2, &[(0, 2)]).is_err());
        assert!(normalized_adjacency(2, &[(1, 1)]).is_err());
    }
}

//! Link-prediction metrics with scikit-learn's exact definitions: ROC AUC
//! (`roc_auc_score`) and average precision (`average_precision_score`), computed from the
//! scores of the positive (edge) and negative (non-edge) pairs.
//!
//! Both sort the scores once (O(n log n)) and walk the distinct score values from the
//! highest down in one pass; a group of tied scores is one threshold, as in sklearn's
//! `_binary_clf_curve`. Counts are exact integers; only the final ratios are `f64`.
//!
//! Unlike sklearn, infinite scores are accepted (they order like any other value); NaN is an
//! error. `-0.0` and `0.0` tie, as they compare equal.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// ROC AUC and average precision of one set of scored pairs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkMetrics {
    /// Area under the ROC curve, see [`roc_auc`].
    pub auc: f64,
    /// Average precision, see [`average_precision`].
    pub ap: f64,
}

/// Area under the ROC curve, as sklearn's `roc_auc_score`: the trapezoidal area under the
/// curve through the (FPR, TPR) points at each distinct score threshold. Equivalently, the
/// probability that a random positive scores above a random negative, a tie counting 1/2
/// (the Mann–Whitney U statistic over |pos|·|neg|).
///
/// Errors if either slice is empty or any score is NaN.
pub fn roc_auc(pos_scores: &[f32], neg_scores: &[f32]) -> Result<f64> {
    Ok(link_metrics(pos_scores, neg_scores)?.auc)
}

/// Average precision, as sklearn's `average_precision_score`: AP = Σₙ (Rₙ − Rₙ₋₁)·Pₙ over
/// the distinct score thresholds in decreasing order, with Pₙ and Rₙ the precision and
/// recall of predicting "edge" for every score ≥ the n-th threshold and R₀ = 0. This is the
/// step-function sum, not the interpolated AP; tied scores form a single threshold.
///
/// Errors if either slice is empty or any score is NaN.
pub fn average_precision(pos_scores: &[f32], neg_scores: &[f32]) -> Result<f64> {
    Ok(link_metrics(pos_scores, neg_scores)?.ap)
}

/// Both [`roc_auc`] and [`average_precision`] from one sort of the scores: O(n log n) time
/// and 8 bytes per score of working memory (3 million pairs: about 0.1 s).
///
/// Errors as they do.
pub fn link_metrics(pos_scores: &[f32], neg_scores: &[f32]) -> Result<LinkMetrics> {
    if pos_scores.is_empty() || neg_scores.is_empty() {
        return Err(Error::InvalidArgument {
            argument: if pos_scores.is_empty() {
                "pos_scores"
            } else {
                "neg_scores"
            },
            message: format!(
                "ranking metrics need at least one positive and one negative score, got {} \
                 positive and {} negative",
                pos_scores.len(),
                neg_scores.len()
            ),
        });
    }
    for (argument, name, scores) in [
        ("pos_scores", "positive", pos_scores),
        ("neg_scores", "negative", neg_scores),
    ] {
        if let Some(k) = scores.iter().position(|s| s.is_nan()) {
            return Err(Error::InvalidArgument {
                argument,
                message: format!("{name} score {k} is NaN; ranking metrics need comparable scores"),
            });
        }
    }

    // One u64 per score: an order-preserving image of the score above, the label in the
    // lowest bit. Sorting these integers sorts by score (ties adjacent, labels mixed within
    // a tie, which no sum below depends on) without a comparator on floats.
    let mut keys: Vec<u64> = Vec::new();
    keys.try_reserve_exact(pos_scores.len() + neg_scores.len())
        .map_err(|_| {
            let scores = pos_scores.len() + neg_scores.len();
            crate::memory::allocation_failed(
                format!("the ranking of {scores} scores"),
                (scores as u64).saturating_mul(8),
            )
        })?;
    keys.extend(
        pos_scores
            .iter()
            .map(|&s| u64::from(ordered_bits(s)) << 32 | 1),
    );
    keys.extend(neg_scores.iter().map(|&s| u64::from(ordered_bits(s)) << 32));
    keys.sort_unstable_by(|a, b| b.cmp(a));

    // Walk the tie groups from the highest score down, each one threshold as in sklearn's
    // `_binary_clf_curve`. Counts are exact integers; only the final ratios are `f64`.
    let total_pos = pos_scores.len() as u64;
    let (mut tp, mut fp) = (0u64, 0u64);
    // AUC: each group adds a trapezoid of width neg/N and heights tp/P → (tp+pos)/P; doubled
    // and scaled by P·N it is the integer neg·(2·tp + pos). u128 cannot overflow for any
    // input that fits in memory.
    let mut twice_area = 0u128;
    let mut ap = 0.0f64;
    let mut k = 0;
    while k < keys.len() {
        let score = keys[k] >> 32;
        let (mut pos, mut neg) = (0u64, 0u64);
        while k < keys.len() && keys[k] >> 32 == score {
            if keys[k] & 1 == 1 {
                pos += 1;
            } else {
                neg += 1;
            }
            k += 1;
        }
        twice_area += u128::from(neg) * u128::from(2 * tp + pos);
        tp += pos;
        fp += neg;
        // Thresholds that add no positive leave recall unchanged and contribute nothing.
        if pos > 0 {
            ap += (pos as f64 / total_pos as f64) * (tp as f64 / (tp + fp) as f64);
        }
    }
    Ok(LinkMetrics {
        auc: twice_area as f64 / (2.0 * tp as f64 * fp as f64),
        ap,
    })
}

/// A `u32` whose unsigned order is the numeric order of the non-NaN `score`, with `-0.0`
/// and `0.0` mapped to the same value (they compare equal, so they tie).
fn ordered_bits(score: f32) -> u32 {
    // Adding 0.0 turns -0.0 into 0.0 and leaves every other value unchanged.
    let bits = (score + 0.0).to_bits();
    // Positive: set the sign bit, above every negative. Negative: flip all bits, so that a
    // larger magnitude orders lower.
    if bits >> 31 == 0 {
        bits | 1 << 31
    } else {
        !bits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64) {
        assert!((got - want).abs() < 1e-12, "got {got}, want {want}");
    }

    fn check(pos: &[f32], neg: &[f32], auc: f64, ap: f64) {
        close(roc_auc(pos, neg).unwrap(), auc);
        close(average_precision(pos, neg).unwrap(), ap);
        let both = link_metrics(pos, neg).unwrap();
        close(both.auc, auc);
        close(both.ap, ap);
    }

    #[test]
    fn hand_example_with_one_tie() {
        // pos = [0.9, 0.8, 0.4], neg = [0.7, 0.4, 0.1].
        // AUC, pairwise: 0.9 beats 3 negatives, 0.8 beats 3, 0.4 beats 0.1, ties 0.4 (½)
        //   → (3 + 3 + 1.5) / 9 = 7.5/9 = 5/6.
        // AP, thresholds high to low (tp, fp): 0.9 (1,0) R=1/3 P=1; 0.8 (2,0) R=2/3 P=1;
        //   0.7 (2,1) R unchanged; 0.4 (3,2) R=1 P=3/5; 0.1 (3,3) R unchanged
        //   → 1/3·1 + 1/3·1 + 1/3·3/5 = 2/3 + 1/5 = 13/15.
        // sklearn 1.9.1 agrees: 0.8333333333333333, 0.8666666666666667.
        check(&[0.9, 0.8, 0.4], &[0.7, 0.4, 0.1], 5.0 / 6.0, 13.0 / 15.0);
    }

    #[test]
    fn hand_example_with_mixed_tie_groups() {
        // pos = [0.8, 0.6, 0.6, 0.2], neg = [0.6, 0.3, 0.2, 0.2, 0.1]; P = 4, N = 5.
        // AUC, pairwise: 0.8 beats 5 → 5; each 0.6 ties one, beats 4 → 4.5, twice → 9;
        //   0.2 ties two 0.2s (1) and beats 0.1 (1) → 2. (5 + 9 + 2) / 20 = 0.8.
        // AP, groups (pos, neg): 0.8 (1,0) → tp 1 fp 0, ΔR 1/4, P 1     → 0.25
        //   0.6 (2,1) → tp 3 fp 1, ΔR 2/4, P 3/4 → 0.375;  0.3 (0,1) → ΔR 0
        //   0.2 (1,2) → tp 4 fp 4, ΔR 1/4, P 1/2 → 0.125;  0.1 (0,1) → ΔR 0
        //   → 0.75. sklearn 1.9.1 agrees: 0.8, 0.75.
        check(&[0.8, 0.6, 0.6, 0.2], &[0.6, 0.3, 0.2, 0.2, 0.1], 0.8, 0.75);
    }

    #[test]
    fn all_tied_scores() {
        // One threshold with tp 2, fp 3: the ROC is the diagonal (AUC ½) and AP = 1·2/5.
        check(&[0.5; 2], &[0.5; 3], 0.5, 0.4);
    }

    #[test]
    fn perfect_separation() {
        check(&[0.9, 0.8], &[0.3, 0.1], 1.0, 1.0);
    }

    #[test]
    fn reversed_ranking() {
        // Every negative above every positive: AUC 0. AP thresholds 0.9 (0,1), 0.8 (0,2),
        // 0.2 (1,2) ΔR ½ P 1/3, 0.1 (2,2) ΔR ½ P ½ → 1/6 + 1/4 = 5/12.
        // sklearn 1.9.1: 0.0, 0.41666666666666663.
        check(&[0.1, 0.2], &[0.8, 0.9], 0.0, 5.0 / 12.0);
    }

    #[test]
    fn signed_zeros_tie_and_infinities_order() {
        // -0.0 == 0.0: one threshold, tp 1 fp 1 → AUC ½, AP ½ (sklearn agrees).
        check(&[0.0], &[-0.0], 0.5, 0.5);
        check(&[f32::INFINITY], &[1.0, f32::NEG_INFINITY], 1.0, 1.0);
    }

    #[test]
    fn order_of_inputs_does_not_matter() {
        let pos = [0.3, 0.9, 0.5, 0.5];
        let neg = [0.5, 0.1, 0.7];
        let (mut p2, mut n2) = (pos, neg);
        p2.reverse();
        n2.reverse();
        assert_eq!(
            link_metrics(&pos, &neg).unwrap(),
            link_metrics(&p2, &n2).unwrap()
        );
    }

    #[test]
    fn sklearn_reference_with_many_ties() {
        // Generated in Python (random.Random(2024), Beta draws rounded to 0.1) and scored with
        // sklearn 1.9.1 on float32 scores: roc_auc_score = 0.820476858345021,
        // average_precision_score = 0.7801341027216446.
        let pos = [
            0.7, 0.7, 0.8, 0.6, 0.5, 0.8, 0.4, 0.7, 0.9, 0.2, 0.9, 0.5, 0.5, 0.6, 0.3, 0.5, 0.5,
            0.6, 0.9, 0.4, 0.3, 0.9, 0.7,
        ];
        let neg = [
            0.4, 0.4, 0.4, 0.5, 0.4, 0.4, 0.4, 0.3, 0.7, 0.5, 0.4, 0.2, 0.1, 0.1, 0.2, 0.3, 0.4,
            0.1, 0.5, 0.1, 0.4, 0.5, 0.2, 0.5, 0.2, 0.6, 0.6, 0.2, 0.5, 0.2, 0.3,
        ];
        check(&pos, &neg, 0.820476858345021, 0.7801341027216446);
    }

    #[test]
    fn sklearn_reference_continuous_scores() {
        // Gaussian draws rounded to 4 decimals (same generator, continued); sklearn 1.9.1:
        // roc_auc_score = 0.7557142857142857, average_precision_score = 0.7950464897400983.
        let pos = [
            0.4417, 0.6369, 0.604, 0.8418, 0.5654, 0.1046, 1.0282, 0.4986, 0.411, 0.6242, 0.8823,
            0.6558, 0.4869, 0.2838, 0.6759, 0.5472, 0.5009, 0.5156, 0.6542, 0.102, 0.6081, 0.447,
            0.7196, 0.2763, 0.4843, 0.3868, 0.9352, 0.4712, 0.7563, 0.8751, 0.6349, 0.5327, 0.7906,
            0.7887, 0.7348, 0.7441, 0.9737, 0.551, 0.874, 0.7936,
        ];
        let neg = [
            0.4163, 0.5666, 0.6944, 0.1782, 0.5785, 0.316, 0.4825, 0.4663, 0.1597, 0.5475, 0.2133,
            0.7223, 0.4241, 0.6706, 0.2086, 0.5753, 0.5706, 0.715, 0.3808, 0.8111, 0.103, 0.306,
            0.3924, 0.27, 0.5158, 0.1234, 0.405, 0.4447, 0.3284, 0.3355, 0.2147, 0.4963, 0.2409,
            0.4249, 0.2826,
        ];
        check(&pos, &neg, 0.7557142857142857, 0.7950464897400983);
    }

    #[test]
    fn auc_matches_mid_rank_mann_whitney() {
        // Independent formula: U = Σ ranks(pos) − P(P+1)/2 with average ranks for ties,
        // AUC = U / (P·N). Scores on a coarse grid so ties are frequent.
        let mut state = 12345u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 40) % 13) as f32 / 4.0
        };
        let pos: Vec<f32> = (0..300).map(|_| next() + 0.5).collect();
        let neg: Vec<f32> = (0..400).map(|_| next()).collect();
        let mut all: Vec<(f32, bool)> = pos.iter().map(|&s| (s, true)).collect();
        all.extend(neg.iter().map(|&s| (s, false)));
        all.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
        let mut rank_sum = 0.0f64;
        let mut k = 0;
        while k < all.len() {
            let mut end = k;
            while end < all.len() && all[end].0 == all[k].0 {
                end += 1;
            }
            let mid_rank = (k + 1 + end) as f64 / 2.0; // ranks k+1..=end, averaged
            rank_sum += mid_rank * all[k..end].iter().filter(|x| x.1).count() as f64;
            k = end;
        }
        let (p, n) = (pos.len() as f64, neg.len() as f64);
        let u = rank_sum - p * (p + 1.0) / 2.0;
        close(roc_auc(&pos, &neg).unwrap(), u / (p * n));
    }

    #[test]
    fn empty_inputs_are_errors() {
        for (p, n) in [
            (&[][..], &[0.5f32][..]),
            (&[0.5][..], &[][..]),
            (&[][..], &[][..]),
        ] {
            let err = roc_auc(p, n).unwrap_err();
            assert!(err
                .to_string()
                .contains("at least one positive and one negative"));
            assert!(average_precision(p, n).is_err());
            assert!(link_metrics(p, n).is_err());
        }
    }

    #[test]
    fn nan_scores_are_errors() {
        let err = roc_auc(&[0.1, f32::NAN], &[0.2]).unwrap_err();
        assert!(err.to_string().contains("positive score 1 is NaN"), "{err}");
        let err = average_precision(&[0.1], &[f32::NAN]).unwrap_err();
        assert!(err.to_string().contains("negative score 0 is NaN"), "{err}");
    }

    #[test]
    fn ordered_bits_preserve_order_and_tie_signed_zeros() {
        let values = [
            f32::NEG_INFINITY,
            f32::MIN,
            -1.5,
            -f32::MIN_POSITIVE,
            -1e-45, // the smallest subnormal
            0.0,
            1e-45,
            f32::MIN_POSITIVE,
            0.5,
            1.0,
            f32::MAX,
            f32::INFINITY,
        ];
        for w in values.windows(2) {
            assert!(
                ordered_bits(w[0]) < ordered_bits(w[1]),
                "{} < {}",
                w[0],
                w[1]
            );
        }
        assert_eq!(ordered_bits(-0.0), ordered_bits(0.0));
    }

    #[test]
    fn metrics_equal_a_quadratic_pairwise_count_on_random_scores() {
        // AUC as the pairwise definition (1 per correctly ordered pair, ½ per tie) and AP as
        // the threshold sum computed straight from counts above each distinct score,
        // O(n²): independent of the sort and the grouping. Negative scores, a coarse grid
        // (ties) and signed zeros included.
        let mut state = 99u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = ((state >> 40) % 21) as f32 / 4.0 - 2.5;
            if v == 0.0 && state & (1 << 20) != 0 {
                -0.0
            } else {
                v
            }
        };
        for (np, nn) in [(1, 1), (3, 200), (150, 170), (400, 7)] {
            let pos: Vec<f32> = (0..np).map(|_| next() + 0.5).collect();
            let neg: Vec<f32> = (0..nn).map(|_| next()).collect();
            let mut u = 0.0f64;
            for &p in &pos {
                for &q in &neg {
                    u += if p > q {
                        1.0
                    } else if p == q {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
            let auc = u / (np * nn) as f64;
            let mut thresholds: Vec<f32> = pos.iter().chain(&neg).copied().collect();
            thresholds.sort_by(|a, b| b.partial_cmp(a).unwrap());
            thresholds.dedup();
            let (mut ap, mut last_recall) = (0.0f64, 0.0f64);
            for &t in &thresholds {
                let tp = pos.iter().filter(|&&p| p >= t).count() as f64;
                let fp = neg.iter().filter(|&&q| q >= t).count() as f64;
                let recall = tp / np as f64;
                if tp > 0.0 {
                    ap += (recall - last_recall) * tp / (tp + fp);
                }
                last_recall = recall;
            }
            let m = link_metrics(&pos, &neg).unwrap();
            assert!(
                (m.auc - auc).abs() < 1e-12,
                "{np}/{nn}: auc {} vs {auc}",
                m.auc
            );
            assert!((m.ap - ap).abs() < 1e-12, "{np}/{nn}: ap {} vs {ap}", m.ap);
        }
    }
}

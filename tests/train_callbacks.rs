//! What a caller can steer in `train` beyond the settings: a progress callback that stops
//! training (ControlFlow::Break → Error::Interrupted, as Ctrl-C in the Python binding
//! does), and validation/test negatives of the caller's own instead of drawn ones.

#[macro_use]
mod common;

use std::ops::ControlFlow;

use common::gpu;
use gpu_vgae::internal::data::GraphView;
use gpu_vgae::internal::metrics::link_metrics;
use gpu_vgae::internal::split::split_edges_with;
use gpu_vgae::internal::synthetic::{generate, SyntheticGraph, SyntheticSpec};
use gpu_vgae::{train, Error, TrainOptions};

fn small_graph() -> SyntheticGraph {
    let mut spec = SyntheticSpec::default();
    spec.nodes = 300;
    spec.mean_degree = 5.0;
    spec.features = 60;
    spec.features_per_node = 6;
    generate(&spec).unwrap()
}

fn options() -> TrainOptions {
    let mut options = TrainOptions::default();
    options.epochs = 30;
    options.model.seed = 4;
    options
}

gpu_test! {
    fn a_callback_that_breaks_stops_training_with_interrupted() {
        let gpu = gpu();
        let g = small_graph();
        let view = GraphView::new(g.num_nodes, &g.edges, Some(&g.features)).unwrap();
        let mut seen = Vec::new();
        let result = train(&gpu, view, &options(), |e| {
            seen.push(e.epoch);
            if e.epoch == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        match result {
            Err(Error::Interrupted { message }) => {
                assert_eq!(message, "training stopped after epoch 3 of 30");
            }
            Err(other) => panic!("expected Interrupted, got {other}"),
            Ok(_) => panic!("training went on after the callback asked to stop"),
        }
        assert_eq!(seen, [1, 2, 3]);
        // A callback returning () trains every epoch.
        let trained = train(&gpu, view, &options(), |_| ()).unwrap();
        assert_eq!(trained.report.epochs_run, 30);
    }
}

gpu_test! {
    fn given_negatives_are_what_validation_and_test_score() {
        let gpu = gpu();
        let g = small_graph();
        let view = GraphView::new(g.num_nodes, &g.edges, Some(&g.features)).unwrap();
        let drawn = train(&gpu, view, &options(), |_| {}).unwrap();
        assert!(drawn.report.notes.is_empty());

        // The drawn negatives handed back in (validation first) give the same run, bit
        // for bit: the positives, the training and the scoring do not change.
        let o = options();
        let split = split_edges_with(g.num_nodes, &g.edges, 0.05, 0.1, o.model.seed).unwrap();
        let mut same = o.clone();
        same.held_out_negatives = Some([split.val_neg.clone(), split.test_neg.clone()].concat());
        let again = train(&gpu, view, &same, |_| {}).unwrap();
        assert_eq!(again.split, drawn.split);
        assert_eq!(again.report.val, drawn.report.val);
        assert_eq!(again.report.test, drawn.report.test);
        assert_eq!(again.report.notes.len(), 1, "{:?}", again.report.notes);

        // Other negatives (reversed pairs count as the same pair): the report scores
        // exactly them against the held-out positives.
        let mut others = o.clone();
        let reversed: Vec<(u32, u32)> = split
            .test_neg
            .iter()
            .chain(&split.val_neg)
            .map(|&(a, b)| (b, a))
            .collect();
        others.held_out_negatives = Some(reversed);
        let trained = train(&gpu, view, &others, |_| {}).unwrap();
        let s = &trained.split;
        assert_eq!((&s.val_pos, &s.test_pos), (&split.val_pos, &split.test_pos));
        assert_eq!(s.val_neg.len() + s.test_neg.len(), split.val_neg.len() + split.test_neg.len());
        let score = |pairs: &[(u32, u32)]| trained.model.score_pairs(pairs).unwrap();
        let test = link_metrics(&score(&s.test_pos), &score(&s.test_neg)).unwrap();
        assert_eq!(trained.report.test, Some(test));
        assert_ne!(s.test_neg, split.test_neg);

        // A negative that is an edge is refused before training.
        let mut wrong = o.clone();
        wrong.held_out_negatives = Some(vec![g.edges[0], split.val_neg[0], split.test_neg[0]]);
        match train(&gpu, view, &wrong, |_| {}) {
            Err(Error::InvalidArgument { argument, .. }) => assert_eq!(argument, "negatives"),
            other => panic!("an edge was taken as a negative: {:?}", other.err()),
        }
    }
}

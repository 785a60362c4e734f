//! `topk_rows` against `cpu::topk_rows` slot for slot, and the search built on it
//! (`gpu_vgae::internal::predict`) against the brute-force ranking `top_k_links_cpu`: the same
//! pairs in the same order, logits equal as f32 (the kernel and the references sum in
//! the same order; on lavapipe the values agree bit for bit) and scores within 1e-6.

use crate::common::{
    assert_invalid_argument, every_layout, gpu, gpu_profiles, profile_name, random_vec, rng,
};
use crate::run;
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::gpu::Gpu;
use gpu_vgae::internal::kernels::topk_rows::{
    topk_rows, ExclusionLists, RowBounds, RowLists, TILE,
};
use gpu_vgae::internal::predict::{
    score_pairs, top_k_links, top_k_links_cpu, top_k_links_on_device, Exclusion, ScoredPair,
    TopKMode, TopKOptions,
};
use gpu_vgae::Error;
use rand::rngs::StdRng;
use rand::Rng;

const MODES: [TopKMode; 2] = [TopKMode::Global, TopKMode::PerNode];

/// About `edges` random pairs over n nodes; every `isolated_every`-th node is left
/// without any (0 = none forced isolated). May repeat pairs and list both orders.
fn random_edges(r: &mut StdRng, n: usize, edges: usize, isolated_every: usize) -> Vec<(u32, u32)> {
    let isolated = |v: u32| isolated_every > 0 && (v as usize).is_multiple_of(isolated_every);
    (0..edges)
        .map(|_| (r.random_range(0..n) as u32, r.random_range(0..n) as u32))
        .filter(|&(a, b)| a != b && !isolated(a) && !isolated(b))
        .collect()
}

/// Embeddings with ties: small multiples of 1/4 (exact products and sums, so equal
/// logits are common), some rows repeated and some all zero.
fn tied_embeddings(r: &mut StdRng, n: usize, latent: usize) -> Vec<f32> {
    let mut z: Vec<f32> = (0..n * latent)
        .map(|_| r.random_range(-2i32..=2) as f32 * 0.25)
        .collect();
    for i in 0..n {
        match i % 5 {
            1 if i >= 1 => {
                let (head, tail) = z.split_at_mut(i * latent);
                tail[..latent].copy_from_slice(&head[(i - 1) * latent..i * latent]);
            }
            3 => z[i * latent..(i + 1) * latent].fill(0.0),
            _ => {}
        }
    }
    z
}

fn assert_same_links(got: &[ScoredPair], want: &[ScoredPair], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: number of links");
    for (p, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g.source, g.target) == (w.source, w.target) && g.logit == w.logit,
            "{what}: link {p} is ({}, {}) logit {}, expected ({}, {}) logit {}",
            g.source,
            g.target,
            g.logit,
            w.source,
            w.target,
            w.logit
        );
        assert!(
            (g.score - w.score).abs() <= 1e-6,
            "{what}: link {p} score {} vs {}",
            g.score,
            w.score
        );
    }
}

/// Candidate count of the whole query, for "K larger than the candidates".
fn candidates(n: usize, exclude: &Exclusion, mode: TopKMode) -> usize {
    let pairs = n * n.saturating_sub(1) / 2 - exclude.len();
    match mode {
        TopKMode::Global => pairs,
        TopKMode::PerNode => 2 * pairs,
    }
}

/// Uploads the exclusion lists of `exclude` (the kernel's CSR without values).
fn exclusion_lists(gpu: &Gpu, exclude: &Exclusion) -> (ExclusionLists, Vec<u32>, Vec<u32>) {
    let n = exclude.num_nodes();
    let mut ptr = vec![0u32];
    let mut col = Vec::new();
    for i in 0..n {
        col.extend_from_slice(exclude.neighbours(i));
        ptr.push(col.len() as u32);
    }
    let lists = ExclusionLists {
        ptr: gpu.upload("excl_ptr", &ptr).unwrap(),
        col: gpu.upload("excl_col", &col).unwrap(),
    };
    (lists, ptr, col)
}

gpu_test! {
    fn topk_rows_matches_cpu_slot_for_slot_with_bounds_and_strides() {
        let mut r = rng(41);
        // (n, stride, latent, capacity)
        let shapes = [
            (1, 1, 1, 1),
            (2, 3, 3, 1),
            (67, 16, 16, 7),
            (130, 20, 17, 64),
            (300, 64, 64, 5),
            (257, 4, 4, 300),
        ];
        for gpu in every_layout() {
            for &(n, stride, latent, capacity) in &shapes {
                let z = random_vec(&mut r, n * stride, 1.0);
                let edges = random_edges(&mut r, n, 3 * n, 7);
                let exclude = Exclusion::new(n, &edges).unwrap();
                let (lists_dev, ptr, col) = exclusion_lists(&gpu, &exclude);
                // The kernel reads rows as vec4: widen each row to a multiple of 4
                // columns, keeping the values past `latent` (which it must ignore).
                let wide = stride.div_ceil(4) * 4;
                let zw: Vec<f32> = z
                    .chunks_exact(stride)
                    .flat_map(|row| row.iter().copied().chain(std::iter::repeat_n(f32::NAN, wide - stride)))
                    .collect();
                let gz = gpu.upload_matrix("z", n, wide, &zw).unwrap();
                for (global, paged) in [(true, false), (true, true), (false, false), (false, true)] {
                    // Every other row (all when tiny); when paged, a cursor on every
                    // second of them and a floor on every third, both taken from real
                    // logits of the row, so ties at the bounds occur.
                    let rows: Vec<u32> = (0..n as u32).filter(|i| i % 2 == 0 || n < 4).collect();
                    let bounds: Vec<RowBounds> = rows
                        .iter()
                        .enumerate()
                        .map(|(e, &i)| {
                            let logit = |j: usize| cpu::link_logit(&z, stride, latent, i as usize, j);
                            let j = (i as usize + 1 + e) % n;
                            RowBounds {
                                cursor: (paged && e % 2 == 1).then(|| (logit(j), j as u32)),
                                floor: (e % 3 == 2)
                                    .then(|| logit((j + 5) % n) - if e % 2 == 0 { 0.0 } else { 0.5 }),
                            }
                        })
                        .collect();
                    let words: Vec<u32> = bounds.iter().flat_map(RowBounds::words).collect();
                    let slots = rows.len() * capacity;
                    let lists = RowLists {
                        rows: gpu.upload("rows", &rows).unwrap(),
                        bounds: gpu.upload("bounds", &words).unwrap(),
                        heap: gpu.alloc("heap", 2 * slots).unwrap(),
                        fill: gpu.alloc("fill", rows.len()).unwrap(),
                        capacity,
                    };
                    run(&gpu, [topk_rows(&gpu, &gz, latent, &lists_dev, &lists, global).unwrap()]);
                    let got_heap = gpu.read(&lists.heap).unwrap();
                    let got_fill = gpu.read(&lists.fill).unwrap();
                    let (heap, fill) = cpu::topk_rows(
                        &z, n, stride, latent, &ptr, &col, &rows, &words, capacity, global,
                    );
                    let what = format!(
                        "{} n={n} L={latent} cap={capacity} global={global} paged={paged}",
                        profile_name(&gpu)
                    );
                    assert_eq!(got_fill, fill, "{what}: fill counts");
                    for (e, &f) in fill.iter().enumerate() {
                        let at = 2 * e * capacity;
                        for slot in 0..f as usize {
                            let (g, c) = (&got_heap[at + 2 * slot..], &heap[at + 2 * slot..]);
                            assert!(
                                g[1] == c[1] && f32::from_bits(g[0]) == f32::from_bits(c[0]),
                                "{what}: row {} slot {slot}: ({}, {}) vs ({}, {})",
                                rows[e],
                                f32::from_bits(g[0]),
                                g[1],
                                f32::from_bits(c[0]),
                                c[1]
                            );
                        }
                    }
                }
            }
        }
    }
}

gpu_test! {
    fn topk_rows_search_equals_brute_force_on_random_graphs() {
        let mut r = rng(42);
        // (n, latent, edges per node, isolated every)
        let graphs = [
            (1, 1, 0, 0),
            (2, 3, 0, 0),
            (2, 16, 1, 0),
            (3, 1, 1, 0),
            (67, 3, 2, 5),
            (300, 16, 4, 9),
            (1000, 64, 3, 0),
            (1000, 16, 5, 11),
        ];
        for (g, &(n, latent, degree, isolated_every)) in graphs.iter().enumerate() {
            let z = random_vec(&mut r, n * latent, 1.0);
            let edges = random_edges(&mut r, n, degree * n, isolated_every);
            let exclude = Exclusion::new(n, &edges).unwrap();
            let gz = gpu().upload_matrix("z", n, latent, &z).unwrap();
            for gpu in gpu_profiles() {
                for mode in MODES {
                    let total = candidates(n, &exclude, mode);
                    for k in [1, 7, 100, total + 3] {
                        let what = format!(
                            "graph {g} {:?} n={n} L={latent} {mode:?} k={k}",
                            gpu.profile().class
                        );
                        let got = top_k_links(&gpu, &z, n, latent, &exclude, k, mode).unwrap();
                        let want = top_k_links_cpu(&z, n, latent, &exclude, k, mode).unwrap();
                        assert_same_links(&got, &want, &what);
                        if k > total {
                            assert_eq!(got.len(), total, "{what}: every candidate");
                        }
                        if mode == TopKMode::Global && k <= total {
                            // With the floor (the default) and without.
                            let options = TopKOptions::new(k, mode);
                            let floored =
                                top_k_links_on_device(&gpu, &gz, latent, &exclude, &options)
                                    .unwrap();
                            let floor = floored.floor.expect("a floor when K ≤ candidates");
                            assert!(floor <= want[k - 1].logit, "{what}: floor {floor}");
                            let plain = top_k_links_on_device(
                                &gpu,
                                &gz,
                                latent,
                                &exclude,
                                &options.with_floor_rows(0),
                            )
                            .unwrap();
                            assert_eq!(plain.floor, None);
                            assert_same_links(&plain.links, &want, &format!("{what} no floor"));
                        }
                    }
                }
            }
        }
    }
}

gpu_test! {
    fn topk_rows_search_breaks_ties_by_pair_and_skips_excluded_pairs() {
        let mut r = rng(43);
        for (n, latent) in [(3, 1), (67, 3), (300, 16), (1000, 4)] {
            let z = tied_embeddings(&mut r, n, latent);
            let edges = random_edges(&mut r, n, 2 * n, 6);
            let extra = random_edges(&mut r, n, n / 2 + 1, 0);
            let exclude = Exclusion::new(n, &edges).unwrap().with_pairs(&extra).unwrap();
            for e in edges.iter().chain(&extra) {
                assert!(exclude.contains(e.0, e.1) && exclude.contains(e.1, e.0));
            }
            for gpu in gpu_profiles() {
                for mode in MODES {
                    for k in [1, 7, 100, candidates(n, &exclude, mode) + 1] {
                        let what = format!("ties {:?} n={n} {mode:?} k={k}", gpu.profile().class);
                        let got = top_k_links(&gpu, &z, n, latent, &exclude, k, mode).unwrap();
                        let want = top_k_links_cpu(&z, n, latent, &exclude, k, mode).unwrap();
                        assert_same_links(&got, &want, &what);
                        assert!(
                            got.iter().all(|p| !exclude.contains(p.source, p.target)
                                && p.source != p.target),
                            "{what}: an excluded or self pair was returned"
                        );
                        if mode == TopKMode::Global {
                            assert!(got.iter().all(|p| p.source < p.target), "{what}");
                        }
                    }
                }
            }
        }
        // All-zero embeddings: every logit ties at 0, so the order is the pairs' order.
        let gpu = gpu();
        let n = 40;
        let z = vec![0f32; n * 2];
        let none = Exclusion::none(n).unwrap();
        let got = top_k_links(&gpu, &z, n, 2, &none, 5, TopKMode::Global).unwrap();
        let pairs: Vec<(u32, u32)> = got.iter().map(|p| (p.source, p.target)).collect();
        assert_eq!(pairs, [(0, 1), (0, 2), (0, 3), (0, 4), (0, 5)]);
        assert!(got.iter().all(|p| p.score == 0.5));
        let got = top_k_links(&gpu, &z, n, 2, &none, 2, TopKMode::PerNode).unwrap();
        assert_eq!((got[2].source, got[2].target, got[3].target), (1, 0, 2));
    }
}

gpu_test! {
    fn topk_rows_search_skips_rows_that_cannot_reach_the_global_floor() {
        // Norms spread over two orders of magnitude, as trained embeddings' are: the
        // global top K sits among few rows, and the rest are never scanned.
        let mut r = rng(47);
        let (n, latent) = (2000, 16);
        let mut z = random_vec(&mut r, n * latent, 1.0);
        for (i, row) in z.chunks_exact_mut(latent).enumerate() {
            let scale = 10f32.powf(-2.0 * ((i * 7919) % n) as f32 / n as f32);
            row.iter_mut().for_each(|v| *v *= scale);
        }
        let exclude = Exclusion::new(n, &random_edges(&mut r, n, 4 * n, 0)).unwrap();
        let gz = gpu().upload_matrix("z", n, latent, &z).unwrap();
        let all_pairs = (n * (n - 1) / 2) as u64;
        for gpu in gpu_profiles() {
            for k in [1, 10, 100] {
                let options = TopKOptions::new(k, TopKMode::Global);
                let outcome = top_k_links_on_device(&gpu, &gz, latent, &exclude, &options).unwrap();
                let want = top_k_links_cpu(&z, n, latent, &exclude, k, TopKMode::Global).unwrap();
                let what = format!("{:?} skewed k={k}", gpu.profile().class);
                assert_same_links(&outcome.links, &want, &what);
                assert!(
                    outcome.scanned_pairs < all_pairs / 4,
                    "{what}: scanned {} of {all_pairs} pairs",
                    outcome.scanned_pairs
                );
            }
        }
    }
}

gpu_test! {
    fn topk_rows_search_handles_complete_and_edgeless_graphs() {
        let gpu = gpu();
        let mut r = rng(44);
        for n in [1, 2, 5, 70] {
            let z = random_vec(&mut r, n * 3, 1.0);
            let all: Vec<(u32, u32)> = (0..n as u32)
                .flat_map(|i| (i + 1..n as u32).map(move |j| (i, j)))
                .collect();
            let complete = Exclusion::new(n, &all).unwrap();
            for mode in MODES {
                assert!(top_k_links(&gpu, &z, n, 3, &complete, 4, mode).unwrap().is_empty());
                let none = Exclusion::none(n).unwrap();
                let got = top_k_links(&gpu, &z, n, 3, &none, usize::MAX, mode).unwrap();
                assert_same_links(
                    &got,
                    &top_k_links_cpu(&z, n, 3, &none, usize::MAX, mode).unwrap(),
                    &format!("edgeless n={n} {mode:?}"),
                );
                assert_eq!(got.len(), candidates(n, &none, mode));
            }
        }
        // No nodes at all.
        let empty = Exclusion::none(0).unwrap();
        for mode in MODES {
            assert!(top_k_links(&gpu, &[], 0, 3, &empty, 5, mode).unwrap().is_empty());
        }
        // A star: the centre has no candidate left, the leaves have each other.
        let n = 9;
        let star: Vec<(u32, u32)> = (1..n as u32).map(|j| (0, j)).collect();
        let exclude = Exclusion::new(n, &star).unwrap();
        let z = random_vec(&mut r, n * 2, 1.0);
        let got = top_k_links(&gpu, &z, n, 2, &exclude, 3, TopKMode::PerNode).unwrap();
        assert!(got.iter().all(|p| p.source != 0 && p.target != 0));
        assert_eq!(got.len(), 3 * (n - 1));
    }
}

gpu_test! {
    fn topk_rows_search_pages_through_rows_when_k_exceeds_a_pass() {
        // Small list budgets force several passes (cursors, rows dropping out, growing
        // capacity); the answer must not change.
        let mut r = rng(45);
        for (n, latent, tied) in [(67, 3, false), (300, 16, false), (300, 2, true), (130, 5, false)] {
            let z = if tied {
                tied_embeddings(&mut r, n, latent)
            } else {
                random_vec(&mut r, n * latent, 1.0)
            };
            let exclude = Exclusion::new(n, &random_edges(&mut r, n, 3 * n, 4)).unwrap();
            let gz = gpu().upload_matrix("z", n, latent, &z).unwrap();
            for gpu in gpu_profiles() {
                for mode in MODES {
                    for (k, budget, floor_rows) in [
                        (50, 64, 64),
                        (500, 300, 0),
                        (40, n, 1),
                        (7, 1, 64),
                        (3000, 2000, 2),
                    ] {
                        let what = format!(
                            "{:?} n={n} {mode:?} k={k} budget={budget} floor rows {floor_rows}",
                            gpu.profile().class
                        );
                        let options = TopKOptions::new(k, mode)
                            .with_list_budget(budget)
                            .with_floor_rows(floor_rows);
                        let outcome =
                            top_k_links_on_device(&gpu, &gz, latent, &exclude, &options).unwrap();
                        let want = top_k_links_cpu(&z, n, latent, &exclude, k, mode).unwrap();
                        assert_same_links(&outcome.links, &want, &what);
                        if budget / n < k.min(n / 2) {
                            assert!(outcome.passes > 1, "{what}: {} pass", outcome.passes);
                        }
                    }
                }
            }
        }
    }
}

gpu_test! {
    fn topk_rows_search_reads_a_strided_device_matrix_and_scores_pairs() {
        let gpu = gpu();
        let mut r = rng(46);
        let (n, latent, stride) = (150, 5, 12);
        let wide = random_vec(&mut r, n * stride, 1.0);
        let narrow: Vec<f32> = wide
            .chunks_exact(stride)
            .flat_map(|row| row[..latent].iter().copied())
            .collect();
        let exclude = Exclusion::new(n, &random_edges(&mut r, n, 2 * n, 0)).unwrap();
        let gz = gpu.upload_matrix("ms", n, stride, &wide).unwrap();
        for mode in MODES {
            let outcome =
                top_k_links_on_device(&gpu, &gz, latent, &exclude, &TopKOptions::new(9, mode))
                    .unwrap();
            assert_eq!(outcome.passes, 1);
            assert_same_links(
                &outcome.links,
                &top_k_links_cpu(&narrow, n, latent, &exclude, 9, mode).unwrap(),
                &format!("strided {mode:?}"),
            );
        }
        let pairs: Vec<(u32, u32)> = (0..40)
            .map(|_| (r.random_range(0..n) as u32, r.random_range(0..n) as u32))
            .collect();
        let got = score_pairs(&gpu, &narrow, n, latent, &pairs).unwrap();
        crate::common::assert_close(
            &got,
            &cpu::edge_score(&narrow, latent, latent, &pairs),
            crate::ATOL,
            crate::RTOL,
            "score_pairs",
        );
        assert!(score_pairs(&gpu, &narrow, n, latent, &[]).unwrap().is_empty());
        assert!(score_pairs(&gpu, &narrow, n, latent, &[(0, n as u32)]).is_err());
    }
}

gpu_test! {
    fn topk_rows_search_rejects_bad_input() {
        let gpu = gpu();
        let n = 6;
        let z = vec![0.5f32; n * 2];
        let none = Exclusion::none(n).unwrap();
        let global = TopKMode::Global;
        assert!(matches!(
            top_k_links(&gpu, &z, n, 2, &none, 0, global),
            Err(Error::InvalidConfig { setting: "k", .. })
        ));
        assert!(matches!(
            top_k_links_cpu(&z, n, 2, &none, 0, TopKMode::PerNode),
            Err(Error::InvalidConfig { .. })
        ));
        assert_invalid_argument(top_k_links(&gpu, &z[1..], n, 2, &none, 1, global), "embeddings");
        assert_invalid_argument(top_k_links(&gpu, &z, n, 3, &none, 1, global), "embeddings");
        assert_invalid_argument(top_k_links(&gpu, &z, n, 0, &none, 1, global), "latent");
        let wide = vec![0.1f32; n * 65];
        assert_invalid_argument(top_k_links(&gpu, &wide, n, 65, &none, 1, global), "latent");
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 4e18] {
            let mut z = z.clone();
            z[7] = bad;
            assert_invalid_argument(top_k_links(&gpu, &z, n, 2, &none, 1, global), "embeddings");
            assert_invalid_argument(top_k_links_cpu(&z, n, 2, &none, 1, global), "embeddings");
        }
        let other = Exclusion::none(n + 1).unwrap();
        assert_invalid_argument(top_k_links(&gpu, &z, n, 2, &other, 1, global), "exclude");
        assert_invalid_argument(Exclusion::new(n, &[(0, n as u32)]), "pairs");
        let options = TopKOptions::new(3, global).with_list_budget(0);
        let gz = gpu.upload_matrix("z", n, 2, &z).unwrap();
        assert!(matches!(
            top_k_links_on_device(&gpu, &gz, 2, &none, &options),
            Err(Error::InvalidConfig { setting: "list_budget", .. })
        ));
        assert_invalid_argument(
            top_k_links_on_device(&gpu, &gz, 3, &none, &TopKOptions::new(3, global)),
            "latent",
        );
        // Large but allowed embeddings: logits near 1e37 stay finite and ranked.
        let big: Vec<f32> = (0..n * 2).map(|v| 1e18 * (v as f32 + 1.0) / 16.0).collect();
        let got = top_k_links(&gpu, &big, n, 2, &none, 3, global).unwrap();
        assert_same_links(&got, &top_k_links_cpu(&big, n, 2, &none, 3, global).unwrap(), "big");
        assert_eq!((got[0].source, got[0].target), (4, 5));
        assert_eq!(TILE, 32);
    }
}

gpu_test! {
    fn topk_rows_reads_z_stored_in_f16_slot_for_slot() {
        // The f16 kernel (every layout, the subgroup one too) on z rounded to f16 against
        // the twin on the rounded values: the same lists, logits equal as f32.
        let mut r = rng(44);
        for gpu in every_layout() {
            for &(n, latent, capacity) in &[(1usize, 1usize, 1usize), (67, 16, 7), (130, 17, 64), (300, 64, 5)] {
                let wide = latent.div_ceil(4) * 4;
                let z = cpu::through_f16(&random_vec(&mut r, n * wide, 2.0));
                let edges = random_edges(&mut r, n, 3 * n, 7);
                let exclude = Exclusion::new(n, &edges).unwrap();
                let (lists_dev, ptr, col) = exclusion_lists(&gpu, &exclude);
                let gz = gpu.upload_matrix("z16", n, wide, &cpu::round_f16(&z)).unwrap();
                for global in [true, false] {
                    let rows: Vec<u32> = (0..n as u32).collect();
                    let words: Vec<u32> = rows.iter().flat_map(|_| RowBounds::default().words()).collect();
                    let lists = RowLists {
                        rows: gpu.upload("rows", &rows).unwrap(),
                        bounds: gpu.upload("bounds", &words).unwrap(),
                        heap: gpu.alloc("heap", 2 * rows.len() * capacity).unwrap(),
                        fill: gpu.alloc("fill", rows.len()).unwrap(),
                        capacity,
                    };
                    run(&gpu, [topk_rows(&gpu, &gz, latent, &lists_dev, &lists, global).unwrap()]);
                    let (heap, fill) =
                        cpu::topk_rows(&z, n, wide, latent, &ptr, &col, &rows, &words, capacity, global);
                    let what = format!("{} n={n} L={latent} global={global}", profile_name(&gpu));
                    assert_eq!(gpu.read(&lists.fill).unwrap(), fill, "{what}: fill counts");
                    let got = gpu.read(&lists.heap).unwrap();
                    for (e, &f) in fill.iter().enumerate() {
                        let at = 2 * e * capacity;
                        let used = at..at + 2 * f as usize;
                        assert_eq!(got[used.clone()], heap[used], "{what}: row {e}");
                    }
                }
            }
        }
    }
}

gpu_test! {
    fn topk_rows_search_in_f16_is_the_brute_force_ranking_of_rounded_embeddings() {
        use gpu_vgae::internal::model::Precision;
        use gpu_vgae::internal::predict::top_k_links_with;
        let mut r = rng(45);
        for &(n, latent) in &[(2usize, 3usize), (67, 3), (300, 16)] {
            let z = random_vec(&mut r, n * latent, 1.0);
            let rounded = cpu::through_f16(&z);
            let edges = random_edges(&mut r, n, 4 * n, 9);
            let exclude = Exclusion::new(n, &edges).unwrap();
            for gpu in gpu_profiles() {
                for mode in MODES {
                    for k in [1, 7, 100] {
                        let options = TopKOptions::new(k, mode).with_precision(Precision::F16);
                        let got = top_k_links_with(&gpu, &z, n, latent, &exclude, &options).unwrap();
                        let want = top_k_links_cpu(&rounded, n, latent, &exclude, k, mode).unwrap();
                        let what = format!("{:?} n={n} L={latent} {mode:?} k={k}", gpu.profile().class);
                        assert_same_links(&got.links, &want, &what);
                        // The device matrix path rounds the same way.
                        let gz = gpu.upload_matrix("z", n, latent, &z).unwrap();
                        let on_device = top_k_links_on_device(&gpu, &gz, latent, &exclude, &options).unwrap();
                        assert_same_links(&on_device.links, &want, &format!("{what} on device"));
                    }
                }
            }
        }
    }
}

//! Device limits at small sizes: every kernel gives the same bits when
//! - its tensors exceed one storage binding (gpu/windows.rs): the binding limit is
//!   forced down to a few KiB (`Gpu::with_binding_limit`) and the kernel must split its
//!   work into windows, and each case checks that it really ran as more dispatches;
//! - its grid exceeds the workgroups allowed per dimension (65,535 on most adapters):
//!   the limit is forced down to about the square root of the kernel's workgroups
//!   (`Gpu::with_grid_limit`) so that the grid folds into two dimensions, and each case
//!   checks that it did.
//!
//! Kernels that do not window refuse a tensor past the limit with a typed error.

use crate::common::{every_layout, gpu, gpu_profiles, random_csr, random_vec, rng};
use crate::{column_sums, run, Dispatches};
use gpu_vgae::internal::gpu::{Dispatch, Gpu, StepParams};
use gpu_vgae::internal::kernels::adam::{adam, AdamConfig};
use gpu_vgae::internal::kernels::decoder_dense::{decoder_dense, DenseLayout, DensePartials};
use gpu_vgae::internal::kernels::decoder_pairs::{decoder_pairs, PairRows};
use gpu_vgae::internal::kernels::edge_score::{edge_score, flatten_pairs};
use gpu_vgae::internal::kernels::gather_rows::gather_rows;
use gpu_vgae::internal::kernels::matmul::{matmul, matmul_masked};
use gpu_vgae::internal::kernels::matmul_tn_partial::{chunks, matmul_tn_partial};
use gpu_vgae::internal::kernels::reduce_sum::reduce_sum;
use gpu_vgae::internal::kernels::reparam_backward::reparam_backward;
use gpu_vgae::internal::kernels::reparam_kl::{reparam_kl, ClassPrior};
use gpu_vgae::internal::kernels::scatter_rows::scatter_rows;
use gpu_vgae::internal::kernels::spmm::{spmm_with, Epilogue};
use gpu_vgae::Error;

/// What a case returns: the recorded dispatches and a reader of the results (as bits),
/// called after they ran.
type Case = (Vec<Dispatch>, Box<dyn Fn() -> Vec<Vec<u32>>>);

/// Runs `build` on `gpu` as it is: its dispatch count, its largest grid (workgroups)
/// and its result.
fn run_whole<F>(gpu: &Gpu, build: &F) -> (usize, u64, Vec<Vec<u32>>)
where
    F: Fn(&Gpu) -> Case,
{
    let (whole, read) = build(gpu);
    let count = whole.len();
    let most = whole
        .iter()
        .map(|d| {
            d.workgroups()
                .iter()
                .map(|&w| u64::from(w))
                .product::<u64>()
        })
        .max()
        .unwrap_or(0);
    run(gpu, [whole]);
    (count, most, read())
}

/// Runs `build` on `gpu` and on `small` (the same device with a small binding limit),
/// which must take more dispatches, and on `gpu` with a grid limit that folds the
/// largest grid; all three must give the same bits.
fn both<F>(gpu: &Gpu, small: &Gpu, what: &str, build: F)
where
    F: Fn(&Gpu) -> Case,
{
    let (whole_count, most, expected) = run_whole(gpu, &build);
    let (windowed, read_windowed) = build(small);
    let windowed_count = windowed.len();
    run(small, [windowed]);
    assert!(
        windowed_count > whole_count,
        "{what}: {windowed_count} dispatches under the small limit, {whole_count} without"
    );
    assert!(
        expected == read_windowed(),
        "{what}: windowed result differs from the single dispatch"
    );
    folded(gpu, what, most, &build, &expected);
}

/// Runs `build` on `gpu`, then with its grid folded (see [`folded`]).
fn folds<F>(gpu: &Gpu, what: &str, build: F)
where
    F: Fn(&Gpu) -> Case,
{
    let (_, most, expected) = run_whole(gpu, &build);
    folded(gpu, what, most, &build, &expected);
}

/// Runs `build` with the grid limit at ⌈√most⌉ (`most`: the largest grid's workgroups,
/// at least 3 so that it can fold), checks that some grid folded and that the bits
/// equal `expected`.
fn folded<F>(gpu: &Gpu, what: &str, most: u64, build: &F, expected: &[Vec<u32>])
where
    F: Fn(&Gpu) -> Case,
{
    assert!(most >= 3, "{what}: {most} workgroups are too few to fold");
    let cap = (most as f64).sqrt().ceil() as u32;
    let narrow = gpu.with_grid_limit(cap);
    let (dispatches, read) = build(&narrow);
    assert!(
        dispatches.iter().any(|d| d.workgroups()[1] > 1),
        "{what}: no grid folded at {cap} workgroups per dimension"
    );
    assert!(
        narrow.folded_grids() > 0,
        "{what}: Gpu::grid did not count a fold"
    );
    run(&narrow, [dispatches]);
    assert!(expected == read(), "{what}: folded grid changes the result");
}

fn bits(values: Vec<f32>) -> Vec<u32> {
    values.into_iter().map(f32::to_bits).collect()
}

gpu_test! {
    fn adam_windows_bit_for_bit() {
        for gpu in gpu_profiles() {
        // 16 KiB: windows of 4,096 values; the CPU profile's 32 vec4s an invocation
        // still leave more than 3 workgroups to fold, and the last window a tail.
        let small = gpu.with_binding_limit(16 * 1024);
        let mut r = rng(31);
        let len = 100_003;
        let pre = random_vec(&mut r, len, 1.0);
        let grad = random_vec(&mut r, len, 1.0);
        both(&gpu, &small, &format!("adam {:?}", gpu.profile().class), |g| {
            let param = g.upload("param", &pre).unwrap();
            let dp = g.upload("grad", &grad).unwrap();
            let m = g.upload("m", &grad).unwrap();
            let v = g.upload("v", &vec![0.5f32; len]).unwrap();
            let step = g.step_buffer(StepParams::for_epoch(4));
            let d = adam(g, &AdamConfig::default(), &param, &dp, &m, &v, &step).unwrap();
            let g = g.clone();
            (d, Box::new(move || {
                [&param, &m, &v].iter().map(|a| bits(g.read(a).unwrap())).collect()
            }))
        });
        }
    }
}

gpu_test! {
    fn dense_products_and_sums_window_bit_for_bit() {
        for gpu in every_layout() {
            let small = gpu.with_binding_limit(2048);
            let mut r = rng(32);
            // (m, k, n): aligned and unaligned widths.
            for (m, k, n) in [(1_000, 16, 8), (700, 6, 5), (400, 12, 36)] {
                let a = random_vec(&mut r, m * k, 1.0);
                let b = random_vec(&mut r, k * n, 1.0);
                let bt = random_vec(&mut r, n * k, 1.0);
                let mask = random_vec(&mut r, m * n, 1.0);
                for (transpose, masked) in [(false, false), (true, false), (true, true)] {
                    let what = format!("matmul {m}x{k}x{n} t={transpose} masked={masked}");
                    both(&gpu, &small, &what, |g| {
                        let ga = g.upload_matrix("a", m, k, &a).unwrap();
                        let gb = if transpose {
                            g.upload_matrix("b", n, k, &bt).unwrap()
                        } else {
                            g.upload_matrix("b", k, n, &b).unwrap()
                        };
                        let gmask = g.upload_matrix("mask", m, n, &mask).unwrap();
                        let out = g.alloc_matrix("out", m, n).unwrap();
                        let d = if masked {
                            matmul_masked(g, &ga, &gb, transpose, Some(&gmask), &out).unwrap()
                        } else {
                            matmul(g, &ga, &gb, transpose, &out).unwrap()
                        };
                        let g = g.clone();
                        (d, Box::new(move || vec![bits(g.read(out.data()).unwrap())]))
                    });
                }
            }
        }
        let mut r = rng(33);
        // 1,300 rows: 6 chunks of 256; B's rows of 64 bytes allow 512 rows a window.
        let (m, k, n) = (1_300, 8, 16);
        let a = random_vec(&mut r, m * k, 1.0);
        let b = random_vec(&mut r, m * n, 1.0);
        for gpu in every_layout() {
        both(&gpu, &gpu.with_binding_limit(32 * 1024), "matmul_tn_partial + reduce_sum", |g| {
            let ga = g.upload_matrix("a", m, k, &a).unwrap();
            let gb = g.upload_matrix("b", m, n, &b).unwrap();
            let partial = g.alloc::<f32>("partial", chunks(m) * k * n).unwrap();
            let out = g.alloc::<f32>("out", k * n).unwrap();
            let mut d = matmul_tn_partial(g, &ga, &gb, &partial).unwrap();
            d.extend(column_sums(g, &partial, chunks(m), k * n, &out));
            let g = g.clone();
            (d, Box::new(move || {
                vec![bits(g.read(&partial).unwrap()), bits(g.read(&out).unwrap())]
            }))
        });
        }
        let gpu = gpu();
        let (rows, cols) = (5_000, 3);
        let input = random_vec(&mut r, rows * cols, 1.0);
        both(&gpu, &gpu.with_binding_limit(8192), "reduce_sum", |g| {
            let x = g.upload("input", &input).unwrap();
            let out = g.alloc::<f32>("out", rows.div_ceil(64) * cols).unwrap();
            let d = reduce_sum(g, &x, rows, cols, &out).unwrap();
            let g = g.clone();
            (d, Box::new(move || vec![bits(g.read(&out).unwrap())]))
        });
    }
}

gpu_test! {
    fn spmm_windows_of_b_and_out_add_up_bit_for_bit() {
        for gpu in every_layout() {
            // 16 KiB: B never fits; out and A's entries in some cases (8,000 entries are
            // 32 KB: windows of rows with their entries).
            let small = gpu.with_binding_limit(16 * 1024);
            let mut r = rng(34);
            // (rows, inner, cols, nnz, every k-th row empty): B of several windows,
            // out of one or several, widths with and without vec4 alignment.
            for (rows, inner, cols, nnz, empty) in
                [
                (300, 600, 16, 1_500, 7),
                (300, 1_500, 6, 3_000, 4),
                (150, 2_000, 8, 600, 0),
                (700, 900, 8, 8_000, 5),
            ]
            {
                let a = random_csr(&mut r, rows, inner, nnz, empty);
                let b = random_vec(&mut r, inner * cols, 1.0);
                for epilogue in [Epilogue::Plain, Epilogue::Relu] {
                let what = format!("spmm {rows}x{inner}x{cols} {epilogue:?}");
                both(&gpu, &small, &what, |g| {
                    let ga = g.upload_csr("a", &a).unwrap();
                    let gb = g.upload_matrix("b", inner, cols, &b).unwrap();
                    let out = g.alloc_matrix("out", rows, cols).unwrap();
                    let d = spmm_with(g, &ga, &gb, epilogue, &out).unwrap();
                    let g = g.clone();
                    (d, Box::new(move || vec![bits(g.read(out.data()).unwrap())]))
                });
                }
            }
        }
    }
}

gpu_test! {
    fn node_kernels_window_bit_for_bit() {
        let gpu = gpu();
        let small = gpu.with_binding_limit(1024);
        let mut r = rng(35);
        let (n, l) = (300, 8);
        let ms = random_vec(&mut r, n * 2 * l, 0.5);
        let dz = random_vec(&mut r, n * l, 1.0);
        let class_of: Vec<u32> = (0..n as u32).map(|i| if i % 3 == 0 { u32::MAX } else { i % 4 }).collect();
        let means = random_vec(&mut r, 4 * l, 1.0);
        for conditional in [false, true] {
            both(&gpu, &small, &format!("reparam conditional={conditional}"), |g| {
                let gms = g.upload_matrix("ms", n, 2 * l, &ms).unwrap();
                let gdz = g.upload_matrix("dz", n, l, &dz).unwrap();
                let prior = ClassPrior {
                    class_of: g.upload("class_of", &class_of).unwrap(),
                    class_means: g.upload_matrix("means", 4, l, &means).unwrap(),
                };
                let prior = conditional.then_some(&prior);
                let step = g.step_buffer(StepParams::for_epoch(2));
                let z = g.alloc_matrix("z", n, l).unwrap();
                let kl = g.alloc::<f32>("kl", n).unwrap();
                let d_ms = g.alloc_matrix("d_ms", n, 2 * l).unwrap();
                let mut d = reparam_kl(g, &gms, 7, &step, prior, &z, &kl).unwrap();
                d.extend(reparam_backward(g, &gms, &gdz, 7, 0.25, &step, prior, &d_ms).unwrap());
                let g = g.clone();
                (d, Box::new(move || {
                    vec![
                        bits(g.read(z.data()).unwrap()),
                        bits(g.read(&kl).unwrap()),
                        bits(g.read(d_ms.data()).unwrap()),
                    ]
                }))
            });
        }
        // The subgraph objective's row moves: gather from a source of many windows,
        // scatter into an output of many windows.
        let src = random_vec(&mut r, n * 2 * l, 1.0);
        let index: Vec<u32> = (0..30u32).map(|i| (i * 37 + 11) % n as u32).collect();
        both(&gpu, &small, "gather_rows", |g| {
            let gsrc = g.upload_matrix("src", n, 2 * l, &src).unwrap();
            let gindex = g.upload("index", &index).unwrap();
            let out = g.alloc_matrix("out", index.len(), l).unwrap();
            let d = gather_rows(g, &gsrc, &gindex, &out).unwrap();
            let g = g.clone();
            (d, Box::new(move || vec![bits(g.read(out.data()).unwrap())]))
        });
        let sample = random_vec(&mut r, 20 * l, 1.0);
        let position: Vec<u32> = (0..n as u32).map(|i| if i % 15 == 0 { i / 15 } else { u32::MAX }).collect();
        both(&gpu, &small, "scatter_rows", |g| {
            let gsrc = g.upload_matrix("src", 20, l, &sample).unwrap();
            let gpos = g.upload("position", &position).unwrap();
            let mut params = StepParams::for_epoch(0);
            params.decoder_scale = 0.75;
            let step = g.step_buffer(params);
            let out = g.alloc_matrix("out", n, l).unwrap();
            let d = scatter_rows(g, &gsrc, &gpos, &step, &out).unwrap();
            let g = g.clone();
            (d, Box::new(move || vec![bits(g.read(out.data()).unwrap())]))
        });
        let pairs: Vec<(u32, u32)> = (0..500u32).map(|p| ((p * 7) % n as u32, (p * 131 + 5) % n as u32)).collect();
        let flat = flatten_pairs(&pairs, n).unwrap();
        both(&gpu, &small, "edge_score", |g| {
            let gms = g.upload_matrix("ms", n, 2 * l, &src).unwrap();
            let gpairs = g.upload("pairs", &flat).unwrap();
            let scores = g.alloc::<f32>("scores", pairs.len()).unwrap();
            let d = edge_score(g, &gms, l, &gpairs, &scores).unwrap();
            let g = g.clone();
            (d, Box::new(move || vec![bits(g.read(&scores).unwrap())]))
        });
    }
}

gpu_test! {
    /// The sampled objective's pair list (and the dense objective's label pattern)
    /// windowed by entries: rows whose pairs straddle windows carry their sums over.
    fn pair_decoder_windows_its_entries_bit_for_bit() {
        let gpu = gpu();
        let mut r = rng(36);
        let (n, l) = (300, 8);
        let z = random_vec(&mut r, n * l, 0.7);
        let pairs: Vec<(u32, u32, f32, f32)> = (0..6_700u32)
            .filter(|p| p % 9 != 0)
            .map(|p| ((p * 13) % 293, (p * 31 + 7) % n as u32, if p % 3 == 0 { 0.7 } else { 0.4 }, -0.3))
            .collect();
        // 20 KiB: z (9.6 KB), the partials (19.2 KB) and dz fit, the 6,000 entries (24 +
        // 48 KB) do not. 4 KiB: nothing but the offsets and the partials (bound whole,
        // so only without them) fits: windows of rows, of entries and of z at once.
        for (limit, dense) in [(20 * 1024, false), (20 * 1024, true), (4 * 1024, false)] {
            let small = gpu.with_binding_limit(limit);
            let rows = if dense {
                PairRows::from_directed(n, &pairs).unwrap()
            } else {
                PairRows::from_pairs(n, &pairs).unwrap()
            };
            let what = format!("decoder_pairs dense={dense} limit={limit}");
            both(&gpu, &small, &what, |g| {
                let gz = g.upload_matrix("z", n, l, &z).unwrap();
                let grows = rows.upload(g, "pairs").unwrap();
                let layout = DenseLayout::new(n, g.profile(), Some(2));
                let partials = dense.then(|| DensePartials {
                    grad: g.alloc("grad_partial", layout.slots() * n * l).unwrap(),
                    loss: g.alloc("loss_partial", layout.slots() * n).unwrap(),
                    layout,
                });
                let mut d = Vec::new();
                if let Some(p) = &partials {
                    d.push(decoder_dense(g, &gz, l, p).unwrap());
                }
                let dz = g.alloc_matrix("dz", n, l).unwrap();
                let loss = g.alloc::<f32>("loss", n).unwrap();
                d.extend(decoder_pairs(g, &gz, l, &grows, partials.as_ref(), 0.37, &dz, &loss).unwrap());
                let g = g.clone();
                (d, Box::new(move || vec![bits(g.read(dz.data()).unwrap()), bits(g.read(&loss).unwrap())]))
            });
        }
    }
}

gpu_test! {
    fn a_kernel_that_does_not_window_refuses_a_tensor_past_the_limit() {
        let gpu = gpu();
        let small = gpu.with_binding_limit(1024);
        let (n, l) = (100, 8);
        let z = small.upload_matrix("z", n, l, &vec![0.1; n * l]).unwrap();
        let layout = DenseLayout::new(n, small.profile(), None);
        let partials = DensePartials {
            grad: small.alloc::<f32>("grad", layout.slots() * n * l).unwrap(),
            loss: small.alloc::<f32>("loss", layout.slots() * n).unwrap(),
            layout,
        };
        match decoder_dense(&small, &z, l, &partials) {
            Err(Error::BufferTooLarge { label, limit, limit_kind, .. }) => {
                assert!(label.starts_with("gpu_vgae.decoder_dense."), "{label}");
                assert_eq!((limit, limit_kind), (1024, "storage binding"));
            }
            other => panic!("expected BufferTooLarge, got {:?}", other.map(|d| d.into_dispatches().len())),
        }
    }
}

gpu_test! {
    /// The kernels that keep their tensors whole still fold their grids: the dense
    /// decoder in both layouts, k-means' three kernels and the top-k search; and the
    /// class means' gradient windows [μ | s] and folds.
    fn every_other_kernel_folds_its_grid() {
        use gpu_vgae::internal::kernels::class_mean_grad::class_mean_grad;
        use gpu_vgae::internal::kernels::kmeans_assign::{kmeans_assign, Assignment};
        use gpu_vgae::internal::kernels::kmeans_distances::kmeans_distances;
        use gpu_vgae::internal::kernels::kmeans_update::{kmeans_update, UpdateLayout};
        use gpu_vgae::internal::kernels::topk_rows::{topk_rows, ExclusionLists, RowBounds, RowLists};
        for gpu in gpu_profiles() {
            let class = format!("{:?}", gpu.profile().class);
            let mut r = rng(37);
            let (n, l) = (700, 16);
            let z = random_vec(&mut r, n * l, 0.5);
            folds(&gpu, &format!("decoder_dense {class}"), |g| {
                let gz = g.upload_matrix("z", n, l, &z).unwrap();
                let layout = DenseLayout::new(n, g.profile(), None);
                let partials = DensePartials {
                    grad: g.alloc("grad", layout.slots() * n * l).unwrap(),
                    loss: g.alloc("loss", layout.slots() * n).unwrap(),
                    layout,
                };
                let d = vec![decoder_dense(g, &gz, l, &partials).unwrap()];
                let g = g.clone();
                (d, Box::new(move || {
                    vec![bits(g.read(&partials.grad).unwrap()), bits(g.read(&partials.loss).unwrap())]
                }))
            });
            let (k, dim) = (6, 16);
            let centroids = random_vec(&mut r, k * dim, 1.0);
            let labels: Vec<u32> = (0..n as u32).map(|i| (i * 7) % k as u32).collect();
            let kmeans_inputs = |g: &Gpu| {
                (
                    g.upload_matrix("points", n, dim, &z[..n * dim]).unwrap(),
                    g.upload_matrix("centroids", k, dim, &centroids).unwrap(),
                )
            };
            folds(&gpu, &format!("kmeans_assign {class}"), |g| {
                let (points, gc) = kmeans_inputs(g);
                let assignment = Assignment::new(g, n).unwrap();
                let d = vec![kmeans_assign(g, &points, 0, &gc, &assignment).unwrap()];
                let g = g.clone();
                (d, Box::new(move || {
                    vec![g.read(&assignment.labels).unwrap(), bits(g.read(&assignment.min_sq).unwrap())]
                }))
            });
            folds(&gpu, &format!("kmeans_distances {class}"), |g| {
                let (points, gc) = kmeans_inputs(g);
                let distances = g.alloc::<f32>("distances", k * n).unwrap();
                let d = vec![kmeans_distances(g, &points, 0, &gc, n, &distances).unwrap()];
                let g = g.clone();
                (d, Box::new(move || vec![bits(g.read(&distances).unwrap())]))
            });
            folds(&gpu, &format!("kmeans_update {class}"), |g| {
                let (points, _) = kmeans_inputs(g);
                // Chunks of 4 points: enough workgroups to fold.
                let layout = UpdateLayout::new(n, k, dim).with_chunk_rows(4);
                let gl = g.upload("labels", &labels).unwrap();
                let partial = g.alloc::<f32>("partial", layout.partial_len()).unwrap();
                let d = vec![kmeans_update(g, &points, 0, &gl, &layout, &partial).unwrap()];
                let g = g.clone();
                (d, Box::new(move || vec![bits(g.read(&partial).unwrap())]))
            });
            let rows: Vec<u32> = (0..n as u32).collect();
            let words: Vec<u32> = rows.iter().flat_map(|_| RowBounds::default().words()).collect();
            let excluded: Vec<u32> = (0..n as u32).map(|i| (i + 1) % n as u32).collect();
            let excluded_ptr: Vec<u32> = (0..=n as u32).collect();
            folds(&gpu, &format!("topk_rows {class}"), |g| {
                let gz = g.upload_matrix("z", n, l, &z).unwrap();
                let exclusions = ExclusionLists {
                    ptr: g.upload("excl_ptr", &excluded_ptr).unwrap(),
                    col: g.upload("excl_col", &excluded).unwrap(),
                };
                let capacity = 5;
                let lists = RowLists {
                    rows: g.upload("rows", &rows).unwrap(),
                    bounds: g.upload("bounds", &words).unwrap(),
                    heap: g.alloc("heap", 2 * n * capacity).unwrap(),
                    fill: g.alloc("fill", n).unwrap(),
                    capacity,
                };
                let d = vec![topk_rows(g, &gz, l, &exclusions, &lists, false).unwrap()];
                let g = g.clone();
                (d, Box::new(move || vec![g.read(&lists.heap).unwrap(), g.read(&lists.fill).unwrap()]))
            });
        }
        let gpu = gpu();
        let mut r = rng(38);
        let (n, l, classes) = (400, 64, 7);
        let ms = random_vec(&mut r, n * 2 * l, 1.0);
        let means = random_vec(&mut r, classes * l, 0.5);
        // Node i in class i % 7: every class spans every window of ms.
        let class_nodes: Vec<u32> = (0..classes as u32)
            .flat_map(|c| (c..n as u32).step_by(classes))
            .collect();
        let mut class_ptr = vec![0u32];
        for c in 0..classes as u32 {
            class_ptr.push(class_ptr[c as usize] + (c..n as u32).step_by(classes).count() as u32);
        }
        // [μ | s] (204 KB) in windows of 32 rows under 16 KiB.
        both(&gpu, &gpu.with_binding_limit(16 * 1024), "class_mean_grad", |g| {
            let gms = g.upload_matrix("ms", n, 2 * l, &ms).unwrap();
            let ptr = g.upload("class_ptr", &class_ptr).unwrap();
            let nodes = g.upload("class_nodes", &class_nodes).unwrap();
            let gmeans = g.upload_matrix("means", classes, l, &means).unwrap();
            let out = g.alloc_matrix("dm", classes, l).unwrap();
            let d = class_mean_grad(g, &gms, &ptr, &nodes, &gmeans, 0.25, &out).unwrap();
            let g = g.clone();
            (d, Box::new(move || vec![bits(g.read(out.data()).unwrap())]))
        });
    }
}

fn half_bits(values: Vec<half::f16>) -> Vec<u32> {
    values.into_iter().map(|v| u32::from(v.to_bits())).collect()
}

gpu_test! {
    /// The f16 forms (Precision::F16) window and fold as their f32 forms do, to the bit:
    /// z written in f16 by reparam_kl, converted by convert_rows, read by edge_score and
    /// decoder_pairs in windows of rows (f16 rows are half as wide: other window
    /// boundaries), and decoder_dense and topk_rows with folded grids.
    fn f16_kernels_window_and_fold_bit_for_bit() {
        use gpu_vgae::internal::cpu::round_f16;
        use gpu_vgae::internal::kernels::convert_rows::convert_rows;
        use gpu_vgae::internal::kernels::topk_rows::{topk_rows, ExclusionLists, RowBounds, RowLists};
        use half::f16;
        let gpu = gpu();
        let small = gpu.with_binding_limit(1024);
        let mut r = rng(40);
        let (n, l) = (300, 8);
        let ms = random_vec(&mut r, n * 2 * l, 0.5);
        both(&gpu, &small, "reparam_kl f16 and convert_rows", |g| {
            let gms = g.upload_matrix("ms", n, 2 * l, &ms).unwrap();
            let step = g.step_buffer(StepParams::for_epoch(2));
            let z = g.alloc_matrix_of::<f16>("z", n, l).unwrap();
            let kl = g.alloc::<f32>("kl", n).unwrap();
            let mu = g.alloc_matrix_of::<f16>("mu", n, l - 1).unwrap();
            let mut d = reparam_kl(g, &gms, 7, &step, None, &z, &kl).unwrap();
            d.extend(convert_rows(g, &gms, &mu).unwrap());
            let g = g.clone();
            (d, Box::new(move || {
                vec![half_bits(g.read(z.data()).unwrap()), bits(g.read(&kl).unwrap()), half_bits(g.read(mu.data()).unwrap())]
            }))
        });
        let z16 = round_f16(&random_vec(&mut r, n * l, 0.7));
        let pairs: Vec<(u32, u32)> = (0..500u32).map(|p| ((p * 7) % n as u32, (p * 131 + 5) % n as u32)).collect();
        let flat = flatten_pairs(&pairs, n).unwrap();
        both(&gpu, &small, "edge_score f16", |g| {
            let gz = g.upload_matrix("z", n, l, &z16).unwrap();
            let gpairs = g.upload("pairs", &flat).unwrap();
            let scores = g.alloc::<f32>("scores", pairs.len()).unwrap();
            let d = edge_score(g, &gz, l, &gpairs, &scores).unwrap();
            let g = g.clone();
            (d, Box::new(move || vec![bits(g.read(&scores).unwrap())]))
        });
        let weighted: Vec<(u32, u32, f32, f32)> = (0..6_700u32)
            .filter(|p| p % 9 != 0)
            .map(|p| ((p * 13) % 293, (p * 31 + 7) % n as u32, if p % 3 == 0 { 0.7 } else { 0.4 }, -0.3))
            .collect();
        let rows = PairRows::from_pairs(n, &weighted).unwrap();
        both(&gpu, &gpu.with_binding_limit(4 * 1024), "decoder_pairs f16", |g| {
            let gz = g.upload_matrix("z", n, l, &z16).unwrap();
            let grows = rows.upload(g, "pairs").unwrap();
            let dz = g.alloc_matrix("dz", n, l).unwrap();
            let loss = g.alloc::<f32>("loss", n).unwrap();
            let d = decoder_pairs(g, &gz, l, &grows, None, 0.37, &dz, &loss).unwrap();
            let g = g.clone();
            (d, Box::new(move || vec![bits(g.read(dz.data()).unwrap()), bits(g.read(&loss).unwrap())]))
        });
        let (n, l) = (700, 16);
        let z16 = round_f16(&random_vec(&mut r, n * l, 0.5));
        for gpu in gpu_profiles() {
            let class = format!("{:?}", gpu.profile().class);
            folds(&gpu, &format!("decoder_dense f16 {class}"), |g| {
                let gz = g.upload_matrix("z", n, l, &z16).unwrap();
                let layout = DenseLayout::new(n, g.profile(), None);
                let partials = DensePartials {
                    grad: g.alloc("grad", layout.slots() * n * l).unwrap(),
                    loss: g.alloc("loss", layout.slots() * n).unwrap(),
                    layout,
                };
                let d = vec![decoder_dense(g, &gz, l, &partials).unwrap()];
                let g = g.clone();
                (d, Box::new(move || {
                    vec![bits(g.read(&partials.grad).unwrap()), bits(g.read(&partials.loss).unwrap())]
                }))
            });
            let rows: Vec<u32> = (0..n as u32).collect();
            let words: Vec<u32> = rows.iter().flat_map(|_| RowBounds::default().words()).collect();
            let excluded: Vec<u32> = (0..n as u32).map(|i| (i + 1) % n as u32).collect();
            let excluded_ptr: Vec<u32> = (0..=n as u32).collect();
            folds(&gpu, &format!("topk_rows f16 {class}"), |g| {
                let gz = g.upload_matrix("z", n, l, &z16).unwrap();
                let exclusions = ExclusionLists {
                    ptr: g.upload("excl_ptr", &excluded_ptr).unwrap(),
                    col: g.upload("excl_col", &excluded).unwrap(),
                };
                let capacity = 5;
                let lists = RowLists {
                    rows: g.upload("rows", &rows).unwrap(),
                    bounds: g.upload("bounds", &words).unwrap(),
                    heap: g.alloc("heap", 2 * n * capacity).unwrap(),
                    fill: g.alloc("fill", n).unwrap(),
                    capacity,
                };
                let d = vec![topk_rows(g, &gz, l, &exclusions, &lists, false).unwrap()];
                let g = g.clone();
                (d, Box::new(move || vec![g.read(&lists.heap).unwrap(), g.read(&lists.fill).unwrap()]))
            });
        }
    }
}

gpu_test! {
    /// One real grid past the device's own limit (65,535 workgroups per dimension on
    /// most adapters): 64 more workgroups' worth of elements than one dimension holds.
    fn a_grid_past_the_device_limit_folds() {
        // The GPU profile: one vec4 an invocation, the most workgroups per value.
        let gpu = gpu().with_profile(gpu_vgae::internal::gpu::AdapterProfile::gpu());
        let max = gpu.limits().max_compute_workgroups_per_dimension as usize;
        let len = (max + 64) * 64 * 4;
        let mut r = rng(39);
        let mut param = random_vec(&mut r, len, 1.0);
        let grad = random_vec(&mut r, len, 1.0);
        let (mut m, mut v) = (vec![0f32; len], vec![0f32; len]);
        let gparam = gpu.upload("param", &param).unwrap();
        let ggrad = gpu.upload("grad", &grad).unwrap();
        let gm = gpu.upload("m", &m).unwrap();
        let gv = gpu.upload("v", &v).unwrap();
        let step = gpu.step_buffer(StepParams::for_epoch(0));
        let config = AdamConfig::default();
        let dispatches = adam(&gpu, &config, &gparam, &ggrad, &gm, &gv, &step).unwrap();
        assert!(dispatches[0].workgroups()[1] > 1, "{:?}", dispatches[0].workgroups());
        run(&gpu, [dispatches]);
        gpu_vgae::internal::cpu::adam(&config, 1, &mut param, &grad, &mut m, &mut v);
        // The whole grid ran, its last workgroups included.
        let got = gpu.read(&gparam).unwrap();
        assert_eq!(got.len(), len);
        crate::common::assert_close(&got, &param, 1e-6, 1e-5, "adam past the grid limit");
    }
}

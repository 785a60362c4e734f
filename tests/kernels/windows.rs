//! Tensors larger than one storage binding (gpu/windows.rs): every kernel that splits
//! its work into windows, run with a binding limit forced down to a few KiB
//! (`Gpu::with_binding_limit`), gives the same bits as one dispatch over whole
//! buffers; each case also checks that it really ran as several dispatches. Kernels
//! that do not window refuse a tensor past the limit with a typed error.

use crate::common::{gpu, gpu_profiles, random_csr, random_vec, rng};
use crate::{column_sums, run, Dispatches};
use gpu_vgae::gpu::{Dispatch, Gpu, StepParams};
use gpu_vgae::kernels::adam::{adam, AdamConfig};
use gpu_vgae::kernels::decoder_dense::{decoder_dense, DenseLayout, DensePartials};
use gpu_vgae::kernels::decoder_pairs::{decoder_pairs, PairRows};
use gpu_vgae::kernels::edge_score::{edge_score, flatten_pairs};
use gpu_vgae::kernels::gather_rows::gather_rows;
use gpu_vgae::kernels::matmul::matmul;
use gpu_vgae::kernels::matmul_tn_partial::{chunks, matmul_tn_partial};
use gpu_vgae::kernels::reduce_sum::reduce_sum;
use gpu_vgae::kernels::relu::relu;
use gpu_vgae::kernels::relu_backward::relu_backward;
use gpu_vgae::kernels::reparam_backward::reparam_backward;
use gpu_vgae::kernels::reparam_kl::{reparam_kl, ClassPrior};
use gpu_vgae::kernels::scatter_rows::scatter_rows;
use gpu_vgae::kernels::spmm::spmm;
use gpu_vgae::Error;

/// Runs `build` on the whole-binding device and on `small` (the same device with a
/// small binding limit); returns the dispatch counts. `build` records the kernel and
/// returns what to compare, read after the run.
fn both<F>(gpu: &Gpu, small: &Gpu, what: &str, build: F)
where
    F: Fn(&Gpu) -> (Vec<Dispatch>, Box<dyn Fn() -> Vec<Vec<u32>>>),
{
    let (whole, read_whole) = build(gpu);
    let whole_count = whole.len();
    run(gpu, [whole]);
    let (windowed, read_windowed) = build(small);
    let windowed_count = windowed.len();
    run(small, [windowed]);
    assert!(
        windowed_count > whole_count,
        "{what}: {windowed_count} dispatches under the small limit, {whole_count} without"
    );
    assert!(
        read_whole() == read_windowed(),
        "{what}: windowed result differs from the single dispatch"
    );
}

fn bits(values: Vec<f32>) -> Vec<u32> {
    values.into_iter().map(f32::to_bits).collect()
}

gpu_test! {
    fn elementwise_kernels_window_bit_for_bit() {
        let gpu = gpu();
        let small = gpu.with_binding_limit(1024);
        let mut r = rng(31);
        let len = 1_000;
        let pre = random_vec(&mut r, len, 1.0);
        let grad = random_vec(&mut r, len, 1.0);
        both(&gpu, &small, "relu", |g| {
            let x = g.upload("pre", &pre).unwrap();
            let out = g.alloc::<f32>("out", len).unwrap();
            let d = relu(g, &x, &out).unwrap();
            let g = g.clone();
            (d, Box::new(move || vec![bits(g.read(&out).unwrap())]))
        });
        both(&gpu, &small, "relu_backward", |g| {
            let x = g.upload("pre", &pre).unwrap();
            let dy = g.upload("grad", &grad).unwrap();
            let out = g.alloc::<f32>("out", len).unwrap();
            let d = relu_backward(g, &x, &dy, &out).unwrap();
            let g = g.clone();
            (d, Box::new(move || vec![bits(g.read(&out).unwrap())]))
        });
        both(&gpu, &small, "adam", |g| {
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

gpu_test! {
    fn dense_products_and_sums_window_bit_for_bit() {
        for gpu in gpu_profiles() {
            let small = gpu.with_binding_limit(2048);
            let mut r = rng(32);
            // (m, k, n): aligned and unaligned widths.
            for (m, k, n) in [(300, 16, 8), (130, 6, 5), (77, 12, 36)] {
                let a = random_vec(&mut r, m * k, 1.0);
                let b = random_vec(&mut r, k * n, 1.0);
                let bt = random_vec(&mut r, n * k, 1.0);
                for transpose in [false, true] {
                    both(&gpu, &small, &format!("matmul {m}x{k}x{n} t={transpose}"), |g| {
                        let ga = g.upload_matrix("a", m, k, &a).unwrap();
                        let gb = if transpose {
                            g.upload_matrix("b", n, k, &bt).unwrap()
                        } else {
                            g.upload_matrix("b", k, n, &b).unwrap()
                        };
                        let out = g.alloc_matrix("out", m, n).unwrap();
                        let d = matmul(g, &ga, &gb, transpose, &out).unwrap();
                        let g = g.clone();
                        (d, Box::new(move || vec![bits(g.read(out.data()).unwrap())]))
                    });
                }
            }
        }
        let gpu = gpu();
        let mut r = rng(33);
        // 1,300 rows: 6 chunks of 256; B's rows of 64 bytes allow 512 rows a window.
        let (m, k, n) = (1_300, 8, 16);
        let a = random_vec(&mut r, m * k, 1.0);
        let b = random_vec(&mut r, m * n, 1.0);
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
        for gpu in gpu_profiles() {
            // A's arrays are bound whole: 8 KiB holds them, not B or out.
            let small = gpu.with_binding_limit(8 * 1024);
            let mut r = rng(34);
            // (rows, inner, cols, nnz, every k-th row empty): B of several windows,
            // out of one or several, widths with and without vec4 alignment.
            for (rows, inner, cols, nnz, empty) in
                [(200, 600, 16, 1_500, 7), (90, 1_500, 6, 1_500, 4), (1, 2_000, 8, 60, 0)]
            {
                let a = random_csr(&mut r, rows, inner, nnz, empty);
                let b = random_vec(&mut r, inner * cols, 1.0);
                both(&gpu, &small, &format!("spmm {rows}x{inner}x{cols}"), |g| {
                    let ga = g.upload_csr("a", &a).unwrap();
                    let gb = g.upload_matrix("b", inner, cols, &b).unwrap();
                    let out = g.alloc_matrix("out", rows, cols).unwrap();
                    let d = spmm(g, &ga, &gb, &out).unwrap();
                    let g = g.clone();
                    (d, Box::new(move || vec![bits(g.read(out.data()).unwrap())]))
                });
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
        // z (3.2 KB), the partials (6.4 KB) and dz fit; the 2,000 entries (8 + 16 KB) do not.
        let small = gpu.with_binding_limit(7 * 1024);
        let mut r = rng(36);
        let (n, l) = (100, 8);
        let z = random_vec(&mut r, n * l, 0.7);
        let pairs: Vec<(u32, u32, f32, f32)> = (0..2_000u32)
            .filter(|p| p % 9 != 0)
            .map(|p| ((p * 13) % 97, (p * 31 + 7) % n as u32, 0.5 + (p % 5) as f32 * 0.1, -0.3))
            .collect();
        for dense in [false, true] {
            let rows = if dense {
                PairRows::from_directed(n, &pairs).unwrap()
            } else {
                PairRows::from_pairs(n, &pairs).unwrap()
            };
            both(&gpu, &small, &format!("decoder_pairs dense={dense}"), |g| {
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

//! `scatter_rows` against `cpu::scatter_rows`.

use crate::common::{gpu, random_vec, rng};
use crate::run;
use gpu_vgae::internal::cpu;
use gpu_vgae::internal::gpu::StepParams;
use gpu_vgae::internal::kernels::scatter_rows::scatter_rows;
use rand::seq::SliceRandom;

gpu_test! {
    fn scatter_rows_matches_cpu_and_zeroes_unsampled_rows() {
        let gpu = gpu();
        let mut r = rng(22);
        // (rows of the output, sampled rows, columns)
        for (rows, sampled, cols) in [(1, 1, 1), (5, 2, 3), (67, 67, 16), (200, 65, 17), (1000, 129, 16)] {
            let src = random_vec(&mut r, sampled * cols, 1.0);
            let mut nodes: Vec<u32> = (0..rows as u32).collect();
            nodes.shuffle(&mut r);
            let mut position = vec![u32::MAX; rows];
            for (k, &node) in nodes[..sampled].iter().enumerate() {
                position[node as usize] = k as u32;
            }
            let scale = 0.37f32;
            let step = gpu.step_buffer(StepParams { decoder_scale: scale, ..StepParams::for_epoch(2) });
            let gsrc = gpu.upload_matrix("src", sampled, cols, &src).unwrap();
            let gpos = gpu.upload("position", &position).unwrap();
            let out = gpu.upload_matrix("out", rows, cols, &vec![9.0; rows * cols]).unwrap();
            run(&gpu, [scatter_rows(&gpu, &gsrc, &gpos, &step, &out).unwrap()]);
            let got = gpu.read(out.data()).unwrap();
            assert_eq!(got, cpu::scatter_rows(&src, cols, &position, scale), "{rows} {sampled} {cols}");
            for (i, &p) in position.iter().enumerate() {
                if p == u32::MAX {
                    assert!(got[i * cols..(i + 1) * cols].iter().all(|&v| v == 0.0), "row {i}");
                }
            }
        }
    }
}

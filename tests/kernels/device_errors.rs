//! Kernel-level errors: bad shapes, buffers past the binding limit and broken shaders
//! are typed errors naming the kernel, not panics.

use crate::common::gpu;
use crate::run;
use gpu_vgae::internal::gpu::{KernelDef, ParamsLayout};
use gpu_vgae::internal::kernels::spmm::spmm;
use gpu_vgae::{Csr, Error};

gpu_test! {
    fn bad_shapes_are_typed_errors_not_panics() {
        let gpu = gpu();
        let a = gpu.upload_csr("a", &Csr::identity(3)).unwrap();
        let b = gpu.alloc_matrix("b", 4, 2).unwrap();
        let out = gpu.alloc_matrix("out", 3, 2).unwrap();
        assert!(matches!(
            spmm(&gpu, &a, &b, &out),
            Err(Error::InvalidArgument { argument: "b", message }) if message.contains("spmm")
        ));
    }
}

gpu_test! {
    fn a_buffer_beyond_the_buffer_limit_is_refused() {
        let gpu = gpu();
        let limit = gpu.limits().max_buffer_size;
        let len = (limit / 4 + 1) as usize;
        match gpu.alloc::<f32>("too_big", len) {
            Err(Error::BufferTooLarge { label, bytes, limit: l, limit_kind }) => {
                assert_eq!(label, "too_big");
                assert_eq!(limit_kind, "buffer");
                assert!(bytes > l);
            }
            other => panic!("expected BufferTooLarge, got {:?}", other.map(|a| a.len())),
        }
    }
}

gpu_test! {
    fn a_broken_shader_is_a_compile_error_naming_the_kernel() {
        let gpu = gpu();
        static BROKEN: KernelDef = KernelDef {
            name: "broken",
            source: "override WG: u32 = 1u; @compute @workgroup_size(WG) fn main() { let x: u32 = 1.5; }",
            entry_point: "main",
            params: ParamsLayout { size: 16, fields: &[] },
            bindings: &[],
        };
        match gpu.pipeline(&BROKEN) {
            Err(Error::ShaderCompile { kernel, message }) => {
                assert_eq!(kernel, "broken");
                assert!(!message.is_empty());
            }
            other => panic!("expected ShaderCompile, got {other:?}"),
        }
        // The device stays usable afterwards.
        let identity = gpu.upload_csr("identity", &Csr::identity(2)).unwrap();
        let x = gpu.upload_matrix("x", 2, 1, &[1.0f32, -2.0]).unwrap();
        let y = gpu.alloc_matrix("y", 2, 1).unwrap();
        run(&gpu, [spmm(&gpu, &identity, &x, &y).unwrap()]);
        assert_eq!(gpu.read(y.data()).unwrap(), vec![1.0, -2.0]);
    }
}

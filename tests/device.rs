//! The device layer: a caller's own device and queue, the buffer pool's reuse, adapter
//! selection errors, the adapter profile.

#[macro_use]
mod common;

use gpu_vgae::internal::gpu::{AdapterClass, AdapterProfile, Gpu, GpuOptions, Recording};
use gpu_vgae::internal::kernels::spmm::{spmm_with, Epilogue};
use gpu_vgae::Csr;
use gpu_vgae::Error;

gpu_test! {
    fn a_caller_supplied_device_runs_kernels() {
        common::gpu();
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let adapter =
            pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))
                .expect("an adapter exists since common::gpu() found one");
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("caller.device"),
            required_limits: wgpu::Limits {
                max_storage_buffers_per_shader_stage: 9,
                ..wgpu::Limits::downlevel_defaults()
            },
            ..Default::default()
        }))
        .unwrap();
        let gpu = Gpu::from_device(device, queue, &adapter.get_info()).unwrap();
        // relu(I · x) on the caller's device.
        let identity = gpu.upload_csr("identity", &Csr::identity(3)).unwrap();
        let x = gpu.upload_matrix("x", 3, 1, &[-1.0f32, 2.0, -3.0]).unwrap();
        let y = gpu.alloc_matrix("y", 3, 1).unwrap();
        let mut recording = Recording::new("caller");
        recording.extend(spmm_with(&gpu, &identity, &x, Epilogue::Relu, &y).unwrap());
        gpu.run(&recording).unwrap();
        assert_eq!(gpu.read(y.data()).unwrap(), vec![0.0, 2.0, 0.0]);
    }
}

gpu_test! {
    fn a_device_without_enough_storage_bindings_is_refused() {
        common::gpu();
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let adapter =
            pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions::default()))
                .unwrap();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            required_limits: wgpu::Limits {
                max_storage_buffers_per_shader_stage: 4,
                ..wgpu::Limits::downlevel_defaults()
            },
            ..Default::default()
        }))
        .unwrap();
        match Gpu::from_device(device, queue, &adapter.get_info()) {
            Err(Error::RequestDevice(message)) => assert!(message.contains("storage buffers")),
            other => panic!("expected RequestDevice, got {other:?}"),
        }
    }
}

gpu_test! {
    fn dropped_buffers_are_reused_by_size_class() {
        let gpu = common::gpu();
        // A private device keeps other tests' allocations out of the count.
        let gpu =
            Gpu::new(&GpuOptions::default().with_adapter_name(gpu.report().name.clone())).unwrap();
        let a = gpu.alloc::<f32>("a", 1000).unwrap();
        let held = gpu.pool_bytes();
        assert_eq!(held, 4096, "1000 floats round up to the 4 KiB class");
        drop(a);
        let b = gpu.alloc::<f32>("b", 900).unwrap();
        assert_eq!(gpu.pool_bytes(), held, "the freed buffer was reused");
        let c = gpu.alloc::<f32>("c", 900).unwrap();
        assert_eq!(gpu.pool_bytes(), 2 * held, "a live buffer is never handed out twice");
        drop((b, c));
        gpu.trim_pool();
        assert_eq!(gpu.pool_bytes(), 0);
    }
}

gpu_test! {
    fn an_adapter_name_that_matches_nothing_lists_what_exists() {
        common::gpu();
        let options = GpuOptions::default().with_adapter_name("no-such-adapter-xyz");
        match Gpu::new(&options) {
            Err(e @ Error::NoAdapter { .. }) => {
                let message = e.to_string();
                assert!(message.contains("no-such-adapter-xyz"), "{message}");
                assert!(message.contains("mesa-vulkan-drivers"), "{message}");
            }
            other => panic!("expected NoAdapter, got {other:?}"),
        }
    }
}

gpu_test! {
    fn the_profile_follows_the_device_type_and_can_be_replaced() {
        let gpu = common::gpu();
        let expected = match gpu.report().device_type.as_str() {
            "Cpu" => AdapterClass::Cpu,
            _ => AdapterClass::Gpu,
        };
        assert_eq!(gpu.profile().class, expected);
        let other = gpu.with_profile(AdapterProfile::gpu());
        assert_eq!(other.profile(), &AdapterProfile::gpu());
        assert_eq!(other.report().name, gpu.report().name);
    }
}

#[test]
fn an_unknown_backend_is_refused_before_looking_for_adapters() {
    for backend in ["directx9", "gl"] {
        let options = GpuOptions::default().with_backend(backend);
        match Gpu::new(&options) {
            Err(Error::InvalidConfig {
                setting: "backend",
                message,
            }) => assert!(message.contains(backend), "{message}"),
            other => panic!("{backend}: expected InvalidConfig(backend), got {other:?}"),
        }
    }
}

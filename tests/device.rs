//! The device layer: a caller's own device and queue, the buffer pool's reuse, adapter
//! selection errors, the adapter profile.

#[macro_use]
mod common;

use gpu_vgae::internal::gpu::{
    AdapterClass, AdapterFeatures, AdapterProfile, Gpu, GpuOptions, Recording,
};
use gpu_vgae::internal::kernels::matmul::matmul;
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
        // No optional feature was requested: the profile records none and the kernels
        // take their layouts without subgroup operations.
        assert_eq!(gpu.profile().features, AdapterFeatures::default());
        assert_eq!(gpu.profile().subgroup_size(), None);
        // relu(I · x) on the caller's device, one column and four (the width the
        // subgroup layouts would take), and a dense product.
        let identity = gpu.upload_csr("identity", &Csr::identity(3)).unwrap();
        let x = gpu.upload_matrix("x", 3, 1, &[-1.0f32, 2.0, -3.0]).unwrap();
        let y = gpu.alloc_matrix("y", 3, 1).unwrap();
        let x4: Vec<f32> = (0..12).map(|i| i as f32 - 6.0).collect();
        let gx4 = gpu.upload_matrix("x4", 3, 4, &x4).unwrap();
        let y4 = gpu.alloc_matrix("y4", 3, 4).unwrap();
        let w = gpu.upload_matrix("w", 4, 4, &[1.0f32; 16]).unwrap();
        let p = gpu.alloc_matrix("p", 3, 4).unwrap();
        let mut recording = Recording::new("caller");
        recording.extend(spmm_with(&gpu, &identity, &x, Epilogue::Relu, &y).unwrap());
        recording.extend(spmm_with(&gpu, &identity, &gx4, Epilogue::Relu, &y4).unwrap());
        recording.extend(matmul(&gpu, &gx4, &w, false, &p).unwrap());
        gpu.run(&recording).unwrap();
        assert_eq!(gpu.read(y.data()).unwrap(), vec![0.0, 2.0, 0.0]);
        let relu: Vec<f32> = x4.iter().map(|v| v.max(0.0)).collect();
        assert_eq!(gpu.read(y4.data()).unwrap(), relu);
        let sums: Vec<f32> = x4.chunks(4).flat_map(|r| [r.iter().sum::<f32>(); 4]).collect();
        assert_eq!(gpu.read(p.data()).unwrap(), sums);
    }
}

gpu_test! {
    fn the_device_has_the_optional_features_its_adapter_offers() {
        let gpu = common::gpu();
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let adapters = pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()));
        let adapter = adapters
            .iter()
            .find(|a| a.get_info().name == gpu.report().name)
            .expect("the shared device's adapter is listed");
        let offered = adapter.features();
        let has = gpu.device().features();
        for feature in [
            wgpu::Features::TIMESTAMP_QUERY,
            wgpu::Features::SUBGROUP,
            wgpu::Features::SHADER_F16,
        ] {
            assert_eq!(has.contains(feature), offered.contains(feature), "{feature:?}");
        }
        let features = gpu.profile().features;
        assert_eq!(features.timestamp_queries, has.contains(wgpu::Features::TIMESTAMP_QUERY));
        assert_eq!(features.shader_f16, has.contains(wgpu::Features::SHADER_F16));
        assert_eq!(features.subgroups.is_some(), has.contains(wgpu::Features::SUBGROUP));
        if let Some(sizes) = features.subgroups {
            let info = adapter.get_info();
            assert_eq!([sizes.min, sizes.max], [info.subgroup_min_size, info.subgroup_max_size]);
        }
        // Any profile put on the device keeps the device's features (facts, not
        // choices), and a profile may turn its subgroup layouts off.
        let other = gpu.with_profile(AdapterProfile::gpu());
        assert_eq!(other.profile().features, features);
        let mut off = AdapterProfile::cpu();
        off.use_subgroups = false;
        assert_eq!(gpu.with_profile(off).profile().subgroup_size(), None);
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
        let mut expected_profile = AdapterProfile::gpu();
        expected_profile.features = gpu.profile().features;
        assert_eq!(other.profile(), &expected_profile);
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

gpu_test! {
    fn chunked_writes_and_windowed_reads_move_every_element() {
        let gpu = common::gpu();
        // Awkward lengths against chunks of a few words: one element, less than a
        // chunk, exactly a chunk, a chunk and a bit, many chunks.
        for len in [1usize, 5, 16, 17, 1000] {
            let values: Vec<u32> = (0..len as u32).map(|i| i.wrapping_mul(2_654_435_761)).collect();
            for chunk_bytes in [1u64, 4, 64, 68, 1 << 20] {
                let array = gpu.alloc::<u32>("chunked", len).unwrap();
                array.write_in_chunks(&gpu, &values, chunk_bytes).unwrap();
                let back = gpu.read_many_in_windows(&[&array], chunk_bytes).unwrap();
                assert_eq!(back, vec![values.clone()], "len {len}, chunks of {chunk_bytes}");
            }
        }
        // Several arrays read in windows, one of them empty, and 2-byte elements whose
        // odd count ends mid-word.
        let halves: Vec<half::f16> = (0..37).map(|i| half::f16::from_f32(i as f32 - 3.5)).collect();
        let a = gpu.alloc::<half::f16>("a", 37).unwrap();
        let b = gpu.alloc::<half::f16>("b", 0).unwrap();
        let c = gpu.alloc::<half::f16>("c", 11).unwrap();
        a.write_in_chunks(&gpu, &halves, 8).unwrap();
        b.write_in_chunks(&gpu, &[], 8).unwrap();
        c.write_in_chunks(&gpu, &halves[..11], 8).unwrap();
        for window in [2u64, 8, 12, 1 << 20] {
            let back = gpu.read_many_in_windows(&[&a, &b, &c], window).unwrap();
            assert_eq!(back, vec![halves.clone(), Vec::new(), halves[..11].to_vec()], "{window}");
        }
    }
}

gpu_test! {
    fn cleared_arrays_read_back_as_zeros() {
        let gpu = common::gpu();
        for len in [1usize, 3, 64, 1001] {
            let array = gpu.alloc::<f32>("cleared", len).unwrap();
            array.write(&gpu, &vec![7.5; len]).unwrap();
            array.clear(&gpu).unwrap();
            assert_eq!(gpu.read(&array).unwrap(), vec![0.0; len], "len {len}");
            let halves = gpu.alloc::<half::f16>("cleared halves", len).unwrap();
            halves.write(&gpu, &vec![half::f16::ONE; len]).unwrap();
            halves.clear(&gpu).unwrap();
            assert_eq!(gpu.read(&halves).unwrap(), vec![half::f16::ZERO; len], "len {len}");
        }
        assert_eq!(gpu.read(&gpu.zeros::<u32>("zeros", 9).unwrap()).unwrap(), vec![0; 9]);
    }
}

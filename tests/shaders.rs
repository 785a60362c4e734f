//! The kernel registry against the shaders, with naga and no adapter: every WGSL file
//! parses and validates; every registry entry's entry point, bindings (name, group,
//! uniform or storage, read-only or read-write) and parameter struct (field names,
//! types, size) match its WGSL; the workgroup size is the `WG` override the host
//! passes; and every kernel has its wrapper, CPU twin and test file under its name.

use std::collections::BTreeSet;
use std::path::Path;

use gpu_vgae::internal::gpu::{BindingKind, KernelDef, ParamsLayout, Scalar, StepParams};
use gpu_vgae::internal::kernels::{
    F16_SUBGROUP_VARIANTS, F16_VARIANTS, REGISTRY, SUBGROUP_VARIANTS,
};
use naga::{AddressSpace, Module, StorageAccess, TypeInner};

/// Parses and validates `source` with naga's `capabilities` (none for the registry's
/// kernels, so that they run on any device; the subgroup or f16 capability for their
/// subgroup and f16 variants).
fn parse_with(name: &str, source: &str, capabilities: naga::valid::Capabilities) -> Module {
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{name}: WGSL parse error:\n{}", e.emit_to_string(source)));
    naga::valid::Validator::new(naga::valid::ValidationFlags::all(), capabilities)
        .validate(&module)
        .unwrap_or_else(|e| panic!("{name}: validation error:\n{}", e.emit_to_string(source)));
    module
}

fn parse(name: &str, source: &str) -> Module {
    parse_with(name, source, naga::valid::Capabilities::empty())
}

/// Checks a WGSL struct type against a Rust parameter layout, member by member.
fn check_struct(
    kernel: &str,
    module: &Module,
    ty: naga::Handle<naga::Type>,
    layout: &ParamsLayout,
) {
    let TypeInner::Struct { members, span } = &module.types[ty].inner else {
        panic!("{kernel}: the uniform is not a struct");
    };
    assert_eq!(
        u64::from(*span),
        layout.size,
        "{kernel}: WGSL struct is {span} bytes, the Rust struct {}",
        layout.size
    );
    let wgsl: Vec<(String, Scalar)> = members
        .iter()
        .map(|m| {
            let scalar = match module.types[m.ty].inner {
                TypeInner::Scalar(naga::Scalar {
                    kind: naga::ScalarKind::Uint,
                    width: 4,
                }) => Scalar::U32,
                TypeInner::Scalar(naga::Scalar {
                    kind: naga::ScalarKind::Float,
                    width: 4,
                }) => Scalar::F32,
                ref other => panic!("{kernel}: member {:?} has type {other:?}", m.name),
            };
            (m.name.clone().unwrap_or_default(), scalar)
        })
        .collect();
    let rust: Vec<(String, Scalar)> = layout
        .fields
        .iter()
        .map(|&(name, scalar)| (name.to_string(), scalar))
        .collect();
    assert_eq!(
        wgsl, rust,
        "{kernel}: WGSL and Rust parameter fields differ"
    );
}

fn check_kernel(def: &KernelDef) {
    check_kernel_with(def, naga::valid::Capabilities::empty());
}

fn check_kernel_with(def: &KernelDef, capabilities: naga::valid::Capabilities) {
    let module = parse_with(def.name, def.source, capabilities);
    let entry = module
        .entry_points
        .iter()
        .find(|e| e.name == def.entry_point)
        .unwrap_or_else(|| panic!("{}: no entry point `{}`", def.name, def.entry_point));
    assert_eq!(entry.stage, naga::ShaderStage::Compute, "{}", def.name);
    // The workgroup size's x is the `WG` override, so the host's grid and the shader
    // agree (pipelines always set WG).
    let overrides = entry
        .workgroup_size_overrides
        .unwrap_or_else(|| panic!("{}: @workgroup_size must use the WG override", def.name));
    let x = overrides[0].unwrap_or_else(|| panic!("{}: workgroup x is not WG", def.name));
    match module.global_expressions[x] {
        naga::Expression::Override(h) => {
            assert_eq!(
                module.overrides[h].name.as_deref(),
                Some("WG"),
                "{}",
                def.name
            )
        }
        ref other => panic!("{}: workgroup x is {other:?}, not WG", def.name),
    }
    assert_eq!(entry.workgroup_size[1..], [1, 1], "{}", def.name);

    let mut bound: Vec<(u32, String, BindingKind, naga::Handle<naga::Type>)> = module
        .global_variables
        .iter()
        .filter_map(|(_, var)| {
            let binding = var.binding.as_ref()?;
            assert_eq!(
                binding.group, 0,
                "{}: every binding is in group 0",
                def.name
            );
            let kind = match var.space {
                AddressSpace::Uniform => BindingKind::Uniform,
                AddressSpace::Storage { access } if access == StorageAccess::LOAD => {
                    BindingKind::ReadOnly
                }
                AddressSpace::Storage { .. } => BindingKind::ReadWrite,
                ref other => panic!("{}: binding in {other:?}", def.name),
            };
            Some((
                binding.binding,
                var.name.clone().unwrap_or_default(),
                kind,
                var.ty,
            ))
        })
        .collect();
    bound.sort_by_key(|b| b.0);
    let expected: Vec<(u32, String, BindingKind)> =
        std::iter::once((0, "params".to_string(), BindingKind::Uniform))
            .chain(
                def.bindings
                    .iter()
                    .enumerate()
                    .map(|(i, b)| (i as u32 + 1, b.name.to_string(), b.kind)),
            )
            .collect();
    let actual: Vec<(u32, String, BindingKind)> = bound
        .iter()
        .map(|(b, n, k, _)| (*b, n.clone(), *k))
        .collect();
    assert_eq!(
        actual, expected,
        "{}: bindings differ from the registry",
        def.name
    );
    check_struct(def.name, &module, bound[0].3, &def.params);
    // The per-epoch uniform, where a kernel reads it.
    for (_, name, _, ty) in &bound[1..] {
        if name == "step" {
            check_struct(def.name, &module, *ty, &StepParams::LAYOUT);
        }
    }
}

#[test]
fn every_registry_entry_matches_its_wgsl() {
    for def in REGISTRY {
        check_kernel(def);
    }
}

#[test]
fn every_subgroup_variant_matches_its_wgsl_and_its_registry_entry() {
    for def in SUBGROUP_VARIANTS {
        check_variant(def, naga::valid::Capabilities::SUBGROUP);
    }
}

/// `def` against its WGSL (with `capabilities`) and against its registry entry: the
/// same entry point and bindings, another source.
fn check_variant(def: &KernelDef, capabilities: naga::valid::Capabilities) {
    check_kernel_with(def, capabilities);
    let base = REGISTRY
        .iter()
        .find(|d| d.name == def.name)
        .unwrap_or_else(|| panic!("{}: a variant without a registry entry", def.name));
    assert_eq!(def.entry_point, base.entry_point, "{}", def.name);
    assert_eq!(def.bindings, base.bindings, "{}: bindings differ", def.name);
    assert_ne!(
        def.source, base.source,
        "{}: the same source twice",
        def.name
    );
}

#[test]
fn every_f16_variant_matches_its_wgsl_and_its_registry_entry() {
    use naga::valid::Capabilities;
    for def in F16_VARIANTS {
        check_variant(def, Capabilities::SHADER_FLOAT16);
        assert!(
            def.source.starts_with("// Shared snippet") && def.source.contains("enable f16;"),
            "{}: the f16 snippet must open the source",
            def.name
        );
    }
    for def in F16_SUBGROUP_VARIANTS {
        check_variant(def, Capabilities::SHADER_FLOAT16 | Capabilities::SUBGROUP);
        assert!(
            SUBGROUP_VARIANTS.iter().any(|d| d.name == def.name),
            "{}: an f16 subgroup variant of a kernel without subgroup layouts",
            def.name
        );
    }
}

#[test]
fn registry_and_subgroup_kernels_need_no_f16_capability() {
    // A device without SHADER_F16 must never be handed an f16 module: the f32 sources
    // validate without the capability (`parse` and the subgroup test), the f16 snippet
    // itself needs it.
    let snippet = include_str!("../shaders/shared/store_f16.wgsl");
    let module = naga::front::wgsl::parse_str(snippet).unwrap();
    let refused = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::SUBGROUP,
    )
    .validate(&module);
    assert!(refused.is_err(), "f16 validated without the capability");
    for def in REGISTRY.iter().chain(SUBGROUP_VARIANTS) {
        assert!(!def.source.contains("enable f16"), "{}", def.name);
    }
}

#[test]
fn registry_kernels_need_no_subgroup_capability() {
    // Every registry source names no subgroup operation (shared/subgroups_off.wgsl
    // stands in), so the kernels build on devices without them: `parse` validates with
    // no capabilities, and the subgroup snippet itself needs the capability.
    let snippet = include_str!("../shaders/shared/subgroups.wgsl");
    let module = naga::front::wgsl::parse_str(snippet).unwrap();
    let refused = naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    )
    .validate(&module);
    assert!(
        refused.is_err(),
        "subgroup operations validated without the capability"
    );
    for def in REGISTRY {
        parse(def.name, def.source);
    }
}

#[test]
fn a_mismatched_parameter_struct_is_caught() {
    // The check itself must fail when the two sides differ.
    static WRONG: KernelDef = KernelDef {
        params: ParamsLayout {
            size: 16,
            fields: &[
                ("rows", Scalar::U32),
                ("cols", Scalar::U32),
                ("lanes", Scalar::U32),
                ("col_groups", Scalar::U32),
            ],
        },
        ..*REGISTRY[0]
    };
    assert_eq!(REGISTRY[0].name, "spmm");
    let result = std::panic::catch_unwind(|| check_kernel(&WRONG));
    assert!(result.is_err(), "swapped fields must not pass");
}

#[test]
fn every_kernel_has_its_files_under_one_name() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for def in REGISTRY {
        for path in [
            format!("shaders/{}.wgsl", def.name),
            format!("src/kernels/{}.rs", def.name),
            format!("src/cpu/{}.rs", def.name),
            format!("tests/kernels/{}.rs", def.name),
        ] {
            assert!(root.join(&path).is_file(), "{}: missing {path}", def.name);
        }
        let test =
            std::fs::read_to_string(root.join(format!("tests/kernels/{}.rs", def.name))).unwrap();
        assert!(
            test.contains(&format!("fn {}_", def.name)),
            "tests/kernels/{}.rs has no test named after the kernel",
            def.name
        );
    }
}

#[test]
fn every_shader_file_is_a_kernel_with_a_header() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let kernels: BTreeSet<&str> = REGISTRY.iter().map(|d| d.name).collect();
    let mut files = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "wgsl") {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                text.starts_with("//"),
                "{} must open with a comment saying what it computes",
                path.display()
            );
            for section in ["Bindings", "Dispatch"] {
                assert!(
                    text.contains(section),
                    "{}: header comment lacks `{section}`",
                    path.display()
                );
            }
            files.insert(path.file_stem().unwrap().to_string_lossy().into_owned());
        }
    }
    let files: BTreeSet<&str> = files.iter().map(String::as_str).collect();
    assert_eq!(files, kernels, "shader files and kernel registry differ");
}

#[test]
fn shared_snippets_validate_alone() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders/shared");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        parse_with(
            &path.display().to_string(),
            &text,
            naga::valid::Capabilities::SUBGROUP | naga::valid::Capabilities::SHADER_FLOAT16,
        );
    }
}

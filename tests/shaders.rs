//! Every shader is parsed and validated by naga, with no adapter needed, and every file
//! in shaders/ belongs to a kernel.

use std::collections::BTreeSet;
use std::path::Path;

use gpu_vgae::kernels::all_kernels;

fn validate(name: &str, source: &str) {
    let module = naga::front::wgsl::parse_str(source)
        .unwrap_or_else(|e| panic!("{name}: WGSL parse error:\n{}", e.emit_to_string(source)));
    naga::valid::Validator::new(
        naga::valid::ValidationFlags::all(),
        naga::valid::Capabilities::empty(),
    )
    .validate(&module)
    .unwrap_or_else(|e| panic!("{name}: validation error:\n{}", e.emit_to_string(source)));
}

#[test]
fn every_kernel_source_validates() {
    for def in all_kernels() {
        validate(def.name, def.source);
        assert!(
            def.source.contains("fn main("),
            "{}: entry point must be `main`",
            def.name
        );
    }
}

#[test]
fn every_shader_file_is_a_kernel_with_a_header() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let kernels: BTreeSet<&str> = all_kernels().iter().map(|d| d.name).collect();
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
    assert_eq!(files, kernels, "shader files and kernel table differ");
}

#[test]
fn shared_snippets_validate_alone() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders/shared");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        validate(&path.display().to_string(), &text);
    }
}

//! `shaders/matmul.wgsl`: out = A · B or A · Bᵀ, dense (Y = H1·W, dH1 = dY·Wᵀ).

use super::{check, flag, subgroup_choice, to_u32, Work, WORD, WORD_BYTES};
use crate::error::Result;
use crate::gpu::windows::row_windows;
use crate::gpu::{Bind, BindingDef, Blocking, Dispatch, Gpu, GpuMatrix, KernelDef};

/// The dense product kernel.
pub static MATMUL: KernelDef = KernelDef {
    name: "matmul",
    source: subgroup_source!(without, "matmul.wgsl"),
    entry_point: "main",
    params: Params::LAYOUT,
    bindings: &[
        BindingDef::read("a"),
        BindingDef::read("b"),
        BindingDef::write("out"),
        BindingDef::read("mask"),
    ],
};

/// [`MATMUL`] with subgroup operations: its subgroup layout (`SG`), where the device
/// has them.
pub static MATMUL_SUBGROUPS: KernelDef = KernelDef {
    source: subgroup_source!(with, "matmul.wgsl"),
    ..MATMUL
};

kernel_params! {
    struct Params {
        m: u32,
        n: u32,
        k: u32,
        col_groups: u32,
        stride_k: u32,
        stride_n: u32,
        lanes: u32,
        row_blocks: u32,
    }
}

/// Rows and column groups per invocation for `col_groups` output groups: the
/// profile's blocking, with the groups spread evenly over as few lanes as the cap
/// allows (9 groups, at most 8 a lane: 2 lanes of 5).
fn blocking(profile: Blocking, col_groups: usize) -> (usize, usize) {
    let wanted = profile.column_groups.max(1);
    if col_groups <= wanted {
        return (profile.rows, col_groups.max(1));
    }
    (
        profile.rows,
        col_groups.div_ceil(col_groups.div_ceil(wanted)),
    )
}

/// out = a · b (`transpose_b = false`, b is k × n) or a · bᵀ (`transpose_b = true`,
/// b is n × k); a is m × k, out is m × n.
pub fn matmul(
    gpu: &Gpu,
    a: &GpuMatrix,
    b: &GpuMatrix,
    transpose_b: bool,
    out: &GpuMatrix,
) -> Result<Vec<Dispatch>> {
    matmul_masked(gpu, a, b, transpose_b, None, out)
}

/// Like [`matmul`], and where `mask` (m × n) is given, out[i, j] = 0 wherever
/// mask[i, j] is not positive: the rectifier's gradient fused into dH1 = dY·Wᵀ, with
/// mask = H1 = relu(Q).
pub fn matmul_masked(
    gpu: &Gpu,
    a: &GpuMatrix,
    b: &GpuMatrix,
    transpose_b: bool,
    mask: Option<&GpuMatrix>,
    out: &GpuMatrix,
) -> Result<Vec<Dispatch>> {
    let (m, k) = (a.rows(), a.cols());
    let (b_k, n) = if transpose_b {
        (b.cols(), b.rows())
    } else {
        (b.rows(), b.cols())
    };
    check(b_k == k, "matmul", "b", || {
        format!("A is {m} x {k} but op(B) is {b_k} x {n}")
    })?;
    check(out.rows() == m && out.cols() == n, "matmul", "out", || {
        format!(
            "output is {} x {}, expected {m} x {n}",
            out.rows(),
            out.cols()
        )
    })?;
    if let Some(mask) = mask {
        check(mask.rows() == m && mask.cols() == n, "matmul", "mask", || {
            format!(
                "mask is {} x {}, expected {m} x {n}",
                mask.rows(),
                mask.cols()
            )
        })?;
    }
    let (stride_k, stride_n) = if transpose_b { (1, k) } else { (n, 1) };
    let col_groups = n.div_ceil(4);
    let aligned = k.is_multiple_of(4) && n.is_multiple_of(4);
    // The subgroup layout (aligned shapes): one workgroup is one subgroup, whose lanes
    // share B's 4·CPL vec4s per step (so CPL ≤ subgroup size / 4).
    let (def, subgroup) = subgroup_choice(gpu, aligned, &MATMUL, &MATMUL_SUBGROUPS);
    let profile = match (subgroup, transpose_b) {
        (0, false) => gpu.profile().matmul,
        (0, true) => gpu.profile().matmul_transposed,
        (size, _) => Blocking {
            column_groups: gpu
                .profile()
                .matmul_subgroup
                .column_groups
                .min(size as usize / 4),
            ..gpu.profile().matmul_subgroup
        },
    };
    let (rows, per_invocation) = blocking(profile, col_groups);
    let lanes = col_groups.div_ceil(per_invocation);
    // Pipeline constants (see the shader's header): vec4-aligned rows, B's layout, the
    // register blocking and the subgroup layout.
    let mut constants = vec![
        ("ALIGNED", flag(aligned)),
        ("TRANSPOSE", flag(transpose_b)),
        ("CPL", per_invocation as f64),
        ("R", rows as f64),
        ("MASK", flag(mask.is_some())),
        ("SG", f64::from(subgroup)),
    ];
    if subgroup > 0 {
        constants.push(("WG", f64::from(subgroup)));
    }
    let pipeline = gpu.pipeline_with(def, &constants)?;
    // Rows of A and out are independent: past one binding, each window of rows is a
    // matmul of its own against the whole of B.
    let row_bytes = [k as u64 * WORD_BYTES, n as u64 * WORD_BYTES];
    row_windows(gpu, "matmul", m, &row_bytes, 1)?
        .into_iter()
        .map(|window| {
            let m = window.len();
            let row_blocks = m.div_ceil(pipeline.workgroup_size() as usize * rows);
            let params = Params {
                m: to_u32("matmul m", m)?,
                n: to_u32("matmul n", n)?,
                k: to_u32("matmul k", k)?,
                col_groups: to_u32("matmul column groups", col_groups)?,
                stride_k: to_u32("matmul stride", stride_k)?,
                stride_n: to_u32("matmul stride", stride_n)?,
                lanes: to_u32("matmul lanes", lanes)?,
                row_blocks: to_u32("matmul row blocks", row_blocks)?,
            };
            to_u32("matmul elements", m.max(k) * k.max(n))?;
            let workgroups = to_u32("matmul workgroups", lanes * row_blocks)?;
            let grid = gpu.grid(
                workgroups as u64 * pipeline.workgroup_size() as u64,
                pipeline.workgroup_size(),
            )?;
            gpu.dispatch(
                &pipeline,
                &params,
                &[
                    Bind::rows(a, window.clone()),
                    Bind::matrix(b),
                    Bind::rows(out, window.clone()),
                    // Not read without MASK: any read-only binding that fits will do.
                    match mask {
                        Some(mask) => Bind::rows(mask, window),
                        None => Bind::rows(a, window),
                    },
                ],
                grid,
            )
        })
        .collect()
}

/// out (m × n) = A (m × k) · op(B) (k × n). flops = 2·m·k·n; bytes = 4·(m·k + k·n + m·n).
pub fn work(m: usize, k: usize, n: usize) -> Work {
    let (m, k, n) = (m as f64, k as f64, n as f64);
    Work {
        flops: 2.0 * m * k * n,
        bytes: WORD * (m * k + k * n + m * n),
    }
}

// Its step in a schedule (src/model/schedule.rs).

use serde::Serialize;

use crate::cpu;
use crate::model::schedule::{Accesses, Schedule, ScheduleOp, TensorId};
use crate::model::{CpuStepContext, GpuStepContext};

/// `matmul` in a schedule: out = A · B or A · Bᵀ, zero where `mask` is not positive.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MatmulStep {
    /// Left operand.
    pub a: TensorId,
    /// Right operand.
    pub b: TensorId,
    /// Whether B is used transposed.
    pub transpose_b: bool,
    /// The rectifier's gradient fused in: keep out where mask (H1) > 0.
    pub mask: Option<TensorId>,
    /// Result.
    pub out: TensorId,
}

impl ScheduleOp for MatmulStep {
    fn kernel(&self) -> &'static KernelDef {
        &MATMUL
    }

    fn accesses(&self, _: &Schedule) -> Accesses {
        Accesses::new([self.a, self.b].into_iter().chain(self.mask), [self.out])
    }

    fn work(&self, s: &Schedule) -> Work {
        let a = s.tensor(self.a);
        work(a.rows, a.cols, s.tensor(self.out).cols)
    }

    fn describe(&self, s: &Schedule) -> String {
        format!(
            "{}·{}{}{} → {} ({} · {})",
            s.name(self.a),
            s.name(self.b),
            if self.transpose_b { "ᵀ" } else { "" },
            self.mask
                .map(|m| format!(" ∘ 1[{} > 0]", s.name(m)))
                .unwrap_or_default(),
            s.name(self.out),
            s.dims(self.a),
            s.dims(self.b)
        )
    }

    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>> {
        matmul_masked(
            ctx.gpu(),
            &ctx.matrix(self.a)?,
            &ctx.matrix(self.b)?,
            self.transpose_b,
            self.mask.map(|m| ctx.matrix(m)).transpose()?.as_ref(),
            &ctx.matrix(self.out)?,
        )
    }

    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()> {
        let (m, k) = (ctx.tensor(self.a).rows, ctx.tensor(self.a).cols);
        let n = ctx.tensor(self.out).cols;
        let mask = self.mask.map(|m| ctx.f32(m)).transpose()?;
        let out = cpu::matmul_masked(
            ctx.f32(self.a)?,
            ctx.f32(self.b)?,
            m,
            k,
            n,
            self.transpose_b,
            mask,
        );
        ctx.set_f32(self.out, out)
    }
}

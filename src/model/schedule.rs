//! A model's training epoch written once, as data: tensors with their shapes, element
//! types and roles, and the ordered kernel invocations (steps) of its three phases
//! (encode; loss and gradients; optimize).
//!
//! Three runners read it: the GPU engine ([`DeviceTensors`](super::DeviceTensors),
//! behind [`crate::model::GaeModel`]) records each phase once and plans buffer reuse from
//! the lifetimes the steps make explicit ([`MemoryPlan`]); the CPU reference
//! ([`HostTensors`](super::HostTensors), behind [`crate::model::CpuModel`]) runs each
//! step's twin; the benchmarks take every step's kernel, description and work.
//!
//! # Each op carries its own metadata
//!
//! A step runs an [`Op`]: one step type per kernel, defined beside that kernel's wrapper
//! at the end of `src/kernels/<name>.rs` (e.g. [`SpmmStep`](crate::kernels::spmm::SpmmStep)
//! `{ a, b, relu, out }`), which implements [`ScheduleOp`]: the kernel it runs, the
//! tensors it reads and writes, its work, a one-line description, its GPU recording (the
//! wrapper's call) and its CPU step (the twin's call, `src/cpu/<name>.rs`). The kernel
//! registry (`registry!` in `src/kernels/mod.rs`) names a kernel's step type on the
//! kernel's own line, `spmm::SPMM => Spmm(SpmmStep)`, and generates [`Op`] from those
//! names (through `ops!` here: one variant per step type and the delegation). The
//! runners and the benchmarks hold no per-kernel code: a new kernel in a schedule is its
//! kernel file (with its WGSL, twin and test, which have files of their own) and its
//! registry line.
//!
//! Why this shape:
//! - Beside the kernel, because a step is a view of that kernel's arguments: its fields
//!   are the wrapper's tensors and scalars, its work is the module's formula and its CPU
//!   step the twin's call, so a change of the kernel's signature finds them all in one
//!   file. The kernel modules import the schedule's types for it; the wrappers
//!   themselves stay independent of any schedule.
//! - An enum generated from the registry, not `Box<dyn ScheduleOp>`: a schedule stays
//!   plain data that derives `Clone`, `PartialEq` and `Serialize` (compared in tests,
//!   printed by benchmarks), and the set of ops is closed and known when compiling.
//! - The runners hand a step a context ([`GpuStepContext`], [`CpuStepContext`]) that
//!   resolves tensor ids to device buffers or host vectors and refuses a tensor the
//!   step's [`Accesses`] do not declare. The memory plan trusts those declarations, so
//!   every run of the CPU reference (and every recording) checks them.
//!
//! # Models other than the VGAE
//!
//! Nothing in this module belongs to one model. [`Builder`] declares tensors, CSR inputs
//! and pair lists and pushes steps phase by phase; [`Schedule`] holds the result; the
//! VGAE/GAE builder ([`crate::model::vgae`]) is one user, with one method per objective
//! and shared parts. Another model writes its own builder on a [`Builder`] and its own
//! handles (the tensors its host code reads and writes), and runs on the same
//! [`DeviceTensors`](super::DeviceTensors) and [`HostTensors`](super::HostTensors). Ops
//! take scalar parameters as fields (a KL scale, Adam's settings, a slope) and per-epoch
//! scalars from the step uniform ([`StepParams`](crate::gpu::StepParams)). Tensors carry
//! an [`Elem`]; a new element type (f16 storage) is a variant with its size, and the
//! runners' exhaustive matches on it (host storage, zeroing) show what else it needs.

use serde::Serialize;

use super::engine::GpuStepContext;
use super::reference::CpuStepContext;
use crate::error::Result;
use crate::gpu::{Dispatch, KernelDef};
use crate::kernels::{reduce_sum, Work};

/// A tensor of the schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct TensorId(usize);

/// A sparse (CSR) input of the schedule, e.g. Â, X or Xᵀ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct SparseId(usize);

/// Weighted node pairs grouped by row (a decoder's pair list).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct PairsId(usize);

impl TensorId {
    /// Position in [`Schedule::tensors`].
    pub fn index(self) -> usize {
        self.0
    }

    pub(crate) fn from_index(index: usize) -> Self {
        TensorId(index)
    }
}

impl SparseId {
    /// Position in [`Schedule::sparse_inputs`].
    pub fn index(self) -> usize {
        self.0
    }
}

impl PairsId {
    /// Position in [`Schedule::pair_lists`].
    pub fn index(self) -> usize {
        self.0
    }
}

/// The element type of a tensor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Elem {
    /// `f32`.
    F32,
    /// `u32` (indices).
    U32,
    /// IEEE half precision (`half::f16`; WGSL `f16`, devices with `SHADER_F16`): the
    /// embeddings the decoders read under [`Precision::F16`](super::Precision::F16).
    F16,
}

impl Elem {
    /// Bytes of one element.
    pub fn size(self) -> u64 {
        match self {
            Elem::F32 | Elem::U32 => 4,
            Elem::F16 => 2,
        }
    }
}

/// A Rust type that holds the elements of tensors of one [`Elem`]: what views of a
/// tensor as a typed array check against its declared type.
pub trait TensorElem: bytemuck::Pod {
    /// The element type it holds.
    const ELEM: Elem;
}

impl TensorElem for f32 {
    const ELEM: Elem = Elem::F32;
}

impl TensorElem for u32 {
    const ELEM: Elem = Elem::U32;
}

impl TensorElem for half::f16 {
    const ELEM: Elem = Elem::F16;
}

/// How a tensor's content arrives and how long it must live.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Role {
    /// Graph data written once when the model is built.
    Input,
    /// Rewritten by the host before every epoch (the sampled objective's pairs).
    EpochInput,
    /// A trained weight: persistent, read and written by the host.
    Parameter,
    /// Optimizer state: persistent, zero at the start.
    State,
    /// Read by the host after a phase (μ|s, the loss sums, the gradients): persistent.
    Output,
    /// Lives from its first write to its last read within an epoch, so its memory can
    /// serve other scratch tensors outside that interval.
    Scratch,
    /// A gradient: written whole by the backward pass, read by the optimizer and by the
    /// host after the backward pass ([`crate::model::GaeModel::gradients`]). It may take
    /// the memory of scratch tensors whose last use comes before its first write (dW0
    /// of a featureless model is N × hidden), but keeps it to the end of the epoch, so
    /// its value stays readable until the next epoch's forward pass.
    Gradient,
}

impl Role {
    /// Whether the tensor keeps its memory to itself from its first write on (its
    /// value survives the epoch); everything but scratch.
    pub fn is_persistent(self) -> bool {
        self != Role::Scratch
    }

    /// Whether the tensor may take a slot that earlier tensors have finished with.
    pub fn reuses_memory(self) -> bool {
        matches!(self, Role::Scratch | Role::Gradient)
    }
}

/// A tensor: name (labels, errors), element type, shape and role.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TensorSpec {
    /// Name, e.g. `h1` (labelled `gpu_vgae.h1` on the device).
    pub name: String,
    /// Element type.
    pub elem: Elem,
    /// Rows (1 for vectors).
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Role.
    pub role: Role,
}

impl TensorSpec {
    /// Elements.
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }

    /// Whether the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of its elements.
    pub fn bytes(&self) -> u64 {
        self.elem.size() * self.rows as u64 * self.cols as u64
    }

    /// Bytes of device memory it takes: its elements rounded up to whole 4-byte words
    /// (buffer copies move words; an odd count of f16 elements ends in half a word),
    /// at least one word.
    pub fn device_bytes(&self) -> u64 {
        self.bytes().max(4).next_multiple_of(4)
    }
}

/// A CSR input: its shape and the tensors holding its three arrays.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SparseSpec {
    /// Name, e.g. `a_hat`.
    pub name: &'static str,
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Stored entries.
    pub nnz: usize,
    /// `rows + 1` offsets (u32).
    pub row_ptr: TensorId,
    /// Column per entry (u32).
    pub col_idx: TensorId,
    /// Value per entry.
    pub values: TensorId,
}

impl SparseSpec {
    /// Its three tensors: offsets, columns, values.
    pub fn tensors(&self) -> [TensorId; 3] {
        [self.row_ptr, self.col_idx, self.values]
    }
}

/// A pair list: `(i, j, w_pos, w_neg)` entries grouped by `i` (see
/// [`crate::kernels::decoder_pairs::PairRows`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PairsSpec {
    /// Name, e.g. `label_pairs`.
    pub name: &'static str,
    /// Nodes (rows).
    pub nodes: usize,
    /// Entries.
    pub entries: usize,
    /// `nodes + 1` offsets (u32).
    pub ptr: TensorId,
    /// Other node per entry (u32).
    pub col: TensorId,
    /// `(w_pos, w_neg)` of the two weight classes (2 × 2; an entry's class is the top
    /// bit of its column word).
    pub weight: TensorId,
}

impl PairsSpec {
    /// Its three tensors: offsets, columns, class weights.
    pub fn tensors(&self) -> [TensorId; 3] {
        [self.ptr, self.col, self.weight]
    }
}

/// The tensors a step reads and the ones it writes (a tensor updated in place, such as
/// Adam's weights, is in both).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accesses {
    /// Read.
    pub reads: Vec<TensorId>,
    /// Written.
    pub writes: Vec<TensorId>,
}

impl Accesses {
    /// The accesses of a step reading `reads` and writing `writes`.
    pub fn new(
        reads: impl IntoIterator<Item = TensorId>,
        writes: impl IntoIterator<Item = TensorId>,
    ) -> Self {
        Accesses {
            reads: reads.into_iter().collect(),
            writes: writes.into_iter().collect(),
        }
    }

    /// Whether the step reads `id`.
    pub fn reads(&self, id: TensorId) -> bool {
        self.reads.contains(&id)
    }

    /// Whether the step writes `id`.
    pub fn writes(&self, id: TensorId) -> bool {
        self.writes.contains(&id)
    }
}

/// What every step type of a schedule provides (see the module docs). Implemented
/// beside each kernel's wrapper, in `src/kernels/<name>.rs`.
pub trait ScheduleOp {
    /// The kernel it runs (its registry entry).
    fn kernel(&self) -> &'static KernelDef;

    /// The tensors it reads and writes: what the memory plan's lifetimes come from, and
    /// all the contexts let it touch.
    fn accesses(&self, schedule: &Schedule) -> Accesses;

    /// Its work, from the kernel's formula at the step's shapes.
    fn work(&self, schedule: &Schedule) -> Work;

    /// One line for benchmark tables and errors, e.g. `a_hat·p → q (…)`.
    fn describe(&self, schedule: &Schedule) -> String;

    /// Its dispatches on the device: one, or one per window where a tensor exceeds a
    /// storage binding (gpu/windows.rs).
    fn record(&self, ctx: &GpuStepContext<'_>) -> Result<Vec<Dispatch>>;

    /// Runs it on the host with the kernel's CPU twin.
    fn run_cpu(&self, ctx: &mut CpuStepContext<'_>) -> Result<()>;
}

/// Generates [`Op`] from the kernel registry's step types (`registry!` in
/// `src/kernels/mod.rs` invokes it, so [`Op`] is defined there and re-exported here):
/// one variant per step type, `From` for each, and the [`ScheduleOp`] impl that
/// delegates to the variant's.
macro_rules! ops {
    ($($variant:ident($step:ty)),+ $(,)?) => {
        /// One kernel invocation over named tensors; shapes come from the tensors. Each
        /// variant is the step type of one kernel, listed in the kernel registry
        /// (`src/kernels/mod.rs`; see [`crate::model::schedule`]).
        #[derive(Clone, Debug, PartialEq, serde::Serialize)]
        pub enum Op {
            $(
                #[doc = concat!("`", stringify!($step), "`.")]
                $variant($step),
            )+
        }

        $(
            impl From<$step> for Op {
                fn from(step: $step) -> Op {
                    Op::$variant(step)
                }
            }
        )+

        impl Op {
            /// The step's own type, as the trait object.
            pub fn step(&self) -> &dyn crate::model::schedule::ScheduleOp {
                match self {
                    $(Op::$variant(step) => step,)+
                }
            }
        }

        impl crate::model::schedule::ScheduleOp for Op {
            fn kernel(&self) -> &'static crate::gpu::KernelDef {
                self.step().kernel()
            }

            fn accesses(
                &self,
                schedule: &crate::model::schedule::Schedule,
            ) -> crate::model::schedule::Accesses {
                self.step().accesses(schedule)
            }

            fn work(&self, schedule: &crate::model::schedule::Schedule) -> crate::kernels::Work {
                self.step().work(schedule)
            }

            fn describe(&self, schedule: &crate::model::schedule::Schedule) -> String {
                self.step().describe(schedule)
            }

            fn record(
                &self,
                ctx: &crate::model::GpuStepContext<'_>,
            ) -> crate::error::Result<Vec<crate::gpu::Dispatch>> {
                self.step().record(ctx)
            }

            fn run_cpu(&self, ctx: &mut crate::model::CpuStepContext<'_>) -> crate::error::Result<()> {
                self.step().run_cpu(ctx)
            }
        }
    };
}

pub(crate) use ops;

/// The op enum, generated by the kernel registry from its step types.
pub use crate::kernels::Op;

/// Which part of an epoch a step belongs to; each phase is one recording on the GPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Phase {
    /// The encoder up to the embeddings.
    Encode,
    /// Decoder, losses and the backward pass.
    LossAndGrads,
    /// The optimizer.
    Optimize,
}

impl Phase {
    /// The three phases in order.
    pub const ALL: [Phase; 3] = [Phase::Encode, Phase::LossAndGrads, Phase::Optimize];

    /// The recording's label.
    pub fn label(self) -> &'static str {
        match self {
            Phase::Encode => "encode",
            Phase::LossAndGrads => "loss_and_grads",
            Phase::Optimize => "adam",
        }
    }
}

/// One step: a kernel invocation in a phase.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Step {
    /// Its phase.
    pub phase: Phase,
    /// What it runs.
    pub op: Op,
}

/// A whole epoch: tensors, CSR inputs, pair lists and steps. Built by a [`Builder`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Schedule {
    tensors: Vec<TensorSpec>,
    sparse: Vec<SparseSpec>,
    pairs: Vec<PairsSpec>,
    steps: Vec<Step>,
}

impl Schedule {
    /// Every tensor, indexed by [`TensorId`].
    pub fn tensors(&self) -> &[TensorSpec] {
        &self.tensors
    }

    /// A tensor's spec.
    pub fn tensor(&self, id: TensorId) -> &TensorSpec {
        &self.tensors[id.0]
    }

    /// A tensor's name.
    pub fn name(&self, id: TensorId) -> &str {
        &self.tensors[id.0].name
    }

    /// A tensor's shape as `rows`x`cols`, for descriptions.
    pub fn dims(&self, id: TensorId) -> String {
        let t = self.tensor(id);
        format!("{}x{}", t.rows, t.cols)
    }

    /// The CSR inputs, indexed by [`SparseId`].
    pub fn sparse(&self, id: SparseId) -> &SparseSpec {
        &self.sparse[id.0]
    }

    /// The sparse inputs.
    pub fn sparse_inputs(&self) -> &[SparseSpec] {
        &self.sparse
    }

    /// A pair list's spec.
    pub fn pairs(&self, id: PairsId) -> &PairsSpec {
        &self.pairs[id.0]
    }

    /// The pair lists, indexed by [`PairsId`].
    pub fn pair_lists(&self) -> &[PairsSpec] {
        &self.pairs
    }

    /// The steps in execution order.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The steps of one phase, with their indices.
    pub fn phase(&self, phase: Phase) -> impl Iterator<Item = (usize, &Step)> {
        self.steps
            .iter()
            .enumerate()
            .filter(move |(_, s)| s.phase == phase)
    }

    /// Device bytes of the persistent tensors and of every scratch tensor, if nothing
    /// shared memory (an upper bound of what the GPU engine allocates).
    pub fn unshared_bytes(&self) -> u64 {
        self.tensors.iter().map(TensorSpec::device_bytes).sum()
    }

    /// The largest tensor: its name and bytes.
    pub fn largest_tensor(&self) -> Option<(&str, u64)> {
        self.tensors
            .iter()
            .max_by_key(|t| t.bytes())
            .map(|t| (t.name.as_str(), t.bytes()))
    }
}

/// Builds a schedule step by step: declares tensors, CSR inputs and pair lists, and
/// pushes steps into the current phase (encode at first). A model's builder is a few
/// methods on one of these; [`Builder::finish`] is the only place a [`Schedule`] is made.
#[derive(Debug)]
pub struct Builder {
    tensors: Vec<TensorSpec>,
    sparse: Vec<SparseSpec>,
    pairs: Vec<PairsSpec>,
    steps: Vec<Step>,
    phase: Phase,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            tensors: Vec::new(),
            sparse: Vec::new(),
            pairs: Vec::new(),
            steps: Vec::new(),
            phase: Phase::Encode,
        }
    }
}

impl Builder {
    /// Declares a tensor.
    pub fn tensor(
        &mut self,
        name: &str,
        elem: Elem,
        rows: usize,
        cols: usize,
        role: Role,
    ) -> TensorId {
        self.tensors.push(TensorSpec {
            name: name.to_string(),
            elem,
            rows,
            cols,
            role,
        });
        TensorId(self.tensors.len() - 1)
    }

    /// Declares an f32 tensor.
    pub fn f32(&mut self, name: &str, rows: usize, cols: usize, role: Role) -> TensorId {
        self.tensor(name, Elem::F32, rows, cols, role)
    }

    /// Declares an f32 scratch tensor.
    pub fn scratch(&mut self, name: &str, rows: usize, cols: usize) -> TensorId {
        self.f32(name, rows, cols, Role::Scratch)
    }

    /// A declared tensor's spec.
    pub fn spec(&self, id: TensorId) -> &TensorSpec {
        &self.tensors[id.0]
    }

    /// Declares a CSR input (rows × cols, `nnz` entries) and its three tensors.
    pub fn sparse(&mut self, name: &'static str, rows: usize, cols: usize, nnz: usize) -> SparseId {
        let row_ptr = self.tensor(
            &format!("{name}.row_ptr"),
            Elem::U32,
            1,
            rows + 1,
            Role::Input,
        );
        let col_idx = self.tensor(&format!("{name}.col_idx"), Elem::U32, 1, nnz, Role::Input);
        let values = self.f32(&format!("{name}.values"), 1, nnz, Role::Input);
        self.sparse.push(SparseSpec {
            name,
            rows,
            cols,
            nnz,
            row_ptr,
            col_idx,
            values,
        });
        SparseId(self.sparse.len() - 1)
    }

    /// Declares a pair list over `nodes` rows with room for `entries` entries.
    pub fn pair_list(
        &mut self,
        name: &'static str,
        nodes: usize,
        entries: usize,
        role: Role,
    ) -> PairsId {
        let ptr = self.tensor(&format!("{name}.ptr"), Elem::U32, 1, nodes + 1, role);
        let col = self.tensor(&format!("{name}.col"), Elem::U32, 1, entries, role);
        let weight = self.f32(&format!("{name}.weight"), 2, 2, role);
        self.pairs.push(PairsSpec {
            name,
            nodes,
            entries,
            ptr,
            col,
            weight,
        });
        PairsId(self.pairs.len() - 1)
    }

    /// Steps pushed from now on belong to `phase`.
    pub fn set_phase(&mut self, phase: Phase) {
        self.phase = phase;
    }

    /// Appends a step to the current phase.
    pub fn push(&mut self, op: impl Into<Op>) {
        self.steps.push(Step {
            phase: self.phase,
            op: op.into(),
        });
    }

    /// The levels of `reduce_sum` that sum the rows of `input` into `out` (1 × cols),
    /// intermediate levels in scratch tensors named after `input`.
    pub fn column_sums(&mut self, input: TensorId, out: TensorId) {
        let (rows, cols) = (self.spec(input).rows, self.spec(input).cols);
        let levels = reduce_sum::levels(rows);
        let mut current = input;
        for (level, &level_rows) in levels.iter().enumerate() {
            let next = if level + 1 == levels.len() {
                out
            } else {
                let name = format!("{}.sum{}", self.spec(input).name, level + 1);
                self.scratch(&name, level_rows.div_ceil(reduce_sum::GROUP_ROWS), cols)
            };
            self.push(reduce_sum::ReduceSumStep {
                input: current,
                out: next,
            });
            current = next;
        }
    }

    /// The schedule.
    pub fn finish(self) -> Schedule {
        Schedule {
            tensors: self.tensors,
            sparse: self.sparse,
            pairs: self.pairs,
            steps: self.steps,
        }
    }
}

/// Where each tensor lives on the device: tensors sharing a slot share a buffer.
/// Inputs, parameters, state and outputs have a slot of their own; a scratch tensor or
/// a gradient takes the smallest free slot that fits, free meaning that every tensor
/// placed there before was last used by an earlier step (so reuse follows from the
/// lifetimes the schedule makes explicit, whatever the order of its lines). A slot
/// taken by a gradient stays its own for the rest of the epoch.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MemoryPlan {
    /// Slot of every tensor.
    pub slot_of: Vec<usize>,
    /// Bytes of every slot.
    pub slot_bytes: Vec<u64>,
}

impl MemoryPlan {
    /// Plans `schedule`; `share` = false gives every tensor its own slot.
    pub fn new(schedule: &Schedule, share: bool) -> Self {
        let count = schedule.tensors.len();
        // First and last step touching each tensor.
        let mut first = vec![usize::MAX; count];
        let mut last = vec![0usize; count];
        for (index, step) in schedule.steps.iter().enumerate() {
            let Accesses { reads, writes } = step.op.accesses(schedule);
            for id in reads.into_iter().chain(writes) {
                first[id.0] = first[id.0].min(index);
                last[id.0] = last[id.0].max(index);
            }
        }
        let mut slot_of = vec![usize::MAX; count];
        let mut slot_bytes: Vec<u64> = Vec::new();
        // The step after which each slot is free again.
        let mut busy_until: Vec<usize> = Vec::new();
        let mut order: Vec<usize> = (0..count).collect();
        order.sort_by_key(|&t| (first[t], t));
        for t in order {
            let spec = &schedule.tensors[t];
            let bytes = spec.device_bytes();
            let shareable = share && spec.role.reuses_memory() && first[t] != usize::MAX;
            let reuse = if shareable {
                (0..slot_bytes.len())
                    .filter(|&s| busy_until[s] < first[t] && slot_bytes[s] >= bytes)
                    .min_by_key(|&s| (slot_bytes[s], s))
            } else {
                None
            };
            let slot = match reuse {
                Some(s) => s,
                None => {
                    slot_bytes.push(bytes);
                    busy_until.push(0);
                    slot_bytes.len() - 1
                }
            };
            slot_of[t] = slot;
            busy_until[slot] = if spec.role.is_persistent() {
                usize::MAX
            } else {
                last[t]
            };
        }
        MemoryPlan {
            slot_of,
            slot_bytes,
        }
    }

    /// Bytes of all slots.
    pub fn total_bytes(&self) -> u64 {
        self.slot_bytes.iter().sum()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::kernels::gather_rows::GatherRowsStep;
    use crate::kernels::spmm::SpmmStep;
    use crate::model::HostTensors;
    use crate::sparse::Csr;

    /// A schedule that is no VGAE: relu(A·W), two of its rows picked by a u32 index
    /// tensor, their column sums; and its CSR input A.
    pub(crate) fn small_model() -> (Schedule, Csr, [TensorId; 4]) {
        let mut b = Builder::default();
        let a = b.sparse("a", 3, 3, 4);
        let w = b.f32("w", 3, 2, Role::Parameter);
        let h = b.scratch("h", 3, 2);
        b.push(SpmmStep {
            a,
            b: w,
            relu: true,
            out: h,
        });
        let rows = b.tensor("rows", Elem::U32, 1, 2, Role::Input);
        let picked = b.scratch("picked", 2, 2);
        b.push(GatherRowsStep {
            src: h,
            index: rows,
            out: picked,
        });
        let sum = b.f32("sum", 1, 2, Role::Output);
        b.set_phase(Phase::LossAndGrads);
        b.column_sums(picked, sum);
        let a = Csr::from_triplets(3, 3, &[(0, 0, 1.0), (0, 2, 2.0), (1, 1, -1.0), (2, 0, 0.5)])
            .unwrap();
        (b.finish(), a, [w, rows, h, sum])
    }

    #[test]
    fn a_schedule_of_another_model_runs_on_the_host() {
        let (schedule, a, [w, rows, _, sum]) = small_model();
        assert_eq!(schedule.steps().len(), 3);
        assert_eq!(schedule.steps()[2].phase, Phase::LossAndGrads);
        let mut host = HostTensors::new(schedule, vec![a]).unwrap();
        host.write_f32(w, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
            .unwrap();
        host.write_u32(rows, vec![2, 0]).unwrap();
        host.run_phases(&Phase::ALL).unwrap();
        // relu(A·W) = [11 14; 0 0; 0.5 1]; rows 2 and 0 sum to [11.5 15].
        assert_eq!(host.f32(sum).unwrap(), &[11.5, 15.0]);
    }

    /// A chain s1 = A·w, s2 = A·s1, g = A·s2, t1 = A·g, t2 = A·t1 with `g` of `role`;
    /// the slots of s1, g and t2.
    fn chain_slots(role: Role) -> [usize; 3] {
        let mut b = Builder::default();
        let a = b.sparse("a", 4, 4, 4);
        let w = b.f32("w", 4, 2, Role::Parameter);
        let mut chain = |name: &str, input: TensorId, role: Role| {
            let out = b.f32(name, 4, 2, role);
            b.push(SpmmStep::plain(a, input, out));
            out
        };
        let s1 = chain("s1", w, Role::Scratch);
        let s2 = chain("s2", s1, Role::Scratch);
        let g = chain("g", s2, role);
        let t1 = chain("t1", g, Role::Scratch);
        let t2 = chain("t2", t1, Role::Scratch);
        let plan = MemoryPlan::new(&b.finish(), true);
        [s1, g, t2].map(|t| plan.slot_of[t.index()])
    }

    /// A gradient takes the memory of a scratch tensor that is done before it is
    /// written, and nothing takes the gradient's memory after its last use (the host
    /// reads it after the epoch); a scratch tensor in its place would lend it out.
    #[test]
    fn gradients_reuse_finished_scratch_and_keep_their_slot() {
        let [s1, g, t2] = chain_slots(Role::Gradient);
        assert_eq!(g, s1);
        assert_ne!(t2, g);
        let [_, g, t2] = chain_slots(Role::Scratch);
        assert_eq!(t2, g);
        let [s1, g, t2] = chain_slots(Role::Output);
        assert_ne!(g, s1);
        assert_ne!(t2, g);
    }

    #[test]
    fn the_memory_plan_follows_the_declared_accesses() {
        let (schedule, _, [_, _, h, _]) = small_model();
        let plan = MemoryPlan::new(&schedule, true);
        // h (written by step 0, read by step 1) and picked (written by step 1, read by
        // step 2) are both live at step 1: sharing needs the gather to declare both.
        let picked = schedule
            .tensors()
            .iter()
            .position(|t| t.name == "picked")
            .unwrap();
        assert_ne!(plan.slot_of[h.index()], plan.slot_of[picked]);
        let accesses = schedule.steps()[1].op.accesses(&schedule);
        assert!(accesses.reads(h) && !accesses.writes(h));
        assert_eq!(schedule.steps()[1].op.kernel().name, "gather_rows");
    }
}

//! The device layer: adapter selection and errors ([`Gpu`]), pooled buffers and
//! readback, the pipeline cache, and recordings of dispatches.

mod buffers;
mod context;
mod pipelines;
mod recording;
mod timing;

pub use buffers::{GpuArray, GpuBuffer, GpuCsr, GpuMatrix};
pub use context::{AdapterReport, Gpu, GpuOptions, ADAPTER_ENV, BACKEND_ENV};
pub use pipelines::{BindingKind, KernelDef, Pipeline};
pub use recording::{Bind, Dispatch, Recording, StepBuffer, StepParams};
pub use timing::KernelTiming;

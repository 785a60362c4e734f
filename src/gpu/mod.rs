//! The device layer: adapter selection and errors ([`Gpu`]), the adapter's tuning
//! profile, pooled buffers and readback, kernel definitions and the pipeline cache, and
//! recordings of dispatches, and windows of tensors larger than one binding.

mod buffers;
mod context;
mod pipelines;
mod profile;
mod recording;
mod timing;
pub mod windows;

pub use buffers::{pool_class_bytes, GpuArray, GpuBuffer, GpuCsr, GpuMatrix};
pub use context::{AdapterReport, Gpu, GpuOptions, ADAPTER_ENV, BACKEND_ENV};
pub use pipelines::{
    BindingDef, BindingKind, KernelDef, ParamScalar, ParamsLayout, Pipeline, Scalar,
};
pub use profile::{AdapterClass, AdapterFeatures, AdapterProfile, Blocking, SubgroupSizes};
pub use recording::{Bind, Dispatch, Recording, StepBuffer, StepParams};
pub use timing::KernelTiming;

//! Device buffers: a pool that reuses storage and staging buffers by size class, typed
//! arrays over pooled buffers, and batched readback.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytemuck::Pod;

use super::context::Gpu;
use crate::error::{Error, Result};
use crate::sparse::Csr;

/// Smallest buffer the pool hands out: avoids zero-sized bindings and many tiny classes.
const MIN_BUFFER_BYTES: u64 = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum BufferKind {
    /// STORAGE | COPY_SRC | COPY_DST: every kernel operand.
    Storage,
    /// MAP_READ | COPY_DST: readback.
    Staging,
}

impl BufferKind {
    fn usage(self) -> wgpu::BufferUsages {
        match self {
            BufferKind::Storage => {
                wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST
            }
            BufferKind::Staging => wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        }
    }
}

struct PoolShared {
    device: wgpu::Device,
    free: Mutex<HashMap<(BufferKind, u64), Vec<wgpu::Buffer>>>,
    bytes_held: AtomicU64,
    max_buffer: u64,
}

/// Hands out buffers by size class and takes them back when their
/// [`GpuBuffer`] is dropped, so repeated allocations of the same shapes (kernel tests,
/// benchmarks, models built one after another) reuse memory instead of growing it.
#[derive(Clone)]
pub(crate) struct BufferPool {
    shared: Arc<PoolShared>,
}

impl BufferPool {
    pub(crate) fn new(device: wgpu::Device, limits: &wgpu::Limits) -> Self {
        BufferPool {
            shared: Arc::new(PoolShared {
                device,
                free: Mutex::new(HashMap::new()),
                bytes_held: AtomicU64::new(0),
                max_buffer: limits.max_buffer_size,
            }),
        }
    }

    pub(crate) fn bytes_held(&self) -> u64 {
        self.shared.bytes_held.load(Ordering::Relaxed)
    }

    /// Eight classes per power of two: reuse stays likely while padding wastes at most
    /// 12.5% (plain powers of two could waste half of a large buffer).
    fn size_class(&self, bytes: u64, limit: u64) -> u64 {
        let wanted = bytes.max(MIN_BUFFER_BYTES);
        let step = (wanted.next_power_of_two() / 8).max(MIN_BUFFER_BYTES);
        let class = wanted.div_ceil(step) * step;
        if class <= limit {
            class
        } else {
            wanted.div_ceil(MIN_BUFFER_BYTES) * MIN_BUFFER_BYTES
        }
    }

    fn acquire(&self, label: &str, bytes: u64, kind: BufferKind) -> Result<GpuBuffer> {
        // Kernels bind windows of buffers larger than one storage binding
        // (gpu/windows.rs), so only the buffer limit applies here.
        let limit = self.shared.max_buffer;
        if bytes > limit {
            return Err(Error::BufferTooLarge {
                label: label.to_string(),
                bytes,
                limit,
                limit_kind: "buffer",
            });
        }
        let class = self.size_class(bytes, limit);
        let reused = self
            .shared
            .free
            .lock()
            .ok()
            .and_then(|mut free| free.get_mut(&(kind, class)).and_then(Vec::pop));
        let buffer = match reused {
            Some(buffer) => buffer,
            None => {
                let buffer = self.shared.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some(label),
                    size: class,
                    usage: kind.usage(),
                    mapped_at_creation: false,
                });
                self.shared.bytes_held.fetch_add(class, Ordering::Relaxed);
                buffer
            }
        };
        Ok(GpuBuffer {
            inner: Arc::new(PooledBuffer {
                buffer: Some(buffer),
                bytes,
                class,
                kind,
                pool: Arc::clone(&self.shared),
            }),
        })
    }

    /// Destroys every cached (not live) buffer.
    pub(crate) fn trim(&self) {
        if let Ok(mut free) = self.shared.free.lock() {
            for ((_, class), buffers) in free.drain() {
                for buffer in buffers {
                    buffer.destroy();
                    self.shared.bytes_held.fetch_sub(class, Ordering::Relaxed);
                }
            }
        }
    }
}

/// A pooled device buffer, shared by reference count: every dispatch that binds it holds
/// a clone, so the pool gets it back only when no handle and no recorded dispatch can
/// touch it any more (a buffer is never handed out while a bind group still uses it).
#[derive(Clone)]
pub struct GpuBuffer {
    inner: Arc<PooledBuffer>,
}

struct PooledBuffer {
    buffer: Option<wgpu::Buffer>,
    bytes: u64,
    class: u64,
    kind: BufferKind,
    pool: Arc<PoolShared>,
}

impl GpuBuffer {
    /// The wgpu buffer (its size is the pool's size class, at least [`GpuBuffer::bytes`]).
    pub fn raw(&self) -> &wgpu::Buffer {
        self.inner
            .buffer
            .as_ref()
            .expect("the buffer is only taken in drop")
    }

    /// Bytes requested (the meaningful prefix of the buffer).
    pub fn bytes(&self) -> u64 {
        self.inner.bytes
    }

    /// The binding of the buffer's first `bytes`, rounded up to 16 (so empty arrays
    /// still bind, and a kernel may read an `f32` array as `array<vec4<f32>>` with its
    /// last, partial vec4 addressable). Pool buffers are at least 256 bytes in multiples
    /// of 256, so the rounding stays inside the buffer (the `min` only documents that).
    pub fn binding(&self, bytes: u64) -> wgpu::BindingResource<'_> {
        self.binding_at(0, bytes)
    }

    /// Like [`GpuBuffer::binding`] for the `bytes` bytes from `offset` (a window of a
    /// tensor larger than one binding; `offset` is a multiple of the device's storage
    /// offset alignment, itself a multiple of 16).
    pub fn binding_at(&self, offset: u64, bytes: u64) -> wgpu::BindingResource<'_> {
        let size = bound_size(bytes).min(self.raw().size() - offset.min(self.raw().size()));
        wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: self.raw(),
            offset,
            size: wgpu::BufferSize::new(size),
        })
    }
}

/// The bytes a binding of `bytes` meaningful bytes covers: rounded up to 16, at least 16.
pub(crate) fn bound_size(bytes: u64) -> u64 {
    bytes.max(16).div_ceil(16) * 16
}

impl std::fmt::Debug for GpuBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuBuffer")
            .field("bytes", &self.bytes())
            .finish()
    }
}

impl Drop for PooledBuffer {
    fn drop(&mut self) {
        if let Some(buffer) = self.buffer.take() {
            if let Ok(mut free) = self.pool.free.lock() {
                free.entry((self.kind, self.class))
                    .or_default()
                    .push(buffer);
            }
        }
    }
}

/// A typed array of `len` elements at the start of a pooled storage buffer. Clones share
/// the buffer; several arrays may view one buffer (the model's memory plan reuses a
/// buffer for tensors whose lifetimes do not overlap).
#[derive(Clone)]
pub struct GpuArray<T: Pod> {
    buffer: GpuBuffer,
    len: usize,
    _element: PhantomData<T>,
}

impl<T: Pod> GpuArray<T> {
    /// A view of the first `len` elements of `buffer`.
    pub fn view(buffer: &GpuBuffer, len: usize) -> Result<Self> {
        let bytes = byte_len::<T>("view", len)?;
        if bytes > buffer.raw().size() {
            return Err(Error::InvalidArgument {
                argument: "len",
                message: format!(
                    "a view of {len} elements ({bytes} bytes) exceeds its buffer of {} bytes",
                    buffer.raw().size()
                ),
            });
        }
        Ok(GpuArray {
            buffer: buffer.clone(),
            len,
            _element: PhantomData,
        })
    }

    /// Bytes of the array's elements.
    pub fn bytes(&self) -> u64 {
        (self.len * std::mem::size_of::<T>()) as u64
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The underlying pooled buffer.
    pub fn buffer(&self) -> &GpuBuffer {
        &self.buffer
    }

    /// Overwrites the array's contents from the host (queued before the next submission).
    pub fn write(&self, gpu: &Gpu, data: &[T]) -> Result<()> {
        if data.len() != self.len {
            return Err(Error::InvalidArgument {
                argument: "data",
                message: format!(
                    "writing {} elements into an array of {}",
                    data.len(),
                    self.len
                ),
            });
        }
        let bytes: &[u8] = bytemuck::cast_slice(data);
        if bytes.len().is_multiple_of(4) {
            if !bytes.is_empty() {
                gpu.queue().write_buffer(self.buffer.raw(), 0, bytes);
            }
        } else {
            // Copies move whole 4-byte words: an odd count of 2-byte elements (f16)
            // goes with a zero pad, inside the buffer (pool buffers are whole multiples
            // of 256 bytes).
            let mut padded = bytes.to_vec();
            padded.resize(bytes.len().next_multiple_of(4), 0);
            gpu.queue().write_buffer(self.buffer.raw(), 0, &padded);
        }
        Ok(())
    }
}

/// A dense row-major `rows × cols` matrix on the device, of `f32` unless said otherwise
/// (`GpuMatrix<f16>`: embeddings stored in half precision). Clones share the buffer.
#[derive(Clone)]
pub struct GpuMatrix<T: Pod = f32> {
    data: GpuArray<T>,
    rows: usize,
    cols: usize,
}

impl<T: Pod> GpuMatrix<T> {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The elements, row-major.
    pub fn data(&self) -> &GpuArray<T> {
        &self.data
    }

    /// A `rows × cols` matrix over the first elements of `buffer`.
    pub fn view(buffer: &GpuBuffer, rows: usize, cols: usize) -> Result<Self> {
        let len = rows
            .checked_mul(cols)
            .ok_or_else(|| too_many_rows("a matrix", rows, cols))?;
        Ok(GpuMatrix {
            data: GpuArray::view(buffer, len)?,
            rows,
            cols,
        })
    }
}

/// A CSR matrix on the device (see [`Csr`]).
#[derive(Clone)]
pub struct GpuCsr {
    /// `rows + 1` row offsets.
    pub row_ptr: GpuArray<u32>,
    /// Column id per entry.
    pub col_idx: GpuArray<u32>,
    /// Value per entry.
    pub values: GpuArray<f32>,
    rows: usize,
    cols: usize,
    /// The row offsets on the host too, where known: what a kernel needs to split
    /// entries too many for one binding into windows of whole rows.
    host_row_ptr: Option<Arc<[u32]>>,
}

impl GpuCsr {
    /// A CSR matrix over arrays already on the device (checked for consistent lengths;
    /// the content is the caller's responsibility).
    pub fn from_parts(
        rows: usize,
        cols: usize,
        row_ptr: GpuArray<u32>,
        col_idx: GpuArray<u32>,
        values: GpuArray<f32>,
    ) -> Result<Self> {
        if row_ptr.len() != rows + 1 || col_idx.len() != values.len() {
            return Err(Error::InvalidArgument {
                argument: if row_ptr.len() != rows + 1 {
                    "row_ptr"
                } else {
                    "values"
                },
                message: format!(
                    "CSR parts: {} row offsets for {rows} rows, {} columns and {} values",
                    row_ptr.len(),
                    col_idx.len(),
                    values.len()
                ),
            });
        }
        Ok(GpuCsr {
            row_ptr,
            col_idx,
            values,
            rows,
            cols,
            host_row_ptr: None,
        })
    }

    /// The same matrix with its row offsets known on the host (`rows + 1` of them, equal
    /// to the device's), so that kernels can window entries past one binding.
    pub fn with_host_row_ptr(mut self, row_ptr: Arc<[u32]>) -> Result<Self> {
        if row_ptr.len() != self.rows + 1 {
            return Err(Error::InvalidArgument {
                argument: "row_ptr",
                message: format!(
                    "{} host row offsets for a CSR matrix of {} rows",
                    row_ptr.len(),
                    self.rows
                ),
            });
        }
        self.host_row_ptr = Some(row_ptr);
        Ok(self)
    }

    /// The row offsets on the host, where known (see [`GpuCsr::with_host_row_ptr`]).
    pub fn host_row_ptr(&self) -> Option<&[u32]> {
        self.host_row_ptr.as_deref()
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.col_idx.len()
    }
}

/// `rows × cols` elements overflow `usize` (so `cols > 0`): the rows are too many.
fn too_many_rows(matrix: &str, rows: usize, cols: usize) -> Error {
    Error::TooLarge {
        what: format!("the row count of {matrix} of {cols} columns"),
        size: rows as u64,
        limit: (usize::MAX / cols.max(1)) as u64,
    }
}

fn byte_len<T>(label: &str, len: usize) -> Result<u64> {
    (len as u64)
        .checked_mul(std::mem::size_of::<T>() as u64)
        .ok_or_else(|| Error::BufferTooLarge {
            label: label.to_string(),
            bytes: u64::MAX,
            limit: 0,
            limit_kind: "buffer",
        })
}

impl Gpu {
    /// A storage buffer of at least `bytes` bytes with unspecified contents, for views
    /// ([`GpuArray::view`], [`GpuMatrix::view`]) of several tensors in turn.
    pub fn alloc_buffer(&self, label: &str, bytes: u64) -> Result<GpuBuffer> {
        self.inner.pool.acquire(label, bytes, BufferKind::Storage)
    }

    /// An array of `len` elements whose contents are unspecified (for kernel outputs that
    /// are written in full before they are read).
    pub fn alloc<T: Pod>(&self, label: &str, len: usize) -> Result<GpuArray<T>> {
        let bytes = byte_len::<T>(label, len)?;
        let buffer = self.inner.pool.acquire(label, bytes, BufferKind::Storage)?;
        Ok(GpuArray {
            buffer,
            len,
            _element: PhantomData,
        })
    }

    /// An array holding a copy of `data`.
    pub fn upload<T: Pod>(&self, label: &str, data: &[T]) -> Result<GpuArray<T>> {
        let array = self.alloc(label, data.len())?;
        array.write(self, data)?;
        Ok(array)
    }

    /// An array of `len` zeros.
    pub fn zeros<T: Pod>(&self, label: &str, len: usize) -> Result<GpuArray<T>> {
        let array = self.alloc::<T>(label, len)?;
        array.write(self, &vec![T::zeroed(); len])?;
        Ok(array)
    }

    /// A `rows × cols` matrix of `f32` with unspecified contents.
    pub fn alloc_matrix(&self, label: &str, rows: usize, cols: usize) -> Result<GpuMatrix> {
        self.alloc_matrix_of(label, rows, cols)
    }

    /// A `rows × cols` matrix of `T` (e.g. `f16`) with unspecified contents.
    pub fn alloc_matrix_of<T: Pod>(
        &self,
        label: &str,
        rows: usize,
        cols: usize,
    ) -> Result<GpuMatrix<T>> {
        let len = rows
            .checked_mul(cols)
            .ok_or_else(|| too_many_rows(&format!("matrix `{label}`"), rows, cols))?;
        Ok(GpuMatrix {
            data: self.alloc(label, len)?,
            rows,
            cols,
        })
    }

    /// A `rows × cols` matrix holding a copy of the row-major `data`.
    pub fn upload_matrix<T: Pod>(
        &self,
        label: &str,
        rows: usize,
        cols: usize,
        data: &[T],
    ) -> Result<GpuMatrix<T>> {
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(Error::InvalidArgument {
                argument: "data",
                message: format!(
                    "matrix `{label}`: {} values for {rows} x {cols}",
                    data.len()
                ),
            });
        }
        Ok(GpuMatrix {
            data: self.upload(label, data)?,
            rows,
            cols,
        })
    }

    /// A copy of a host CSR matrix.
    pub fn upload_csr(&self, label: &str, csr: &Csr) -> Result<GpuCsr> {
        Ok(GpuCsr {
            row_ptr: self.upload(&format!("{label}.row_ptr"), csr.row_ptr())?,
            col_idx: self.upload(&format!("{label}.col_idx"), csr.col_idx())?,
            values: self.upload(&format!("{label}.values"), csr.values())?,
            rows: csr.rows(),
            cols: csr.cols(),
            host_row_ptr: Some(csr.row_ptr().into()),
        })
    }

    /// Reads one array back (see [`Gpu::read_many`]).
    pub fn read<T: Pod>(&self, array: &GpuArray<T>) -> Result<Vec<T>> {
        let mut out = self.read_many(&[array])?;
        Ok(out.pop().unwrap_or_default())
    }

    /// Reads several arrays back with one submission: copy each into a pooled staging
    /// buffer, submit once inside an error scope, then map them all. A failed submission
    /// returns an error, never stale bytes.
    pub fn read_many<T: Pod>(&self, arrays: &[&GpuArray<T>]) -> Result<Vec<Vec<T>>> {
        let mut staging = Vec::with_capacity(arrays.len());
        for array in arrays {
            let bytes = array.bytes().div_ceil(4) * 4;
            staging.push(self.inner.pool.acquire(
                "gpu_vgae.staging",
                bytes,
                BufferKind::Staging,
            )?);
        }
        self.scoped("readback", || {
            let mut encoder =
                self.device()
                    .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                        label: Some("gpu_vgae.readback"),
                    });
            for (array, stage) in arrays.iter().zip(&staging) {
                if stage.bytes() > 0 {
                    encoder.copy_buffer_to_buffer(
                        array.buffer.raw(),
                        0,
                        stage.raw(),
                        0,
                        stage.bytes(),
                    );
                }
            }
            self.queue().submit(Some(encoder.finish()));
        })?;
        let (sender, receiver) = std::sync::mpsc::channel();
        for (index, stage) in staging.iter().enumerate() {
            if stage.bytes() == 0 {
                continue;
            }
            let sender = sender.clone();
            stage
                .raw()
                .map_async(wgpu::MapMode::Read, 0..stage.bytes(), move |result| {
                    let _ = sender.send((index, result));
                });
        }
        drop(sender);
        self.wait()?;
        for (index, result) in receiver.iter() {
            result.map_err(|e| Error::Readback(format!("staging buffer {index}: {e}")))?;
        }
        let mut out = Vec::with_capacity(arrays.len());
        for (array, stage) in arrays.iter().zip(&staging) {
            if array.len == 0 {
                out.push(Vec::new());
                continue;
            }
            let values = {
                let view = stage
                    .raw()
                    .get_mapped_range(0..stage.bytes())
                    .map_err(|e| Error::Readback(e.to_string()))?;
                let bytes = &view[..array.len * std::mem::size_of::<T>()];
                bytemuck::pod_collect_to_vec(bytes)
            };
            stage.raw().unmap();
            out.push(values);
        }
        Ok(out)
    }

    /// Releases the pool's cached buffers (live ones stay).
    pub fn trim_pool(&self) {
        self.inner.pool.trim();
    }
}

//! Device buffers: a pool that reuses storage and staging buffers by size class, typed
//! arrays over pooled buffers, and batched readback.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytemuck::Pod;

use super::context::Gpu;
use crate::error::{Error, Result};
use crate::memory::TRANSFER_CHUNK_BYTES;
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

/// Buffers of this size and more get finer size classes (see [`pool_class_bytes`]).
const LARGE_BUFFER_BYTES: u64 = 64 << 20;

/// The bytes the pool allocates for a request of `bytes` on a device whose buffers may
/// hold `limit`: eight classes per power of two below `LARGE_BUFFER_BYTES`, so reuse
/// stays likely while the padding stays under a quarter of the request (plain powers of
/// two could double it); 64 from there on, where a buffer is one of the few of its size
/// (a tensor of N rows) and such padding would be gigabytes at 10⁷ nodes (under 1/32).
pub fn pool_class_bytes(bytes: u64, limit: u64) -> u64 {
    let wanted = bytes.max(MIN_BUFFER_BYTES);
    let classes = if wanted < LARGE_BUFFER_BYTES { 8 } else { 64 };
    let step = (wanted.next_power_of_two() / classes).max(MIN_BUFFER_BYTES);
    let class = wanted.div_ceil(step) * step;
    if class <= limit {
        class
    } else {
        wanted.div_ceil(MIN_BUFFER_BYTES) * MIN_BUFFER_BYTES
    }
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

    fn size_class(&self, bytes: u64, limit: u64) -> u64 {
        pool_class_bytes(bytes, limit)
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
    ///
    /// wgpu stages a queued write in host-visible memory until a submission has copied
    /// it; an array of more than [`TRANSFER_CHUNK_BYTES`] is written a chunk at a time,
    /// each chunk submitted and waited for, so the staging never holds more than one
    /// chunk (rather than a second copy of the whole tensor, which on a CPU adapter is a
    /// second copy in host memory).
    pub fn write(&self, gpu: &Gpu, data: &[T]) -> Result<()> {
        self.write_in_chunks(gpu, data, TRANSFER_CHUNK_BYTES)
    }

    /// [`GpuArray::write`] with chunks of at most `chunk_bytes` (rounded down to whole
    /// 4-byte words, at least one): a write that needs more than one chunk submits and
    /// waits for each. Tests pass small chunks; everything else goes through `write`.
    pub fn write_in_chunks(&self, gpu: &Gpu, data: &[T], chunk_bytes: u64) -> Result<()> {
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
        let chunk = usize::try_from(chunk_bytes / 4)
            .unwrap_or(usize::MAX / 4)
            .max(1)
            * 4;
        let several = bytes.len() > chunk;
        for (k, piece) in bytes.chunks(chunk).enumerate() {
            let offset = (k * chunk) as u64;
            if piece.len().is_multiple_of(4) {
                gpu.queue().write_buffer(self.buffer.raw(), offset, piece);
            } else {
                // Copies move whole 4-byte words: an odd count of 2-byte elements (f16)
                // ends with a zero pad, inside the buffer (pool buffers are whole
                // multiples of 256 bytes).
                let mut padded = piece.to_vec();
                padded.resize(piece.len().next_multiple_of(4), 0);
                gpu.queue().write_buffer(self.buffer.raw(), offset, &padded);
            }
            if several {
                gpu.flush_writes()?;
            }
        }
        Ok(())
    }

    /// Sets every element to zero bytes on the device (submitted at once), with no host
    /// copy or staging.
    pub fn clear(&self, gpu: &Gpu) -> Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        // Copies and clears cover whole words; pool buffers are whole multiples of 256
        // bytes, so the rounding stays inside the buffer.
        let size = self.bytes().div_ceil(4) * 4;
        let mut encoder = gpu
            .device()
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("gpu_vgae.clear"),
            });
        encoder.clear_buffer(self.buffer.raw(), 0, Some(size));
        gpu.queue().submit(Some(encoder.finish()));
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
        array.clear(self)?;
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

    /// Reads several arrays back: with one submission when together they fit in
    /// [`TRANSFER_CHUNK_BYTES`] (copy each into a pooled staging buffer, submit once
    /// inside an error scope, then map them all), else a window of at most that size at
    /// a time, so the staging memory (pooled, and on a CPU adapter host memory) never
    /// grows to a copy of a whole large tensor. A failed submission returns an error,
    /// never stale bytes.
    pub fn read_many<T: Pod>(&self, arrays: &[&GpuArray<T>]) -> Result<Vec<Vec<T>>> {
        self.read_many_in_windows(arrays, TRANSFER_CHUNK_BYTES)
    }

    /// [`Gpu::read_many`] with windows of at most `window_bytes` (at least four
    /// elements). Tests pass small windows; everything else goes through `read_many`.
    pub fn read_many_in_windows<T: Pod>(
        &self,
        arrays: &[&GpuArray<T>],
        window_bytes: u64,
    ) -> Result<Vec<Vec<T>>> {
        let total: u64 = arrays.iter().map(|a| a.bytes()).sum();
        if total <= window_bytes {
            let windows: Vec<(&GpuBuffer, u64, u64)> =
                arrays.iter().map(|a| (&a.buffer, 0, a.bytes())).collect();
            let mut out = Vec::with_capacity(arrays.len());
            self.read_windows(&windows, |_, bytes| {
                out.push(bytemuck::pod_collect_to_vec(bytes));
            })?;
            return Ok(out);
        }
        let size = std::mem::size_of::<T>().max(1);
        // Whole elements and whole words per window.
        let window_len =
            (usize::try_from(window_bytes).unwrap_or(usize::MAX) / (4 * size)).max(1) * 4;
        let mut out = Vec::with_capacity(arrays.len());
        for array in arrays {
            let mut values: Vec<T> = Vec::new();
            values.try_reserve_exact(array.len).map_err(|_| {
                crate::memory::allocation_failed(
                    format!("reading back {} values of {size} bytes", array.len),
                    array.bytes(),
                )
            })?;
            for start in (0..array.len).step_by(window_len) {
                let len = window_len.min(array.len - start);
                let window = [(&array.buffer, (start * size) as u64, (len * size) as u64)];
                self.read_windows(&window, |_, bytes| {
                    // Mapped memory is aligned for any element type; the copy through a
                    // temporary vector is only a fallback.
                    match bytemuck::try_cast_slice::<u8, T>(bytes) {
                        Ok(elements) => values.extend_from_slice(elements),
                        Err(_) => values.extend(bytemuck::pod_collect_to_vec::<u8, T>(bytes)),
                    }
                })?;
            }
            out.push(values);
        }
        Ok(out)
    }

    /// Copies each `(buffer, offset, bytes)` window into a pooled staging buffer, submits
    /// once inside an error scope, maps them all and hands `sink` each window's bytes in
    /// order (an empty window gets an empty slice).
    fn read_windows(
        &self,
        windows: &[(&GpuBuffer, u64, u64)],
        mut sink: impl FnMut(usize, &[u8]),
    ) -> Result<()> {
        let mut staging = Vec::with_capacity(windows.len());
        for &(_, _, bytes) in windows {
            staging.push(self.inner.pool.acquire(
                "gpu_vgae.staging",
                bytes.div_ceil(4) * 4,
                BufferKind::Staging,
            )?);
        }
        self.scoped("readback", || {
            let mut encoder =
                self.device()
                    .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                        label: Some("gpu_vgae.readback"),
                    });
            for (&(buffer, offset, _), stage) in windows.iter().zip(&staging) {
                if stage.bytes() > 0 {
                    encoder.copy_buffer_to_buffer(
                        buffer.raw(),
                        offset,
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
        for (index, (&(_, _, bytes), stage)) in windows.iter().zip(&staging).enumerate() {
            if bytes == 0 {
                sink(index, &[]);
                continue;
            }
            {
                let view = stage
                    .raw()
                    .get_mapped_range(0..stage.bytes())
                    .map_err(|e| Error::Readback(e.to_string()))?;
                sink(index, &view[..bytes as usize]);
            }
            stage.raw().unmap();
        }
        Ok(())
    }

    /// Submits the writes queued so far and waits for them, which releases their staging
    /// memory.
    pub fn flush_writes(&self) -> Result<()> {
        self.queue().submit(std::iter::empty());
        self.wait()
    }

    /// Releases the pool's cached buffers (live ones stay).
    pub fn trim_pool(&self) {
        self.inner.pool.trim();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Classes hold the request in whole 256-byte units, grow with it, and pad it by
    /// less than a quarter below 64 MiB and a 32nd from there on; past the device's
    /// limit the request is only rounded to 256 bytes.
    #[test]
    fn size_classes_bound_their_padding() {
        let mut previous = 0;
        let sizes = (4..40u32).flat_map(|shift| {
            let base = 1u64 << shift;
            [base - 1, base, base + 1, base + base / 3, 3 * base - 7]
        });
        let mut sizes: Vec<u64> = sizes.collect();
        sizes.sort_unstable();
        for bytes in sizes {
            let class = pool_class_bytes(bytes, u64::MAX);
            assert!(class >= bytes.max(MIN_BUFFER_BYTES), "{bytes}");
            assert_eq!(class % MIN_BUFFER_BYTES, 0, "{bytes}");
            assert!(class >= previous, "{bytes}: classes shrink");
            previous = class;
            let waste = (class - bytes) as f64 / bytes as f64;
            if bytes >= LARGE_BUFFER_BYTES {
                assert!(waste < 1.0 / 32.0, "{bytes}: {waste}");
            } else if bytes >= 8 * MIN_BUFFER_BYTES {
                assert!(waste < 1.0 / 4.0, "{bytes}: {waste}");
            }
        }
        // 10⁷ rows of 32 floats: 2.2% of padding (eight classes: 4.9%).
        assert_eq!(pool_class_bytes(1_280_000_000, u64::MAX), 1_308_622_848);
        assert_eq!(pool_class_bytes(4097, u64::MAX), 5120);
        assert_eq!(pool_class_bytes(4097, 4500), 4352);
    }
}

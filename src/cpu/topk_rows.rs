//! Twin of `shaders/topk_rows.wgsl`.
//!
//! The shader batches its threshold test over tiles of 32 columns and tests the cursor,
//! the current threshold and the exclusions only for the columns that passed (see its
//! header); that changes neither which candidates enter a row's list nor their order,
//! so the twin tests each column directly. The heap operations are the shader's, step
//! for step, so the lists agree slot for slot. (The shader's sums also add 0·0 for the
//! padding of the last vec4, which can only turn a −0 into +0: equal as f32.)

/// The logit z_i · z_j the ranking uses: over the first `latent` columns of rows at
/// `stride`, in f32, summed column by column in order (the shader's order).
pub fn link_logit(z: &[f32], stride: usize, latent: usize, i: usize, j: usize) -> f32 {
    super::dot(z, stride, latent, i, j)
}

/// Whether `(sa, ja)` ranks after `(sb, jb)` within one row.
fn worse(sa: f32, ja: u32, sb: f32, jb: u32) -> bool {
    sa < sb || (sa == sb && ja > jb)
}

/// The scan of `rows` (ascending) over `z` (n rows at `stride`): active row e's
/// `capacity` slots from e·capacity (2 words each: logit bits, column) hold its best
/// candidates as a min-heap, and `fill[e]` says how many slots are used (unused slots
/// are 0). Columns j > i when `global`, else j ≠ i; pairs in the exclusion CSR
/// (`excl_ptr`, `excl_col`) are skipped, and so is every candidate outside the row's
/// bounds (`bounds[4e..4e + 3]`, see `kernels::topk_rows::RowBounds::words`): ranked at
/// or before the cursor, or not above the starting threshold.
#[allow(clippy::too_many_arguments)]
pub fn topk_rows(
    z: &[f32],
    n: usize,
    stride: usize,
    latent: usize,
    excl_ptr: &[u32],
    excl_col: &[u32],
    rows: &[u32],
    bounds: &[u32],
    capacity: usize,
    global: bool,
) -> (Vec<u32>, Vec<u32>) {
    let mut heap = vec![0u32; 2 * rows.len() * capacity];
    let mut fills = vec![0u32; rows.len()];
    for (e, &i) in rows.iter().enumerate() {
        let cur_s = f32::from_bits(bounds[4 * e]);
        let cur_j = bounds[4 * e + 1];
        let mut thr = f32::from_bits(bounds[4 * e + 2]);
        let at = e * capacity;
        let mut heap_s = vec![0f32; capacity];
        let mut heap_j = vec![0u32; capacity];
        let mut fill = 0usize;
        let (mut walk, walk_end) = (excl_ptr[i as usize], excl_ptr[i as usize + 1]);
        let j0 = if global { i + 1 } else { 0 };
        for j in j0..n as u32 {
            let s = link_logit(z, stride, latent, i as usize, j as usize);
            let after = s < cur_s || (s == cur_s && j > cur_j);
            if j == i || !after || s <= thr {
                continue;
            }
            while walk < walk_end && excl_col[walk as usize] < j {
                walk += 1;
            }
            if walk < walk_end && excl_col[walk as usize] == j {
                continue;
            }
            if fill < capacity {
                let mut pos = fill;
                while pos > 0 {
                    let parent = (pos - 1) / 2;
                    if !worse(s, j, heap_s[parent], heap_j[parent]) {
                        break;
                    }
                    heap_s[pos] = heap_s[parent];
                    heap_j[pos] = heap_j[parent];
                    pos = parent;
                }
                heap_s[pos] = s;
                heap_j[pos] = j;
                fill += 1;
                if fill == capacity {
                    thr = heap_s[0];
                }
            } else {
                let mut pos = 0;
                loop {
                    let left = 2 * pos + 1;
                    if left >= capacity {
                        break;
                    }
                    let mut child = left;
                    if left + 1 < capacity
                        && worse(
                            heap_s[left + 1],
                            heap_j[left + 1],
                            heap_s[left],
                            heap_j[left],
                        )
                    {
                        child = left + 1;
                    }
                    if !worse(heap_s[child], heap_j[child], s, j) {
                        break;
                    }
                    heap_s[pos] = heap_s[child];
                    heap_j[pos] = heap_j[child];
                    pos = child;
                }
                heap_s[pos] = s;
                heap_j[pos] = j;
                thr = heap_s[0];
            }
        }
        for slot in 0..fill {
            heap[2 * (at + slot)] = heap_s[slot].to_bits();
            heap[2 * (at + slot) + 1] = heap_j[slot];
        }
        fills[e] = fill as u32;
    }
    (heap, fills)
}

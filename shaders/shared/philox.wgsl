// Shared snippet (prepended to kernels that draw noise; not a kernel itself).
// Philox4x32-10 counter-based generator (Salmon et al., SC'11): the same (counter, key)
// always gives the same four words, so the backward pass regenerates exactly the ε of
// the forward pass instead of storing it. Counter = (row, column, epoch, 0),
// key = the 64-bit seed split in two words.

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// High 32 bits of the 64-bit product a·b, from 16-bit halves (WGSL has no mulhi).
fn mul_hi_u32(a: u32, b: u32) -> u32 {
    let a_lo = a & 0xFFFFu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xFFFFu;
    let b_hi = b >> 16u;
    let lo_lo = a_lo * b_lo;
    let hi_lo = a_hi * b_lo;
    let lo_hi = a_lo * b_hi;
    let hi_hi = a_hi * b_hi;
    let cross = (lo_lo >> 16u) + (hi_lo & 0xFFFFu) + (lo_hi & 0xFFFFu);
    return hi_hi + (hi_lo >> 16u) + (lo_hi >> 16u) + (cross >> 16u);
}

fn philox4x32_10(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key;
    for (var round = 0u; round < 10u; round++) {
        let hi0 = mul_hi_u32(PHILOX_M0, c.x);
        let lo0 = PHILOX_M0 * c.x;
        let hi1 = mul_hi_u32(PHILOX_M1, c.z);
        let lo1 = PHILOX_M1 * c.z;
        c = vec4<u32>(hi1 ^ c.y ^ k.x, lo1, hi0 ^ c.w ^ k.y, lo0);
        k = vec2<u32>(k.x + PHILOX_W0, k.y + PHILOX_W1);
    }
    return c;
}

// Standard normal from two words by Box-Muller; u1 in (0, 1) so log never sees 0.
fn standard_normal(row: u32, col: u32, epoch: u32, key: vec2<u32>) -> f32 {
    let bits = philox4x32_10(vec4<u32>(row, col, epoch, 0u), key);
    let u1 = (f32(bits.x >> 8u) + 0.5) * (1.0 / 16777216.0);
    let u2 = f32(bits.y >> 8u) * (1.0 / 16777216.0);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

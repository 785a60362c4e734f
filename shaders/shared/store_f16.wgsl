// Shared snippet (not a kernel): embeddings stored in f16 (IEEE binary16), for models
// of `Precision::F16` on devices with SHADER_F16; prepended first, since `enable` must
// open a module (kernels/mod.rs, `store_source!`; shared/store_f32.wgsl is the f32
// form). Values are widened to f32 when read, exactly, and every product and sum stays
// f32: only storage is half precision.

enable f16;

alias ZElem = f16;
alias ZVec4 = vec4<f16>;

// x rounded to the nearest f16, ties to even. WGSL leaves the direction of an inexact
// conversion to the device, so the rounding is done here on the bits of an f32, and
// only a value f16 holds exactly is converted: the CPU twins' `half::f16::from_f32`
// gives the same bits on every device (below 2^-14, one that keeps f16 subnormals).
// Non-finite values and magnitudes from 65520 up (past the largest f16, 65504, once
// rounded) convert as the device does: ±inf on IEEE devices, NaN stays NaN.
fn to_zelem(x: f32) -> f16 {
    let b = bitcast<u32>(x);
    let a = b & 0x7fffffffu;
    if a >= 0x477ff000u {
        return f16(x);
    }
    var exact: u32;
    if a >= 0x38800000u {
        // Normal in f16: keep 10 mantissa bits, rounding the 13 dropped ones (a carry
        // runs into the exponent as it should; none reaches the sign below 65520).
        exact = (b + 0x0fffu + ((b >> 13u) & 1u)) & 0xffffe000u;
    } else {
        // f16 subnormal: the nearest multiple q of 2^-24 (q = 1024 is 2^-14, normal).
        var q = 0u;
        if a >= 0x33000000u {
            let shift = 126u - (a >> 23u);
            let m = (a & 0x7fffffu) | 0x800000u;
            q = m >> shift;
            let rest = m & ((1u << shift) - 1u);
            let half = 1u << (shift - 1u);
            q += select(0u, 1u, rest > half || (rest == half && (q & 1u) == 1u));
        }
        exact = (b & 0x80000000u) | bitcast<u32>(f32(q) * 5.9604644775390625e-8);
    }
    return f16(bitcast<f32>(exact));
}

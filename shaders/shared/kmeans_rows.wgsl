// Row loaders shared by kmeans_assign.wgsl and kmeans_distances.wgsl (prepended to
// each by the host): the two kernels' dimension L, their bindings 1 and 2 and the vec4
// reads of a row.
//   1 storage r  points:  array<vec4<f32>>, n × L floats, row-major
//   2 storage r  centres: array<vec4<f32>>, k × L floats, row-major

// The dimension the pipeline is built for, 1..=64 (MAX_DIM on the host).
override L: u32 = 16u;
// Rows start on a 16-byte boundary: points and centres load as whole vec4s.
override ALIGNED: bool = L % 4u == 0u;

@group(0) @binding(1) var<storage, read> points: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> centres: array<vec4<f32>>;

// Coordinates 4q..4q+3 of the point whose row starts at element `base`; coordinates
// ≥ L read as 0 (never loaded, so the last row of a buffer is not overrun).
fn load_point(base: u32, q: u32) -> vec4<f32> {
    if ALIGNED {
        return points[base / 4u + q];
    }
    let c = base + 4u * q;
    var v = vec4<f32>(points[c >> 2u][c & 3u], 0.0, 0.0, 0.0);
    if 4u * q + 1u < L { v.y = points[(c + 1u) >> 2u][(c + 1u) & 3u]; }
    if 4u * q + 2u < L { v.z = points[(c + 2u) >> 2u][(c + 2u) & 3u]; }
    if 4u * q + 3u < L { v.w = points[(c + 3u) >> 2u][(c + 3u) & 3u]; }
    return v;
}

// The same for a centre.
fn load_centre(base: u32, q: u32) -> vec4<f32> {
    if ALIGNED {
        return centres[base / 4u + q];
    }
    let c = base + 4u * q;
    var v = vec4<f32>(centres[c >> 2u][c & 3u], 0.0, 0.0, 0.0);
    if 4u * q + 1u < L { v.y = centres[(c + 1u) >> 2u][(c + 1u) & 3u]; }
    if 4u * q + 2u < L { v.z = centres[(c + 2u) >> 2u][(c + 2u) & 3u]; }
    if 4u * q + 3u < L { v.w = centres[(c + 3u) >> 2u][(c + 3u) & 3u]; }
    return v;
}

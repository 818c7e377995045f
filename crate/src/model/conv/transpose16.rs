//! A 16 x 16 transpose of f32 in AVX-512 registers, for kernels that keep channels in
//! lanes and write channel planes (depthwise convolutions' tiles, the filter-lanes
//! kernel's outputs) or read them: gathers and scattered scalar stores cost several
//! cycles a value where a transpose costs 4 shuffles a vector.

use std::arch::x86_64::*;

/// Values per vector, and the transposed square's side.
const LANES: usize = 16;

/// `r[i][j]` becomes `r[j][i]`: 16 x 16 values in four rounds of 16 shuffles.
#[target_feature(enable = "avx512f")]
pub(crate) fn transpose16(r: &mut [__m512; LANES]) {
    let mut a = [_mm512_setzero_ps(); LANES];
    for i in 0..8 {
        a[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        a[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    // b[4i + k], 128-bit lane L: column 4L + k of rows 4i..4i + 4.
    let mut b = [_mm512_setzero_ps(); LANES];
    for i in 0..4 {
        let [a0, a1, a2, a3] = [0, 1, 2, 3].map(|j| a[4 * i + j]);
        let (a0, a1, a2, a3) = (
            _mm512_castps_pd(a0),
            _mm512_castps_pd(a1),
            _mm512_castps_pd(a2),
            _mm512_castps_pd(a3),
        );
        b[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
        b[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
        b[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
        b[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
    }
    for k in 0..4 {
        let e0 = _mm512_shuffle_f32x4::<0x88>(b[k], b[4 + k]);
        let e1 = _mm512_shuffle_f32x4::<0xDD>(b[k], b[4 + k]);
        let e2 = _mm512_shuffle_f32x4::<0x88>(b[8 + k], b[12 + k]);
        let e3 = _mm512_shuffle_f32x4::<0xDD>(b[8 + k], b[12 + k]);
        r[k] = _mm512_shuffle_f32x4::<0x88>(e0, e2);
        r[4 + k] = _mm512_shuffle_f32x4::<0x88>(e1, e3);
        r[8 + k] = _mm512_shuffle_f32x4::<0xDD>(e0, e2);
        r[12 + k] = _mm512_shuffle_f32x4::<0xDD>(e1, e3);
    }
}

//! The three transforms of Winograd's minimal filtering algorithm F(2x2, 3x3) (Lavin &
//! Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016): a 4x4 input
//! tile `d` and a 3x3 filter `g` give the 2x2 output `A^T [(G g G^T) . (B^T d B)] A`,
//! which is the cross-correlation PyTorch calls conv2d. F(2x2, 3x3) keeps float32 error
//! at the level of a direct sum (F(4x4, 3x3) measured ~30x worse when the kernels were chosen).
//!
//! ```text
//! B^T = [1  0 -1  0]    G = [1    0    0 ]    A^T = [1  1  1  0]
//!       [0  1  1  0]        [1/2  1/2  1/2]          [0  1 -1 -1]
//!       [0 -1  1  0]        [1/2 -1/2  1/2]
//!       [0  1  0 -1]        [0    0    1 ]
//! ```

/// Side of an input tile (alpha = m + r - 1 = 2 + 3 - 1).
pub const ALPHA: usize = 4;
/// Points of the transformed domain: one GEMM each.
pub const POINTS: usize = ALPHA * ALPHA;
/// Side of an output tile.
pub const TILE: usize = 2;

/// `G g G^T` for one 3x3 filter (row-major), computed in f64 and rounded once.
pub fn filter(g: &[f32; 9]) -> [f32; POINTS] {
    const G: [[f64; 3]; ALPHA] = [
        [1.0, 0.0, 0.0],
        [0.5, 0.5, 0.5],
        [0.5, -0.5, 0.5],
        [0.0, 0.0, 1.0],
    ];
    let mut u = [0f32; POINTS];
    for i in 0..ALPHA {
        for j in 0..ALPHA {
            let mut s = 0f64;
            for p in 0..3 {
                for q in 0..3 {
                    s += G[i][p] * f64::from(g[p * 3 + q]) * G[j][q];
                }
            }
            u[i * ALPHA + j] = s as f32;
        }
    }
    u
}

/// `B^T d B` for `n` tiles side by side: `rows[i]` holds input row `i` of the tiles,
/// deinterleaved (`even[q]`/`odd[q]` = columns `2q`/`2q + 1` counted from the tiles'
/// left edge, `n + 1` of each), and `v[xi][q]` receives point `xi` of tile `q`. Plain
/// loops over `q` so the compiler vectorises them across tiles.
pub fn input(rows: &[(&[f32], &[f32]); ALPHA], n: usize, v: &mut [f32], stride: usize) {
    // Row transform R[p][j] = sum_q d[p][q] B[q][j], then V[i][j] = sum_p B^T[i][p] R[p][j].
    let row = |p: usize, q: usize| {
        let (e, o) = rows[p];
        let (x0, x1, x2, x3) = (e[q], o[q], e[q + 1], o[q + 1]);
        [x0 - x2, x1 + x2, x2 - x1, x1 - x3]
    };
    for q in 0..n {
        let (r0, r1, r2, r3) = (row(0, q), row(1, q), row(2, q), row(3, q));
        for j in 0..ALPHA {
            v[j * stride + q] = r0[j] - r2[j];
            v[(ALPHA + j) * stride + q] = r1[j] + r2[j];
            v[(2 * ALPHA + j) * stride + q] = r2[j] - r1[j];
            v[(3 * ALPHA + j) * stride + q] = r1[j] - r3[j];
        }
    }
}

/// `A^T m A` plus `bias` for `n` tiles side by side of one channel: `m[xi][q]` is point
/// `xi` of tile `q`; `row0`/`row1` receive the two output rows (`2 n` values each,
/// tile `q` at columns `2 q` and `2 q + 1`). Vectorised across tiles.
pub fn output(m: &[&[f32]; POINTS], bias: f32, n: usize, row0: &mut [f32], row1: &mut [f32]) {
    let m: [&[f32]; POINTS] = std::array::from_fn(|xi| &m[xi][..n]);
    let rows = row0[..2 * n]
        .chunks_exact_mut(2)
        .zip(row1[..2 * n].chunks_exact_mut(2));
    for (q, (r0, r1)) in rows.enumerate() {
        // S[p][0] = M[p][0] + M[p][1] + M[p][2], S[p][1] = M[p][1] - M[p][2] - M[p][3].
        let s = |p: usize| {
            let (a, b, c, d) = (
                m[p * 4][q],
                m[p * 4 + 1][q],
                m[p * 4 + 2][q],
                m[p * 4 + 3][q],
            );
            (a + b + c, b - c - d)
        };
        let (s0, s1, s2, s3) = (s(0), s(1), s(2), s(3));
        r0[0] = bias + s0.0 + s1.0 + s2.0;
        r0[1] = bias + s0.1 + s1.1 + s2.1;
        r1[0] = bias + s1.0 - s2.0 - s3.0;
        r1[1] = bias + s1.1 - s2.1 - s3.1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The three transforms reproduce a direct 3x3 cross-correlation of one tile.
    #[test]
    fn one_tile_equals_direct_correlation() {
        let d: Vec<f32> = (0..16).map(|i| ((i * 7 % 11) as f32) - 5.0).collect();
        let g: [f32; 9] = [1.0, -2.0, 0.5, 3.0, 0.25, -1.0, 2.0, 1.5, -0.75];
        let u = filter(&g);
        // Deinterleave the 4 columns of each row: even = cols 0, 2; odd = cols 1, 3.
        let cols: Vec<([f32; 2], [f32; 2])> = (0..4)
            .map(|r| {
                let row = &d[r * 4..r * 4 + 4];
                ([row[0], row[2]], [row[1], row[3]])
            })
            .collect();
        let rows: [(&[f32], &[f32]); 4] = std::array::from_fn(|r| (&cols[r].0[..], &cols[r].1[..]));
        let mut v = [0f32; POINTS];
        input(&rows, 1, &mut v, 1);
        let m: Vec<[f32; 1]> = (0..POINTS).map(|xi| [u[xi] * v[xi]]).collect();
        let m: [&[f32]; POINTS] = std::array::from_fn(|xi| &m[xi][..]);
        let (mut row0, mut row1) = ([0f32; 2], [0f32; 2]);
        output(&m, 0.5, 1, &mut row0, &mut row1);
        let y = [row0, row1];
        for i in 0..2 {
            for j in 0..2 {
                let mut want = 0.5f32;
                for p in 0..3 {
                    for q in 0..3 {
                        want += d[(i + p) * 4 + j + q] * g[p * 3 + q];
                    }
                }
                assert!(
                    (y[i][j] - want).abs() < 1e-4,
                    "({i},{j}): {} vs {want}",
                    y[i][j]
                );
            }
        }
    }
}

//! Row-major matrix products for the convolutions that are GEMMs (1x1 convolutions,
//! im2col for the rest, linear layers): the `gemm` crate candle itself uses, called on
//! slices so that neither side is copied into a tensor first.

use gemm::Parallelism;

/// How the left matrix is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lhs {
    /// `m x k`, row-major.
    Plain,
    /// `k x m`, row-major: the product uses its transpose.
    Transposed,
}

/// How the right matrix is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rhs {
    /// `k x n`, row-major with row stride `ldb >= n` (a column block of a wider matrix).
    Rows(usize),
    /// `n x k`, row-major: the product uses its transpose (a linear layer's weight).
    Transposed,
}

/// Threads for one product: all of rayon's unless `serial` (the caller already runs
/// products in parallel, e.g. one per group).
fn parallelism(serial: bool) -> Parallelism {
    if serial || rayon::current_num_threads() <= 1 {
        Parallelism::None
    } else {
        Parallelism::Rayon(rayon::current_num_threads())
    }
}

/// `c (m x n) = [c +] a (m x k) * b (k x n)`, `c` row-major, `a` and `b` as stored.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    c: &mut [f32],
    a: &[f32],
    lhs: Lhs,
    b: &[f32],
    rhs: Rhs,
    (m, k, n): (usize, usize, usize),
    accumulate: bool,
    serial: bool,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        c.len() >= m * n && a.len() >= m * k,
        "gemm: output or left matrix too short"
    );
    let (b_cs, b_rs, b_len) = match rhs {
        Rhs::Rows(ldb) => (1, ldb as isize, k.saturating_sub(1) * ldb + n),
        Rhs::Transposed => (k as isize, 1, n * k),
    };
    assert!(k == 0 || b.len() >= b_len, "gemm: right matrix too short");
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    let (a_cs, a_rs) = match lhs {
        Lhs::Plain => (1, k as isize),
        Lhs::Transposed => (m as isize, 1),
    };
    // SAFETY: the asserts above bound every element the strides reach: `c` holds m rows
    // of n, `a` m x k and `b` k x n in their layouts.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.as_ptr(),
            a_cs,
            a_rs,
            b.as_ptr(),
            b_cs,
            b_rs,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            parallelism(serial),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_match_a_hand_computation() {
        // [[1, 2, 3], [4, 5, 6]] * [[1, 0], [0, 1], [1, 1]] = [[4, 5], [10, 11]].
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
        let mut c = [0f32; 4];
        matmul(
            &mut c,
            &a,
            Lhs::Plain,
            &b,
            Rhs::Rows(2),
            (2, 3, 2),
            false,
            false,
        );
        assert_eq!(c, [4.0, 5.0, 10.0, 11.0]);
        // The same left matrix stored transposed, accumulating onto c.
        let at = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0];
        matmul(
            &mut c,
            &at,
            Lhs::Transposed,
            &b,
            Rhs::Rows(2),
            (2, 3, 2),
            true,
            true,
        );
        assert_eq!(c, [8.0, 10.0, 20.0, 22.0]);
        // A column block of a wider right matrix (row stride 3).
        let wide = [1.0, 0.0, 9.0, 0.0, 1.0, 9.0, 1.0, 1.0, 9.0];
        matmul(
            &mut c,
            &a,
            Lhs::Plain,
            &wide,
            Rhs::Rows(3),
            (2, 3, 2),
            false,
            false,
        );
        assert_eq!(c, [4.0, 5.0, 10.0, 11.0]);
        // The right matrix stored transposed (as a linear layer's [out, in] weight).
        let bt = [1.0, 0.0, 1.0, 0.0, 1.0, 1.0];
        matmul(
            &mut c,
            &a,
            Lhs::Plain,
            &bt,
            Rhs::Transposed,
            (2, 3, 2),
            false,
            false,
        );
        assert_eq!(c, [4.0, 5.0, 10.0, 11.0]);
    }
}

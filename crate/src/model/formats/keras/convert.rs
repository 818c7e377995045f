//! Keras' weight layouts to PyTorch's: convolution kernels from `[kh, kw, in, out]`
//! (HWIO) to `[out, in, kh, kw]`, dense kernels from `[in, out]` to `[out, in]`, and for
//! a dense layer after Keras' channels-last `Flatten`, its input rows from
//! height-width-channel order to the channel-height-width order of `torch.flatten`.

/// `[kh, kw, in, out]` values to `[out, in, kh, kw]`; `None` when the shape does not
/// hold `kernel.len()` values.
pub fn hwio_to_oihw(kernel: &[f32], [kh, kw, cin, cout]: [usize; 4]) -> Option<Vec<f32>> {
    if [kh, kw, cin, cout]
        .iter()
        .try_fold(1usize, |a, d| a.checked_mul(*d))
        != Some(kernel.len())
    {
        return None;
    }
    let mut out = vec![0.0; kernel.len()];
    for y in 0..kh {
        for x in 0..kw {
            for i in 0..cin {
                for o in 0..cout {
                    out[((o * cin + i) * kh + y) * kw + x] =
                        kernel[((y * kw + x) * cin + i) * cout + o];
                }
            }
        }
    }
    Some(out)
}

/// A dense kernel `[in, out]` to a linear weight `[out, in]`. With `flattened = Some((c,
/// h, w))` the input was a `h x w x c` map flattened channels-last by Keras: row
/// `(y * w + x) * c + ch` of the kernel becomes column `(ch * h + y) * w + x`, the
/// position `torch.flatten` gives the same value of a `[c, h, w]` map. `None` when the
/// sizes do not agree.
pub fn dense_to_linear(
    kernel: &[f32],
    inputs: usize,
    outputs: usize,
    flattened: Option<(usize, usize, usize)>,
) -> Option<Vec<f32>> {
    let agree = inputs.checked_mul(outputs) == Some(kernel.len())
        && flattened.is_none_or(|(c, h, w)| {
            c.checked_mul(h).and_then(|v| v.checked_mul(w)) == Some(inputs)
        });
    if !agree {
        return None;
    }
    let column_of = |row: usize| match flattened {
        Some((c, h, w)) => {
            let (pixel, ch) = (row / c, row % c);
            let (y, x) = (pixel / w, pixel % w);
            (ch * h + y) * w + x
        }
        None => row,
    };
    let mut out = vec![0.0; kernel.len()];
    for row in 0..inputs {
        let col = column_of(row);
        for o in 0..outputs {
            out[o * inputs + col] = kernel[row * outputs + o];
        }
    }
    Some(out)
}

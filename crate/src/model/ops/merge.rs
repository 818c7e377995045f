//! Nodes with several inputs: residual addition, the channel scale of
//! squeeze-and-excitation (a map times a `[N, C, 1, 1]` tensor, or two equal shapes), and
//! DenseNet's concatenation along the channels. Each with its gradients for every input.

use rayon::prelude::*;

/// `a + b`.
pub fn add(a: &[f32], b: &[f32]) -> Vec<f32> {
    let mut y = a.to_vec();
    y.par_chunks_mut(1 << 14)
        .zip(b.par_chunks(1 << 14))
        .for_each(|(y, b)| y.iter_mut().zip(b).for_each(|(y, b)| *y += b));
    y
}

/// `x * s` where `s` holds one value per `(n, c)` plane (`s.len() * plane == x.len()`)
/// or one per element.
pub fn mul(x: &[f32], s: &[f32]) -> Vec<f32> {
    let plane = x.len() / s.len().max(1);
    let mut y = vec![0f32; x.len()];
    if plane == 0 {
        return y;
    }
    if plane == 1 {
        y.iter_mut()
            .zip(x.iter().zip(s))
            .for_each(|(y, (x, s))| *y = x * s);
        return y;
    }
    y.par_chunks_mut(plane)
        .zip(x.par_chunks(plane))
        .zip(s.par_iter())
        .for_each(|((y, x), s)| y.iter_mut().zip(x).for_each(|(y, x)| *y = x * s));
    y
}

/// Gradients of [`mul`]: `(g * s, sum over each plane of g * x)`.
pub fn mul_backward(x: &[f32], s: &[f32], g: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let plane = x.len() / s.len().max(1);
    let dx = mul(g, s);
    if plane <= 1 {
        let ds = g.iter().zip(x).map(|(g, x)| g * x).collect();
        return (dx, ds);
    }
    let ds = g
        .par_chunks(plane)
        .zip(x.par_chunks(plane))
        .map(|(g, x)| {
            g.iter()
                .zip(x)
                .map(|(g, x)| (*g as f64) * (*x as f64))
                .sum::<f64>() as f32
        })
        .collect();
    (dx, ds)
}

/// Concatenation along channels of `[n, c_i, plane]` inputs.
pub fn concat(parts: &[(&[f32], usize)], n: usize, plane: usize) -> Vec<f32> {
    let total: usize = parts.iter().map(|(_, c)| c).sum();
    let mut y = Vec::with_capacity(n * total * plane);
    for img in 0..n {
        for (v, c) in parts {
            y.extend_from_slice(&v[img * c * plane..(img + 1) * c * plane]);
        }
    }
    y
}

/// Gradients of [`concat`]: `g` split back into the inputs' channels.
pub fn concat_backward(g: &[f32], channels: &[usize], n: usize, plane: usize) -> Vec<Vec<f32>> {
    let total: usize = channels.iter().sum();
    let mut out: Vec<Vec<f32>> = channels
        .iter()
        .map(|c| Vec::with_capacity(n * c * plane))
        .collect();
    for img in 0..n {
        let mut at = img * total * plane;
        for (dst, c) in out.iter_mut().zip(channels) {
            dst.extend_from_slice(&g[at..at + c * plane]);
            at += c * plane;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_scale_and_its_gradients() {
        // One image, 2 channels of 2 pixels, scales [2, -1].
        let x = [1.0, 2.0, 3.0, 4.0];
        let s = [2.0, -1.0];
        assert_eq!(mul(&x, &s), [2.0, 4.0, -3.0, -4.0]);
        let g = [1.0, 0.5, 2.0, 1.0];
        let (dx, ds) = mul_backward(&x, &s, &g);
        assert_eq!(dx, [2.0, 1.0, -2.0, -1.0]);
        assert_eq!(ds, [1.0 * 1.0 + 0.5 * 2.0, 2.0 * 3.0 + 1.0 * 4.0]);
    }

    #[test]
    fn concat_round_trips_per_image() {
        // Two images; inputs of 1 and 2 channels, 1 pixel each.
        let a = [1.0, 2.0];
        let b = [10.0, 11.0, 20.0, 21.0];
        let y = concat(&[(&a, 1), (&b, 2)], 2, 1);
        assert_eq!(y, [1.0, 10.0, 11.0, 2.0, 20.0, 21.0]);
        assert_eq!(concat_backward(&y, &[1, 2], 2, 1), [a.to_vec(), b.to_vec()]);
    }
}

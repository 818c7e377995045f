//! Small constants the importer computes itself: what exporters leave for shapes
//! (`Shape` -> `Gather` -> `Unsqueeze` -> `Concat` -> `Reshape`, where the batch size
//! is not known until run time) and scalars of elementwise chains. The batch size stays
//! a symbol, [`Num::Batch`], so that `[batch, -1]` is recognised as a flatten.

use super::expr::Bin;

/// One element of a constant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    F(f64),
    I(i64),
    /// The batch size, known only at run time.
    Batch,
}

impl Num {
    pub fn as_f64(self) -> Option<f64> {
        match self {
            Num::F(v) => Some(v),
            Num::I(v) => Some(v as f64),
            Num::Batch => None,
        }
    }

    pub fn as_i64(self) -> Option<i64> {
        match self {
            Num::I(v) => Some(v),
            Num::F(v) if v.fract() == 0.0 && v.abs() < 9e15 => Some(v as i64),
            _ => None,
        }
    }
}

/// Most elements of a constant the importer folds (a shape, a scalar, an index table).
pub const MAX_FOLD: usize = 1 << 16;

#[derive(Clone, Debug, PartialEq)]
pub struct Const {
    pub shape: Vec<usize>,
    pub data: Vec<Num>,
}

pub type Result<T> = std::result::Result<T, String>;

impl Const {
    pub fn new(shape: Vec<usize>, data: Vec<Num>) -> Result<Const> {
        if shape.iter().product::<usize>() != data.len() {
            return Err(format!(
                "a constant of shape {shape:?} with {} values",
                data.len()
            ));
        }
        Ok(Const { shape, data })
    }

    pub fn ints(values: Vec<i64>) -> Const {
        Const {
            shape: vec![values.len()],
            data: values.into_iter().map(Num::I).collect(),
        }
    }

    pub fn scalar(&self) -> Option<f64> {
        match self.data.as_slice() {
            [v] => v.as_f64(),
            _ => None,
        }
    }

    /// The values as integers (shapes, axes, indices).
    pub fn int_list(&self, what: &str) -> Result<Vec<i64>> {
        self.data
            .iter()
            .map(|v| {
                v.as_i64().ok_or_else(|| {
                    format!("{what} must be whole numbers known before the run, got {v:?}")
                })
            })
            .collect()
    }

    pub fn floats(&self) -> Result<Vec<f32>> {
        self.data
            .iter()
            .map(|v| {
                v.as_f64()
                    .map(|f| f as f32)
                    .ok_or_else(|| "a value depends on the batch size".to_string())
            })
            .collect()
    }

    /// `Gather` along axis 0 of a 1-D constant (`Shape` -> `Gather` picks a dimension).
    pub fn gather(&self, indices: &Const, axis: i64) -> Result<Const> {
        if self.shape.len() != 1 || (axis != 0 && axis != -1) {
            return Err(format!("Gather on a constant of shape {:?} along axis {axis} (only 1-D constants are folded)", self.shape));
        }
        let n = self.data.len() as i64;
        let mut out = Vec::with_capacity(indices.data.len());
        for i in indices.int_list("Gather indices")? {
            let j = if i < 0 { i + n } else { i };
            if !(0..n).contains(&j) {
                return Err(format!("Gather index {i} outside a constant of {n} values"));
            }
            out.push(self.data[j as usize]);
        }
        Const::new(indices.shape.clone(), out)
    }

    /// `Unsqueeze`: the same values with size-1 axes inserted.
    pub fn unsqueeze(&self, axes: &[i64]) -> Result<Const> {
        let rank = (self.shape.len() + axes.len()) as i64;
        let mut axes: Vec<i64> = axes
            .iter()
            .map(|a| if *a < 0 { a + rank } else { *a })
            .collect();
        axes.sort_unstable();
        let mut shape = self.shape.clone();
        for a in axes {
            if !(0..rank).contains(&a) || a as usize > shape.len() {
                return Err(format!("Unsqueeze axis {a} outside rank {rank}"));
            }
            shape.insert(a as usize, 1);
        }
        Const::new(shape, self.data.clone())
    }

    /// `Squeeze`: the same values without the given size-1 axes (all of them if none).
    pub fn squeeze(&self, axes: Option<&[i64]>) -> Result<Const> {
        let rank = self.shape.len() as i64;
        let drop: Vec<usize> = match axes {
            Some(a) => a
                .iter()
                .map(|a| (if *a < 0 { a + rank } else { *a }) as usize)
                .collect(),
            None => (0..self.shape.len())
                .filter(|i| self.shape[*i] == 1)
                .collect(),
        };
        if drop.iter().any(|a| self.shape.get(*a) != Some(&1)) {
            return Err(format!(
                "Squeeze of axes {axes:?} of a constant of shape {:?}",
                self.shape
            ));
        }
        let shape = self
            .shape
            .iter()
            .enumerate()
            .filter(|(i, _)| !drop.contains(i))
            .map(|(_, d)| *d)
            .collect();
        Const::new(shape, self.data.clone())
    }

    /// `Concat` of 1-D constants (or of scalars made 1-D).
    pub fn concat(parts: &[Const]) -> Result<Const> {
        let mut data = Vec::new();
        for p in parts {
            if p.shape.len() > 1 {
                return Err(format!(
                    "Concat of constants of shape {:?} (only 1-D ones are folded)",
                    p.shape
                ));
            }
            data.extend_from_slice(&p.data);
        }
        Ok(Const {
            shape: vec![data.len()],
            data,
        })
    }

    /// `Cast` to a float (`true`) or an integer type.
    pub fn cast(&self, to_float: bool) -> Const {
        let data = self
            .data
            .iter()
            .map(|v| match (v, to_float) {
                (Num::Batch, _) => Num::Batch,
                (v, true) => Num::F(v.as_f64().unwrap_or(0.0)),
                (Num::F(f), false) => Num::I(f.trunc() as i64),
                (v, false) => *v,
            })
            .collect();
        Const {
            shape: self.shape.clone(),
            data,
        }
    }

    /// `Reshape` of a constant (`-1` infers one size, `0` copies one).
    pub fn reshape(&self, target: &[i64]) -> Result<Const> {
        let shape = resolve_shape(&self.shape, target)?;
        Const::new(shape, self.data.clone())
    }

    /// An elementwise operation of two constants, equal shapes or one a single value.
    pub fn binary(&self, op: Bin, other: &Const) -> Result<Const> {
        let (shape, n) = match (self.data.len(), other.data.len()) {
            (a, b) if a == b && (self.shape == other.shape || a == 1) => (self.shape.clone(), a),
            (1, b) => (other.shape.clone(), b),
            (a, 1) => (self.shape.clone(), a),
            _ => {
                return Err(format!(
                    "{op:?} of constants of shapes {:?} and {:?}",
                    self.shape, other.shape
                ))
            }
        };
        let pick = |c: &Const, i: usize| c.data[if c.data.len() == 1 { 0 } else { i }];
        let mut data = Vec::with_capacity(n);
        for i in 0..n {
            let (a, b) = (pick(self, i), pick(other, i));
            let v = match (a, b) {
                (Num::I(a), Num::I(b)) => match op {
                    Bin::Add => a.checked_add(b).map(Num::I),
                    Bin::Sub => a.checked_sub(b).map(Num::I),
                    Bin::Mul => a.checked_mul(b).map(Num::I),
                    Bin::Div => a.checked_div(b).map(Num::I),
                },
                (Num::Batch, _) | (_, Num::Batch) => None,
                (a, b) => {
                    let (a, b) = (a.as_f64().unwrap_or(0.0), b.as_f64().unwrap_or(0.0));
                    Some(Num::F(match op {
                        Bin::Add => a + b,
                        Bin::Sub => a - b,
                        Bin::Mul => a * b,
                        Bin::Div => a / b,
                    }))
                }
            };
            data.push(v.ok_or_else(|| format!("{op:?} of {a:?} and {b:?} cannot be computed before the run (it depends on the batch size, or overflows)"))?);
        }
        Ok(Const { shape, data })
    }
}

/// ONNX `Reshape`'s target for an input of `from` (sizes without the batch symbol):
/// `0` copies the input's size, one `-1` takes what is left.
pub fn resolve_shape(from: &[usize], target: &[i64]) -> Result<Vec<usize>> {
    let total: usize = from.iter().product();
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, t) in target.iter().enumerate() {
        match *t {
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            0 => out.push(
                *from
                    .get(i)
                    .ok_or_else(|| format!("Reshape copies axis {i} of a shape {from:?}"))?,
            ),
            t if t > 0 => out.push(t as usize),
            t => return Err(format!("Reshape to {target:?}: size {t} is not valid")),
        }
    }
    let known: usize = out.iter().product();
    if let Some(i) = infer {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(format!("Reshape of {from:?} to {target:?}"));
        }
        out[i] = total / known;
    } else if known != total {
        return Err(format!(
            "Reshape of {from:?} ({total} values) to {target:?}"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_chains_fold_with_a_symbolic_batch() {
        // Shape(x) of a [N, 512, 1, 1] map, Gather(0), Unsqueeze(0), Concat with [-1].
        let shape =
            Const::new(vec![4], vec![Num::Batch, Num::I(512), Num::I(1), Num::I(1)]).unwrap();
        let n = shape
            .gather(&Const::new(vec![], vec![Num::I(0)]).unwrap(), 0)
            .unwrap();
        assert_eq!(n.shape, Vec::<usize>::new());
        let n = n.unsqueeze(&[0]).unwrap();
        let target = Const::concat(&[n, Const::ints(vec![-1])]).unwrap();
        assert_eq!(target.data, [Num::Batch, Num::I(-1)]);
        assert!(target.int_list("shape").is_err());
        // Arithmetic on the batch symbol is refused; on numbers it is exact.
        let c = shape.gather(&Const::ints(vec![1, 2]), 0).unwrap();
        assert_eq!(
            c.binary(Bin::Mul, &Const::ints(vec![2])).unwrap().data,
            [Num::I(1024), Num::I(2)]
        );
        assert!(shape
            .binary(Bin::Mul, &Const::ints(vec![2]))
            .unwrap_err()
            .contains("batch size"));
        assert!(shape
            .gather(&Const::ints(vec![4]), 0)
            .unwrap_err()
            .contains("outside"));
    }

    #[test]
    fn reshape_targets_resolve_as_onnx() {
        assert_eq!(resolve_shape(&[512, 7, 7], &[-1]).unwrap(), [25088]);
        assert_eq!(resolve_shape(&[2, 3], &[0, -1]).unwrap(), [2, 3]);
        assert!(resolve_shape(&[2, 3], &[4, -1]).is_err());
        assert!(resolve_shape(&[2, 3], &[-1, -1]).is_err());
    }
}

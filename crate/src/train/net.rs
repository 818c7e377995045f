//! The training graph of a VGG-family network: the same layers as its [`crate::model::Graph`]
//! under the same torchvision names, with candle-nn variables so autograd gives the
//! weight gradients, and our max pool so the gradient through pooling is right.

use super::conv::conv3x3_bias_relu;
use super::maxpool::max_pool2x2;
use crate::error::{Error, Result};
use crate::model::graph::{GraphSpec, Kind};
use crate::model::{families, synthetic, ArchSpec, CfgItem};
use crate::rng::Rng;
use candle_core::{DType, Device, Tensor, Var};
use candle_nn::{VarBuilder, VarMap};
use std::collections::HashMap;

/// `(torchvision name, shape, f32 values)` of every parameter, in state_dict order.
pub type NamedParams = Vec<(String, Vec<usize>, Vec<f32>)>;

/// The graph whose state dict the training variables mirror.
fn state(spec: &ArchSpec) -> Result<GraphSpec> {
    families::graph(spec)
}

pub struct TrainNet {
    spec: ArchSpec,
    varmap: VarMap,
    /// `(weight, bias)` of every conv, in order.
    convs: Vec<(Tensor, Tensor)>,
    /// `(weight, bias)` of classifier.0, .3 and .6.
    linears: Vec<(Tensor, Tensor)>,
}

impl TrainNet {
    /// A fresh network. Initial weights are the fixtures' deterministic ones for `seed`
    /// (uniform, `sqrt(6 / fan_in)` bounds: He initialisation, which suits ReLU nets).
    pub fn new(spec: &ArchSpec, seed: u64) -> Result<TrainNet> {
        if spec.vgg().is_none() {
            return Err(Error::Spec(format!(
                "training takes VGG-family models; {spec} is a {}",
                spec.family_name()
            )));
        }
        let feature_size = spec.size >> spec.pool_stages();
        if feature_size != spec.pool() {
            return Err(Error::Spec(format!(
                "training needs the features to come out at the pool size: size {} after {} pools is {feature_size}, but pool={}",
                spec.size,
                spec.pool_stages(),
                spec.pool()
            )));
        }
        let varmap = VarMap::new();
        {
            let mut vars = varmap
                .data()
                .lock()
                .map_err(|_| Error::Input("variable map poisoned".into()))?;
            for (name, shape, values) in synthetic::weights(spec, seed) {
                let t = Tensor::from_vec(values, shape, &Device::Cpu)?;
                vars.insert(name, Var::from_tensor(&t)?);
            }
        }
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let graph = families::graph(spec)?;
        let get = |module: &str| -> Result<(Tensor, Tensor)> {
            let find = |suffix: &str| {
                let name = format!("{module}.{suffix}");
                graph
                    .state
                    .iter()
                    .find(|e| e.name == name)
                    .map(|e| (e.shape.clone(), name.clone()))
                    .ok_or_else(|| Error::Spec(format!("no parameter {name}")))
            };
            let ((ws, wn), (bs, bn)) = (find("weight")?, find("bias")?);
            Ok((vb.get(ws, &wn)?, vb.get(bs, &bn)?))
        };
        let modules = |conv: bool| -> Vec<String> {
            graph
                .nodes
                .iter()
                .filter(|n| {
                    matches!(n.kind, Kind::Conv2d(_)) == conv
                        && matches!(n.kind, Kind::Conv2d(_) | Kind::Linear { .. })
                })
                .map(|n| n.name.clone())
                .collect()
        };
        let convs = modules(true)
            .iter()
            .map(|m| get(m))
            .collect::<Result<Vec<_>>>()?;
        let linears = modules(false)
            .iter()
            .map(|m| get(m))
            .collect::<Result<Vec<_>>>()?;
        Ok(TrainNet {
            spec: spec.clone(),
            varmap,
            convs,
            linears,
        })
    }

    /// Sets every parameter to the given values (all must be present, shapes equal).
    pub fn load(&self, params: &HashMap<String, Vec<f32>>) -> Result<()> {
        for p in state(&self.spec)?.state {
            let value = params.get(&p.name).ok_or_else(|| Error::MissingTensor {
                name: p.name.clone(),
                expected: p.shape.clone(),
            })?;
            let vars = self
                .varmap
                .data()
                .lock()
                .map_err(|_| Error::Input("variable map poisoned".into()))?;
            let var = vars
                .get(&p.name)
                .ok_or_else(|| Error::Spec(format!("no variable {}", p.name)))?;
            // `set` writes into the variable's storage, which the layers share.
            var.set(&Tensor::from_slice(
                value,
                p.shape.as_slice(),
                &Device::Cpu,
            )?)?;
        }
        Ok(())
    }

    pub fn vars(&self) -> Vec<Var> {
        self.varmap.all_vars()
    }

    /// Logits for a `[N, C, size, size]` batch. With `dropout = Some((p, rng))` the
    /// classifier's two Dropout layers drop with probability `p` (training); `None` is
    /// inference.
    pub fn forward(&self, x: &Tensor, mut dropout: Option<(f64, &mut Rng)>) -> Result<Tensor> {
        let mut x = x.clone();
        let mut convs = self.convs.iter();
        for item in self.spec.cfg() {
            x = match item {
                CfgItem::Pool => max_pool2x2(&x)?,
                CfgItem::Conv(_) => {
                    let (w, b) = convs
                        .next()
                        .ok_or_else(|| Error::Spec("fewer convs than the cfg".into()))?;
                    conv3x3_bias_relu(&x, w, b)?
                }
            };
        }
        // avgpool is the identity here: `new` checked the features come out pool x pool.
        let mut x = x.flatten_from(1)?;
        for (i, (w, b)) in self.linears.iter().enumerate() {
            x = x.matmul(&w.t()?)?.broadcast_add(b)?;
            if i < 2 {
                x = x.relu()?;
                if let Some((p, rng)) = dropout.as_mut() {
                    x = drop(&x, *p, rng)?;
                }
            }
        }
        Ok(x)
    }

    /// Every parameter as `(torchvision name, shape, values)`, in state_dict order,
    /// ready for [`crate::model::weights::to_safetensors`].
    pub fn export(&self) -> Result<NamedParams> {
        let vars = self
            .varmap
            .data()
            .lock()
            .map_err(|_| Error::Input("variable map poisoned".into()))?;
        state(&self.spec)?
            .state
            .into_iter()
            .map(|p| {
                let var = vars
                    .get(&p.name)
                    .ok_or_else(|| Error::Spec(format!("no variable {}", p.name)))?;
                let values = var.as_tensor().flatten_all()?.to_vec1::<f32>()?;
                Ok((p.name, p.shape, values))
            })
            .collect()
    }
}

/// Inverted dropout with our seeded generator (candle's draws from an unseeded one).
fn drop(x: &Tensor, p: f64, rng: &mut Rng) -> Result<Tensor> {
    let keep = 1.0 / (1.0 - p);
    let mask: Vec<f32> = (0..x.elem_count())
        .map(|_| if rng.uniform() < p { 0.0 } else { keep as f32 })
        .collect();
    Ok((x * Tensor::from_vec(mask, x.shape(), x.device())?)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Graph, Val};

    #[test]
    fn inference_forward_matches_the_core_model_with_the_same_weights() {
        let spec = ArchSpec::parse("cfg=4,M,8,M;in=1;pool=2;hidden=6;classes=3;size=8").unwrap();
        let net = TrainNet::new(&spec, 5).unwrap();
        let vgg = Graph::synthetic(&spec, 5).unwrap();
        let x =
            Tensor::from_vec(Rng::new(1).normals(2 * 64, 1.0), (2, 1, 8, 8), &Device::Cpu).unwrap();
        let ours = net.forward(&x, None).unwrap().flatten_all().unwrap();
        let core = vgg
            .forward(&Val::from_tensor(&x).unwrap())
            .unwrap()
            .to_tensor()
            .unwrap()
            .flatten_all()
            .unwrap();
        let diff = (ours - core).unwrap().abs().unwrap().max(0).unwrap();
        assert!(diff.to_scalar::<f32>().unwrap() < 1e-5);
        let exported = net.export().unwrap();
        assert_eq!(exported, synthetic::weights(&spec, 5));
    }

    #[test]
    fn features_must_come_out_at_the_pool_size() {
        let spec = ArchSpec::parse("cfg=4,M;in=1;pool=2;hidden=6;classes=3;size=8").unwrap();
        let err = TrainNet::new(&spec, 1).err().unwrap().to_string();
        assert!(err.contains("pool=2"), "{err}");
    }
}

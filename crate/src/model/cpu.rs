//! Reading a tensor's values in place: our own kernels take `&[f32]`, and copying a
//! 224-px map out of candle first would cost as much as the cheap layers themselves.

use crate::error::Result;
use candle_core::{DType, Storage, Tensor};

/// Calls `f` with `x`'s values as one contiguous f32 slice, borrowed from the tensor
/// when it is a contiguous f32 CPU tensor, copied otherwise.
pub fn with_f32<R>(x: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    let x = x.to_dtype(DType::F32)?.contiguous()?;
    let (storage, layout) = x.storage_and_layout();
    if let Storage::Cpu(cpu) = &*storage {
        return Ok(f(
            &cpu.as_slice::<f32>()?[layout.start_offset()..][..x.elem_count()]
        ));
    }
    drop(storage);
    Ok(f(&x.flatten_all()?.to_vec1::<f32>()?))
}

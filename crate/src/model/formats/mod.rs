//! Readers for weights files other than our own safetensors: each takes the file's
//! bytes (the page has no file system) and returns named f32 tensors.

pub mod keras;
pub mod pth;

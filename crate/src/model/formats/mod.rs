//! Readers for model files other than our own safetensors: each takes the file's bytes
//! (the page has no file system) and returns named f32 tensors (`pth`), or a whole graph
//! with its tensors (`onnx`).

pub mod keras;
pub mod onnx;
pub mod pth;

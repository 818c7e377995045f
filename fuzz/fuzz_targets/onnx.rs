//! Any bytes as an ONNX model (also offered as its own external-data file): an error or a
//! graph whose shapes can be planned, never a panic, an abort, a stack overflow from
//! nested messages or an allocation the file merely claims (a 2 GiB tensor, lengths past
//! the end).
#![no_main]
use convscope::model::summary::summarize_graph;
use convscope::model::Graph;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let external = [("model.onnx.data", data)];
    if let Ok((graph, _notes)) = Graph::from_onnx(data, "model.onnx", &external) {
        let _ = summarize_graph(graph.arch(), graph.spec(), None);
    }
});

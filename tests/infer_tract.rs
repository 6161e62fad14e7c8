//! tract (the `tract-onnx` crate, which `systolic infer` uses to decode the protobuf) as a second
//! CPU reference. It runs the QDQ models (it has no com.microsoft QLinearAdd or QGemm, so not the
//! QOperator ones; QLinearMatMul and QLinearConv alone do not make a model here) with its own
//! kernels. The test prints how many of its logits differ from ONNX Runtime's, bit for bit, and
//! requires the same top-1 class for every image: a measurement of an independent
//! implementation, not a reference the engine is held to (that is ORT, tests/infer.rs).

use std::path::Path;

use tract_onnx::prelude::*;

fn f32s(path: &Path) -> Vec<f32> {
    let a = systolic::npy::read(path).unwrap_or_else(|e| panic!("{e}"));
    a.data.iter().map(|&b| f32::from_bits(b as u32)).collect()
}

fn tract_logits(model: &Path, shape: &[usize], xs: &[f32]) -> Vec<f32> {
    let model = tract_onnx::onnx()
        .with_ignore_output_shapes(true)
        .with_ignore_value_info(true)
        .model_for_path(model)
        .unwrap()
        .with_input_fact(0, f32::fact(shape).into())
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    let input = Tensor::from_shape(shape, xs).unwrap();
    let out = model.run(tvec!(input.into_tvalue())).unwrap();
    let view = out[0].to_plain_array_view::<f32>().unwrap();
    view.iter().copied().collect()
}

#[test]
fn tract_on_the_qdq_models_agrees_with_onnx_runtime_on_every_class() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let xs = f32s(&root.join("models/digits_test_x.npy"));
    let argmax = |v: &[f32]| (0..10).fold(0, |b, j| if v[j] > v[b] { j } else { b });
    for set in ["", "pow2/"] {
        for name in [
            "mlp.qdq",
            "mlp.qdq-pc",
            "mlp.qdq-u8",
            "cnn.qdq",
            "cnn.qdq-pc",
            "cnn.qdq-u8",
        ] {
            let shape = if name.starts_with("mlp") {
                vec![360, 64]
            } else {
                vec![360, 1, 8, 8]
            };
            let path = match set {
                "" => root.join(format!("models/{name}.onnx")),
                _ => root.join(format!("models/ortref/infer/{set}{name}.onnx")),
            };
            let got = tract_logits(&path, &shape, &xs);
            let want = f32s(&root.join(format!("models/ortref/infer/{set}{name}.logits.npy")));
            assert_eq!(got.len(), want.len());
            let differ = (0..want.len())
                .filter(|&i| got[i].to_bits() != want[i].to_bits())
                .count();
            let classes = (0..360)
                .filter(|&i| argmax(&got[i * 10..][..10]) != argmax(&want[i * 10..][..10]))
                .count();
            eprintln!(
                "tract {set}{name}: {differ} of {} logits differ from ONNX Runtime's, {classes} of \
                 360 top-1 classes",
                want.len()
            );
            assert_eq!(classes, 0, "{set}{name}");
        }
    }
}

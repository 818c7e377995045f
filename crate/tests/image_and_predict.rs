//! Decoding, preprocessing, labels and top-k, checked against the reference fixtures
//! (`tests/fixtures/README.md`) and against values computed by hand.

use std::path::PathBuf;

use candle_core::Tensor;
use convscope::image::{
    decode, decode_file, model_view, preprocess, Preprocessing, CAFFE_MEAN_BGR, IMAGENET_MEAN,
    IMAGENET_STD, MAX_DIMENSION,
};
use convscope::labels::{default_labels, imagenet};
use convscope::predict::{softmax, top_k, Prediction};
use convscope::Error;
use image::{DynamicImage, GrayImage, ImageFormat, Rgb, RgbImage};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
}

/// Max |a - b| after checking the shapes agree.
fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    values(a)
        .iter()
        .zip(values(b))
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// The message of an `Error::Image`, failing on any other outcome.
fn image_error(result: convscope::Result<DynamicImage>) -> String {
    match result {
        Err(Error::Image(msg)) => msg,
        Err(other) => panic!("expected Error::Image, got {other:?}"),
        Ok(img) => panic!(
            "expected an error, decoded {}x{}",
            img.width(),
            img.height()
        ),
    }
}

fn check_fixture(png: &str, npy: &str, pre: &Preprocessing) {
    let img = decode_file(&fixture(png)).unwrap();
    let x = preprocess(&img, pre, 3).unwrap();
    let expected = Tensor::read_npy(fixture(npy)).unwrap();
    let diff = max_abs_diff(&x, &expected);
    assert!(diff <= 1e-6, "{png}: max abs diff {diff} against {npy}");
    // Pass-through: the model sees the file's own pixels.
    assert_eq!(model_view(&img, pre, 3).unwrap(), img.to_rgb8());
}

#[test]
fn astronaut_reproduces_reference_tensor() {
    check_fixture("astronaut.png", "astronaut.npy", &Preprocessing::imagenet());
}

#[test]
fn coffee_reproduces_reference_tensor() {
    check_fixture("coffee.png", "coffee.npy", &Preprocessing::imagenet());
}

#[test]
fn astronaut32_reproduces_reference_tensor() {
    let pre = Preprocessing::Torchvision {
        resize: 32,
        crop: 32,
        mean: IMAGENET_MEAN.to_vec(),
        std: IMAGENET_STD.to_vec(),
    };
    check_fixture("astronaut32.png", "astronaut32.npy", &pre);
}

fn uniform(w: u32, h: u32, rgb: [u8; 3]) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_pixel(w, h, Rgb(rgb)))
}

#[test]
fn uniform_image_normalises_exactly() {
    let rgb = [200u8, 100, 50];
    let img = uniform(300, 400, rgb);
    let x = preprocess(&img, &Preprocessing::imagenet(), 3).unwrap();
    assert_eq!(x.dims(), &[1, 3, 224, 224]);
    let v = values(&x);
    for c in 0..3 {
        let want =
            ((rgb[c] as f64 / 255.0 - IMAGENET_MEAN[c] as f64) / IMAGENET_STD[c] as f64) as f32;
        let plane = &v[c * 224 * 224..(c + 1) * 224 * 224];
        assert!(plane.iter().all(|&p| p == want), "channel {c}: want {want}");
    }
    let view = model_view(&img, &Preprocessing::imagenet(), 3).unwrap();
    assert_eq!(view.dimensions(), (224, 224));
}

/// An image whose pixels encode their own coordinates, to see where a crop came from.
fn coordinates(w: u32, h: u32) -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, 0])
    }))
}

#[test]
fn centre_crop_follows_torchvision_rounding() {
    // Shorter side already 256, so no resize: only the crop acts.
    let pre = Preprocessing::imagenet();
    // Surplus 32 x 76: offsets 16 and 38.
    let view = model_view(&coordinates(256, 300), &pre, 3).unwrap();
    assert_eq!(view.dimensions(), (224, 224));
    assert_eq!(view.get_pixel(0, 0).0, [16, 38, 0]);
    // Surplus 35 and 37: Python's round(17.5) = 18 and round(18.5) = 18 (half to even).
    assert_eq!(
        model_view(&coordinates(256, 259), &pre, 3)
            .unwrap()
            .get_pixel(0, 0)
            .0,
        [16, 18, 0]
    );
    assert_eq!(
        model_view(&coordinates(256, 261), &pre, 3)
            .unwrap()
            .get_pixel(0, 0)
            .0,
        [16, 18, 0]
    );
    // Landscape: the long side is the one cropped.
    assert_eq!(
        model_view(&coordinates(300, 256), &pre, 3)
            .unwrap()
            .get_pixel(0, 0)
            .0,
        [38, 16, 0]
    );
}

#[test]
fn resize_keeps_aspect_ratio_before_cropping() {
    // 512x1024 -> 256x512 -> centre 224x224: the crop covers x 32..480, y 288..736 of
    // the original, so the crop's corner is near (32, 288) and its centre near (256, 512).
    let img = DynamicImage::ImageRgb8(RgbImage::from_fn(512, 1024, |x, y| {
        Rgb([(x / 4) as u8, (y / 4) as u8, 0])
    }));
    let view = model_view(&img, &Preprocessing::imagenet(), 3).unwrap();
    let [r, g, _] = view.get_pixel(112, 112).0;
    assert!(
        (r as i32 - 64).abs() <= 1 && (g as i32 - 128).abs() <= 1,
        "{r} {g}"
    );
    let [r, g, _] = view.get_pixel(0, 0).0;
    assert!(
        (r as i32 - 8).abs() <= 1 && (g as i32 - 72).abs() <= 1,
        "{r} {g}"
    );
}

#[test]
fn caffe_mode_is_bgr_minus_mean() {
    let rgb = [200u8, 100, 50];
    let x = preprocess(
        &uniform(300, 400, rgb),
        &Preprocessing::Caffe { size: 224 },
        3,
    )
    .unwrap();
    assert_eq!(x.dims(), &[1, 3, 224, 224]);
    let v = values(&x);
    let bgr = [rgb[2], rgb[1], rgb[0]];
    for c in 0..3 {
        let want = (bgr[c] as f64 - CAFFE_MEAN_BGR[c] as f64) as f32;
        assert!(v[c * 224 * 224..(c + 1) * 224 * 224]
            .iter()
            .all(|&p| p == want));
    }
    // Hand check of the first channel: blue 50 - 103.939.
    assert!((v[0] - (50.0 - 103.939)).abs() < 1e-5);
    // Caffe is BGR by definition: a 1-channel model cannot use it.
    let err = preprocess(&uniform(8, 8, rgb), &Preprocessing::Caffe { size: 8 }, 1);
    assert!(matches!(err, Err(Error::Input(_))));
}

#[test]
fn grayscale_uses_luminance_and_first_mean() {
    let pre = Preprocessing::Scale {
        size: 28,
        mean: vec![0.2860],
        std: vec![0.3530],
    };
    let want = ((77.0 / 255.0 - 0.2860f32 as f64) / 0.3530f32 as f64) as f32;
    let gray = DynamicImage::ImageLuma8(GrayImage::from_pixel(56, 40, image::Luma([77])));
    // A gray picture stored as RGB has the same luminance.
    for img in [gray, uniform(56, 40, [77, 77, 77])] {
        let x = preprocess(&img, &pre, 1).unwrap();
        assert_eq!(x.dims(), &[1, 1, 28, 28]);
        assert!(values(&x).iter().all(|&p| p == want));
    }
    // Scale stretches without cropping.
    assert_eq!(
        model_view(&uniform(56, 40, [1, 2, 3]), &pre, 3)
            .unwrap()
            .dimensions(),
        (28, 28)
    );
}

#[test]
fn bad_normalisation_is_an_input_error() {
    let img = uniform(28, 28, [1, 2, 3]);
    let three = Preprocessing::Scale {
        size: 28,
        mean: vec![0.1, 0.2, 0.3],
        std: vec![0.5, 0.5, 0.5],
    };
    let two = Preprocessing::Scale {
        size: 28,
        mean: vec![0.1, 0.2],
        std: vec![0.5],
    };
    let zero_std = Preprocessing::Scale {
        size: 28,
        mean: vec![0.1],
        std: vec![0.0],
    };
    for (pre, channels) in [(&three, 1), (&two, 3), (&zero_std, 3), (&three, 2)] {
        match preprocess(&img, pre, channels) {
            Err(Error::Input(msg)) => assert!(!msg.is_empty()),
            other => panic!("{pre:?} with {channels} channels: {other:?}"),
        }
    }
    // A 1-value mean/std broadcasts over RGB.
    let one = Preprocessing::Scale {
        size: 28,
        mean: vec![0.5],
        std: vec![0.25],
    };
    assert_eq!(preprocess(&img, &one, 3).unwrap().dims(), &[1, 3, 28, 28]);
}

#[test]
fn extreme_shapes_are_refused_not_allocated() {
    // 1x16384 resized to short side 256 would be 256x4194304.
    let img = uniform(1, MAX_DIMENSION, [0, 0, 0]);
    assert!(matches!(
        model_view(&img, &Preprocessing::imagenet(), 3),
        Err(Error::Input(_))
    ));
    let zero = Preprocessing::Caffe { size: 0 };
    assert!(matches!(
        preprocess(&uniform(4, 4, [0; 3]), &zero, 3),
        Err(Error::Input(_))
    ));
}

#[test]
fn preprocessing_json_matches_model_cards() {
    let json = r#"{"kind":"torchvision","resize":256,"crop":224,
                   "mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225]}"#;
    let pre: Preprocessing = serde_json::from_str(json).unwrap();
    assert_eq!(pre, Preprocessing::imagenet());
    let caffe: Preprocessing = serde_json::from_str(r#"{"kind":"caffe","size":224}"#).unwrap();
    assert_eq!(caffe, Preprocessing::Caffe { size: 224 });
    let scale = Preprocessing::Scale {
        size: 28,
        mean: vec![0.5],
        std: vec![0.5],
    };
    let text = serde_json::to_string(&scale).unwrap();
    assert!(text.contains(r#""kind":"scale""#), "{text}");
    assert_eq!(serde_json::from_str::<Preprocessing>(&text).unwrap(), scale);
}

#[test]
fn empty_bytes_are_refused() {
    assert_eq!(image_error(decode(&[])), "image is empty (0 bytes)");
}

#[test]
fn text_is_not_an_image() {
    let msg = image_error(decode(b"hello"));
    assert!(msg.contains("not a PNG, JPEG or WebP"), "{msg}");
    assert!(msg.contains("68 65 6c 6c 6f"), "{msg}");
}

#[test]
fn other_formats_are_named() {
    let msg = image_error(decode(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"));
    assert!(
        msg.contains("Gif") && msg.contains("not supported"),
        "{msg}"
    );
}

/// CRC-32 (IEEE), as PNG chunks use it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// A valid PNG whose IHDR is rewritten to claim `w` x `h`, with a correct CRC.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut bytes = fixture_bytes("astronaut32.png");
    // 8-byte signature, then IHDR: length (4), "IHDR" (4), width, height, ... at 16..24.
    assert_eq!(&bytes[12..16], b"IHDR");
    bytes[16..20].copy_from_slice(&w.to_be_bytes());
    bytes[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

#[test]
fn crc32_is_the_png_one() {
    // The untouched IHDR's stored CRC must be what we compute.
    let bytes = fixture_bytes("astronaut32.png");
    assert_eq!(crc32(&bytes[12..29]).to_be_bytes(), bytes[29..33]);
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
}

#[test]
fn huge_dimensions_are_refused_before_decoding() {
    let msg = image_error(decode(&png_claiming(100_000, 100_000)));
    assert!(msg.contains("100000x100000"), "{msg}");
    assert!(msg.contains("16384"), "{msg}");
    // Within the width/height limit but over the memory limit (16384^2 RGB = 768 MiB).
    let msg = image_error(decode(&png_claiming(16384, 16384)));
    assert!(msg.contains("16384x16384") && msg.contains("MiB"), "{msg}");
}

#[test]
fn truncated_png_is_an_error() {
    let bytes = fixture_bytes("astronaut.png");
    let msg = image_error(decode(&bytes[..bytes.len() / 2]));
    assert!(msg.contains("PNG") && msg.contains("truncated"), "{msg}");
}

#[test]
fn no_prefix_or_corruption_panics() {
    let bytes = fixture_bytes("astronaut32.png");
    // The last 12 bytes are the IEND chunk; the decoder does not insist on it once all
    // pixels are in, so only shorter prefixes must fail.
    let iend = bytes.len() - 12;
    assert_eq!(&bytes[iend + 4..iend + 8], b"IEND");
    for len in 0..bytes.len() {
        let result = decode(&bytes[..len]);
        assert!(
            len >= iend || result.is_err(),
            "prefix of {len} bytes decoded"
        );
    }
    for pos in (8..bytes.len()).step_by(7) {
        let mut bad = bytes.clone();
        bad[pos] ^= 0x5A;
        let _ = decode(&bad); // must return, Ok or Err
    }
}

#[test]
fn format_comes_from_bytes_not_name() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join("astronaut_really_png.jpg");
    std::fs::copy(fixture("astronaut.png"), &path).unwrap();
    let img = decode_file(&path).unwrap();
    assert_eq!((img.width(), img.height()), (224, 224));
    assert_eq!(
        img.to_rgb8(),
        decode_file(&fixture("astronaut.png")).unwrap().to_rgb8()
    );
    assert!(matches!(
        decode_file(&dir.join("no_such_file.png")),
        Err(Error::Io { .. })
    ));
}

#[test]
fn jpeg_and_webp_decode() {
    let img = decode_file(&fixture("astronaut32.png")).unwrap();
    for format in [ImageFormat::Jpeg, ImageFormat::WebP] {
        let mut bytes = std::io::Cursor::new(Vec::new());
        img.write_to(&mut bytes, format).unwrap();
        let back = decode(bytes.get_ref()).unwrap();
        assert_eq!((back.width(), back.height()), (32, 32), "{format:?}");
        // Cut in half: an error, not a half-grey picture.
        let half = &bytes.get_ref()[..bytes.get_ref().len() / 2];
        let msg = image_error(decode(half));
        assert!(msg.contains("truncated"), "{format:?}: {msg}");
        if format == ImageFormat::WebP {
            // The image crate writes lossless WebP.
            assert_eq!(back.to_rgb8(), img.to_rgb8());
        }
    }
}

#[test]
fn softmax_of_one_two_three() {
    let e = [1f64.exp(), 2f64.exp(), 3f64.exp()];
    let sum: f64 = e.iter().sum();
    let p = softmax(&[1.0, 2.0, 3.0]);
    for i in 0..3 {
        assert!((p[i] as f64 - e[i] / sum).abs() < 1e-7, "{p:?}");
    }
    // 0.09003057, 0.24472847, 0.66524096
    assert!((p[2] - 0.665_241).abs() < 1e-6);
    // Stable for logits that would overflow a naive exp.
    let big = softmax(&[1000.0, 1000.0]);
    assert_eq!(big, vec![0.5, 0.5]);
    assert!(softmax(&[]).is_empty());
}

#[test]
fn top_k_ranks_labels_and_breaks_ties() {
    let labels: Vec<String> = ["cat", "dog", "eel"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let top = top_k(&[1.0, 3.0, 2.0], &labels, 2);
    assert_eq!(top.len(), 2);
    assert_eq!((top[0].class, top[0].label.as_str()), (1, "dog"));
    assert_eq!((top[1].class, top[1].label.as_str()), (2, "eel"));
    assert_eq!(top[0].logit, 3.0);
    assert_eq!(top[0].prob, softmax(&[1.0, 3.0, 2.0])[1]);

    // Ties: lower class index first.
    let tied = top_k(&[5.0, 7.0, 7.0, 5.0], &labels, 4);
    let order: Vec<usize> = tied.iter().map(|p| p.class).collect();
    assert_eq!(order, vec![1, 2, 0, 3]);
    // Class 3 has no label.
    assert_eq!(tied[3].label, "class 3");

    // k larger than the number of classes.
    let all = top_k(&[0.0, 1.0, 2.0], &labels, 10);
    assert_eq!(all.len(), 3);
    assert_eq!(
        all[0],
        Prediction {
            class: 2,
            label: "eel".into(),
            prob: softmax(&[0.0, 1.0, 2.0])[2],
            logit: 2.0
        }
    );
    assert!(top_k(&[1.0], &labels, 0).is_empty());
}

#[test]
fn imagenet_labels_are_torchvision_ones() {
    let names = imagenet();
    assert_eq!(names.len(), 1000);
    assert_eq!(names[0], "tench");
    assert_eq!(names[385], "Indian elephant");
    assert_eq!(names[921], "book jacket");
    assert_eq!(names[999], "toilet tissue");
    assert_eq!(default_labels(1000)[385], "Indian elephant");
    assert_eq!(
        default_labels(10),
        (0..10).map(|i| format!("class {i}")).collect::<Vec<_>>()
    );
}

/// A JPEG stored sideways with EXIF Orientation 6 (`fixtures/exif/orientation6.jpg`,
/// made by scripts/fixtures/make_exif_fixture.py: 32x16, left half red, right half blue)
/// reaches the model upright: 16 wide, 32 tall, red on top.
#[test]
fn photos_are_turned_upright_as_their_exif_orientation_says() {
    let img = decode_file(&fixture("exif/orientation6.jpg"))
        .unwrap()
        .to_rgb8();
    assert_eq!((img.width(), img.height()), (16, 32));
    let top = img.get_pixel(8, 4);
    let bottom = img.get_pixel(8, 27);
    assert!(
        top[0] > 200 && top[2] < 60,
        "top should be red, got {top:?}"
    );
    assert!(
        bottom[2] > 200 && bottom[0] < 60,
        "bottom should be blue, got {bottom:?}"
    );
    // And the picture the model sees keeps that way up.
    let pre = Preprocessing::Scale {
        size: 8,
        mean: vec![0.5],
        std: vec![0.5],
    };
    let view = model_view(&DynamicImage::ImageRgb8(img), &pre, 3).unwrap();
    assert!(view.get_pixel(4, 1)[0] > 200, "{:?}", view.get_pixel(4, 1));
}

/// A one-channel model sees a colour photo in grey: the picture shown of it (the page's
/// side bar, the CLI's `--png` background) is the luminance its input was made from,
/// pixel for pixel, not the colours it never saw.
#[test]
fn a_grey_model_sees_the_luminance_it_is_given() {
    let img = DynamicImage::ImageRgb8(RgbImage::from_fn(40, 30, |x, y| {
        Rgb([(x * 6) as u8, (y * 8) as u8, ((x + y) * 3) as u8])
    }));
    let pre = Preprocessing::Scale {
        size: 28,
        mean: vec![0.0],
        std: vec![1.0],
    };
    let view = model_view(&img, &pre, 1).unwrap();
    let x = values(&preprocess(&img, &pre, 1).unwrap());
    assert_eq!(view.dimensions(), (28, 28));
    assert_eq!(x.len(), 28 * 28);
    let rgb = model_view(&img, &pre, 3).unwrap();
    let mut coloured = 0;
    for (i, p) in view.pixels().enumerate() {
        assert!(p[0] == p[1] && p[1] == p[2], "pixel {i} is not grey: {p:?}");
        assert_eq!(p[0], (x[i] * 255.0).round() as u8, "pixel {i}");
        let c = rgb.as_raw()[3 * i..3 * i + 3].to_vec();
        coloured += usize::from(c[0] != c[1] || c[1] != c[2]);
    }
    // The same photo for a colour model keeps its colours: the test image has some.
    assert!(coloured > 100, "only {coloured} coloured pixels");
}

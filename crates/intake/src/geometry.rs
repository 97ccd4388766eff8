//! Page-pixel rectangles, shared by OCR words, crop boxes and ground-truth regions.

use serde::{Deserialize, Serialize};

/// An axis-aligned box in page pixels: left, top, width, height.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BBox {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl BBox {
    pub fn new(x: u32, y: u32, w: u32, h: u32) -> Self {
        BBox { x, y, w, h }
    }

    /// One past the right edge.
    pub fn right(&self) -> u32 {
        self.x + self.w
    }

    /// One past the bottom edge.
    pub fn bottom(&self) -> u32 {
        self.y + self.h
    }

    /// Whether the point `(x, y)` lies in the box.
    pub fn contains(&self, x: u32, y: u32) -> bool {
        x >= self.x && x < self.right() && y >= self.y && y < self.bottom()
    }

    pub fn area(&self) -> u64 {
        u64::from(self.w) * u64::from(self.h)
    }

    /// The overlapping part of two boxes, if any.
    pub fn intersect(&self, other: &BBox) -> Option<BBox> {
        let x0 = self.x.max(other.x);
        let y0 = self.y.max(other.y);
        let x1 = self.right().min(other.right());
        let y1 = self.bottom().min(other.bottom());
        (x1 > x0 && y1 > y0).then(|| BBox::new(x0, y0, x1 - x0, y1 - y0))
    }

    /// Intersection over union, 0.0 when disjoint.
    pub fn iou(&self, other: &BBox) -> f64 {
        let inter = self.intersect(other).map_or(0, |b| b.area()) as f64;
        let union = (self.area() + other.area()) as f64 - inter;
        if union <= 0.0 {
            0.0
        } else {
            inter / union
        }
    }

    /// The smallest box holding both.
    pub fn union(&self, other: &BBox) -> BBox {
        let x0 = self.x.min(other.x);
        let y0 = self.y.min(other.y);
        let x1 = self.right().max(other.right());
        let y1 = self.bottom().max(other.bottom());
        BBox::new(x0, y0, x1 - x0, y1 - y0)
    }

    /// True when the box lies inside a `width` × `height` image.
    pub fn inside(&self, width: u32, height: u32) -> bool {
        self.right() <= width && self.bottom() <= height
    }
}

//! Small SVG charts, written as text: line charts (the training curves of `run --out`,
//! the benchmark's epoch time against N) and a scatter plot (the embeddings projected
//! to 2-D by PCA, coloured by class or cluster). Every text is escaped, every number
//! finite, so the files are well-formed XML.

use std::fmt::Write;

/// Colours of series and classes, in order (matplotlib's tab10).
const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// The colour of nodes without a class.
const UNLABELLED: &str = "#c8c8c8";

/// Most points a scatter plot draws; above it, a seeded sample of this many.
pub const MAX_SCATTER_POINTS: usize = 5000;

/// `text` with `&`, `<`, `>`, `"` and `'` escaped for XML text and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// An axis: linear or base-10 logarithmic over `[lo, hi]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
}

impl Axis {
    /// A linear axis spanning `values` (with a little room), or [0, 1] without any.
    pub fn linear(values: impl IntoIterator<Item = f64>) -> Axis {
        let (lo, hi) = span(values.into_iter().filter(|v| v.is_finite()));
        let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5 };
        Axis {
            lo: lo - pad,
            hi: hi + pad,
            log: false,
        }
    }

    /// A log axis spanning the positive `values`, widened to whole decades.
    pub fn log10(values: impl IntoIterator<Item = f64>) -> Axis {
        let (lo, hi) = span(
            values
                .into_iter()
                .filter(|v| v.is_finite() && *v > 0.0)
                .map(f64::log10),
        );
        let (lo, hi) = (lo.floor(), hi.ceil().max(lo.floor() + 1.0));
        Axis { lo, hi, log: true }
    }

    /// Where `v` falls, 0 at `lo` and 1 at `hi`.
    fn fraction(&self, v: f64) -> f64 {
        let v = if self.log { v.max(1e-300).log10() } else { v };
        ((v - self.lo) / (self.hi - self.lo)).clamp(-0.05, 1.05)
    }

    /// Tick values and their labels.
    fn ticks(&self) -> Vec<(f64, String)> {
        if self.log {
            return (self.lo as i32..=self.hi as i32)
                .map(|d| (10f64.powi(d), format!("1e{d}")))
                .collect();
        }
        let step = nice_step((self.hi - self.lo) / 5.0);
        let first = (self.lo / step).ceil() as i64;
        let last = (self.hi / step).floor() as i64;
        (first..=last)
            .map(|k| {
                let v = k as f64 * step;
                (v, format_tick(v, step))
            })
            .collect()
    }
}

fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    if lo > hi {
        (0.0, 1.0)
    } else {
        (lo, hi)
    }
}

/// 1, 2 or 5 times a power of ten, near `raw`.
fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let m = raw / magnitude;
    magnitude
        * if m < 1.5 {
            1.0
        } else if m < 3.5 {
            2.0
        } else if m < 7.5 {
            5.0
        } else {
            10.0
        }
}

fn format_tick(v: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    format!("{v:.decimals$}")
}

/// A drawing area: `width × height` pixels with a plotting rectangle inside margins.
struct Frame {
    left: f64,
    top: f64,
    width: f64,
    height: f64,
}

impl Frame {
    fn x(&self, axis: &Axis, v: f64) -> f64 {
        self.left + axis.fraction(v) * self.width
    }

    fn y(&self, axis: &Axis, v: f64) -> f64 {
        self.top + (1.0 - axis.fraction(v)) * self.height
    }

    /// Grid lines, tick labels and axis titles.
    fn axes(&self, svg: &mut String, x: &Axis, y: &Axis, x_label: &str, y_label: &str) {
        let (bottom, right) = (self.top + self.height, self.left + self.width);
        for (v, label) in x.ticks() {
            let px = self.x(x, v);
            let _ = writeln!(
                svg,
                "<line x1=\"{px:.1}\" y1=\"{:.1}\" x2=\"{px:.1}\" y2=\"{bottom:.1}\" stroke=\"#ddd\"/>\
                 <text x=\"{px:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                self.top,
                bottom + 16.0,
                escape(&label)
            );
        }
        for (v, label) in y.ticks() {
            let py = self.y(y, v);
            let _ = writeln!(
                svg,
                "<line x1=\"{:.1}\" y1=\"{py:.1}\" x2=\"{right:.1}\" y2=\"{py:.1}\" stroke=\"#ddd\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                self.left,
                self.left - 6.0,
                py + 4.0,
                escape(&label)
            );
        }
        let _ = writeln!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"#888\"/>",
            self.left, self.top, self.width, self.height
        );
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            self.left + self.width / 2.0,
            bottom + 34.0,
            escape(x_label)
        );
        let (lx, ly) = (self.left - 48.0, self.top + self.height / 2.0);
        let _ = writeln!(
            svg,
            "<text x=\"{lx:.1}\" y=\"{ly:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 {lx:.1} {ly:.1})\">{}</text>",
            escape(y_label)
        );
    }
}

/// A named line of (x, y) points.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// The vertices, in order (non-finite ones are left out).
    pub points: Vec<(f64, f64)>,
}

/// A panel of a line chart: its series, axis titles and scales.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    /// The lines.
    pub series: Vec<Series>,
    /// Title of the x axis.
    pub x_label: String,
    /// Title of the y axis.
    pub y_label: String,
    /// Log scale on x.
    pub log_x: bool,
    /// Log scale on y.
    pub log_y: bool,
}

fn open(width: f64, height: f64, title: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <title>{t}</title>\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">{t}</text>\n",
        width / 2.0,
        t = escape(title)
    )
}

/// Line charts stacked vertically under one title, each series a `<polyline>` with one
/// vertex per finite point, and a `<circle>` on each vertex.
pub fn line_chart(title: &str, panels: &[Panel]) -> String {
    let (width, panel_height, margin) = (720.0, 300.0, 70.0);
    let height = 40.0 + panel_height * panels.len().max(1) as f64;
    let mut svg = open(width, height, title);
    for (p, panel) in panels.iter().enumerate() {
        let finite = |&&(x, y): &&(f64, f64)| x.is_finite() && y.is_finite();
        let all = || {
            panel
                .series
                .iter()
                .flat_map(|s| s.points.iter().filter(finite).copied())
        };
        let x = if panel.log_x {
            Axis::log10(all().map(|(x, _)| x))
        } else {
            Axis::linear(all().map(|(x, _)| x))
        };
        let y = if panel.log_y {
            Axis::log10(all().map(|(_, y)| y))
        } else {
            Axis::linear(all().map(|(_, y)| y))
        };
        let frame = Frame {
            left: margin,
            top: 40.0 + p as f64 * panel_height + 10.0,
            width: width - 2.0 * margin,
            height: panel_height - 70.0,
        };
        frame.axes(&mut svg, &x, &y, &panel.x_label, &panel.y_label);
        for (i, series) in panel.series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let vertices: Vec<(f64, f64)> = series
                .points
                .iter()
                .filter(finite)
                .map(|&(vx, vy)| (frame.x(&x, vx), frame.y(&y, vy)))
                .collect();
            let path: Vec<String> = vertices
                .iter()
                .map(|(px, py)| format!("{px:.1},{py:.1}"))
                .collect();
            let _ = writeln!(
                svg,
                "<polyline class=\"series\" data-name=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
                escape(&series.name),
                path.join(" ")
            );
            for (px, py) in &vertices {
                let _ = writeln!(
                    svg,
                    "<circle cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"2.5\" fill=\"{color}\"/>"
                );
            }
            let ly = frame.top + 14.0 + 16.0 * i as f64;
            let _ = writeln!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"12\" height=\"3\" fill=\"{color}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                frame.left + 10.0,
                ly,
                frame.left + 28.0,
                ly + 5.0,
                escape(&series.name)
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}

/// A scatter plot of 2-D points, one `<circle class="point">` each, coloured by
/// `groups` (`-1`: no group, grey); `names[g]` labels group g in the legend.
pub fn scatter(title: &str, points: &[(f64, f64)], groups: &[i32], names: &[String]) -> String {
    let (width, height, margin) = (720.0, 640.0, 70.0);
    let mut svg = open(width, height, title);
    let x = Axis::linear(points.iter().map(|p| p.0));
    let y = Axis::linear(points.iter().map(|p| p.1));
    let frame = Frame {
        left: margin,
        top: 40.0,
        width: width - 2.0 * margin - 90.0,
        height: height - 40.0 - margin,
    };
    frame.axes(
        &mut svg,
        &x,
        &y,
        "principal component 1",
        "principal component 2",
    );
    let color = |g: i32| {
        usize::try_from(g)
            .ok()
            .map_or(UNLABELLED, |g| PALETTE[g % PALETTE.len()])
    };
    for (&(px, py), &g) in points.iter().zip(groups) {
        let (px, py) = (frame.x(&x, px), frame.y(&y, py));
        let _ = writeln!(
            svg,
            "<circle class=\"point\" cx=\"{px:.1}\" cy=\"{py:.1}\" r=\"2\" fill=\"{}\" fill-opacity=\"0.7\"/>",
            color(g)
        );
    }
    let legend_x = frame.left + frame.width + 12.0;
    for (g, name) in names.iter().enumerate().take(20) {
        let ly = frame.top + 10.0 + 16.0 * g as f64;
        let _ = writeln!(
            svg,
            "<circle cx=\"{legend_x:.1}\" cy=\"{ly:.1}\" r=\"4\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            color(g as i32),
            legend_x + 10.0,
            ly + 4.0,
            escape(name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// The projection of `n × dim` points (row-major) onto their first two principal
/// components (centred; the covariance's eigenvectors by Jacobi rotations, in f64; each
/// component's sign fixed so that its largest coordinate is positive). Fewer than two
/// dimensions project onto what there is (a zero second coordinate).
pub fn pca_2d(values: &[f32], n: usize, dim: usize) -> Vec<(f64, f64)> {
    if n == 0 || dim == 0 || values.len() != n * dim {
        return Vec::new();
    }
    let mut mean = vec![0f64; dim];
    for row in values.chunks_exact(dim) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += f64::from(v);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut cov = vec![0f64; dim * dim];
    for row in values.chunks_exact(dim) {
        for a in 0..dim {
            let da = f64::from(row[a]) - mean[a];
            for b in a..dim {
                cov[a * dim + b] += da * (f64::from(row[b]) - mean[b]);
            }
        }
    }
    for a in 0..dim {
        for b in 0..a {
            cov[a * dim + b] = cov[b * dim + a];
        }
    }
    let (eigenvalues, vectors) = jacobi_eigen(cov, dim);
    let mut order: Vec<usize> = (0..dim).collect();
    order.sort_by(|&a, &b| eigenvalues[b].total_cmp(&eigenvalues[a]));
    let component = |k: usize| -> Vec<f64> {
        let Some(&c) = order.get(k) else {
            return vec![0.0; dim];
        };
        let mut v: Vec<f64> = (0..dim).map(|r| vectors[r * dim + c]).collect();
        let largest = v
            .iter()
            .copied()
            .max_by(|a, b| a.abs().total_cmp(&b.abs()))
            .unwrap_or(0.0);
        if largest < 0.0 {
            v.iter_mut().for_each(|x| *x = -*x);
        }
        v
    };
    let (c1, c2) = (component(0), component(1));
    values
        .chunks_exact(dim)
        .map(|row| {
            let mut p = (0.0, 0.0);
            for (j, &v) in row.iter().enumerate() {
                let d = f64::from(v) - mean[j];
                p.0 += d * c1[j];
                p.1 += d * c2[j];
            }
            p
        })
        .collect()
}

/// Eigenvalues and eigenvectors (columns of a row-major `dim × dim` matrix) of a
/// symmetric matrix, by cyclic Jacobi rotations.
fn jacobi_eigen(mut a: Vec<f64>, dim: usize) -> (Vec<f64>, Vec<f64>) {
    let mut v = vec![0f64; dim * dim];
    for i in 0..dim {
        v[i * dim + i] = 1.0;
    }
    for _sweep in 0..100 {
        let off: f64 = (0..dim)
            .flat_map(|p| (p + 1..dim).map(move |q| (p, q)))
            .map(|(p, q)| a[p * dim + q] * a[p * dim + q])
            .sum();
        let scale: f64 = (0..dim).map(|i| a[i * dim + i] * a[i * dim + i]).sum();
        if off <= 1e-24 * scale.max(f64::MIN_POSITIVE) {
            break;
        }
        crate::filters::svd::jacobi_sweep(&mut a, &mut v, dim);
    }
    ((0..dim).map(|i| a[i * dim + i]).collect(), v)
}

/// At most `cap` of `0..n`, ascending: all of them when `n ≤ cap`, else a seeded sample
/// (Floyd's algorithm), the same for the same `n`, `cap` and `seed`.
pub fn sample_indices(n: usize, cap: usize, seed: u64) -> Vec<usize> {
    use rand::{Rng, SeedableRng};
    if n <= cap {
        return (0..n).collect();
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut chosen = std::collections::BTreeSet::new();
    for j in n - cap..n {
        let t = rng.random_range(0..=j);
        if !chosen.insert(t) {
            chosen.insert(j);
        }
    }
    chosen.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("a<b & \"c\" 'd'>"),
            "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"
        );
        assert_eq!(escape("bell\u{7}"), "bell ");
    }

    #[test]
    fn pca_finds_the_direction_of_largest_spread() {
        // Points along (1, 1, 0), each twice, ±0.1 along (0, 0, 1): uncorrelated.
        let values: Vec<f32> = (0..50)
            .flat_map(|i| {
                let t = (i / 2) as f32 - 12.0;
                [t, t, if i % 2 == 0 { 0.1 } else { -0.1 }]
            })
            .collect();
        let p = pca_2d(&values, 50, 3);
        assert_eq!(p.len(), 50);
        for (i, &(a, b)) in p.iter().enumerate() {
            let t = ((i / 2) as f64 - 12.0) * 2f64.sqrt();
            assert!((a - t).abs() < 1e-5, "{i}: {a} vs {t}");
            assert!((b.abs() - 0.1).abs() < 1e-5, "{i}: {b}");
        }
        assert_eq!(pca_2d(&[1.0, 2.0], 2, 1), vec![(-0.5, 0.0), (0.5, 0.0)]);
    }

    #[test]
    fn samples_are_sorted_distinct_and_seeded() {
        let s = sample_indices(100, 10, 3);
        assert_eq!(s.len(), 10);
        assert!(s.windows(2).all(|w| w[0] < w[1]) && s[9] < 100);
        assert_eq!(s, sample_indices(100, 10, 3));
        assert_eq!(sample_indices(5, 10, 3), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn ticks_are_round_numbers() {
        let axis = Axis::linear([0.0, 1.0]);
        let ticks: Vec<String> = axis.ticks().into_iter().map(|t| t.1).collect();
        assert_eq!(ticks, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        let axis = Axis::log10([3.0, 2000.0]);
        let ticks: Vec<String> = axis.ticks().into_iter().map(|t| t.1).collect();
        assert_eq!(ticks, ["1e0", "1e1", "1e2", "1e3", "1e4"]);
    }
}

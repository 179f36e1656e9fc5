//! Charts drawn on the server as SVG with plotters: no JavaScript, printable, and each one
//! labelled for screen readers and followed on the page by the table of the same figures.

use maud::{Markup, PreEscaped};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One labelled pair of values: received and verified.
pub struct Bar {
    pub label: String,
    pub received: i64,
    pub verified: i64,
}

const RECEIVED: RGBColor = RGBColor(0x1f, 0x4e, 0x79);
const VERIFIED: RGBColor = RGBColor(0xb3, 0x4a, 0x00);
const FONT: &str = "sans-serif";

/// Makes plotters' SVG fit its container and names it for assistive technology.
fn finish(svg: String, id: &str, title: &str) -> Markup {
    let title = maud::html! { (title) }.into_string();
    let open_end = svg.find('>').unwrap_or(0);
    let (head, rest) = svg.split_at(open_end);
    let view_box = head
        .split("viewBox=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or("0 0 640 400");
    PreEscaped(format!(
        "<svg class=\"chart\" viewBox=\"{view_box}\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-labelledby=\"{id}\"><title id=\"{id}\">{title}</title>{}",
        rest.strip_prefix('>').unwrap_or(rest)
    ))
}

fn nice_max(v: i64) -> i64 {
    let v = v.max(4);
    let step = 10_i64.pow((v as f64).log10().floor() as u32);
    (v / step + 1) * step
}

/// Horizontal bars, one row per label: received, with verified drawn inside it.
pub fn bars(id: &str, title: &str, bars: &[Bar]) -> Markup {
    let rows = bars.len().max(1);
    let height = 60 + 26 * rows as u32;
    let max = nice_max(
        bars.iter()
            .map(|b| b.received.max(b.verified))
            .max()
            .unwrap_or(0),
    );
    let mut svg = String::new();
    let drawn = draw_bars(&mut svg, (720, height), max, bars);
    if drawn.is_err() {
        svg.clear();
    }
    finish(svg, id, title)
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn draw_bars(svg: &mut String, size: (u32, u32), max: i64, bars: &[Bar]) -> DrawResult {
    let root = SVGBackend::with_string(svg, size).into_drawing_area();
    root.fill(&WHITE)?;
    let n = bars.len().max(1) as i32;
    // Room for the longest label: Chinese characters are about one em wide.
    let longest = bars
        .iter()
        .map(|b| b.label.chars().count())
        .max()
        .unwrap_or(4) as u32;
    let mut chart = ChartBuilder::on(&root)
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size((14 * longest + 24).clamp(80, 360))
        .build_cartesian_2d(0i64..max, (0..n).into_segmented())?;
    // Segment 0 is at the bottom: the first bar goes on top, in the table's order.
    let row = |i: usize| (n as usize).saturating_sub(1 + i);
    let label_of = |v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i) if (0..n).contains(i) => bars
            .get(row(*i as usize))
            .map(|b| b.label.clone())
            .unwrap_or_default(),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(bars.len().max(1))
        .y_label_formatter(&label_of)
        .x_label_formatter(&|v| v.to_string())
        .label_style((FONT, 13))
        .light_line_style(RGBColor(0xe0, 0xe0, 0xe0))
        .draw()?;
    let at = |i: usize| SegmentValue::Exact(i as i32);
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            let i = row(i);
            let mut r = Rectangle::new([(0, at(i)), (b.received, at(i + 1))], RECEIVED.filled());
            r.set_margin(3, 3, 0, 0);
            r
        }))?
        .label("收到")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], RECEIVED.filled()));
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            let i = row(i);
            let mut r = Rectangle::new([(0, at(i)), (b.verified, at(i + 1))], VERIFIED.filled());
            r.set_margin(9, 9, 0, 0);
            r
        }))?
        .label("核实")
        .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], VERIFIED.filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FONT, 13))
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// Received and verified per month, as two lines with points.
pub fn trend(id: &str, title: &str, months: &[Bar]) -> Markup {
    let max = nice_max(
        months
            .iter()
            .map(|b| b.received.max(b.verified))
            .max()
            .unwrap_or(0),
    );
    let mut svg = String::new();
    if draw_trend(&mut svg, (720, 320), max, months).is_err() {
        svg.clear();
    }
    finish(svg, id, title)
}

fn draw_trend(svg: &mut String, size: (u32, u32), max: i64, months: &[Bar]) -> DrawResult {
    let root = SVGBackend::with_string(svg, size).into_drawing_area();
    root.fill(&WHITE)?;
    let n = months.len().max(1) as i32;
    let mut chart = ChartBuilder::on(&root)
        .margin(12)
        .x_label_area_size(32)
        .y_label_area_size(48)
        .build_cartesian_2d((0..n).into_segmented(), 0i64..max)?;
    let label_of = |v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i) => months
            .get(*i as usize)
            .map(|b| b.label.clone())
            .unwrap_or_default(),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(months.len().max(1))
        .x_label_formatter(&label_of)
        .x_label_style(
            TextStyle::from((FONT, 12).into_font()).pos(Pos::new(HPos::Center, VPos::Top)),
        )
        .y_label_formatter(&|v| v.to_string())
        .label_style((FONT, 13))
        .light_line_style(RGBColor(0xe0, 0xe0, 0xe0))
        .draw()?;
    let center = |i: usize| SegmentValue::CenterOf(i as i32);
    for (name, color, pick) in [
        ("收到", RECEIVED, (|b: &Bar| b.received) as fn(&Bar) -> i64),
        ("核实", VERIFIED, |b: &Bar| b.verified),
    ] {
        chart
            .draw_series(LineSeries::new(
                months.iter().enumerate().map(|(i, b)| (center(i), pick(b))),
                color.stroke_width(2),
            ))?
            .label(name)
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 14, y)], color.stroke_width(2)));
        chart.draw_series(
            months
                .iter()
                .enumerate()
                .map(|(i, b)| Circle::new((center(i), pick(b)), 3, color.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 13))
        .background_style(WHITE)
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_are_named_svg_without_inline_styles() {
        let data = vec![
            Bar {
                label: "西渡镇".into(),
                received: 12,
                verified: 5,
            },
            Bar {
                label: "<b>".into(),
                received: 0,
                verified: 0,
            },
        ];
        let s = bars("c1", "各乡镇 <收到>", &data).into_string();
        assert!(
            s.starts_with("<svg class=\"chart\" viewBox="),
            "{}",
            &s[..200]
        );
        assert!(s.contains("<title id=\"c1\">各乡镇 &lt;收到&gt;</title>"));
        assert!(s.contains("西渡镇"));
        assert!(!s.contains("<b>"), "labels are escaped");
        assert!(!s.contains("style="), "the CSP forbids inline styles");
        let t = trend("c2", "趋势", &data).into_string();
        assert!(t.contains("<polyline") || t.contains("<path"), "{t}");
    }
}

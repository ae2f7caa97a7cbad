//! SVG line charts of a run's timeline (plotters' SVG backend), inlined in the HTML report.

use plotters::element::DashedPathElement;
use plotters::prelude::*;

/// One line of a chart: a value per second of the run.
pub struct Series {
    pub label: String,
    pub color: RGBColor,
    /// Dashed, so that a line drawn over another of the same values (sent over answered) leaves it visible.
    pub dashed: bool,
    pub points: Vec<(u64, f64)>,
}

impl Series {
    pub fn solid(label: impl Into<String>, color: RGBColor, points: Vec<(u64, f64)>) -> Series {
        Series { label: label.into(), color, dashed: false, points }
    }

    pub fn dashed(label: impl Into<String>, color: RGBColor, points: Vec<(u64, f64)>) -> Series {
        Series { label: label.into(), color, dashed: true, points }
    }

    /// True when the series has something to show: a value other than zero.
    pub fn shows_anything(&self) -> bool {
        self.points.iter().any(|p| p.1 != 0.0)
    }
}

pub const BLUE_: RGBColor = RGBColor(31, 119, 180);
pub const ORANGE_: RGBColor = RGBColor(255, 127, 14);
pub const RED_: RGBColor = RGBColor(214, 39, 40);
pub const GREEN_: RGBColor = RGBColor(44, 160, 44);
pub const GREY_: RGBColor = RGBColor(120, 120, 120);
pub const PURPLE_: RGBColor = RGBColor(148, 103, 189);

/// At most this many labelled seconds on the x axis (plotters picks a round step that keeps under it).
const MAX_X_TICKS: u64 = 12;

/// A chart of `series` against the seconds `0..=x_max` of the run; `limit` draws a dashed horizontal line (e.g.
/// the 180 s window).
pub fn line_chart(title: &str, y_label: &str, x_max: u64, series: &[Series], limit: Option<(f64, &str)>) -> String {
    let mut svg = String::new();
    if let Err(e) = draw(&mut svg, title, y_label, x_max, series, limit) {
        return format!("<p>chart “{title}” could not be drawn: {e}</p>");
    }
    svg
}

fn draw(
    svg: &mut String,
    title: &str,
    y_label: &str,
    x_max: u64,
    series: &[Series],
    limit: Option<(f64, &str)>,
) -> Result<(), Box<dyn std::error::Error>> {
    let x_max = x_max.max(1);
    let y_data = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(0.0_f64, f64::max);
    let y_top = y_data.max(limit.map_or(0.0, |l| l.0));
    let y_max = if y_top > 0.0 { y_top * 1.1 } else { 1.0 };
    let root = SVGBackend::with_string(svg, (860, 300)).into_drawing_area();
    root.fill(&WHITE)?;
    // Whole seconds on an integer axis: each tick is a distinct second, never "0 0 1 1 2".
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0..x_max, 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc(y_label)
        .x_labels((x_max + 1).min(MAX_X_TICKS) as usize)
        .x_label_formatter(&|x| x.to_string())
        .y_label_formatter(&|y| number(*y))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for s in series {
        let style = s.color.stroke_width(2);
        let points = s.points.iter().copied();
        let drawn = match s.dashed {
            true => chart.draw_series(DashedLineSeries::new(points, 6, 4, style))?,
            false => chart.draw_series(LineSeries::new(points, style))?,
        };
        let dashed = s.dashed;
        drawn.label(&s.label).legend(move |(x, y)| legend_line(x, y, style, dashed));
    }
    if let Some((value, label)) = limit {
        let style = RED_.stroke_width(1);
        chart
            .draw_series(DashedLineSeries::new([(0, value), (x_max, value)], 6, 4, style))?
            .label(label)
            .legend(move |(x, y)| legend_line(x, y, style, true));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(GREY_).draw()?;
    root.present()?;
    Ok(())
}

/// A legend's sample of a line, dashed like it.
fn legend_line<DB: DrawingBackend>(
    x: i32,
    y: i32,
    style: ShapeStyle,
    dashed: bool,
) -> DynElement<'static, DB, (i32, i32)> {
    match dashed {
        true => DashedPathElement::new(vec![(x, y), (x + 18, y)], 4, 3, style).into_dyn(),
        false => PathElement::new(vec![(x, y), (x + 18, y)], style).into_dyn(),
    }
}

/// An axis label: whole numbers with thousands in k, small values with the decimals they need.
fn number(value: f64) -> String {
    match value.abs() {
        v if v >= 10_000.0 => format!("{:.0}k", value / 1000.0),
        v if v >= 10.0 || v == 0.0 => format!("{value:.0}"),
        v if v >= 1.0 => format!("{value:.1}"),
        _ => format!("{value:.2}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The x axis's tick labels: plotters centres them under their tick (the y axis's are right-aligned).
    fn x_ticks(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter(|t| t.contains("text-anchor=\"middle\""))
            .filter_map(|t| {
                t.split_once('>').and_then(|(_, rest)| rest.split_once("</text>")).map(|(text, _)| text.trim())
            })
            .filter(|text| text.parse::<f64>().is_ok())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn a_chart_is_an_svg_with_its_title_and_legend() {
        let svg = line_chart(
            "Backlog",
            "records",
            2,
            &[Series::solid("backlog", BLUE_, vec![(0, 5.0), (1, 3.0), (2, 0.0)])],
            Some((4.0, "limit")),
        );
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
        assert!(svg.contains("Backlog") && svg.contains("limit") && svg.contains("<polyline"));
    }

    #[test]
    fn x_ticks_are_distinct_whole_seconds_for_short_and_long_runs() {
        for x_max in [1, 2, 3, 7, 59, 600, 3599] {
            let points = (0..=x_max).map(|t| (t, t as f64)).collect();
            let svg = line_chart("t", "v", x_max, &[Series::solid("v", BLUE_, points)], None);
            let ticks = x_ticks(&svg);
            assert!(ticks.len() >= 2, "{x_max}: {ticks:?}");
            let seconds: Vec<u64> =
                ticks.iter().map(|t| t.parse().unwrap_or_else(|_| panic!("{t} is whole"))).collect();
            let mut distinct = seconds.clone();
            distinct.dedup();
            assert_eq!(distinct, seconds, "{x_max}: ticks repeat");
            assert!(seconds.len() as u64 <= MAX_X_TICKS, "{x_max}: {seconds:?}");
        }
    }
}

//! SVG line charts of a run's timeline (plotters' SVG backend), inlined in the HTML report.

use plotters::prelude::*;

/// One line of a chart.
pub struct Series<'a> {
    pub label: &'a str,
    pub color: RGBColor,
    pub points: Vec<(f64, f64)>,
}

pub const BLUE_: RGBColor = RGBColor(31, 119, 180);
pub const ORANGE_: RGBColor = RGBColor(255, 127, 14);
pub const RED_: RGBColor = RGBColor(214, 39, 40);
pub const GREEN_: RGBColor = RGBColor(44, 160, 44);
pub const GREY_: RGBColor = RGBColor(120, 120, 120);

/// A chart of `series` against seconds; `limit` draws a dashed horizontal line (e.g. the 180 s window).
pub fn line_chart(title: &str, y_label: &str, series: &[Series<'_>], limit: Option<(f64, &str)>) -> String {
    let mut svg = String::new();
    if let Err(e) = draw(&mut svg, title, y_label, series, limit) {
        return format!("<p>chart “{title}” could not be drawn: {e}</p>");
    }
    svg
}

fn draw(
    svg: &mut String,
    title: &str,
    y_label: &str,
    series: &[Series<'_>],
    limit: Option<(f64, &str)>,
) -> Result<(), Box<dyn std::error::Error>> {
    let x_max = series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).fold(1.0_f64, f64::max);
    let y_data = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(0.0_f64, f64::max);
    let y_top = y_data.max(limit.map_or(0.0, |l| l.0));
    let y_max = if y_top > 0.0 { y_top * 1.1 } else { 1.0 };
    let root = SVGBackend::with_string(svg, (860, 300)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc("seconds")
        .y_desc(y_label)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| number(*y))
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    for s in series {
        let color = s.color;
        chart
            .draw_series(LineSeries::new(s.points.iter().copied(), color.stroke_width(2)))?
            .label(s.label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)));
    }
    if let Some((value, label)) = limit {
        let dashes = (0..((x_max / (x_max / 60.0)) as usize)).map(|i| {
            let step = x_max / 60.0;
            PathElement::new(
                vec![(i as f64 * step, value), (i as f64 * step + step / 2.0, value)],
                RED_.stroke_width(1),
            )
        });
        chart.draw_series(dashes)?.label(label).legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], RED_));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(GREY_).draw()?;
    root.present()?;
    Ok(())
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

    #[test]
    fn a_chart_is_an_svg_with_its_title_and_legend() {
        let svg = line_chart(
            "Backlog",
            "records",
            &[Series { label: "backlog", color: BLUE_, points: vec![(0.0, 5.0), (1.0, 3.0), (2.0, 0.0)] }],
            Some((4.0, "limit")),
        );
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(200)]);
        assert!(svg.contains("Backlog") && svg.contains("limit") && svg.contains("<polyline"));
    }
}

//! The report writers: results.json has the documented fields, latency.hgrm is the classic
//! HdrHistogram format and parses back to the same distribution, latency.svg is well-formed XML
//! with the plot's elements (both curves, a legend, log-scale ticks, the targets, the rate), and
//! `loadgen plot` draws two runs on one plot.

use numpool_loadgen::report::{self, hgrm, RunMeta, Summary};
use numpool_loadgen::run::RunOutcome;
use numpool_loadgen::stats::{new_histogram, Counts};
use std::collections::BTreeMap;
use std::time::Duration;

fn outcome() -> RunOutcome {
    outcome_over(Duration::from_millis(6_250))
}

/// [`outcome`]'s requests, answered over `measured`.
fn outcome_over(measured: Duration) -> RunOutcome {
    let mut latency = new_histogram();
    let mut service = new_histogram();
    // 10,000 values: 100..=1099 µs ten times each, plus a 250 ms outlier in place of one.
    for i in 0..9_999u64 {
        latency.record(100 + i % 1_000).unwrap();
        service.record(50 + i % 500).unwrap();
    }
    latency.record(250_000).unwrap();
    service.record(900).unwrap();
    let mut errors = BTreeMap::new();
    errors.insert("REJECTED".to_string(), 7);
    errors.insert("timeout".to_string(), 2);
    RunOutcome {
        latency,
        service,
        counts: Counts {
            sent: 10_002,
            ok: 9_993,
            errors,
        },
        // The 5 s window's last reply came 1.25 s after it ended (a server that fell behind).
        measured,
        server_cpu: None,
    }
}

fn meta() -> RunMeta {
    RunMeta {
        addr: "127.0.0.1:7400".into(),
        targets: Vec::new(),
        mode: "pick".into(),
        pool: Some("main".into()),
        script_sha: None,
        connections: 4,
        pipeline: 32,
        loop_kind: "open".into(),
        duration_s: 5.0,
        warmup_s: 1.0,
        recipients: 100_000,
        zipf_s: 1.0,
        countries: vec!["GB".into(), "US".into()],
        timeout_s: 5.0,
        rng_seed: 1,
        receipts: 0.0,
        mps: None,
        burst: None,
    }
}

#[test]
fn files_are_written_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let out = outcome();
    let summary = Summary::new(meta(), Some(2_000.0), &out);
    let files = report::write_all(&dir.path().join("nested"), &summary, &out).unwrap();

    // results.json
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files.json).unwrap()).unwrap();
    assert_eq!(json["target_rate"], 2_000.0);
    // 9,993 ok + 7 REJECTED replies over the 6.25 s it took, not the 5 s window; the 2
    // timeouts got no reply. Below the 2,000/s target that the 10,000 requests would suggest.
    assert_eq!(json["achieved_rate"], 1_600.0);
    assert_eq!(json["measured_s"], 6.25);
    assert_eq!(json["config"]["duration_s"], 5.0);
    assert_eq!(json["requests"], 10_002);
    assert_eq!(json["ok"], 9_993);
    assert_eq!(json["error_total"], 9);
    assert_eq!(json["errors"]["REJECTED"], 7);
    assert_eq!(json["errors"]["timeout"], 2);
    assert_eq!(json["config"]["mode"], "pick");
    assert_eq!(json["config"]["connections"], 4);
    assert_eq!(json["config"]["countries"][1], "US");
    let lat = &json["latency_us"];
    for key in [
        "count", "min", "mean", "p50", "p90", "p99", "p999", "p9999", "max",
    ] {
        assert!(lat[key].is_number(), "latency_us.{key} missing");
    }
    assert_eq!(lat["count"], 10_000);
    let p50 = lat["p50"].as_u64().unwrap();
    assert!((595..=605).contains(&p50), "p50 {p50}");
    assert!(lat["max"].as_u64().unwrap() >= 250_000);
    assert!(json["service_time_us"]["max"].as_u64().unwrap() < 1_000);
    assert!(json["server_cpu"].is_null(), "no pid, no CPU figure");
    let back: Summary = serde_json::from_value(json).unwrap();
    assert_eq!(back, summary);

    // latency.hgrm
    let text = std::fs::read_to_string(&files.hgrm).unwrap();
    let first = text.lines().next().unwrap();
    assert_eq!(
        first.split_whitespace().collect::<Vec<_>>(),
        ["Value", "Percentile", "TotalCount", "1/(1-Percentile)"]
    );
    assert!(text.contains("#[Mean    ="), "footer");
    assert!(
        text.contains("Total count    =        10000]"),
        "footer count"
    );
    let rows = hgrm::parse(&text).unwrap();
    assert!(rows.len() > 30, "only {} rows", rows.len());
    assert_eq!(rows[0].percentile, 0.0);
    let last = rows.last().unwrap();
    assert_eq!(last.percentile, 1.0);
    assert_eq!(last.total_count, 10_000);
    assert!(
        (last.value - 250.0).abs() < 0.5,
        "max in ms: {}",
        last.value
    );
    for pair in rows.windows(2) {
        assert!(pair[1].percentile >= pair[0].percentile);
        assert!(pair[1].value >= pair[0].value);
        assert!(pair[1].total_count >= pair[0].total_count);
    }
    // Values are milliseconds: the median row is near 0.6 ms.
    let median = rows.iter().find(|r| r.percentile >= 0.5).unwrap();
    assert!((median.value - 0.6).abs() < 0.01, "median {}", median.value);
    // Rows with a fourth column carry 1/(1-p).
    let line = text
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("0.900000000000"))
        .expect("a 90% row");
    assert_eq!(line.split_whitespace().nth(3), Some("10.00"));

    // service.hgrm: the service-time distribution, same format.
    let service = hgrm::parse(&std::fs::read_to_string(&files.service_hgrm).unwrap()).unwrap();
    assert!((service.last().unwrap().value - 0.9).abs() < 0.01);

    // latency.svg
    let svg = std::fs::read_to_string(&files.svg).unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    for label in [
        "0%",
        "90%",
        "99%",
        "99.9%",
        "99.99%",
        "Percentile",
        "Latency (log scale)",
    ] {
        assert!(texts.contains(&label), "missing label {label}");
    }
    // The legend names both curves and both P4 targets (an open loop of picks).
    let legend = legend(&doc);
    assert_eq!(
        legend,
        [
            "corrected (from intended send time)",
            "service time (from actual send time)",
            "P4 target: corrected p99 ≤ 1 ms",
            "P4 target: corrected p99.9 ≤ 5 ms",
        ]
    );
    let title = doc
        .descendants()
        .find(|n| n.has_tag_name("title"))
        .and_then(|n| n.text())
        .unwrap();
    assert!(
        title.contains("pick")
            && title.contains("target 2000/s")
            && title.contains("achieved 1600/s"),
        "{title}"
    );
    // A log-scale axis: one labelled tick per decade from below the fastest service time
    // (0.05 ms) to above the outlier (250 ms).
    let ticks = y_ticks(&doc);
    let labels: Vec<&str> = ticks.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(
        labels,
        ["0.01 ms", "0.1 ms", "1 ms", "10 ms", "100 ms", "1 s"]
    );
    let gaps: Vec<f64> = ticks.windows(2).map(|w| w[0].1 - w[1].1).collect();
    for g in &gaps {
        assert!((g - gaps[0]).abs() < 0.2, "decades evenly spaced: {gaps:?}");
    }
    let y_of_tick = |label: &str| ticks.iter().find(|t| t.0 == label).unwrap().1;

    let curves = curves(&doc);
    assert_eq!(curves.len(), 2, "corrected and service time");
    let (corrected, service_points) = (&curves[0], &curves[1]);
    assert_eq!(corrected.len(), rows.len());
    assert_eq!(service_points.len(), service.len());
    for points in &curves {
        for (x, y) in points {
            assert!(
                (0.0..=800.0).contains(x) && (0.0..=500.0).contains(y),
                "({x},{y}) off canvas"
            );
        }
        for pair in points.windows(2) {
            // Left to right, and never down (SVG y grows downwards).
            assert!(pair[1].0 >= pair[0].0 && pair[1].1 <= pair[0].1, "{pair:?}");
        }
    }
    // The 0.6 ms median sits between the 0.1 ms and 1 ms ticks, not on the floor; the 250 ms
    // outlier between 100 ms and 1 s.
    let median_y = corrected[rows.iter().position(|r| r.percentile >= 0.5).unwrap()].1;
    assert!(
        y_of_tick("1 ms") < median_y && median_y < y_of_tick("0.1 ms"),
        "median at y={median_y}"
    );
    let top = corrected.iter().map(|p| p.1).fold(f64::MAX, f64::min);
    assert!(
        y_of_tick("1 s") < top && top < y_of_tick("100 ms"),
        "max at y={top}"
    );
    // The target lines: at 1 ms and (between 1 and 10 ms) at 5 ms.
    let lines = target_lines(&doc);
    assert_eq!(lines.len(), 2);
    assert!((lines[0] - y_of_tick("1 ms")).abs() < 0.2, "{lines:?}");
    assert!(y_of_tick("10 ms") < lines[1] && lines[1] < y_of_tick("1 ms"));
}

/// The legend's texts, in order.
fn legend<'a>(doc: &'a roxmltree::Document<'_>) -> Vec<&'a str> {
    let g = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("legend"))
        .expect("a legend");
    g.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect()
}

/// The y axis's labels and their y, top to bottom.
fn y_ticks(doc: &roxmltree::Document<'_>) -> Vec<(String, f64)> {
    let mut ticks: Vec<(String, f64)> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("ytick"))
        .map(|n| {
            let y: f64 = n.attribute("y").unwrap().parse().unwrap();
            // The label is drawn 4 px below its gridline.
            (n.text().unwrap().to_string(), y - 4.0)
        })
        .collect();
    ticks.sort_by(|a, b| b.1.total_cmp(&a.1));
    ticks
}

/// Every curve's points.
fn curves(doc: &roxmltree::Document<'_>) -> Vec<Vec<(f64, f64)>> {
    doc.descendants()
        .filter(|n| n.has_tag_name("polyline") && n.attribute("class") == Some("curve"))
        .map(|n| {
            n.attribute("points")
                .unwrap()
                .split_whitespace()
                .map(|p| {
                    let (x, y) = p.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect()
        })
        .collect()
}

/// The y of each target line, in order.
fn target_lines(doc: &roxmltree::Document<'_>) -> Vec<f64> {
    doc.descendants()
        .filter(|n| n.attribute("class") == Some("target"))
        .map(|g| {
            let line = g.children().find(|c| c.has_tag_name("line")).unwrap();
            line.attribute("y1").unwrap().parse().unwrap()
        })
        .collect()
}

/// A closed loop (saturation) has no latency target in DESIGN §8, so none is drawn.
#[test]
fn closed_loop_plots_have_no_target_lines() {
    let dir = tempfile::tempdir().unwrap();
    let out = outcome();
    let mut m = meta();
    m.loop_kind = "closed".into();
    let summary = Summary::new(m, None, &out);
    let files = report::write_all(dir.path(), &summary, &out).unwrap();
    let svg = std::fs::read_to_string(&files.svg).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert!(target_lines(&doc).is_empty());
    assert_eq!(legend(&doc).len(), 2);
    let title = doc.descendants().find(|n| n.has_tag_name("title")).unwrap();
    assert!(title.text().unwrap().contains("max · achieved 1600/s"));
}

/// `loadgen compare` (alias of `plot`) reads two run directories and draws both.
#[test]
fn compare_draws_both_runs_on_one_plot() {
    let dir = tempfile::tempdir().unwrap();
    let a = outcome();
    report::write_all(
        &dir.path().join("numpool"),
        &Summary::new(meta(), Some(2_000.0), &a),
        &a,
    )
    .unwrap();
    // The same requests over twice the time: half the rate.
    let b = outcome_over(Duration::from_millis(12_500));
    let mut m = meta();
    m.mode = "evalsha".into();
    report::write_all(
        &dir.path().join("redis"),
        &Summary::new(m, Some(2_000.0), &b),
        &b,
    )
    .unwrap();

    let svg_path = dir.path().join("plots/compare.svg");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .arg("compare")
        .arg(dir.path().join("numpool"))
        .arg(dir.path().join("redis/results.json"))
        .args(["--label", "numpool", "--label", "Redis + Lua", "--out"])
        .arg(&svg_path)
        .status()
        .unwrap();
    assert!(status.success());
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    assert_eq!(
        legend(&doc),
        [
            "numpool: corrected (from intended send time)",
            "numpool: service time (from actual send time)",
            "Redis + Lua: corrected (from intended send time)",
            "Redis + Lua: service time (from actual send time)",
            "P4 target: corrected p99 ≤ 1 ms",
            "P4 target: corrected p99.9 ≤ 5 ms",
        ]
    );
    let curves = curves(&doc);
    assert_eq!(curves.len(), 4);
    let colors: Vec<&str> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("curve"))
        .map(|n| n.attribute("stroke").unwrap())
        .collect();
    assert_eq!(colors[0], colors[1]);
    assert_ne!(colors[0], colors[2]);
    let title = doc.descendants().find(|n| n.has_tag_name("title")).unwrap();
    assert_eq!(
        title.text().unwrap(),
        "numpool 1600/s vs Redis + Lua 800/s (2.00×)"
    );

    // Without labels, the directories' names; a missing run is an error.
    let runs = [
        report::PlottedRun::load(&dir.path().join("numpool"), None).unwrap(),
        report::PlottedRun::load(&dir.path().join("redis"), None).unwrap(),
    ];
    assert!(report::plot(&runs).contains("numpool 1600/s vs redis 800/s"));
    assert!(report::PlottedRun::load(&dir.path().join("nothing"), None).is_err());
}

#[test]
fn an_empty_run_still_writes_valid_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = RunOutcome {
        latency: new_histogram(),
        service: new_histogram(),
        counts: Counts::default(),
        measured: Duration::from_secs(1),
        server_cpu: None,
    };
    let summary = Summary::new(meta(), None, &out);
    let files = report::write_all(dir.path(), &summary, &out).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&files.json).unwrap()).unwrap();
    assert!(json["target_rate"].is_null());
    assert_eq!(json["latency_us"]["count"], 0);
    assert!(hgrm::parse(&std::fs::read_to_string(&files.hgrm).unwrap())
        .unwrap()
        .is_empty());
    roxmltree::Document::parse(&std::fs::read_to_string(&files.svg).unwrap()).unwrap();
    let table = report::table::render(&summary);
    assert!(
        table.contains("target rate") && table.contains("max"),
        "{table}"
    );
}

#[test]
fn the_table_shows_rates_errors_and_percentiles() {
    let out = outcome();
    let table = report::table::render(&Summary::new(meta(), Some(2_000.0), &out));
    for needle in [
        "target rate            2000/s",
        "achieved rate          1600/s",
        "REJECTED             7",
        "timeout              2",
        "p99.9",
        "250.",
    ] {
        assert!(table.contains(needle), "missing {needle:?} in\n{table}");
    }
}

#[test]
fn garbage_is_not_a_distribution() {
    assert!(hgrm::parse("       Value     Percentile\n\n  1.0 0.5 abc\n").is_err());
    assert!(hgrm::parse("1 2\n").is_err());
}

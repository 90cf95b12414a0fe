//! The table printed at the end of a run.

use super::Summary;
use crate::stats::format_micros;
use std::fmt::Write;

/// The summary as a human-readable table.
pub fn render(s: &Summary) -> String {
    let mut t = String::new();
    let c = &s.config;
    let against = match c.targets.as_slice() {
        [] => c.addr.clone(),
        targets => targets.join(", "),
    };
    let _ = writeln!(
        t,
        "{} against {against} · {} connections × pipeline {} · {} loop · {:.0}s measured after {:.0}s warmup",
        c.mode, c.connections, c.pipeline, c.loop_kind, c.duration_s, c.warmup_s
    );
    let target = match s.target_rate {
        Some(r) => format!("{r:.0}/s"),
        None => "max".to_string(),
    };
    let _ = writeln!(t, "  {:<22} {}", "target rate", target);
    let _ = writeln!(t, "  {:<22} {:.0}/s", "achieved rate", s.achieved_rate);
    let _ = writeln!(t, "  {:<22} {}", "requests", s.requests);
    let _ = writeln!(t, "  {:<22} {}", "ok", s.ok);
    let _ = writeln!(t, "  {:<22} {}", "errors", s.error_total);
    for (kind, n) in &s.errors {
        let _ = writeln!(t, "    {kind:<20} {n}");
    }
    let _ = writeln!(
        t,
        "  {:<22} {:>10} {:>10}",
        "latency", "corrected", "service"
    );
    let (l, v) = (&s.latency_us, &s.service_time_us);
    for (name, a, b) in [
        ("p50", l.p50, v.p50),
        ("p90", l.p90, v.p90),
        ("p99", l.p99, v.p99),
        ("p99.9", l.p999, v.p999),
        ("max", l.max, v.max),
    ] {
        let _ = writeln!(
            t,
            "    {name:<20} {:>10} {:>10}",
            format_micros(a),
            format_micros(b)
        );
    }
    if let Some(recheck) = &s.recheck {
        let _ = writeln!(
            t,
            "  {:<22} {} of {} recipients asked again on each of {} sidecars ({} answered with an error)",
            "disagreements",
            recheck.disagreements,
            recheck.recipients,
            c.targets.len(),
            recheck.errors
        );
    }
    if let Some(cpu) = &s.server_cpu {
        let per_request = match cpu.us_per_request {
            Some(us) => format!("{us:.2} µs/request"),
            None => "- (no replies)".to_string(),
        };
        let _ = writeln!(
            t,
            "  {:<22} {per_request}  (pid {}: {:.2} s user+system, {:.2} cores over {:.1} s, {} replies)",
            "server cpu",
            cpu.pid,
            cpu.cpu_s,
            cpu.cpu_s / s.measured_s,
            s.measured_s,
            cpu.requests
        );
        let _ = writeln!(
            t,
            "    {:<20} {:>8} {:>10} {:>7}",
            "thread", "tid", "cpu", "share"
        );
        for th in &cpu.threads {
            let _ = writeln!(
                t,
                "    {:<20} {:>8} {:>9.2}s {:>6.1}%",
                th.name,
                th.tid,
                th.cpu_s,
                th.share * 100.0
            );
        }
    }
    t
}

//! (6) Codec: encode/decode throughput of each endpoint's largest payload, read from the results of the
//! criterion benchmark `cargo bench -p wecom-groupchat --bench codec`
//! (`<criterion dir>/codec/<id>/new/{benchmark,estimates}.json`). `cargo xtask bench` empties the
//! criterion directory (`target/bench/criterion`, criterion's `CRITERION_HOME`) before that run, so
//! every result in it is one this run made: none of a payload since renamed or of an earlier run.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

/// One payload: an endpoint's request or response.
#[derive(Debug, Clone, PartialEq)]
pub struct CodecRow {
    /// Endpoint name.
    pub endpoint: String,
    /// `request` or `response`.
    pub side: String,
    /// Size of the JSON.
    pub bytes: u64,
    /// Decoding, MB/s (10^6 bytes), from criterion's median time.
    pub decode_mb_s: Option<f64>,
    /// Encoding, MB/s.
    pub encode_mb_s: Option<f64>,
}

/// Reads every `codec` result under `criterion_dir`, which must hold the results of one criterion run
/// only (see the module's documentation).
pub fn read(criterion_dir: &Path) -> Result<Vec<CodecRow>, String> {
    let group = criterion_dir.join("codec");
    let entries = std::fs::read_dir(&group).map_err(|e| {
        format!("no codec results in {} ({e}); run `cargo bench -p wecom-groupchat --bench codec`", group.display())
    })?;
    let mut rows: BTreeMap<(String, String), CodecRow> = BTreeMap::new();
    for entry in entries.flatten() {
        let dir = entry.path().join("new");
        let (Ok(benchmark), Ok(estimates)) =
            (std::fs::read_to_string(dir.join("benchmark.json")), std::fs::read_to_string(dir.join("estimates.json")))
        else {
            continue;
        };
        let Some((id, bytes, median_ns)) = parse(&benchmark, &estimates) else { continue };
        // "get.response/decode"
        let Some((payload, op)) = id.split_once('/') else { continue };
        let Some((endpoint, side)) = payload.split_once('.') else { continue };
        let row = rows.entry((endpoint.to_string(), side.to_string())).or_insert_with(|| CodecRow {
            endpoint: endpoint.to_string(),
            side: side.to_string(),
            bytes,
            decode_mb_s: None,
            encode_mb_s: None,
        });
        let mb_s = bytes as f64 * 1e3 / median_ns;
        match op {
            "decode" => row.decode_mb_s = Some(mb_s),
            "encode" => row.encode_mb_s = Some(mb_s),
            _ => {}
        }
    }
    if rows.is_empty() {
        return Err(format!("no codec results in {}", group.display()));
    }
    let mut rows: Vec<CodecRow> = rows.into_values().collect();
    rows.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.endpoint.cmp(&b.endpoint)));
    Ok(rows)
}

/// (function id, bytes per iteration, median ns per iteration).
fn parse(benchmark: &str, estimates: &str) -> Option<(String, u64, f64)> {
    let benchmark: Value = serde_json::from_str(benchmark).ok()?;
    let estimates: Value = serde_json::from_str(estimates).ok()?;
    let id = benchmark["function_id"].as_str()?.to_string();
    let bytes = benchmark["throughput"]["Bytes"].as_u64()?;
    let median = estimates["median"]["point_estimate"].as_f64()?;
    (median > 0.0).then_some((id, bytes, median))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_criterion_results() {
        let dir = std::env::temp_dir().join(format!("wecom-bench-codec-{}", std::process::id()));
        for (name, id, ns) in [
            ("get.response_decode", "get.response/decode", 200_000.0),
            ("get.response_encode", "get.response/encode", 100_000.0),
        ] {
            let new = dir.join("codec").join(name).join("new");
            std::fs::create_dir_all(&new).unwrap();
            let benchmark =
                serde_json::json!({"group_id": "codec", "function_id": id, "throughput": {"Bytes": 100_000}});
            std::fs::write(new.join("benchmark.json"), benchmark.to_string()).unwrap();
            let estimates = serde_json::json!({"median": {"point_estimate": ns}});
            std::fs::write(new.join("estimates.json"), estimates.to_string()).unwrap();
        }
        let rows = read(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].endpoint.as_str(), rows[0].side.as_str(), rows[0].bytes), ("get", "response", 100_000));
        assert_eq!((rows[0].decode_mb_s, rows[0].encode_mb_s), (Some(500.0), Some(1000.0)));
        assert!(read(Path::new("/nonexistent")).is_err());
    }
}

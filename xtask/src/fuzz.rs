//! `cargo xtask fuzz` runs the cargo-fuzz targets of `fuzz/`; `cargo xtask fuzz-corpus` writes their seeds.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// The targets of `fuzz/fuzz_targets/`, in the order `cargo xtask fuzz` runs them.
const TARGETS: [&str; 6] = ["response", "spec", "cli_body", "event", "envelope", "decrypt"];

/// `cargo xtask fuzz [--seconds N] [--target NAME]`.
pub(crate) fn run(root: &Path, args: &[&str]) -> ExitCode {
    let mut seconds: u64 = 60;
    let mut only: Option<String> = None;
    let mut rest = args.iter();
    while let Some(&arg) = rest.next() {
        let (key, value) = match arg.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (arg, None),
        };
        let mut value = || value.clone().or_else(|| rest.next().map(|v| v.to_string()));
        match key {
            "--seconds" => match value().and_then(|v| v.parse::<u64>().ok()).filter(|&n| n > 0) {
                Some(n) => seconds = n,
                None => return crate::usage_error("--seconds needs a positive number"),
            },
            "--target" => match value() {
                Some(t) if TARGETS.contains(&t.as_str()) => only = Some(t),
                Some(t) => {
                    return crate::usage_error(&format!("unknown fuzz target `{t}` (targets: {})", TARGETS.join(", ")));
                }
                None => return crate::usage_error("--target needs a name"),
            },
            _ => return crate::usage_error(&format!("unknown argument `{arg}`")),
        }
    }
    let toolchain = match check_tools(root) {
        Ok(toolchain) => toolchain,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };

    let targets: Vec<&str> = TARGETS.iter().copied().filter(|t| only.as_deref().is_none_or(|o| o == *t)).collect();
    let mut failed = Vec::new();
    for target in &targets {
        eprintln!("\n== fuzz {target} for {seconds} s");
        let artifacts = root.join("fuzz/artifacts").join(target);
        // An input found again keeps its name (its hash) but is written anew: new is what changed from here on.
        let started = std::time::SystemTime::now() - std::time::Duration::from_secs(1);
        // libFuzzer adds what it finds to its first corpus directory: a scratch one (git-ignored), so that the
        // committed seeds of fuzz/corpus/ stay the few files `fuzz-corpus` writes.
        let learned = format!("fuzz/target/corpus/{target}");
        if let Err(e) = std::fs::create_dir_all(root.join(&learned)) {
            eprintln!("error: cannot create {learned}: {e}");
            return ExitCode::FAILURE;
        }
        let mut command = fuzz_cargo(root, toolchain);
        command
            .args(["fuzz", "run", "--target-dir", "fuzz/target", target, &learned])
            .arg(format!("fuzz/corpus/{target}"))
            .args(["--", &format!("-max_total_time={seconds}"), "-timeout=10", "-rss_limit_mb=2048"])
            .arg("-print_final_stats=1");
        let dict = format!("fuzz/dict/{target}.dict");
        if root.join(&dict).is_file() {
            command.arg(format!("-dict={dict}"));
        }
        if crate::run(&mut command) {
            continue;
        }
        let found: Vec<PathBuf> = files_in(&artifacts)
            .into_iter()
            .filter(|p| std::fs::metadata(p).and_then(|m| m.modified()).is_ok_and(|t| t >= started))
            .collect();
        if found.is_empty() {
            eprintln!("error: fuzz target `{target}` failed without leaving a crash input (see its output above)");
        } else {
            for path in &found {
                let shown = path.strip_prefix(root).unwrap_or(path).display().to_string();
                eprintln!("error: fuzz target `{target}` crashed; input saved in {shown}");
                eprintln!("       reproduce: cargo +nightly fuzz run --target-dir fuzz/target {target} {shown}");
            }
        }
        failed.push(*target);
    }
    if failed.is_empty() {
        eprintln!("\nfuzzing: {} target(s), {seconds} s each, no crash", targets.len());
        ExitCode::SUCCESS
    } else {
        eprintln!("\nerror: fuzzing found crashes in: {}", failed.join(", "));
        ExitCode::FAILURE
    }
}

/// The toolchain the fuzz crate builds with.
#[derive(Debug, Clone, Copy)]
enum Toolchain {
    /// `cargo +nightly`.
    Nightly,
    /// The default toolchain with `RUSTC_BOOTSTRAP=1` (it then takes cargo-fuzz's `-Z` flags), where no
    /// nightly is installed.
    Bootstrapped,
}

/// `cargo` for the fuzz crate, run from the workspace root, with what the `cargo xtask` around it set taken
/// away: its toolchain and target directory are not the fuzz crate's (which builds in `fuzz/target`).
fn fuzz_cargo(root: &Path, toolchain: Toolchain) -> Command {
    let mut command = Command::new("cargo");
    command.current_dir(root);
    for var in
        ["CARGO", "RUSTC", "RUSTDOC", "RUSTUP_TOOLCHAIN", "CARGO_TARGET_DIR", "RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"]
    {
        command.env_remove(var);
    }
    match toolchain {
        Toolchain::Nightly => {
            command.arg("+nightly");
        }
        Toolchain::Bootstrapped => {
            command.env("RUSTC_BOOTSTRAP", "1");
        }
    }
    command
}

/// Nightly (or the default toolchain, bootstrapped) and cargo-fuzz are there, or how to get them.
fn check_tools(root: &Path) -> Result<Toolchain, String> {
    let works = |toolchain: Toolchain, args: &[&str]| {
        fuzz_cargo(root, toolchain)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let toolchain = if works(Toolchain::Nightly, &["--version"]) {
        Toolchain::Nightly
    } else {
        eprintln!(
            "note: no nightly toolchain (`rustup toolchain install nightly --profile minimal`): building the fuzz \
             targets with the default one and RUSTC_BOOTSTRAP=1"
        );
        Toolchain::Bootstrapped
    };
    if !works(toolchain, &["fuzz", "--version"]) {
        return Err("cargo-fuzz is missing: install it with `cargo install cargo-fuzz`".into());
    }
    Ok(toolchain)
}

fn files_in(dir: &Path) -> BTreeSet<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect())
        .unwrap_or_default()
}

/// `cargo xtask fuzz-corpus`: the seeds of every target — from the spec, and for the callback targets the
/// official sample and sealed events ([`crate::callback_seeds`]). Files are named after what they hold, so
/// regenerating changes nothing unless the spec (or the seed list) did; a seed whose example is gone is
/// removed, and any other file (a crash input kept as a regression seed) is left alone.
pub(crate) fn corpus(root: &Path) -> ExitCode {
    let spec_dir = root.join("api-spec");
    let api = match codegen::load(&spec_dir, "api-spec") {
        Ok(api) => api,
        Err(errors) => {
            eprintln!("error: the spec has {} problem(s):\n{errors}", errors.0.len());
            return ExitCode::FAILURE;
        }
    };
    let endpoint_files = match yaml_files(&spec_dir.join("endpoints")) {
        Ok(files) => files,
        Err(e) => {
            eprintln!("error: cannot list api-spec/endpoints: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(message) = check_spec_target(root, &endpoint_files) {
        eprintln!("error: {message}");
        return ExitCode::FAILURE;
    }

    // The selector bytes: endpoints by their index in `endpoints::ALL`, which lists them sorted by name as the
    // model does; spec files as `fuzz_targets/spec.rs` lists them (api, types, errors, then the endpoints).
    let mut response = Vec::new();
    let mut request = Vec::new();
    for (i, ep) in api.endpoints.iter().enumerate() {
        let Ok(selector) = u8::try_from(i) else {
            eprintln!("error: more than 256 endpoints: the fuzz targets' selector byte cannot reach `{}`", ep.name);
            return ExitCode::FAILURE;
        };
        for (n, example) in ep.examples.iter().enumerate() {
            if let Some(body) = &example.response {
                // The second byte chooses HTTP 200.
                response.push((format!("{}-{n}-response", ep.name), seed(&[selector, 0], body)));
            }
            if let Some(body) = &example.request {
                request.push((format!("{}-{n}-request", ep.name), seed(&[selector], body)));
            }
        }
    }
    // Event seeds: every documented message of every event, as the receiver reads it after decryption.
    let event: Vec<(String, Vec<u8>)> = api
        .events
        .events
        .iter()
        .flat_map(|e| e.examples.iter().map(move |x| (format!("{}-{}.xml", e.name, x.name), x.xml.as_bytes().to_vec())))
        .collect();
    let mut spec = Vec::new();
    let fixed = ["api.yaml", "types.yaml", "errors.yaml"].map(PathBuf::from);
    let all = fixed.iter().cloned().chain(endpoint_files.iter().map(|f| Path::new("endpoints").join(f)));
    for (i, rel) in all.enumerate() {
        let text = match std::fs::read(spec_dir.join(&rel)) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("error: cannot read api-spec/{}: {e}", rel.display());
                return ExitCode::FAILURE;
            }
        };
        let mut bytes = vec![i as u8];
        bytes.extend(text);
        spec.push((rel.display().to_string().replace('/', "-"), bytes));
    }

    let envelope = match crate::callback_seeds::envelope(root) {
        Ok(seeds) => seeds,
        Err(message) => {
            eprintln!("error: the envelope seeds: {message}");
            return ExitCode::FAILURE;
        }
    };
    let decrypt = crate::callback_seeds::decrypt();

    let mut changed = 0;
    match write_dicts(root, &api) {
        Ok(n) => changed += n,
        Err(e) => {
            eprintln!("error: cannot write fuzz/dict/: {e}");
            return ExitCode::FAILURE;
        }
    }
    let callback = crate::callback_seeds::SUFFIX;
    for (target, seeds, generated) in [
        ("response", &response, "-response"),
        ("cli_body", &request, "-request"),
        ("spec", &spec, ".yaml"),
        ("event", &event, ".xml"),
        ("envelope", &envelope, callback),
        ("decrypt", &decrypt, callback),
    ] {
        match write_seeds(&root.join("fuzz/corpus").join(target), seeds, generated) {
            Ok(n) => {
                changed += n;
                println!("fuzz/corpus/{target}: {} seed(s), {n} changed", seeds.len());
            }
            Err(e) => {
                eprintln!("error: cannot write fuzz/corpus/{target}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if changed > 0 {
        println!("{changed} file(s) written or removed");
    }
    ExitCode::SUCCESS
}

/// Keys of the spec's YAML files (the fields of `codegen::spec`), for the `spec` target's dictionary.
#[rustfmt::skip]
const SPEC_KEYS: &[&str] = &[
    "name", "title", "base_url", "auth", "query_param", "token_endpoint", "method", "path", "doc_url", "envelope",
    "code", "message", "rate_limit", "per_minute", "per_hour", "day_utc_offset_hours", "enums", "structs", "doc",
    "values", "value", "fields", "rules", "rust_name", "type", "required", "default", "constraints", "min_items",
    "max_items", "min", "max", "min_chars", "max_chars", "truncated_chars", "days_ago", "each", "errcode",
    "day_span", "begin", "end", "max_days", "summary", "summary_en", "description", "retry", "paging", "bulk",
    "windows", "request", "response", "examples", "style", "cursor", "next", "items", "offset", "total", "limit",
    "split", "failures", "key", "owners", "errors", "zh", "en",
];

/// Words that have broken generators: keywords, names the generated code uses itself, extreme numbers, and
/// the spec's own vocabulary of types, styles and retry classes.
#[rustfmt::skip]
const SPEC_WORDS: &[&str] = &[
    "Self", "self", "type", "match", "crate", "super", "gen", "r#type", "Unknown", "extra", "new", "1A", "_", "-1",
    "0", "9223372036854775807", "-9223372036854775808", "string", "int", "bool", "timestamp", "day", "array<",
    "array<string>", ">", "GET", "POST", "read", "write", "backoff", "refresh", "later", "none", "cursor", "offset",
    "true", "false", "null", "~", "```", "https://", "\r", "\n  - ", ": ", "{ ", " }", "[", "]", "'", "\"", "|\n",
];

/// Numbers at the edges of what the library computes with: the integer extremes, the first and last Unix
/// second the `time` crate can hold, floats past `f64`, a negative zero.
#[rustfmt::skip]
const JSON_NUMBERS: &[&str] = &[
    "9223372036854775807", "-9223372036854775808", "18446744073709551615", "253402300799", "-377705116800", "1e308",
    "1e400", "-0", "0.5", "86400",
];

/// `fuzz/dict/<target>.dict`: libFuzzer dictionaries — the JSON field names of every request and response
/// and numbers at the edges for `response` and `cli_body`, the spec's keys, type names and troublesome words
/// for `spec`, markup and query words for `envelope`.
fn write_dicts(root: &Path, api: &codegen::model::Api) -> std::io::Result<usize> {
    let dir = root.join("fuzz/dict");
    std::fs::create_dir_all(&dir)?;
    let quoted = |word: &str| {
        let mut out = String::from("\"");
        for b in word.bytes() {
            match b {
                b'"' | b'\\' => out.push_str(&format!("\\{}", b as char)),
                0x20..=0x7e => out.push(b as char),
                _ => out.push_str(&format!("\\x{b:02X}")),
            }
        }
        out.push('"');
        out
    };
    let mut json_keys: BTreeSet<String> = [&api.envelope_code, &api.envelope_message].into_iter().cloned().collect();
    json_keys.extend(api.structs.iter().flat_map(|s| s.fields.iter().map(|f| f.json_name.clone())));
    let mut json: Vec<String> = json_keys.iter().map(|k| quoted(&format!("\"{k}\":"))).collect();
    json.extend(JSON_NUMBERS.iter().map(|n| quoted(n)));
    let mut spec_words: BTreeSet<String> = SPEC_KEYS.iter().map(|k| format!("{k}: ")).collect();
    spec_words.extend(SPEC_WORDS.iter().map(|w| w.to_string()));
    spec_words.extend(api.structs.iter().map(|s| s.name.clone()));
    spec_words.extend(api.enums.iter().map(|e| e.name.clone()));
    spec_words.extend(json_keys.iter().cloned());
    let spec: Vec<String> = spec_words.iter().map(|w| quoted(w)).collect();
    let envelope: Vec<String> = crate::callback_seeds::ENVELOPE_WORDS.iter().map(|w| quoted(w)).collect();
    let mut changed = 0;
    for (target, words) in [("response", &json), ("cli_body", &json), ("spec", &spec), ("envelope", &envelope)] {
        let text = format!(
            "# libFuzzer dictionary of the `{target}` target, written by `cargo xtask fuzz-corpus`.\n{}\n",
            words.join("\n")
        );
        let path = dir.join(format!("{target}.dict"));
        if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            std::fs::write(&path, text)?;
            changed += 1;
        }
    }
    Ok(changed)
}

fn seed(prefix: &[u8], body: &serde_json::Value) -> Vec<u8> {
    let mut bytes = prefix.to_vec();
    bytes.extend(serde_json::to_vec(body).unwrap_or_default());
    bytes
}

/// Writes the seeds that differ and removes generated ones (names ending in `generated`) that are no
/// longer; returns how many files changed.
fn write_seeds(dir: &Path, seeds: &[(String, Vec<u8>)], generated: &str) -> std::io::Result<usize> {
    std::fs::create_dir_all(dir)?;
    let mut changed = 0;
    let names: BTreeSet<&str> = seeds.iter().map(|(n, _)| n.as_str()).collect();
    for path in files_in(dir) {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.ends_with(generated) && !names.contains(name.as_str()) {
            std::fs::remove_file(&path)?;
            changed += 1;
        }
    }
    for (name, bytes) in seeds {
        let path = dir.join(name);
        if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
            std::fs::write(&path, bytes)?;
            changed += 1;
        }
    }
    Ok(changed)
}

fn yaml_files(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut files: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    files.sort();
    Ok(files)
}

/// The `spec` target embeds the spec files with `include_str!`: its list must be every endpoint file, in
/// order, or its selector bytes would not match the seeds.
fn check_spec_target(root: &Path, endpoint_files: &[String]) -> Result<(), String> {
    let path = root.join("fuzz/fuzz_targets/spec.rs");
    let source = std::fs::read_to_string(&path).map_err(|e| format!("cannot read fuzz/fuzz_targets/spec.rs: {e}"))?;
    let listed: Vec<&str> = source
        .lines()
        .filter_map(|l| l.trim().strip_prefix("(\""))
        .filter_map(|l| l.split_once('"').map(|(name, _)| name))
        .collect();
    if listed != endpoint_files {
        return Err(format!(
            "fuzz/fuzz_targets/spec.rs lists the endpoint files {listed:?}, but api-spec/endpoints/ holds \
             {endpoint_files:?}: update its ENDPOINTS"
        ));
    }
    Ok(())
}

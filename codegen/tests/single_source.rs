//! Every fact of the API lives in `api-spec/` only: the runtime, the simulator, the command line and the
//! benchmarks read errcodes and documented limits from the generated code, never write them again. This
//! test reads their sources (`syn`, so comments do not count, help texts do) and fails on a copy:
//!
//! - an errcode of the table (five digits or more) written as a number, in code or in a string;
//! - a documented limit written in a user-facing text — a string, or the doc comment of a command-line flag
//!   (clap turns those into `--help`) — next to the word that makes it a limit (`at most 30`, `180 days`);
//! - a constant defined as just a documented limit (`const STAT_DAYS: i64 = 180`);
//! - a name of the callback wire (`msg_signature`, `Encrypt`, `MsgSignature` …: `callbacks.yaml`'s
//!   `crypto`) written as a string, outside the benchmarks (whose floor is a hand-written competitor).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use syn::visit::Visit;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The numbers the spec owns.
struct Facts {
    codes: BTreeSet<i64>,
    limits: BTreeSet<i64>,
    /// The callback wire's names, but for plain words that mean other things too (`xml`, `timestamp`).
    wire_names: BTreeSet<String>,
}

fn facts() -> Facts {
    let api = codegen::load(&root().join("api-spec"), "api-spec").unwrap();
    let codes = api.errors.iter().map(|e| e.code).filter(|c| c.abs() >= 10_000).collect();
    let mut limits = BTreeSet::new();
    fn add(c: &codegen::model::Constraints, out: &mut BTreeSet<i64>) {
        for l in [c.min_items, c.max_items, c.min, c.max, c.min_chars, c.max_chars].into_iter().flatten() {
            out.insert(l.value);
        }
        out.extend(c.truncated_chars);
        if let Some(d) = c.days_ago {
            out.insert(d.max);
        }
        if let Some(each) = &c.each {
            add(each, out);
        }
    }
    for s in &api.structs {
        for f in &s.fields {
            add(&f.constraints, &mut limits);
        }
        for rule in &s.rules {
            let codegen::model::Rule::DaySpan { max_days, .. } = rule;
            limits.insert(*max_days);
        }
    }
    limits.extend(api.facts.iter().map(|f| f.value));
    for ep in &api.endpoints {
        limits.extend(ep.facts.iter().map(|f| f.value));
    }
    // Small numbers are everywhere (0, 1, a retry count): only distinctive limits are a copy.
    limits.retain(|v| *v >= 5);
    let crypto = api.events.crypto.as_ref().expect("callbacks.yaml has a crypto section");
    let (q, e, r) = (&crypto.query, &crypto.envelope, &crypto.reply);
    let wire_names = [&q.signature, &q.timestamp, &q.nonce, &q.echo, &e.root, &e.to_user_name, &e.agent_id]
        .into_iter()
        .chain([&e.encrypted, &r.signature, &r.timestamp, &r.nonce])
        .filter(|name| !matches!(name.as_str(), "xml" | "timestamp" | "nonce"))
        .cloned()
        .collect();
    Facts { codes, limits, wire_names }
}

/// The words that make a number next to them a limit.
const LIMIT_WORDS: &[&str] =
    &["at most", "up to", "to", "characters", "chars", "items", "chats", "days", "owners", "batches of", "per day"];

/// Whether `text` states one of `limits` as a limit: `at most 30`, `1 to 1000`, `180 days`, `batches of 100`.
fn states_limit(text: &str, limits: &BTreeSet<i64>) -> Option<String> {
    let words: Vec<&str> =
        text.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',' | ';' | ':')).collect();
    for (i, w) in words.iter().enumerate() {
        let Ok(n) = w.trim_end_matches('.').replace(',', "").parse::<i64>() else { continue };
        if !limits.contains(&n) {
            continue;
        }
        let before = if i >= 2 {
            format!("{} {}", words[i - 2], words[i - 1])
        } else {
            words.get(i.wrapping_sub(1)).unwrap_or(&"").to_string()
        };
        let after = words.get(i + 1).copied().unwrap_or("");
        if LIMIT_WORDS.iter().any(|l| before.ends_with(l) || after.starts_with(l)) {
            return Some(format!("{before} {n} {after}"));
        }
    }
    None
}

fn has_code(text: &str, codes: &BTreeSet<i64>) -> Option<i64> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '-'))
        .filter_map(|w| w.parse::<i64>().ok())
        .find(|n| codes.contains(n))
}

struct Scan<'a> {
    facts: &'a Facts,
    /// A file of command-line flags: its doc comments are `--help` texts.
    help_texts: bool,
    /// Whether constants and wire names are checked (not in the benchmarks, whose sizes and hand-written
    /// floor are their own).
    consts: bool,
    found: Vec<String>,
}

impl<'ast> Visit<'ast> for Scan<'_> {
    fn visit_attribute(&mut self, attr: &'ast syn::Attribute) {
        if !attr.path().is_ident("doc") {
            syn::visit::visit_attribute(self, attr);
            return;
        }
        if !self.help_texts {
            return; // documentation of code, not a text users see
        }
        if let syn::Meta::NameValue(nv) = &attr.meta
            && let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) = &nv.value
        {
            let text = s.value();
            if let Some(code) = has_code(&text, &self.facts.codes) {
                self.found.push(format!("help text quotes errcode {code}: {text:?}"));
            }
            if let Some(limit) = states_limit(&text, &self.facts.limits) {
                self.found.push(format!("help text states a limit ({limit}): {text:?}"));
            }
        }
    }

    fn visit_lit_int(&mut self, lit: &'ast syn::LitInt) {
        if let Ok(n) = lit.base10_parse::<i64>()
            && self.facts.codes.contains(&n)
        {
            self.found.push(format!("errcode {n} written as a number"));
        }
    }

    fn visit_expr_unary(&mut self, e: &'ast syn::ExprUnary) {
        if let (syn::UnOp::Neg(_), syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(lit), .. })) = (&e.op, &*e.expr)
            && let Ok(n) = lit.base10_parse::<i64>()
            && self.facts.codes.contains(&-n)
        {
            self.found.push(format!("errcode -{n} written as a number"));
            return;
        }
        syn::visit::visit_expr_unary(self, e);
    }

    fn visit_lit_str(&mut self, lit: &'ast syn::LitStr) {
        let text = lit.value();
        if let Some(code) = has_code(&text, &self.facts.codes) {
            self.found.push(format!("string quotes errcode {code}: {text:?}"));
        }
        if let Some(limit) = states_limit(&text, &self.facts.limits) {
            self.found.push(format!("string states a limit ({limit}): {text:?}"));
        }
        if self.consts && self.facts.wire_names.contains(&text) {
            self.found.push(format!("callback wire name {text:?} written as a string (events::crypto has it)"));
        }
    }

    fn visit_lit_byte_str(&mut self, lit: &'ast syn::LitByteStr) {
        if let Ok(text) = String::from_utf8(lit.value())
            && self.consts
            && self.facts.wire_names.contains(&text)
        {
            self.found.push(format!("callback wire name {text:?} written as a byte string (events::crypto has it)"));
        }
    }

    fn visit_item_const(&mut self, item: &'ast syn::ItemConst) {
        // A constant that is just a documented limit (`= 180`), not one computed (`= 24 * 3600 * 1000`);
        // the benchmarks' own sizes (1,000 resamples) are not the API's.
        if self.consts
            && let syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(lit), .. }) = &*item.expr
            && let Ok(n) = lit.base10_parse::<i64>()
            && self.facts.limits.contains(&n)
        {
            self.found.push(format!("constant `{}` is defined as the documented limit {n}", item.ident));
        }
        syn::visit::visit_item_const(self, item);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        // Unit tests state the numbers they expect: that is checking the spec, not copying it.
        let is_test =
            m.attrs.iter().any(|a| a.path().is_ident("cfg") && quote::quote!(#a).to_string().contains("test"));
        if !is_test {
            syn::visit::visit_item_mod(self, m);
        }
    }
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "generated") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_errcode_or_documented_limit_is_written_outside_the_spec() {
    let facts = facts();
    let mut problems = Vec::new();
    let crates = [
        "wecom-groupchat",
        "wecom-groupchat-sim",
        "wecom-groupchat-cli",
        "wecom-groupchat-bench",
        "wecom-groupchat-sync",
    ];
    let mut scanned = 0;
    for krate in crates {
        let mut files = Vec::new();
        rust_files(&root().join(krate).join("src"), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let ast = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            // clap turns the doc comments of these files into `--help`.
            let help_texts = file.ends_with("args.rs");
            let consts = krate != "wecom-groupchat-bench";
            let mut scan = Scan { facts: &facts, help_texts, consts, found: Vec::new() };
            scan.visit_file(&ast);
            let shown = file.strip_prefix(root()).unwrap().display().to_string();
            problems.extend(scan.found.into_iter().map(|p| format!("{shown}: {p}")));
            scanned += 1;
        }
    }
    assert!(scanned > 40, "only {scanned} files scanned");
    assert!(
        problems.is_empty(),
        "facts of the API written outside api-spec/ (read them from the generated code: `codes::…`, \
         `Type::FIELD_MAX_…`, the endpoint's facts, `events::crypto`):\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_scan_recognises_what_it_looks_for() {
    let limits: BTreeSet<i64> = [30, 100, 180].into_iter().collect();
    assert!(states_limit("Memo (WeCom keeps the first 30 characters).", &limits).is_some());
    assert!(states_limit("in batches of at most 100, with a report", &limits).is_some());
    assert!(states_limit("First day; at most 180 days ago", &limits).is_some());
    assert!(states_limit("waits 30 ms", &limits).is_none());
    let codes: BTreeSet<i64> = [45009].into_iter().collect();
    assert_eq!(has_code("stopped at the rate limit (errcode 45009)", &codes), Some(45009));
    assert_eq!(has_code("port 450091", &codes), None);
}

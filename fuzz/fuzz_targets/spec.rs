//! The spec loader and the generator: any text in place of any one file of the real spec goes through
//! parsing (`SpecFiles::from_strs`), checking (`check::check`) and, when it passes, code generation
//! (`emit::generate`) without a panic — a broken spec is always a spec error that names the file — and
//! what it generates parses as Rust, as written (`syn`).
//!
//! Input: a byte choosing which file to replace ([`FIXED`], then [`ENDPOINTS`]), then its new text
//! (lossy UTF-8).
#![no_main]

use libfuzzer_sys::fuzz_target;

/// `api.yaml`, `types.yaml`, `errors.yaml`.
const FIXED: [&str; 3] = [
    include_str!("../../api-spec/api.yaml"),
    include_str!("../../api-spec/types.yaml"),
    include_str!("../../api-spec/errors.yaml"),
];

/// Every `endpoints/*.yaml` (`cargo xtask fuzz-corpus` fails when this list is out of date).
const ENDPOINTS: [(&str, &str); 11] = [
    ("add_join_way.yaml", include_str!("../../api-spec/endpoints/add_join_way.yaml")),
    ("del_join_way.yaml", include_str!("../../api-spec/endpoints/del_join_way.yaml")),
    ("get.yaml", include_str!("../../api-spec/endpoints/get.yaml")),
    ("get_join_way.yaml", include_str!("../../api-spec/endpoints/get_join_way.yaml")),
    ("list.yaml", include_str!("../../api-spec/endpoints/list.yaml")),
    ("onjob_transfer.yaml", include_str!("../../api-spec/endpoints/onjob_transfer.yaml")),
    ("opengid_to_chatid.yaml", include_str!("../../api-spec/endpoints/opengid_to_chatid.yaml")),
    ("statistic.yaml", include_str!("../../api-spec/endpoints/statistic.yaml")),
    ("statistic_group_by_day.yaml", include_str!("../../api-spec/endpoints/statistic_group_by_day.yaml")),
    ("transfer.yaml", include_str!("../../api-spec/endpoints/transfer.yaml")),
    ("update_join_way.yaml", include_str!("../../api-spec/endpoints/update_join_way.yaml")),
];

fuzz_target!(|data: &[u8]| {
    let [selector, text @ ..] = data else { return };
    let text = String::from_utf8_lossy(text);
    let mut fixed = FIXED;
    let mut endpoints = ENDPOINTS;
    match usize::from(*selector) % (FIXED.len() + ENDPOINTS.len()) {
        i if i < FIXED.len() => fixed[i] = &text,
        i => endpoints[i - FIXED.len()].1 = &text,
    }
    let [api, types, errors] = fixed;
    let result = codegen::spec::SpecFiles::from_strs(api, types, errors, &endpoints)
        .and_then(|files| codegen::check::check(&files));
    match result {
        Ok(api) => {
            let files = codegen::emit::generate(&api);
            assert!(!files.is_empty());
            for file in files {
                if let Err(e) = syn::parse_file(&file.contents) {
                    panic!("the generated {} does not parse: {e}\n{}", file.name, file.contents);
                }
            }
        }
        Err(errors) => {
            assert!(!errors.0.is_empty(), "a failed check must say why");
            let _ = format!("{errors} {errors:?}");
        }
    }
});

//! `callback decrypt`: the official sample of WeCom's doc 90968 (URL verification and event POST, the body
//! from a file and from stdin), every kind of refusal with its exit code and nothing on stdout, and the
//! token and key in no output. (The harness checks every run for the secrets it is given.)

mod common;

use common::{Cli, Run};
use wecom_groupchat::callback::CallbackCrypto;

// The sample of doc 90968 (加解密方案说明), the values of the library's crypto tests.
const TOKEN: &str = "QDG6eK";
const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const RECEIVE_ID: &str = "wx5823bf96d3bd56c7";

const URL_SIGNATURE: &str = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3";
const URL_TIMESTAMP: &str = "1409659589";
const URL_NONCE: &str = "263014780";
const URL_ECHOSTR: &str = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==";
const URL_PLAINTEXT: &str = "1616140317555161061";

const POST_SIGNATURE: &str = "477715d11cdb4164915debcba66cb864d751f3e6";
const POST_TIMESTAMP: &str = "1409659813";
const POST_NONCE: &str = "1372623149";
const POST_ENCRYPT: &str = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==";
const POST_PLAINTEXT: &str = "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>";

/// Another valid EncodingAESKey: right length and alphabet, wrong key.
const OTHER_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

fn post_body(encrypt: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>"
    )
}

/// The binary with the token and key registered as secrets (no run may print them), and no flags yet.
fn cli() -> Cli {
    Cli::new().secret(TOKEN).secret(KEY).arg("callback").arg("decrypt")
}

/// `callback decrypt` with every flag of the sample's URL verification; `extra` after them.
fn verify_url(extra: &[&str]) -> Cli {
    cli()
        .args(["--token", TOKEN, "--aes-key", KEY, "--receive-id", RECEIVE_ID])
        .args(["--msg-signature", URL_SIGNATURE, "--timestamp", URL_TIMESTAMP, "--nonce", URL_NONCE])
        .args(["--echostr", URL_ECHOSTR])
        .args(extra)
}

/// The flags of the sample's event POST, without `--body`.
fn post_flags() -> Vec<&'static str> {
    vec![
        "--token",
        TOKEN,
        "--aes-key",
        KEY,
        "--receive-id",
        RECEIVE_ID,
        "--msg-signature",
        POST_SIGNATURE,
        "--timestamp",
        POST_TIMESTAMP,
        "--nonce",
        POST_NONCE,
    ]
}

/// Asserts a refusal: `code`, nothing on stdout, one line on stderr holding every one of `parts`.
#[track_caller]
fn refused(run: &Run, code: i32, parts: &[&str]) {
    run.code(code).stderr_has(parts);
    assert!(run.stdout.is_empty(), "nothing on stdout: {:?}", run.stdout);
    if code == 3 {
        assert_eq!(run.stderr.lines().count(), 1, "one line on stderr:\n{}", run.stderr);
    }
}

#[test]
fn the_official_url_verification_prints_the_echostr_plaintext_exactly() {
    let run = verify_url(&[]).run();
    run.ok();
    assert_eq!(run.stdout, URL_PLAINTEXT, "the plaintext and nothing else, no newline");
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn the_official_event_post_decrypts_from_a_file_and_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("post.xml");
    std::fs::write(&file, post_body(POST_ENCRYPT)).unwrap();

    let run = cli().args(post_flags()).arg("--body").arg(format!("@{}", file.display())).run();
    run.ok();
    assert_eq!(run.stdout, POST_PLAINTEXT);
    assert!(run.stderr.is_empty(), "{}", run.stderr);

    let run = cli().args(post_flags()).args(["--body", "-"]).stdin(post_body(POST_ENCRYPT)).run();
    run.ok();
    assert_eq!(run.stdout, POST_PLAINTEXT);

    // The envelope as text instead of CDATA, with whitespace and AgentID first: the same message.
    let plain = format!(
        "<xml>\n  <ToUserName>wx5823bf96d3bd56c7</ToUserName>\n  <AgentID>218</AgentID>\n  <Encrypt>{POST_ENCRYPT}</Encrypt>\n</xml>\n"
    );
    let run = cli().args(post_flags()).args(["--body", "-"]).stdin(plain).run();
    run.ok();
    assert_eq!(run.stdout, POST_PLAINTEXT);
}

#[test]
fn a_message_sealed_by_the_library_decrypts_to_the_same_bytes() {
    // Multi-byte text, a trailing newline and CDATA that needs splitting: printed as they are.
    let message = "<xml><Event><![CDATA[change_external_chat]]></Event><Content>中文 ]]&gt;</Content></xml>\n";
    let crypto = CallbackCrypto::new(TOKEN, KEY, RECEIVE_ID).unwrap();
    let sealed = crypto.encrypt(message, "1700000000", "nonce-1").unwrap();
    let run = cli()
        .args(["--token", TOKEN, "--aes-key", KEY, "--receive-id", RECEIVE_ID])
        .args(["--msg-signature", &sealed.signature, "--timestamp", "1700000000", "--nonce", "nonce-1"])
        .args(["--body", "-"])
        .stdin(sealed.post_body(RECEIVE_ID, Some("1000002")))
        .run();
    run.ok();
    assert_eq!(run.stdout, message);
}

#[test]
fn token_and_key_come_from_the_environment_and_flags_win() {
    let flags = [
        "--receive-id",
        RECEIVE_ID,
        "--msg-signature",
        URL_SIGNATURE,
        "--timestamp",
        URL_TIMESTAMP,
        "--nonce",
        URL_NONCE,
        "--echostr",
        URL_ECHOSTR,
    ];
    let run = cli().env("WECOM_CALLBACK_TOKEN", TOKEN).env("WECOM_CALLBACK_AES_KEY", KEY).args(flags).run();
    run.ok();
    assert_eq!(run.stdout, URL_PLAINTEXT);

    // Wrong values in the environment, right ones as flags: the flags win.
    let run = cli()
        .env("WECOM_CALLBACK_TOKEN", "wrong-token-in-env")
        .env("WECOM_CALLBACK_AES_KEY", OTHER_KEY)
        .secret("wrong-token-in-env")
        .secret(OTHER_KEY)
        .args(["--token", TOKEN, "--aes-key", KEY])
        .args(flags)
        .run();
    run.ok();
    assert_eq!(run.stdout, URL_PLAINTEXT);

    // The right ones in the environment, a wrong token as a flag: the flag is used, and fails.
    let run = cli()
        .env("WECOM_CALLBACK_TOKEN", TOKEN)
        .env("WECOM_CALLBACK_AES_KEY", KEY)
        .args(["--token", "QDG6eL"])
        .secret("QDG6eL")
        .args(flags)
        .run();
    refused(&run, 3, &["signature does not match"]);

    // WeCom credentials in the environment are not needed and not in the way (both kinds set is an error
    // for the API commands).
    let run = cli()
        .env("WECOM_CALLBACK_TOKEN", TOKEN)
        .env("WECOM_CALLBACK_AES_KEY", KEY)
        .env("WECOM_CORP_SECRET", common::SECRET)
        .env("WECOM_ACCESS_TOKEN", "access-token-in-env-1")
        .secret("access-token-in-env-1")
        .args(flags)
        .run();
    run.ok();
    assert_eq!(run.stdout, URL_PLAINTEXT);
}

#[test]
fn a_wrong_signature_exits_3_with_nothing_on_stdout() {
    let mut flipped = URL_SIGNATURE.to_string();
    flipped.replace_range(0..1, "6");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--msg-signature".into(), flipped], "flipped"),
        (vec!["--msg-signature".into(), URL_SIGNATURE.to_uppercase()], "upper case"),
        (vec!["--msg-signature".into(), String::new()], "empty"),
        (vec!["--timestamp".into(), "1409659590".into()], "another timestamp"),
        (vec!["--nonce".into(), "263014781".into()], "another nonce"),
        (vec!["--token".into(), "QDG6eL".into()], "another token"),
    ];
    for (change, case) in cases {
        // The sample's flags with one value changed (a flag given twice is a usage error).
        let mut args: Vec<String> = [
            "--token",
            TOKEN,
            "--aes-key",
            KEY,
            "--receive-id",
            RECEIVE_ID,
            "--msg-signature",
            URL_SIGNATURE,
            "--timestamp",
            URL_TIMESTAMP,
            "--nonce",
            URL_NONCE,
            "--echostr",
            URL_ECHOSTR,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let at = args.iter().position(|a| *a == change[0]).unwrap();
        args[at + 1] = change[1].clone();
        let run = cli().secret("QDG6eL").args(&args).run();
        assert!(run.stdout.is_empty(), "{case}");
        refused(&run, 3, &["error: callback decrypt: signature does not match", "--msg-signature", "--token"]);
    }

    // An event with the URL verification's signature.
    let run = cli()
        .args(["--token", TOKEN, "--aes-key", KEY, "--receive-id", RECEIVE_ID])
        .args(["--msg-signature", URL_SIGNATURE, "--timestamp", POST_TIMESTAMP, "--nonce", POST_NONCE])
        .args(["--body", "-"])
        .stdin(post_body(POST_ENCRYPT))
        .run();
    refused(&run, 3, &["signature does not match"]);

    // An echostr still URL-encoded (as copied from a URL) fails, with a hint.
    let encoded = URL_ECHOSTR.replace('/', "%2F").replace('+', "%2B").replace('=', "%3D");
    let run = cli()
        .args(["--token", TOKEN, "--aes-key", KEY, "--receive-id", RECEIVE_ID])
        .args(["--msg-signature", URL_SIGNATURE, "--timestamp", URL_TIMESTAMP, "--nonce", URL_NONCE])
        .args(["--echostr", &encoded])
        .run();
    refused(&run, 3, &["signature does not match", "looks URL-encoded"]);
}

#[test]
fn a_message_for_another_receive_id_exits_3() {
    let run = cli()
        .args(["--token", TOKEN, "--aes-key", KEY, "--receive-id", "wx5823bf96d3bd56c8"])
        .args(["--msg-signature", URL_SIGNATURE, "--timestamp", URL_TIMESTAMP, "--nonce", URL_NONCE])
        .args(["--echostr", URL_ECHOSTR])
        .run();
    refused(&run, 3, &["error: callback decrypt: receive id does not match", "--receive-id"]);

    let run = cli()
        .args(["--token", TOKEN, "--aes-key", KEY, "--receive-id", "ww0123456789abcdef"])
        .args(["--msg-signature", POST_SIGNATURE, "--timestamp", POST_TIMESTAMP, "--nonce", POST_NONCE])
        .args(["--body", "-"])
        .stdin(post_body(POST_ENCRYPT))
        .run();
    refused(&run, 3, &["receive id does not match"]);
}

#[test]
fn a_corrupt_ciphertext_or_a_wrong_key_exits_3() {
    let crypto = CallbackCrypto::new(TOKEN, KEY, RECEIVE_ID).unwrap();
    // Signed correctly, so that the refusal is the ciphertext's: cut short, not base64, one byte changed.
    let cut = &URL_ECHOSTR[..URL_ECHOSTR.len() - 24];
    let not_base64 = "P9nAzCzyDtyTWESH!!!!";
    let mut flipped = POST_ENCRYPT.to_string();
    flipped.replace_range(100..101, if &POST_ENCRYPT[100..101] == "A" { "B" } else { "A" });
    for (echostr, expected) in [(cut, "cannot decrypt"), (not_base64, "not base64"), ("", "cannot decrypt")] {
        let signature = crypto.signature(URL_TIMESTAMP, URL_NONCE, echostr);
        let run = cli()
            .args(["--token", TOKEN, "--aes-key", KEY, "--receive-id", RECEIVE_ID])
            .args(["--msg-signature", &signature, "--timestamp", URL_TIMESTAMP, "--nonce", URL_NONCE])
            .arg(format!("--echostr={echostr}"))
            .run();
        refused(&run, 3, &["error: callback decrypt: ", expected, "--aes-key"]);
    }
    let signature = crypto.signature(POST_TIMESTAMP, POST_NONCE, &flipped);
    let run = cli()
        .args(["--token", TOKEN, "--aes-key", KEY, "--receive-id", RECEIVE_ID])
        .args(["--msg-signature", &signature, "--timestamp", POST_TIMESTAMP, "--nonce", POST_NONCE])
        .args(["--body", "-"])
        .stdin(post_body(&flipped))
        .run();
    // A changed byte garbles the text around it: not UTF-8, or the length or padding no longer fit.
    refused(&run, 3, &["error: callback decrypt: cannot decrypt"]);

    // A valid key, but not this app's: the signature (over the token) holds, the decryption does not.
    let run = cli()
        .secret(OTHER_KEY)
        .args(["--token", TOKEN, "--aes-key", OTHER_KEY, "--receive-id", RECEIVE_ID])
        .args(["--msg-signature", URL_SIGNATURE, "--timestamp", URL_TIMESTAMP, "--nonce", URL_NONCE])
        .args(["--echostr", URL_ECHOSTR])
        .run();
    refused(&run, 3, &["cannot decrypt", "a wrong --aes-key"]);
}

#[test]
fn a_body_that_is_no_envelope_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"".to_vec(), "no root element"),
        (b"not xml at all".to_vec(), "--body is not a callback envelope"),
        (b"<xml><ToUserName>x</ToUserName></xml>".to_vec(), "no Encrypt element"),
        (
            format!("<xml><Encrypt>{POST_ENCRYPT}</Encrypt><Encrypt>{POST_ENCRYPT}</Encrypt></xml>").into_bytes(),
            "more than one Encrypt element",
        ),
        (
            format!("<!DOCTYPE xml [<!ENTITY e \"{POST_ENCRYPT}\">]><xml><Encrypt>&e;</Encrypt></xml>").into_bytes(),
            "DOCTYPE",
        ),
        (b"<xml><Encrypt>\xff</Encrypt></xml>".to_vec(), "not UTF-8"),
        (b"<xml><Encrypt>".to_vec(), "not well-formed"),
    ];
    for (i, (body, expected)) in cases.into_iter().enumerate() {
        let file = dir.path().join(format!("body-{i}.xml"));
        std::fs::write(&file, &body).unwrap();
        let run = cli().args(post_flags()).arg("--body").arg(format!("@{}", file.display())).run();
        refused(&run, 3, &["error: callback decrypt: ", expected]);
    }
}

#[test]
fn bad_keys_and_missing_or_conflicting_flags_exit_2() {
    let short = &KEY[..42];
    let long = format!("{KEY}A");
    let not_base64 = format!("{}!", &KEY[..42]);
    for (key, expected) in [
        (short, "EncodingAESKey must be 43 characters, got 42"),
        (long.as_str(), "EncodingAESKey must be 43 characters, got 44"),
        ("", "EncodingAESKey must be 43 characters, got 0"),
        (not_base64.as_str(), "EncodingAESKey is not base64"),
    ] {
        let run = cli()
            .secret(short)
            .args(["--token", TOKEN, "--receive-id", RECEIVE_ID])
            .arg(format!("--aes-key={key}"))
            .args(["--msg-signature", URL_SIGNATURE, "--timestamp", URL_TIMESTAMP, "--nonce", URL_NONCE])
            .args(["--echostr", URL_ECHOSTR])
            .run();
        refused(&run, 2, &["error: --aes-key: ", expected]);
    }
    // The same from the environment.
    let run = cli()
        .secret(short)
        .env("WECOM_CALLBACK_TOKEN", TOKEN)
        .env("WECOM_CALLBACK_AES_KEY", short)
        .args(["--receive-id", RECEIVE_ID])
        .args(["--msg-signature", URL_SIGNATURE, "--timestamp", URL_TIMESTAMP, "--nonce", URL_NONCE])
        .args(["--echostr", URL_ECHOSTR])
        .run();
    refused(&run, 2, &["got 42"]);

    // Each required flag left out (and not in the environment).
    let all = [
        ("--token", TOKEN),
        ("--aes-key", KEY),
        ("--receive-id", RECEIVE_ID),
        ("--msg-signature", URL_SIGNATURE),
        ("--timestamp", URL_TIMESTAMP),
        ("--nonce", URL_NONCE),
    ];
    for (left_out, _) in all {
        let mut args = Vec::new();
        for (flag, value) in all.iter().filter(|(f, _)| *f != left_out) {
            args.push(format!("{flag}={value}"));
        }
        args.push(format!("--echostr={URL_ECHOSTR}"));
        let run = cli().args(&args).run();
        refused(&run, 2, &["required", left_out]);
    }
    // Neither ciphertext, or both.
    let keys = ["--token", TOKEN, "--aes-key", KEY, "--receive-id", RECEIVE_ID];
    let query = ["--msg-signature", URL_SIGNATURE, "--timestamp", URL_TIMESTAMP, "--nonce", URL_NONCE];
    let run = cli().args(keys).args(query).run();
    refused(&run, 2, &["required", "--echostr", "--body"]);
    let run = cli().args(keys).args(query).args(["--echostr", URL_ECHOSTR, "--body", "-"]).run();
    refused(&run, 2, &["cannot be used with"]);
    // A flag given twice.
    let run = verify_url(&["--token", "QDG6eL"]).secret("QDG6eL").run();
    refused(&run, 2, &["--token"]);

    // --body is @FILE or -, never the body itself; a missing file is bad input.
    let run = cli().args(post_flags()).arg("--body").arg(post_body(POST_ENCRYPT)).run();
    refused(&run, 2, &["--body takes @FILE or -"]);
    assert!(!run.stderr.contains(POST_ENCRYPT), "the body is not echoed: {}", run.stderr);
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.xml");
    let run = cli().args(post_flags()).arg("--body").arg(format!("@{}", missing.display())).run();
    refused(&run, 2, &["--body: cannot read", "nope.xml"]);

    // An empty token: WeCom has none; an empty variable counts as not set.
    let run = cli()
        .args(["--token=", "--aes-key", KEY, "--receive-id", RECEIVE_ID])
        .args(query)
        .args(["--echostr", URL_ECHOSTR])
        .run();
    refused(&run, 2, &["--token"]);
    let run = cli()
        .env("WECOM_CALLBACK_TOKEN", "")
        .args(["--aes-key", KEY, "--receive-id", RECEIVE_ID])
        .args(query)
        .args(["--echostr", URL_ECHOSTR])
        .run();
    refused(&run, 2, &["--token"]);
}

#[test]
fn help_and_logs_never_show_the_token_or_the_key() {
    for args in [&["callback", "--help"][..], &["callback", "decrypt", "--help"], &["help", "callback", "decrypt"]] {
        let run = Cli::new()
            .secret(TOKEN)
            .secret(KEY)
            .env("WECOM_CALLBACK_TOKEN", TOKEN)
            .env("WECOM_CALLBACK_AES_KEY", KEY)
            .args(args)
            .run();
        run.ok();
    }
    let run = Cli::new()
        .env("WECOM_CALLBACK_TOKEN", TOKEN)
        .env("WECOM_CALLBACK_AES_KEY", KEY)
        .secret(TOKEN)
        .secret(KEY)
        .args(["callback", "decrypt", "--help"])
        .run();
    run.ok().stdout_has(&[
        "--token",
        "WECOM_CALLBACK_TOKEN",
        "--aes-key",
        "WECOM_CALLBACK_AES_KEY",
        "--receive-id",
        "--msg-signature",
        "--echostr",
        "--body",
        "no newline",
    ]);

    // Debug logs of a success and of each refusal show neither.
    for verbosity in ["-v", "-vv"] {
        let run = verify_url(&[verbosity]).env("WECOM_LOG", "trace").run();
        run.ok();
        let run = cli()
            .arg(verbosity)
            .args(post_flags())
            .args(["--body", "-"])
            .stdin(post_body(&POST_ENCRYPT[4..]))
            .env("WECOM_LOG", "trace")
            .run();
        refused(&run, 3, &["signature does not match"]);
    }
}

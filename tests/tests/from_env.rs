//! `Client::from_env` against the simulator, with real environment variables: the test process starts
//! itself again (its one ignored test) with the variables set, so no test of this process changes its
//! environment under another.

use std::time::Duration;

use wecom_groupchat::Client;
use wecom_groupchat::types::ListRequest;
use wecom_groupchat_sim::{SimConfig, Simulator};

/// Set in the child process only: run elsewhere (`--include-ignored`), the child test does nothing.
const CHILD_MARK: &str = "FROM_ENV_TEST_CHILD";

/// Runs `child` (an ignored test of this binary) in a new process with `vars` set and every other
/// `WECOM_*` variable removed; its stdout and stderr, and whether it passed.
async fn child(name: &str, vars: &[(&str, &str)]) -> (bool, String) {
    let mut command = tokio::process::Command::new(std::env::current_exe().unwrap());
    command.args(["--exact", name, "--ignored", "--nocapture", "--test-threads=1"]).kill_on_drop(true);
    for (key, _) in std::env::vars() {
        if key.starts_with("WECOM_") {
            command.env_remove(key);
        }
    }
    command.envs(vars.iter().copied()).env(CHILD_MARK, "1");
    let output = tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("the child test finished within 60 s")
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[tokio::test]
async fn from_env_reads_the_command_line_tool_variables() {
    let sim = Simulator::start(SimConfig::default()).await.unwrap();
    let base_url = sim.base_url();
    let vars =
        [("WECOM_CORP_ID", sim.corp_id()), ("WECOM_CORP_SECRET", sim.corp_secret()), ("WECOM_BASE_URL", &base_url)];
    let (passed, text) = child("child_lists_chats_with_a_client_from_env", &vars).await;
    assert!(passed, "{text}");
    assert!(text.contains(&format!("listed from {base_url}")), "{text}");
    assert_eq!(sim.gettoken_calls(), 1, "tokens fetched with the corp id and secret");

    // A missing variable is named; the secret given is never shown.
    let vars = [("WECOM_CORP_SECRET", "s3cr3t-never-shown"), ("WECOM_BASE_URL", &base_url)];
    let (passed, text) = child("child_lists_chats_with_a_client_from_env", &vars).await;
    assert!(!passed, "{text}");
    assert!(text.contains("WECOM_CORP_ID is not set"), "{text}");
    assert!(!text.contains("s3cr3t-never-shown"), "{text}");
    sim.shutdown().await;
}

#[tokio::test]
#[ignore = "run in a child process by from_env_reads_the_command_line_tool_variables, with the variables set"]
async fn child_lists_chats_with_a_client_from_env() {
    if std::env::var_os(CHILD_MARK).is_none() {
        return;
    }
    let client = match Client::from_env() {
        Ok(client) => client,
        Err(e) => panic!("from_env: {e}"),
    };
    let page = client.list(&ListRequest::new(10)).await.unwrap();
    assert!(!page.group_chat_list.unwrap_or_default().is_empty());
    println!("listed from {}", client.base_url());
}

//! A callback receiver: WeCom's signed, encrypted callbacks checked, decrypted and read into typed events
//! (`wecom_groupchat::callback`, served by axum), each printed as a line.
//!
//! ```sh
//! cargo run --example callback_receiver     # the simulator pushes a few events, they are printed, exit
//! WECOM_CORP_ID=ww… WECOM_CALLBACK_TOKEN=… WECOM_CALLBACK_AES_KEY=… \
//!     cargo run --example callback_receiver -- 0.0.0.0:8080   # WeCom: serves /callback until Ctrl-C
//! ```
//!
//! Against WeCom, set the app's callback URL (接收事件服务器) to this server's `/callback` (behind your
//! HTTPS reverse proxy), with the same Token and EncodingAESKey. WeCom's URL check (a GET) is answered too.
//! With the simulator, people acting in the WeCom app are played on its control paths (a group renamed, a
//! notice posted, a member leaving): it pushes each change as WeCom would, and the receiver prints it.

use std::io::Write;
use std::time::Duration;

use serde_json::json;
use tokio::sync::mpsc;
use wecom_groupchat::callback::{CallbackCrypto, CallbackMessage, Receiver};
use wecom_groupchat::events::{Event, QuitScene};
use wecom_groupchat_examples::{BoxError, Target, exit_code};
use wecom_groupchat_sim::{CallbackTarget, SimConfig};

/// The path the receiver serves.
const PATH: &str = "/callback";
/// The callback settings the simulator and the receiver share in the demo (a demo's, not a secret).
const DEMO_TOKEN: &str = "demo-callback-token";
const DEMO_AES_KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
/// How long the demo waits for each pushed event.
const EVENT_WAIT: Duration = Duration::from_secs(30);

/// One line for an event.
pub fn describe(message: &CallbackMessage) -> String {
    match &message.event.event {
        Event::ChangeExternalChat(change) => {
            let mut line =
                format!("{} chat_id={} change_type={}", message.name(), change.chat_id, change.change_type.as_str());
            if let Some(detail) = &change.update_detail {
                line += &format!(" update_detail={}", detail.as_str());
            }
            if let Some(members) = &change.mem_change_list {
                line += &format!(" members={}", members.join(","));
            }
            line
        }
        _ => format!("{} (an event this crate has no type for; {} bytes of XML)", message.name(), message.xml.len()),
    }
}

/// Serves the receiver on `listener`; events come out of the returned channel.
fn serve(
    listener: tokio::net::TcpListener,
    crypto: CallbackCrypto,
) -> (tokio::task::JoinHandle<()>, mpsc::Receiver<CallbackMessage>) {
    let (receiver, events) = Receiver::channel(crypto, 64);
    let app = wecom_groupchat::callback::axum::router(receiver, PATH);
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("the receiver stopped: {e}");
        }
    });
    (server, events)
}

/// With the simulator: a receiver on 127.0.0.1, a simulator pushing to it, three changes made in the
/// "app", their events printed to `out`. Returns the number printed.
pub async fn run_with_simulator(out: &mut dyn Write) -> Result<usize, BoxError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}{PATH}", listener.local_addr()?);
    let config = SimConfig::default();
    let crypto = CallbackCrypto::new(DEMO_TOKEN, DEMO_AES_KEY, &config.corp_id)?;
    let (server, mut events) = serve(listener, crypto);
    let target = Target::simulator(config.callback(CallbackTarget::new(url, DEMO_TOKEN, DEMO_AES_KEY))).await?;
    let Some(sim) = &target.sim else { return Err("no simulator".into()) };
    eprintln!("receiver at 127.0.0.1; the simulator at {} pushes to it", sim.base_url());

    // A group of the demo company, and what people do to it in the WeCom app.
    let hints = sim.hints();
    let chat_id = hints.active_owners.iter().find_map(|o| o.chat_ids.first()).ok_or("the demo company has no group")?;
    let chat = target.client.get(&wecom_groupchat::types::GetRequest::new(chat_id)).await?.group_chat;
    // A member other than the owner leaves (is removed).
    let leaving = chat
        .member_list
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.userid)
        .find(|u| Some(u) != chat.owner.as_ref());
    let mut changes = vec![
        ("rename", json!({"name": "Example group, renamed"})),
        ("notice", json!({"notice": "Office hours 9–18."})),
    ];
    if let Some(userid) = leaving {
        changes.push(("quit", json!({"userids": [userid], "quit_scene": i64::from(QuitScene::Removed)})));
    }
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build()?;
    for (action, body) in &changes {
        let answer = http
            .post(format!("{}/__sim/chats/{chat_id}/{action}", sim.base_url()))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await?;
        if !answer.status().is_success() {
            return Err(format!("simulator control path {action}: {}", answer.status()).into());
        }
    }
    let mut printed = 0;
    while printed < changes.len() {
        let message = tokio::time::timeout(EVENT_WAIT, events.recv())
            .await
            .map_err(|_| format!("no event within {} s", EVENT_WAIT.as_secs()))?
            .ok_or("the receiver stopped")?;
        writeln!(out, "{}", describe(&message))?;
        printed += 1;
    }
    out.flush()?;
    server.abort();
    target.shutdown().await;
    Ok(printed)
}

/// Against WeCom: serves on `addr` until Ctrl-C, printing each event.
async fn run_for_wecom(addr: &str) -> Result<(), BoxError> {
    let var = |name: &str| {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty()).ok_or(format!("{name} is not set in the environment"))
    };
    let crypto = CallbackCrypto::new(
        var("WECOM_CALLBACK_TOKEN")?,
        &var("WECOM_CALLBACK_AES_KEY")?,
        var(wecom_groupchat::api::ENV_CORP_ID)?,
    )?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    eprintln!("serving {PATH} on {}; Ctrl-C to stop", listener.local_addr()?);
    let (server, mut events) = serve(listener, crypto);
    loop {
        tokio::select! {
            message = events.recv() => match message {
                Some(message) => println!("{}", describe(&message)),
                None => break,
            },
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    server.abort();
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    exit_code(
        async {
            if Target::wecom_in_env() {
                let addr = std::env::args().nth(1).unwrap_or_else(|| "0.0.0.0:8080".to_string());
                run_for_wecom(&addr).await
            } else {
                eprintln!("WECOM_CORP_ID is not set: the embedded simulator pushes a few events");
                let printed = run_with_simulator(&mut std::io::stdout().lock()).await?;
                eprintln!("{printed} events received");
                Ok(())
            }
        }
        .await,
    )
}

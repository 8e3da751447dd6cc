//! What the examples share: where their calls go.
//!
//! With `WECOM_CORP_ID` (or `WECOM_ACCESS_TOKEN`) set, to WeCom: the client comes from
//! [`Client::from_env`], which reads the variables the command-line tool reads. Without, to a
//! simulator started in the process on 127.0.0.1 with the demo company (staff, resigned colleagues,
//! customer groups, 180 days of statistics): no account needed.
//!
//! The examples are in `examples/examples/`; run one with `cargo run --example NAME` from the
//! workspace root (`full_sync`, `handover`, `stats_csv`, `callback_receiver`).

use wecom_groupchat::Client;
use wecom_groupchat::api::{ENV_ACCESS_TOKEN, ENV_CORP_ID};
use wecom_groupchat_sim::{SimConfig, Simulator};

/// The examples' error: anything, with its message.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where an example's calls go: WeCom, or the embedded simulator (kept running while this lives).
#[derive(Debug)]
pub struct Target {
    /// The client, set up for WeCom or for the simulator.
    pub client: Client,
    /// The simulator, when the calls go to one.
    pub sim: Option<Simulator>,
}

impl Target {
    /// Whether the environment names a WeCom corp (`WECOM_CORP_ID` or `WECOM_ACCESS_TOKEN` set and not
    /// empty): then the examples call WeCom, else the embedded simulator.
    pub fn wecom_in_env() -> bool {
        [ENV_CORP_ID, ENV_ACCESS_TOKEN].iter().any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()))
    }

    /// WeCom when [`Target::wecom_in_env`], else a simulator with the demo company. Says which on stderr.
    ///
    /// # Errors
    /// A variable missing or wrong (named, its value never shown), or a simulator that cannot start.
    pub async fn connect() -> Result<Target, BoxError> {
        if Target::wecom_in_env() {
            let client = Client::from_env()?;
            eprintln!("calling {} with the credentials of the environment", client.base_url());
            return Ok(Target { client, sim: None });
        }
        let target = Target::simulator(SimConfig::default()).await?;
        if let Some(sim) = &target.sim {
            eprintln!("{ENV_CORP_ID} is not set: calling the embedded simulator at {} (demo company)", sim.base_url());
        }
        Ok(target)
    }

    /// A simulator started with `config` (on 127.0.0.1, a free port, by default) and a client of it.
    ///
    /// # Errors
    /// The simulator cannot start.
    pub async fn simulator(config: SimConfig) -> Result<Target, BoxError> {
        let sim = Simulator::start(config).await?;
        let client = sim.client_builder().build()?;
        Ok(Target { client, sim: Some(sim) })
    }

    /// Stops the simulator, if there is one.
    pub async fn shutdown(self) {
        if let Some(sim) = self.sim {
            sim.shutdown().await;
        }
    }
}

/// Runs an example's `main` body: prints its error on stderr and exits 1 when it fails.
pub fn exit_code(result: Result<(), BoxError>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // The reader went away (`| head`): what it wanted it has; no error to tell.
        Err(e) if is_broken_pipe(&*e) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Whether writing to stdout failed because its reader closed the pipe (directly, or inside a JSON or CSV
/// writer's error).
fn is_broken_pipe(error: &(dyn std::error::Error + 'static)) -> bool {
    let kind = if let Some(io) = error.downcast_ref::<std::io::Error>() {
        Some(io.kind())
    } else if let Some(json) = error.downcast_ref::<serde_json::Error>() {
        json.io_error_kind()
    } else {
        None
    };
    kind == Some(std::io::ErrorKind::BrokenPipe) || error.source().is_some_and(is_broken_pipe)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pipe_is_no_failure() {
        let pipe = || std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert_eq!(exit_code(Err(pipe().into())), std::process::ExitCode::SUCCESS);
        let json = serde_json::to_writer(Closed, &1).unwrap_err();
        assert_eq!(exit_code(Err(json.into())), std::process::ExitCode::SUCCESS);
        let other = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert_eq!(exit_code(Err(other.into())), std::process::ExitCode::FAILURE);
        assert!(!is_broken_pipe(&std::fmt::Error));
    }

    /// A writer whose reader has gone.
    struct Closed;

    impl std::io::Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
